package cache

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func claim(name, rv, node string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
	if node != "" {
		c.Annotations = map[string]string{"volume.kubernetes.io/selected-node": node}
	}
	return c
}

func selectedNode(s *snapshot.Snapshot, name string) string {
	if c := s.Storage.Claim("ns", name); c != nil {
		return c.Annotations["volume.kubernetes.io/selected-node"]
	}
	return "<none>"
}

func TestAssumedClaims(t *testing.T) {
	tests := []struct {
		name string
		// after the informer's claim at version 5 and an assumed copy selecting node a:
		then func(c *Cache)
		want string
	}{
		{"the assumed copy is seen", func(*Cache) {}, "a"},
		{"restored: the informer's claim is seen", func(c *Cache) { c.RestoreClaim("ns", "c") }, ""},
		{"an older informer version does not replace it", func(c *Cache) { c.SetClaim(claim("c", "4", "")) }, "a"},
		{"the same informer version does not replace it", func(c *Cache) { c.SetClaim(claim("c", "5", "")) }, "a"},
		{"a newer informer version replaces it", func(c *Cache) { c.SetClaim(claim("c", "6", "b")) }, "b"},
		{"a newer version, then a restore, keeps the informer's", func(c *Cache) {
			c.SetClaim(claim("c", "6", "b"))
			c.RestoreClaim("ns", "c")
		}, "b"},
		{"deleted", func(c *Cache) { c.RemoveClaim(claim("c", "7", "")) }, "<none>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
			c.SetClaim(claim("c", "5", ""))
			s := c.UpdateSnapshot(nil)
			if got := selectedNode(s, "c"); got != "" {
				t.Fatalf("before assuming: selected node %q", got)
			}
			c.AssumeClaim(claim("c", "5", "a"))
			s = c.UpdateSnapshot(s)
			tc.then(c)
			s = c.UpdateSnapshot(s)
			if got := selectedNode(s, "c"); got != tc.want {
				t.Errorf("selected node %q, want %q", got, tc.want)
			}
			if api := c.APIClaim("ns", "c"); api != nil && api.Annotations["volume.kubernetes.io/selected-node"] == "a" {
				t.Errorf("APIClaim returns the assumed copy")
			}
		})
	}
}

func TestWatchStorageAndClaimUsers(t *testing.T) {
	c := New()
	c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	s := c.UpdateSnapshot(nil)
	changed, _ := c.WatchStorage([]types.NamespacedName{{Namespace: "ns", Name: "c"}}, []string{"pv"})
	other, stopOther := c.WatchStorage(nil, []string{"other"})
	stopped, stop := c.WatchStorage(nil, []string{"pv"})
	stop()
	c.SetVolume(&v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}})
	select {
	case <-changed:
	default:
		t.Fatal("the watch of pv was not ended by its update")
	}
	select {
	case <-other:
		t.Fatal("the watch of another PV ended")
	case <-stopped:
		t.Fatal("a stopped watch was closed")
	default:
	}
	stopOther()
	if n := len(c.storage.watchers); n != 0 {
		t.Errorf("%d watched keys left", n)
	}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"}, Spec: v1.PodSpec{NodeName: "a",
		Volumes: []v1.Volume{{Name: "d", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}}}}
	if err := c.Assume(snapshot.NewPodInfo(pod), "a"); err != nil {
		t.Fatal(err)
	}
	s = c.UpdateSnapshot(s)
	if s.Storage.ClaimUsers("ns", "c") != 1 || s.Storage.Volume("pv") == nil {
		t.Fatalf("claim users %d, pv %v: want 1 and the PV", s.Storage.ClaimUsers("ns", "c"), s.Storage.Volume("pv"))
	}
	c.Forget(pod)
	// A node added rebuilds the snapshot; the storage view must carry over.
	c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "b"}})
	s = c.UpdateSnapshot(s)
	if s.Storage.ClaimUsers("ns", "c") != 0 || s.Storage.Volume("pv") == nil {
		t.Errorf("after Forget and a new node: claim users %d, pv %v: want 0 and the PV", s.Storage.ClaimUsers("ns", "c"), s.Storage.Volume("pv"))
	}
}
