package nodeaffinity

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func benchNodes(n int) []*snapshot.NodeInfo {
	nodes := make([]*snapshot.NodeInfo, n)
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("node-%d", i), map[string]string{
			"kubernetes.io/hostname":      fmt.Sprintf("node-%d", i),
			"topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%10),
			"pool":                        fmt.Sprintf("pool-%d", i%3),
			"cores":                       fmt.Sprint(4 << (i % 4)),
		})
	}
	return nodes
}

func BenchmarkFilter5000Nodes(b *testing.B) {
	nodes := benchNodes(5000)
	pod := podWith(map[string]string{"pool": "pool-1"}, []v1.NodeSelectorTerm{
		exprTerm(expr("topology.kubernetes.io/zone", v1.NodeSelectorOpIn, "zone-1", "zone-4", "zone-7"), expr("cores", v1.NodeSelectorOpGt, "8")),
		exprTerm(expr("topology.kubernetes.io/zone", v1.NodeSelectorOpNotIn, "zone-0"), expr("gpu", v1.NodeSelectorOpExists)),
	})
	pl, err := New(DefaultArgs())
	if err != nil {
		b.Fatal(err)
	}
	pi := snapshot.NewPodInfo(pod)
	b.ReportAllocs()
	for b.Loop() {
		f, _ := pl.PreFilter(pi, nil)
		for _, n := range nodes {
			f.Filter(n)
		}
	}
}

func BenchmarkScore5000Nodes(b *testing.B) {
	nodes := benchNodes(5000)
	pod := podPreferring(
		preferred(10, exprTerm(expr("topology.kubernetes.io/zone", v1.NodeSelectorOpIn, "zone-1", "zone-2"))),
		preferred(5, exprTerm(expr("cores", v1.NodeSelectorOpLt, "16"))),
	)
	pl, err := New(DefaultArgs())
	if err != nil {
		b.Fatal(err)
	}
	pi := snapshot.NewPodInfo(pod)
	scores := make([]int64, len(nodes))
	b.ReportAllocs()
	for b.Loop() {
		s := pl.PreScore(pi, nil, nodes)
		for i, n := range nodes {
			scores[i] = s.Score(n)
		}
		s.(*scorer).Normalize(scores)
	}
}
