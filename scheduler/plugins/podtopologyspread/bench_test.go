package podtopologyspread

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// benchSnapshot has nodes nodes over 10 zones, each with podsPerNode pods from 5 apps (so a
// selector on one app matches a fifth of them), in namespace "default".
func benchSnapshot(nodes, podsPerNode int) *snapshot.Snapshot {
	infos := make([]*snapshot.NodeInfo, nodes)
	for i := range infos {
		name := fmt.Sprintf("node-%d", i)
		n := snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			hostKey: name, "zone": fmt.Sprintf("zone-%d", i%10), v1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%10),
		}}})
		for j := range podsPerNode {
			n.AddPod(snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%d", name, j), Namespace: "default", UID: types.UID(fmt.Sprintf("%s-%d", name, j)),
				Labels: map[string]string{"app": fmt.Sprintf("app-%d", (i+j)%5), "tier": "t"},
			}, Spec: v1.PodSpec{NodeName: name}}))
		}
		infos[i] = n
	}
	return snapshot.New(infos, nil)
}

var app0 = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "app-0"}}

func BenchmarkFilter5000Nodes(b *testing.B) {
	s := benchSnapshot(5000, 10)
	cases := []struct {
		name string
		pod  *v1.Pod
	}{
		{"zone", mkPod([]string{"app", "app-0"}, spread(hard("zone", 1, app0)))},
		{"hostname", mkPod([]string{"app", "app-0"}, spread(hard(hostKey, 1, app0)))},
		{"zone+hostname", mkPod([]string{"app", "app-0"}, spread(hard("zone", 1, app0), hard(hostKey, 1, app0)))},
	}
	pl := mustNew(b, DefaultArgs(), nil)
	for _, c := range cases {
		pi := snapshot.NewPodInfo(c.pod)
		b.Run(c.name+"/PreFilter+Filter", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, _ := pl.PreFilter(pi, s)
				for _, n := range s.Nodes {
					f.Filter(n)
				}
			}
		})
		f, _ := pl.PreFilter(pi, s)
		b.Run(c.name+"/Filter", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, n := range s.Nodes {
					f.Filter(n)
				}
			}
		})
	}
}

func BenchmarkScore5000Nodes(b *testing.B) {
	s := benchSnapshot(5000, 10)
	pl := mustNew(b, DefaultArgs(), fixedSelectorsFor("app", "app-0"))
	cases := []struct {
		name string
		pod  *v1.Pod
	}{
		{"zone+hostname", mkPod([]string{"app", "app-0"}, spread(soft("zone", 1, app0), soft(hostKey, 1, app0)))},
		{"system-defaults", mkPod([]string{"app", "app-0"})},
	}
	scores := make([]int64, len(s.Nodes))
	for _, c := range cases {
		pi := snapshot.NewPodInfo(c.pod)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sc := pl.PreScore(pi, s, s.Nodes)
				for i, n := range s.Nodes {
					scores[i] = sc.Score(n)
				}
				sc.(*spreadScorer).Normalize(scores)
			}
		})
	}
}
