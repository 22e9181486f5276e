package tainttoleration

import (
	"fmt"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var (
	_ decide.FilterPlugin = (*TaintToleration)(nil)
	_ decide.ScorePlugin  = (*TaintToleration)(nil)
	_ decide.Normalizer   = scorer{}
)

func taintedNode(name string, taints ...v1.Taint) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{Taints: taints}})
}

func podTolerating(tols ...v1.Toleration) *snapshot.PodInfo {
	return snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: v1.PodSpec{Tolerations: tols}})
}

func TestFilter(t *testing.T) {
	dedicated := v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}
	evict := v1.Taint{Key: "node.kubernetes.io/not-ready", Effect: v1.TaintEffectNoExecute}
	soft := v1.Taint{Key: "spot", Effect: v1.TaintEffectPreferNoSchedule}
	reject := snapshot.Verdict{Reasons: []string{"node(s) had untolerated taint(s)"}, Unresolvable: true}
	tests := []struct {
		name string
		pod  *snapshot.PodInfo
		node *snapshot.NodeInfo
		want snapshot.Verdict
	}{
		{name: "untainted node fits", pod: podTolerating(), node: taintedNode("n")},
		{name: "untolerated NoSchedule", pod: podTolerating(), node: taintedNode("n", dedicated), want: reject},
		{name: "untolerated NoExecute", pod: podTolerating(), node: taintedNode("n", evict), want: reject},
		{name: "PreferNoSchedule never filters", pod: podTolerating(), node: taintedNode("n", soft)},
		{name: "tolerated by equal", pod: podTolerating(v1.Toleration{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}),
			node: taintedNode("n", dedicated)},
		{name: "value mismatch", pod: podTolerating(v1.Toleration{Key: "dedicated", Value: "web", Effect: v1.TaintEffectNoSchedule}),
			node: taintedNode("n", dedicated), want: reject},
		{name: "one of two taints untolerated", pod: podTolerating(v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpExists}),
			node: taintedNode("n", dedicated, evict), want: reject},
		{name: "wildcard toleration covers all", pod: podTolerating(v1.Toleration{Operator: v1.TolerationOpExists}),
			node: taintedNode("n", dedicated, evict, soft)},
		{name: "node object unknown", pod: podTolerating(), node: snapshot.NewNodeInfo(nil)},
	}
	pl := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, v := pl.PreFilter(tc.pod, snapshot.New([]*snapshot.NodeInfo{tc.node}, nil))
			if !v.Fits() {
				t.Fatalf("PreFilter rejected the pod: %+v", v)
			}
			got := f.Filter(tc.node)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestScoreAndNormalize(t *testing.T) {
	soft := func(key string) v1.Taint { return v1.Taint{Key: key, Effect: v1.TaintEffectPreferNoSchedule} }
	hard := v1.Taint{Key: "hard", Effect: v1.TaintEffectNoSchedule}
	tests := []struct {
		name  string
		pod   *snapshot.PodInfo
		nodes []*snapshot.NodeInfo
		raw   []int64
		want  []int64
	}{
		{
			name:  "no soft taints anywhere scores every node max",
			pod:   podTolerating(),
			nodes: []*snapshot.NodeInfo{taintedNode("a"), taintedNode("b", hard)},
			raw:   []int64{0, 0},
			want:  []int64{100, 100},
		},
		{
			name:  "counts reversed against the worst node",
			pod:   podTolerating(),
			nodes: []*snapshot.NodeInfo{taintedNode("a"), taintedNode("b", soft("x")), taintedNode("c", soft("x"), soft("y"), soft("z"))},
			raw:   []int64{0, 1, 3},
			want:  []int64{100, 67, 0}, // 100 - 100*1/3 = 100 - 33
		},
		{
			name: "tolerated soft taints and NoSchedule tolerations",
			pod: podTolerating(
				v1.Toleration{Key: "x", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule},
				v1.Toleration{Key: "y", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}, // wrong effect: ignored
			),
			nodes: []*snapshot.NodeInfo{taintedNode("a", soft("x")), taintedNode("b", soft("x"), soft("y"))},
			raw:   []int64{0, 1},
			want:  []int64{100, 0},
		},
		{
			name:  "toleration without effect covers soft taints",
			pod:   podTolerating(v1.Toleration{Key: "x", Operator: v1.TolerationOpExists}),
			nodes: []*snapshot.NodeInfo{taintedNode("a", soft("x")), taintedNode("b", soft("y"), soft("y2"))},
			raw:   []int64{0, 2},
			want:  []int64{100, 0},
		},
	}
	pl := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot.New(tc.nodes, nil)
			s := pl.PreScore(tc.pod, snap, snap.Nodes)
			if s == nil {
				t.Fatal("PreScore returned nil")
			}
			scores := make([]int64, len(tc.nodes))
			for i, n := range tc.nodes {
				scores[i] = s.Score(n)
			}
			if !reflect.DeepEqual(scores, tc.raw) {
				t.Fatalf("raw scores = %v, want %v", scores, tc.raw)
			}
			norm, ok := s.(decide.Normalizer)
			if !ok {
				t.Fatal("scorer does not normalise")
			}
			norm.Normalize(scores)
			if !reflect.DeepEqual(scores, tc.want) {
				t.Errorf("normalised scores = %v, want %v", scores, tc.want)
			}
		})
	}
}

func benchNodes(n int) []*snapshot.NodeInfo {
	nodes := make([]*snapshot.NodeInfo, n)
	for i := range nodes {
		var taints []v1.Taint
		if i%3 == 0 {
			taints = append(taints, v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule})
		}
		if i%2 == 0 {
			taints = append(taints, v1.Taint{Key: "spot", Effect: v1.TaintEffectPreferNoSchedule})
		}
		nodes[i] = taintedNode(fmt.Sprintf("node-%d", i), taints...)
	}
	return nodes
}

func BenchmarkFilter5000(b *testing.B) {
	nodes := benchNodes(5000)
	snap := snapshot.New(nodes, nil)
	pod := podTolerating(v1.Toleration{Key: "other", Operator: v1.TolerationOpExists})
	f, _ := New().PreFilter(pod, snap)
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nodes {
			f.Filter(n)
		}
	}
}

func BenchmarkScore5000(b *testing.B) {
	nodes := benchNodes(5000)
	snap := snapshot.New(nodes, nil)
	pod := podTolerating(v1.Toleration{Key: "other", Operator: v1.TolerationOpExists})
	s := New().PreScore(pod, snap, nodes)
	scores := make([]int64, len(nodes))
	b.ReportAllocs()
	for b.Loop() {
		for i, n := range nodes {
			scores[i] = s.Score(n)
		}
		s.(decide.Normalizer).Normalize(scores)
	}
}
