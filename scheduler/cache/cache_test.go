package cache

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func node(name, zone string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4")}}}
}

func pod(uid, nodeName, cpu string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Name: uid, Namespace: "ns"},
		Spec: v1.PodSpec{NodeName: nodeName, Containers: []v1.Container{{Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}}}}
}

func requested(s *snapshot.Snapshot, name string) int64 {
	n := s.Get(name)
	if n == nil {
		return -1
	}
	return n.Requested.MilliCPU
}

func TestCacheSnapshot(t *testing.T) {
	tests := []struct {
		name   string
		steps  func(c *Cache)
		want   map[string]int64 // node -> requested millicpu (-1: absent)
		assume bool
	}{
		{name: "bound pod counts", steps: func(c *Cache) { c.AddPod(pod("a", "n1", "1")) }, want: map[string]int64{"n1": 1000, "n2": 0}},
		{name: "pending pod ignored", steps: func(c *Cache) { c.AddPod(pod("a", "", "1")) }, want: map[string]int64{"n1": 0}},
		{name: "assumed pod counts", steps: func(c *Cache) {
			if err := c.Assume(snapshot.NewPodInfo(pod("a", "", "1")), "n2"); err != nil {
				t.Fatal(err)
			}
		}, want: map[string]int64{"n2": 1000}},
		{name: "forget assumed", steps: func(c *Cache) {
			p := pod("a", "", "1")
			_ = c.Assume(snapshot.NewPodInfo(p), "n2")
			c.Forget(p)
		}, want: map[string]int64{"n2": 0}},
		{name: "confirmed assumed pod is not forgotten", steps: func(c *Cache) {
			p := pod("a", "", "1")
			_ = c.Assume(snapshot.NewPodInfo(p), "n2")
			c.AddPod(pod("a", "n2", "1"))
			c.Forget(p)
		}, want: map[string]int64{"n2": 1000}},
		{name: "forget all assumed", steps: func(c *Cache) {
			_ = c.Assume(snapshot.NewPodInfo(pod("a", "", "1")), "n1")
			_ = c.Assume(snapshot.NewPodInfo(pod("b", "", "1")), "n2")
			c.AddPod(pod("c", "n2", "500m"))
			if got := c.ForgetAllAssumed(); got != 2 {
				t.Errorf("ForgetAllAssumed = %d, want 2", got)
			}
		}, want: map[string]int64{"n1": 0, "n2": 500}},
		{name: "pod update replaces", steps: func(c *Cache) {
			c.AddPod(pod("a", "n1", "1"))
			c.UpdatePod(pod("a", "n1", "2"))
		}, want: map[string]int64{"n1": 2000}},
		{name: "pod removed", steps: func(c *Cache) {
			c.AddPod(pod("a", "n1", "1"))
			c.RemovePod(pod("a", "n1", "1"))
		}, want: map[string]int64{"n1": 0}},
		{name: "node removed leaves snapshot", steps: func(c *Cache) { c.RemoveNode(node("n1", "z1")) }, want: map[string]int64{"n1": -1, "n2": 0}},
		{name: "node added", steps: func(c *Cache) { c.AddNode(node("n3", "z2")) }, want: map[string]int64{"n3": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			c.AddNode(node("n1", "z1"))
			c.AddNode(node("n2", "z2"))
			s := c.UpdateSnapshot(nil)
			before := s.Get("n1")
			tc.steps(c)
			s = c.UpdateSnapshot(s)
			for n, want := range tc.want {
				if got := requested(s, n); got != want {
					t.Errorf("node %s requested = %d, want %d", n, got, want)
				}
			}
			if before != nil && before.Requested.MilliCPU != 0 {
				t.Errorf("an older snapshot node changed: %d", before.Requested.MilliCPU)
			}
			// A fresh full snapshot must agree with the incremental one.
			full := c.UpdateSnapshot(nil)
			for n := range tc.want {
				if requested(full, n) != requested(s, n) {
					t.Errorf("node %s: incremental %d != full %d", n, requested(s, n), requested(full, n))
				}
			}
		})
	}
}

