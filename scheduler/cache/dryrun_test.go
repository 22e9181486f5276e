package cache

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestDryRunSnapshot(t *testing.T) {
	tests := []struct {
		name    string
		without string
		want    map[string]int64 // node -> requested millicpu
	}{
		{name: "everything", want: map[string]int64{"n1": 1500, "n2": 0}},
		{name: "without a bound pod", without: "a", want: map[string]int64{"n1": 500, "n2": 0}},
		{name: "without an unknown pod", without: "zzz", want: map[string]int64{"n1": 1500, "n2": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			c.AddNode(node("n1", "z1"))
			loop := c.UpdateSnapshot(nil)
			c.AddNode(node("n2", "z1"))
			c.AddPod(pod("a", "n1", "1"))
			c.AddPod(pod("b", "n1", "500m"))
			dry := c.DryRunSnapshot(types.UID(tc.without))
			for n, want := range tc.want {
				if got := requested(dry, n); got != want {
					t.Errorf("dry run: %s requested %d, want %d", n, got, want)
				}
			}
			// The loop's next snapshot still gets every change made before the dry run.
			loop = c.UpdateSnapshot(loop)
			if got := requested(loop, "n1"); got != 1500 || loop.Get("n2") == nil {
				t.Errorf("loop's snapshot after a dry run: n1 requested %d, n2 %v; want 1500 and present", got, loop.Get("n2"))
			}
		})
	}
}

// TestDryRunSnapshotSharesUnchangedNodes: a dry run reuses the loop's clones of the nodes not
// changed since its last snapshot, and clones the others, seeing their changes.
func TestDryRunSnapshotSharesUnchangedNodes(t *testing.T) {
	c := New()
	c.AddNode(node("n1", "z1"))
	c.AddNode(node("n2", "z1"))
	loop := c.UpdateSnapshot(nil)
	c.AddPod(pod("a", "n1", "1"))
	dry := c.DryRunSnapshot("")
	if dry.Get("n2") != loop.Get("n2") {
		t.Error("unchanged n2 was cloned again")
	}
	if dry.Get("n1") == loop.Get("n1") || requested(dry, "n1") != 1000 || requested(loop, "n1") != 0 {
		t.Errorf("changed n1: shared %v, dry run requested %d, loop's %d; want a new clone with 1000 and the loop's untouched",
			dry.Get("n1") == loop.Get("n1"), requested(dry, "n1"), requested(loop, "n1"))
	}
	loop = c.UpdateSnapshot(loop)
	if requested(loop, "n1") != 1000 {
		t.Errorf("loop's snapshot after a dry run: n1 requested %d, want 1000", requested(loop, "n1"))
	}
	c.RemovePod(pod("a", "n1", "1"))
	if dry := c.DryRunSnapshot(""); requested(dry, "n1") != 0 || dry.Get("n2") != loop.Get("n2") {
		t.Errorf("after the pod left: n1 requested %d, n2 shared %v", requested(dry, "n1"), dry.Get("n2") == loop.Get("n2"))
	}
}

// TestDryRunSnapshotInTheLoopsOrder: a dry run's nodes are in the loop's order and found by name,
// whether they are shared, cloned because they changed, or cloned without a bound pod; after
// the loop's next snapshot it shares that snapshot's new clones.
func TestDryRunSnapshotInTheLoopsOrder(t *testing.T) {
	tests := []struct {
		name    string
		without string
		want    map[string]int64 // node -> requested millicpu
	}{
		{name: "everything", want: map[string]int64{"n1": 1000, "n3": 500, "n5": 0}},
		{name: "without a pod on an unchanged node", without: "old", want: map[string]int64{"n1": 1000, "n3": 0, "n5": 0}},
		{name: "without a pod on a changed node", without: "a", want: map[string]int64{"n1": 0, "n3": 500, "n5": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			for i, z := range []string{"z1", "z2", "z3", "z1", "z2", "z3"} {
				c.AddNode(node(fmt.Sprintf("n%d", i), z))
			}
			c.AddPod(pod("old", "n3", "500m"))
			loop := c.UpdateSnapshot(nil)
			c.AddPod(pod("a", "n1", "1"))
			dry := c.DryRunSnapshot(types.UID(tc.without))
			sameOrder(t, dry, loop)
			for n, want := range tc.want {
				if got := requested(dry, n); got != want {
					t.Errorf("dry run: %s requested %d, want %d", n, got, want)
				}
			}
			if tc.without != "old" && dry.Get("n3") != loop.Get("n3") {
				t.Error("unchanged n3 was not shared")
			}
			loop = c.UpdateSnapshot(loop)
			dry = c.DryRunSnapshot("")
			sameOrder(t, dry, loop)
			for _, n := range []string{"n0", "n1", "n3"} {
				if dry.Get(n) != loop.Get(n) {
					t.Errorf("after the loop's update, %s is not the loop's clone", n)
				}
			}
		})
	}
}

// sameOrder checks that got lists the nodes of want in want's order, each found by its name.
func sameOrder(t *testing.T, got, want *snapshot.Snapshot) {
	t.Helper()
	if len(got.Nodes) != len(want.Nodes) {
		t.Fatalf("%d nodes, want %d", len(got.Nodes), len(want.Nodes))
	}
	for i, n := range got.Nodes {
		name := n.Node.Name
		if name != want.Nodes[i].Node.Name || got.Get(name) != n {
			t.Errorf("node %d is %s (found by name: %v), want %s", i, name, got.Get(name) == n, want.Nodes[i].Node.Name)
		}
	}
}
