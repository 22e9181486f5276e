package scheduler

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// BenchmarkAddBoundPods feeds 50,000 bound pods over 5000 nodes through the pod handler, as the
// informer hands them over at a cold start (after the nodes): the backlog the first new pod waits
// behind. The pods are the startup benchmark's (one shared label), or with labels as
// Deployments leave them (app, pod-template-hash: 10 pods a ReplicaSet).
func BenchmarkAddBoundPods(b *testing.B) {
	const nodes, pods = 5000, 50000
	basic, _ := benchdata.Get("basic")
	nodeList := basic.Nodes(nodes)
	for _, c := range []struct {
		name   string
		labels func(i int) map[string]string
	}{
		{"shared labels", nil},
		{"deployment labels", func(i int) map[string]string {
			rs := i / 10
			return map[string]string{"app": fmt.Sprintf("app-%d", rs/3), "pod-template-hash": fmt.Sprintf("%010x", rs)}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			list := basic.Pods("bound", benchdata.Size{Nodes: nodes, Pods: pods})
			bound := make([]*v1.Pod, len(list))
			for i, p := range list {
				p.Pod.UID = types.UID(fmt.Sprintf("uid-%d", i))
				p.Pod.Spec.NodeName = benchdata.NodeName(i % nodes)
				if c.labels != nil {
					p.Pod.Labels = c.labels(i)
				}
				bound[i] = p.Pod
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				s := newTestScheduler(b)
				for _, n := range nodeList {
					s.cache.AddNode(n)
				}
				b.StartTimer()
				for _, p := range bound {
					s.onPodAdd(p)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pods), "ns/pod")
		})
	}
}
