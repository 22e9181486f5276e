package decide_test

import (
	"flag"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/scheduler/decide"
)

// The decision micro-benchmarks run berth's default profile on the workloads of the end-to-end
// benchmark (./bench), in memory: a cluster of -bench-nodes nodes (5000 unless told) that already
// holds the first half of twice as many pods (placed validly by benchdata's Place), then
// decisions for the other half.
//
//	go test -run '^$' -bench . -benchmem ./scheduler/decide
//	go test -run '^$' -bench Decide/mixed ./scheduler/decide -args -bench-nodes 15000
var benchNodes = flag.Int("bench-nodes", 5000, "nodes of the decision micro-benchmarks' cluster (pods: twice as many)")

// sink keeps the compiler from dropping a decision.
var sink decide.Result

// BenchmarkDecide measures one decision alone, on a snapshot that does not change.
func BenchmarkDecide(b *testing.B) {
	for _, w := range benchdata.All() {
		b.Run(w.Name, func(b *testing.B) {
			c := newBenchCluster(b, w)
			snap := c.Cache.UpdateSnapshot(nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = c.decider.Decide(c.Pending[i%len(c.Pending)], snap)
				i++
			}
		})
	}
}

// BenchmarkScheduleOne measures what the scheduling loop does per pod apart from API calls:
// refresh the snapshot, decide, and assume the pod on its node.
func BenchmarkScheduleOne(b *testing.B) {
	for _, w := range benchdata.All() {
		b.Run(w.Name, func(b *testing.B) {
			c := newBenchCluster(b, w)
			snap := c.Cache.UpdateSnapshot(nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(c.Pending) { // every pending pod placed: start again from the half-full cluster
					b.StopTimer()
					c = newBenchCluster(b, w)
					snap, i = c.Cache.UpdateSnapshot(nil), 0
					b.StartTimer()
				}
				snap = c.Cache.UpdateSnapshot(snap)
				pi := c.Pending[i]
				if res := c.decider.Decide(pi, snap); res.Node != "" {
					if err := c.Assume(pi, res.Node); err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
		})
	}
}

// benchCluster is a workload's half-full cluster (benchdata.Cluster) and the default
// profile's decider.
type benchCluster struct {
	*benchdata.Cluster
	decider scheduler.Decider
}

func newBenchCluster(b *testing.B, w benchdata.Workload) *benchCluster {
	b.Helper()
	c, err := w.NewCluster("bench", benchdata.Size{Nodes: *benchNodes, Pods: 2 * *benchNodes}, scheduler.DefaultSchedulerName)
	if err != nil {
		b.Fatal(err)
	}
	return &benchCluster{Cluster: c, decider: defaultDecider(b)}
}

// defaultDecider builds the default profile. Its informers are never started: the
// listers default topology spreading reads stay empty, as in a cluster without Services.
func defaultDecider(b *testing.B) scheduler.Decider {
	b.Helper()
	client, err := kubeclient.New(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	prof, err := scheduler.DefaultProfile(scheduler.DefaultSchedulerName, kubeclient.NewInformers(client), 1)
	if err != nil {
		b.Fatal(err)
	}
	return prof.Decider
}
