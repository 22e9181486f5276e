package snapshot

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestWithNode checks the what-if copy: it holds the replacement everywhere a reader looks (by
// name, in Nodes, in the affinity lists, in topology counts, in image counts), and the original
// snapshot is unchanged.
func TestWithNode(t *testing.T) {
	term := v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, TopologyKey: "zone"}
	anti := NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID("anti"), Namespace: "ns", Labels: map[string]string{"app": "x"}},
		Spec: v1.PodSpec{Affinity: &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term}}}}})
	node := func(name, image string) *v1.Node {
		return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"zone": "z-" + name}},
			Status: v1.NodeStatus{Images: []v1.ContainerImage{{Names: []string{image}, SizeBytes: 1}}}}
	}
	n1, n2 := NewNodeInfo(node("n1", "a:1"), anti), NewNodeInfo(node("n2", "b:1"))
	s := New([]*NodeInfo{n1, n2}, nil)
	podsIn := func(s *Snapshot, zone string) int {
		n := 0
		for set := range s.Topology("zone").LabelSets() {
			n += set.Counts[0][zone]
		}
		return n
	}
	if podsIn(s, "z-n1") != 1 { // the original's index, built before the copy
		t.Fatalf("the original counts %d pods in z-n1", podsIn(s, "z-n1"))
	}

	without := n1.Clone()
	without.RemovePod(anti)
	without.SetNode(node("n1", "c:1"))
	c := s.WithNode(without)
	if c == nil {
		t.Fatal("WithNode refused a known node")
	}
	if c.Get("n1") != without || c.Nodes[0] != without || c.Get("n2") != n2 {
		t.Errorf("the copy does not hold the replacement: %v", c.Nodes)
	}
	if len(c.WithRequiredAntiAffinity) != 0 {
		t.Errorf("the copy still lists %d nodes with anti-affinity pods", len(c.WithRequiredAntiAffinity))
	}
	if got := podsIn(c, "z-n1"); got != 0 {
		t.Errorf("the copy counts %d pods in z-n1, want 0", got)
	}
	if c.ImageNodes(NormalizeImageName("a:1")) != 0 || c.ImageNodes(NormalizeImageName("c:1")) != 1 {
		t.Errorf("the copy's image counts are stale")
	}

	// The original is as it was.
	if s.Get("n1") != n1 || s.Nodes[0] != n1 || len(s.WithRequiredAntiAffinity) != 1 ||
		podsIn(s, "z-n1") != 1 || s.ImageNodes(NormalizeImageName("a:1")) != 1 || s.ImageNodes(NormalizeImageName("c:1")) != 0 {
		t.Error("WithNode changed the original snapshot")
	}
	if s.WithNode(NewNodeInfo(node("n9", "a:1"))) != nil || s.WithNode(NewNodeInfo(nil)) != nil {
		t.Error("WithNode accepted a node the snapshot does not have")
	}
}
