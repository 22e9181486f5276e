package explain_test

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/scheduler/explain"
)

// BenchmarkExplain measures one explain of a pending pod, as /debug/explain runs it, on the
// basic and mixed workloads of ./bench at 5000 nodes holding 5000 pods: the dry-run snapshot
// from the cache (after the loop took one, whose clones it shares), the dry run over every node,
// the hints, the report and its JSON; and of a pod that fits nowhere, with its hints.
//
//	go test -run '^$' -bench Explain ./scheduler/explain/
func BenchmarkExplain(b *testing.B) {
	for _, tc := range []struct {
		name  string
		nodes int
	}{{"basic", 5000}, {"mixed", 5000}, {"basic", 1000}} {
		b.Run(fmt.Sprintf("%s-%d", tc.name, tc.nodes), func(b *testing.B) {
			w, ok := benchdata.Get(tc.name)
			if !ok {
				b.Skipf("no workload %s", tc.name)
			}
			nodes := tc.nodes
			cl, err := w.NewCluster("bench", benchdata.Size{Nodes: nodes, Pods: 2 * nodes}, scheduler.DefaultSchedulerName)
			if err != nil {
				b.Fatal(err)
			}
			c := cl.Cache
			c.UpdateSnapshot(nil) // as the scheduling loop does: dry runs share its clones
			p := cl.Pending[len(cl.Pending)-1].Pod
			d := newDecider(b)
			b.Run("explain", func(b *testing.B) {
				for b.Loop() {
					r := explain.Build(explain.Input{Pod: p, Profile: scheduler.DefaultSchedulerName, Decider: d, Snapshot: c.DryRunSnapshot("")})
					if r.Decision.Nodes != nodes {
						b.Fatalf("explained %d nodes", r.Decision.Nodes)
					}
					if err := json.NewEncoder(io.Discard).Encode(r); err != nil {
						b.Fatal(err)
					}
				}
			})
			// A pod that fits nowhere, for want of a label no node has: the hints run, checking
			// a labelled copy of every node.
			stuck := p.DeepCopy()
			stuck.Spec.NodeSelector = map[string]string{"bench/disk": "ssd"}
			b.Run("explain-unschedulable", func(b *testing.B) {
				for b.Loop() {
					r := explain.Build(explain.Input{Pod: stuck, Profile: scheduler.DefaultSchedulerName, Decider: d, Snapshot: c.DryRunSnapshot("")})
					if len(r.Summary.Hints) == 0 {
						b.Fatal("no hints")
					}
				}
			})
			// The dry-run snapshot alone (the cache's lock is held only while it copies).
			b.Run("snapshot", func(b *testing.B) {
				for b.Loop() {
					c.DryRunSnapshot("")
				}
			})
		})
	}
}
