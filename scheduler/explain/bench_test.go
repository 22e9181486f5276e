package explain_test

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/explain"
)

// BenchmarkExplain measures one explain of a pending pod, as /debug/explain runs it, on the
// basic and mixed workloads of ./bench at 5000 nodes holding 5000 pods: the dry-run snapshot
// from the cache, the dry run over every node, the hints and the report.
//
//	go test -run '^$' -bench Explain ./scheduler/explain/
func BenchmarkExplain(b *testing.B) {
	for _, name := range []string{"basic", "mixed"} {
		b.Run(name, func(b *testing.B) {
			w, ok := benchdata.Get(name)
			if !ok {
				b.Skipf("no workload %s", name)
			}
			const nodes, pods = 5000, 10000
			size := benchdata.Size{Nodes: nodes, Pods: pods}
			c := cache.New()
			c.SetNamespace(&v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}})
			ns := w.Nodes(nodes)
			for _, n := range ns {
				c.AddNode(n)
			}
			all := w.Pods("bench", size)
			for i, at := range w.Place(size, pods/2) {
				if at >= 0 {
					p := all[i].Pod.DeepCopy()
					p.UID = types.UID(p.Name)
					p.Spec.NodeName = ns[at].Name
					c.AddPod(p)
				}
			}
			p := all[pods-1].Pod.DeepCopy()
			p.UID, p.Spec.SchedulerName = "pending", scheduler.DefaultSchedulerName
			d := newDecider(b)
			b.ResetTimer()
			for b.Loop() {
				r := explain.Build(explain.Input{Pod: p, Profile: scheduler.DefaultSchedulerName, Decider: d, Snapshot: c.DryRunSnapshot("")})
				if r.Decision.Nodes != nodes {
					b.Fatalf("explained %d nodes", r.Decision.Nodes)
				}
			}
		})
	}
}
