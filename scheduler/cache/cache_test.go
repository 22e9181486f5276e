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