func TestAssumeTwiceFails(t *testing.T) {
	c := New()
	p := snapshot.NewPodInfo(pod("a", "", "1"))
	if err := c.Assume(p, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Assume(p, "n1"); err == nil {
		t.Fatal("second Assume succeeded")
	}
}

// TestSizes: nodes with a node object, every pod, and the assumed ones among them; a binding
// seen ends the assumption.
func TestSizes(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "z"))
	c.AddNode(node("n2", "z"))
	c.AddPod(pod("bound", "n1", "1"))
	c.AddPod(pod("on-unknown-node", "n9", "1")) // n9 has pods but no node object
	if err := c.Assume(snapshot.NewPodInfo(pod("a", "", "1")), "n2"); err != nil {
		t.Fatal(err)
	}
	if n, p, a := c.Sizes(); n != 2 || p != 3 || a != 1 {
		t.Errorf("sizes = %d nodes, %d pods, %d assumed; want 2, 3, 1", n, p, a)
	}
	c.AddPod(pod("a", "n2", "1"))
	if n, p, a := c.Sizes(); n != 2 || p != 3 || a != 0 {
		t.Errorf("after the binding: %d nodes, %d pods, %d assumed; want 2, 3, 0", n, p, a)
	}
}

func TestSortNodesInterleavesZones(t *testing.T) {
	var list []*snapshot.NodeInfo
	for _, n := range []*v1.Node{node("a1", "a"), node("a2", "a"), node("a3", "a"), node("b1", "b"), node("c1", "c"), node("c2", "c")} {
		list = append(list, snapshot.NewNodeInfo(n))
	}
	sortNodes(list)
	var got []string
	for _, n := range list {
		got = append(got, n.Node.Name)
	}
	want := []string{"a1", "b1", "c1", "a2", "c2", "a3"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
}

func TestNominations(t *testing.T) {
	nominatedTo := func(s *snapshot.Snapshot, node string) []string {
		var uids []string
		for _, p := range s.Nominated[node] {
			uids = append(uids, string(p.Pod.UID))
		}
		return uids
	}
	c := New()
	c.AddNode(node("n1", "a"))
	c.AddNode(node("n2", "a"))
	snap := c.UpdateSnapshot(nil)

	p1, p2 := snapshot.NewPodInfo(pod("p1", "", "1")), snapshot.NewPodInfo(pod("p2", "", "1"))
	c.Nominate(p2, "n1")
	c.Nominate(p1, "n1")
	snap = c.UpdateSnapshot(snap)
	if got := nominatedTo(snap, "n1"); len(got) != 2 || got[0] != "p1" || got[1] != "p2" {
		t.Fatalf("nominated to n1: %v, want [p1 p2]", got)
	}
	if n, ok := snap.NominatedNode("p2"); !ok || n != "n1" {
		t.Errorf("NominatedNode(p2) = %q, %v", n, ok)
	}

	c.Nominate(p2, "n2") // moves
	if err := c.Assume(snapshot.NewPodInfo(pod("p1", "n1", "1")), "n1"); err != nil {
		t.Fatal(err)
	}
	snap = c.UpdateSnapshot(snap)
	if got, got2 := nominatedTo(snap, "n1"), nominatedTo(snap, "n2"); len(got) != 0 || len(got2) != 1 {
		t.Errorf("after assuming p1 and moving p2: n1 %v, n2 %v; want [] and [p2]", got, got2)
	}
	c.Nominate(snapshot.NewPodInfo(pod("p1", "", "1")), "n2") // p1 is placed: ignored
	c.AddPod(pod("p2", "n2", "1"))                            // p2 is seen bound: no longer nominated
	snap = c.UpdateSnapshot(snap)
	if len(snap.Nominated) != 0 {
		t.Errorf("nominations left: %v", snap.Nominated)
	}
	p3 := snapshot.NewPodInfo(pod("p3", "", "1"))
	c.Nominate(p3, "n1")
	c.Unnominate("p3")
	if _, ok := c.Nomination("p3"); ok {
		t.Error("p3 still nominated after Unnominate")
	}
	c.AddNode(node("n3", "b")) // a new snapshot is built: nominations carried over
	c.Nominate(p3, "n3")
	if snap = c.UpdateSnapshot(snap); len(nominatedTo(snap, "n3")) != 1 {
		t.Errorf("rebuilt snapshot lacks the nomination: %v", snap.Nominated)
	}
}
