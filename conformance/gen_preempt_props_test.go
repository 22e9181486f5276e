package conformance

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestGeneratePreemptIsReproducible: a seed always gives the same preemption scenario, and
// different seeds differ.
func TestGeneratePreemptIsReproducible(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		a, b := generatePreempt(seed).String(), generatePreempt(seed).String()
		if a != b {
			t.Fatalf("seed %d generated two different scenarios:\n%s\n%s", seed, a, b)
		}
	}
	if generatePreempt(1).String() == generatePreempt(2).String() {
		t.Error("seeds 1 and 2 generated the same scenario")
	}
}

// TestGeneratePreemptKeepsChoicesUnique checks, over many seeds, the properties the comparison
// relies on (see the package doc): no two pods start at the same time, no pod is covered by
// two budgets, fewer than ten pods of one tier can share a node, and each preemptor fits no
// node without evicting.
func TestGeneratePreemptKeepsChoicesUnique(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		s := generatePreempt(seed)
		if n := len(s.nodes); n < 3 || n > 8 {
			t.Errorf("seed %d: %d nodes, want 3..8", seed, n)
		}
		starts := map[int64]string{}
		perTier := map[string]int{}
		for _, p := range s.existing {
			if p.Status.StartTime == nil {
				t.Fatalf("seed %d: %s has no start time", seed, p.Name)
			}
			at := p.Status.StartTime.Unix()
			if other, ok := starts[at]; ok {
				t.Errorf("seed %d: %s and %s start at the same time", seed, other, p.Name)
			}
			starts[at] = p.Name
			covered := 0
			for _, b := range s.pdbs {
				sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
				if err != nil {
					t.Fatal(err)
				}
				if b.Namespace == p.Namespace && sel.Matches(labels.Set(p.Labels)) {
					covered++
				}
			}
			if covered > 1 {
				t.Errorf("seed %d: %s is covered by %d budgets", seed, p.Name, covered)
			}
			perTier[p.Spec.NodeName+"/"+p.Spec.PriorityClassName]++
		}
		for key, n := range perTier {
			if n+len(s.preemptors) >= 10 {
				t.Errorf("seed %d: %d pods of %s, and %d preemptors", seed, n, key, len(s.preemptors))
			}
		}
		last := s.nodes[len(s.nodes)-1]
		if q := last.Status.Allocatable[v1.ResourcePods]; q.Value() < 10 {
			t.Errorf("seed %d: the probe node %s takes only %d pods", seed, last.Name, q.Value())
		}
		g := &pgen{s: s}
		for _, p := range s.preemptors {
			if !g.fitNowhere(p) {
				t.Errorf("seed %d: preemptor %s fits a node without evicting", seed, p.Name)
			}
		}
	}
}
