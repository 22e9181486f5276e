package decide_test

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// The decision micro-benchmarks run berth's default profile on the workloads of the end-to-end
// benchmark (./bench), in memory: a cluster of benchNodes nodes that already holds the first
// half of benchPods pods (placed validly by benchdata's Place), then decisions for the other half.
//
//	go test -run '^$' -bench . -benchmem ./scheduler/decide
const (
	benchNodes = 5000
	benchPods  = 10000
)

// sink keeps the compiler from dropping a decision.
var sink decide.Result

// BenchmarkDecide measures one decision alone, on a snapshot that does not change.
func BenchmarkDecide(b *testing.B) {
	for _, w := range benchdata.All() {
		b.Run(w.Name, func(b *testing.B) {
			c := newBenchCluster(b, w)
			snap := c.cache.UpdateSnapshot(nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = c.decider.Decide(c.pending[i%len(c.pending)], snap)
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
			snap := c.cache.UpdateSnapshot(nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(c.pending) { // every pending pod placed: start again from the half-full cluster
					b.StopTimer()
					c = newBenchCluster(b, w)
					snap, i = c.cache.UpdateSnapshot(nil), 0
					b.StartTimer()
				}
				snap = c.cache.UpdateSnapshot(snap)
				pi := c.pending[i]
				if res := c.decider.Decide(pi, snap); res.Node != "" {
					c.assume(b, pi, res.Node)
				}
				i++
			}
		})
	}
}

// benchCluster is a cache holding a workload's nodes and its first pods, the default profile's
// decider, and the pods still to decide.
type benchCluster struct {
	cache   *cache.Cache
	decider scheduler.Decider
	pending []*snapshot.PodInfo
}

func newBenchCluster(b *testing.B, w benchdata.Workload) *benchCluster {
	b.Helper()
	const ns = "bench"
	size := benchdata.Size{Nodes: benchNodes, Pods: benchPods}
	if err := w.Validate(size); err != nil {
		b.Fatal(err)
	}
	c := &benchCluster{cache: cache.New(), decider: defaultDecider(b)}
	c.cache.SetNamespace(&v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	nodes := w.Nodes(benchNodes)
	for _, n := range nodes {
		c.cache.AddNode(n)
	}
	pods := w.Pods(ns, size)
	half := len(pods) / 2
	for i, node := range w.Place(size, half) {
		if node >= 0 {
			bound := podInfo(pods[i].Pod).Pod
			bound.Spec.NodeName = nodes[node].Name
			c.cache.AddPod(bound)
		}
	}
	for _, p := range pods[half:] {
		if len(p.Pod.Spec.SchedulingGates) == 0 { // the queue never hands gated pods to a decision
			c.pending = append(c.pending, podInfo(p.Pod))
		}
	}
	return c
}

// assume places pi on node in the cache, as the loop does.
func (c *benchCluster) assume(b *testing.B, pi *snapshot.PodInfo, node string) {
	bound := pi.Pod.DeepCopy()
	bound.Spec.NodeName = node
	if err := c.cache.Assume(snapshot.NewPodInfo(bound), node); err != nil {
		b.Fatal(err)
	}
}

func podInfo(p *v1.Pod) *snapshot.PodInfo {
	p = p.DeepCopy()
	p.UID = types.UID(p.Namespace + "/" + p.Name)
	p.Spec.SchedulerName = scheduler.DefaultSchedulerName
	return snapshot.NewPodInfo(p)
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
