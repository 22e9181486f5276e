package noderesources

import (
	"reflect"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestBalancedAllocationScore(t *testing.T) {
	withGPU := NodeResourcesBalancedAllocationArgs{Resources: []ResourceSpec{{Name: "cpu"}, {Name: "memory"}, {Name: "example.com/gpu"}}}
	withGPU.SetDefaults()
	tests := []struct {
		name  string
		args  NodeResourcesBalancedAllocationArgs
		pod   *snapshot.PodInfo
		nodes []*snapshot.NodeInfo
		want  []int64
	}{
		{
			// before: 1/4 cpu, 1/2 memory → σ 0.125 → 87; after: 1/2, 3/4 → σ 0.125 → 87.
			// 50 + (50 + 87 - 87)/2 = 75.
			name:  "pod keeps the balance",
			args:  DefaultBalancedAllocationArgs(),
			pod:   podWith("cpu", "1", "memory", "2500"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "10000"), podWith("cpu", "1", "memory", "5000"))},
			want:  []int64{75},
		},
		{
			// before: 1/4, 3/4 → σ 0.25 → 75; after: 3/4, 3/4 → 100. 50 + (50+100-75)/2 = 87.
			name:  "pod evens the node out",
			args:  DefaultBalancedAllocationArgs(),
			pod:   podWith("cpu", "2"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "8000"), podWith("cpu", "1", "memory", "6000"))},
			want:  []int64{87},
		},
		{
			// before: 0, 0 → 100; after: 1/2, 0 → σ 0.25 → 75. 50 + (50+75-100)/2 = 62.
			name:  "pod unbalances an empty node",
			args:  DefaultBalancedAllocationArgs(),
			pod:   podWith("cpu", "2"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "8000"))},
			want:  []int64{62},
		},
		{
			// Pods without requests count nothing here (plain requests, no non-zero defaults): the
			// node looks empty, as in the case above.
			name:  "request-less pods on the node count nothing",
			args:  DefaultBalancedAllocationArgs(),
			pod:   podWith("cpu", "2"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "8000"), podWith(), podWith())},
			want:  []int64{62},
		},
		{
			// after: cpu 8/4 capped at 1, memory 0 → σ 0.5 → 50; before: 100. 50 + (50+50-100)/2 = 50.
			name:  "fractions are capped at one",
			args:  DefaultBalancedAllocationArgs(),
			pod:   podWith("cpu", "8"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "8000"))},
			want:  []int64{50},
		},
		{
			// One resource with capacity: σ 0 both before and after → 50 + 50/2 = 75.
			name:  "single scored resource",
			args:  DefaultBalancedAllocationArgs(),
			pod:   podWith("cpu", "1", "memory", "1"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4"))},
			want:  []int64{75},
		},
		{
			// before: 0, 1/2, 0 → σ √(1/18) ≈ 0.236 → 76; after: 1/2, 1/2, 1/2 → 100.
			// 50 + (50+100-76)/2 = 87.
			name:  "three resources use the full deviation",
			args:  withGPU,
			pod:   podWith("cpu", "2", "example.com/gpu", "2"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "8000", "example.com/gpu", "4"), podWith("cpu", "0", "memory", "4000"))},
			want:  []int64{87},
		},
		{
			// The gpu is not requested so it is left out: before 0, 1/2 → σ 0.25 → 75;
			// after 1/2, 1/2 → 100. 50 + (50+100-75)/2 = 87.
			name:  "unrequested scalar resource is left out",
			args:  withGPU,
			pod:   podWith("cpu", "2"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "8000", "example.com/gpu", "4"), podWith("memory", "4000", "example.com/gpu", "4"))},
			want:  []int64{87},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := scoreAll(mustBalanced(t, tc.args), tc.pod, tc.nodes)
			if !ok {
				t.Fatal("PreScore returned nil")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scores = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBalancedAllocationSkipsPodsRequestingNothing(t *testing.T) {
	tests := []struct {
		name string
		pod  *snapshot.PodInfo
	}{
		{name: "no requests", pod: podWith()},
		{name: "only an unscored resource", pod: podWith("example.com/gpu", "1", "ephemeral-storage", "1Gi")},
	}
	pl := mustBalanced(t, DefaultBalancedAllocationArgs())
	nodes := []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "memory", "8Gi", "example.com/gpu", "1"))}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := scoreAll(pl, tc.pod, nodes); ok {
				t.Error("PreScore returned a scorer, want nil")
			}
		})
	}
}

func TestBalance(t *testing.T) {
	tests := []struct {
		name     string
		amount   []int64
		capacity []int64
		want     int64
	}{
		{name: "nothing scored", amount: []int64{5}, capacity: []int64{0}, want: 100},
		{name: "equal fractions", amount: []int64{1, 2, 4}, capacity: []int64{2, 4, 8}, want: 100},
		{name: "two resources: half the difference", amount: []int64{0, 1}, capacity: []int64{1, 1}, want: 50},
		{name: "four resources", amount: []int64{0, 0, 1, 1}, capacity: []int64{1, 1, 1, 1}, want: 50}, // σ 0.5
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := balance(tc.amount, tc.capacity); got != tc.want {
				t.Errorf("balance = %d, want %d", got, tc.want)
			}
		})
	}
}

func BenchmarkBalancedAllocationScore5000(b *testing.B) {
	nodes := benchFitNodes(5000)
	pl := mustBalanced(b, DefaultBalancedAllocationArgs())
	s := pl.PreScore(podWith("cpu", "1", "memory", "1Gi"), snapshot.New(nodes, nil), nodes)
	if s == nil {
		b.Fatal("PreScore returned nil")
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nodes {
			s.Score(n)
		}
	}
}
