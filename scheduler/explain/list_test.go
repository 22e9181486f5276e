package explain

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestBestFeasible checks the one-pass selection against a stable sort of every feasible node,
// on traces with ties, unranked and rejected nodes, with and without a chosen node.
func TestBestFeasible(t *testing.T) {
	reference := func(tr *decide.Trace, chosen *decide.NodeTrace, k int) []*decide.NodeTrace {
		var all []*decide.NodeTrace
		for i := range tr.Nodes {
			if tr.Nodes[i].Feasible() {
				all = append(all, &tr.Nodes[i])
			}
		}
		sort.SliceStable(all, func(i, j int) bool {
			a, b := all[i], all[j]
			if (a == chosen) != (b == chosen) {
				return a == chosen
			}
			if a.Scored != b.Scored {
				return a.Scored
			}
			return a.Total > b.Total
		})
		return all[:min(len(all), k)]
	}
	tests := []struct {
		name             string
		nodes, k, totals int
		rejectedPercent  int
		withChosen       bool
	}{
		{"no nodes", 0, 10, 5, 0, false},
		{"fewer feasible than k", 6, 10, 3, 30, true},
		{"many ties", 200, 10, 3, 20, true},
		{"distinct totals", 500, 10, 1 << 20, 50, true},
		{"no chosen node", 300, 10, 7, 10, false},
		{"k of one", 50, 1, 4, 0, true},
		{"all rejected", 40, 10, 4, 100, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.nodes), uint64(tc.k)))
			for trial := range 20 {
				tr := &decide.Trace{Nodes: make([]decide.NodeTrace, tc.nodes)}
				for i := range tr.Nodes {
					nt := &tr.Nodes[i]
					if r.IntN(100) < tc.rejectedPercent {
						nt.Verdict = snapshot.Reject("no")
						continue
					}
					nt.Scored = r.IntN(4) > 0
					if nt.Scored {
						nt.Total = int64(r.IntN(tc.totals))
					}
				}
				var chosen *decide.NodeTrace
				if tc.withChosen && tc.nodes > 0 {
					chosen = &tr.Nodes[r.IntN(tc.nodes)]
				}
				got, want := bestFeasible(tr, chosen, tc.k), reference(tr, chosen, tc.k)
				if !slices.Equal(got, want) {
					t.Fatalf("trial %d: got positions %v, want %v", trial, positions(tr, got), positions(tr, want))
				}
			}
		})
	}
}

func positions(tr *decide.Trace, nts []*decide.NodeTrace) []int {
	out := make([]int, len(nts))
	for i, nt := range nts {
		for j := range tr.Nodes {
			if &tr.Nodes[j] == nt {
				out[i] = j
			}
		}
	}
	return out
}
