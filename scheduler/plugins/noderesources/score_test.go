package noderesources

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// scoreNodes are three nodes of 4 cpu and 10000 bytes of memory: "half" has pods requesting 1 cpu
// and 2000 bytes, "cpuheavy" 3 cpu and 1000 bytes, "empty" nothing.
func scoreNodes() []*snapshot.NodeInfo {
	alloc := rl("cpu", "4", "memory", "10000", "pods", "10")
	return []*snapshot.NodeInfo{
		nodeWith("half", alloc, podWith("cpu", "1", "memory", "2000")),
		nodeWith("cpuheavy", alloc, podWith("cpu", "3", "memory", "1000")),
		nodeWith("empty", alloc),
	}
}

func fitArgs(typ ScoringStrategyType, shape []UtilizationShapePoint, resources ...ResourceSpec) NodeResourcesFitArgs {
	s := &ScoringStrategy{Type: typ, Resources: resources}
	if shape != nil {
		s.RequestedToCapacityRatio = &RequestedToCapacityRatioParam{Shape: shape}
	}
	a := NodeResourcesFitArgs{ScoringStrategy: s}
	a.SetDefaults()
	return a
}

func TestFitScoreStrategies(t *testing.T) {
	rising := []UtilizationShapePoint{{Utilization: 0, Score: 0}, {Utilization: 100, Score: 10}}
	falling := []UtilizationShapePoint{{Utilization: 0, Score: 10}, {Utilization: 100, Score: 0}}
	// The pod requests 1 cpu and 3000 bytes. With it placed:
	//   half:     cpu 2000/4000 (50%), memory 5000/10000 (50%)
	//   cpuheavy: cpu 4000/4000 (100%), memory 4000/10000 (40%)
	//   empty:    cpu 1000/4000 (25%), memory 3000/10000 (30%)
	pod := func() *snapshot.PodInfo { return podWith("cpu", "1", "memory", "3000") }
	tests := []struct {
		name string
		args NodeResourcesFitArgs
		want []int64 // half, cpuheavy, empty
	}{
		{name: "least allocated (default)", args: DefaultFitArgs(), want: []int64{50, 30, 72}},                                                               // empty: (75+70)/2 = 72
		{name: "least allocated weighted", args: fitArgs(LeastAllocated, nil, ResourceSpec{"cpu", 3}, ResourceSpec{"memory", 1}), want: []int64{50, 15, 73}}, // empty: (225+70)/4 = 73
		{name: "most allocated", args: fitArgs(MostAllocated, nil), want: []int64{50, 70, 27}},                                                               // empty: (25+30)/2 = 27
		{name: "ratio rising shape rounds the mean", args: fitArgs(RequestedToCapacityRatio, rising), want: []int64{50, 70, 28}},                             // empty: round(27.5)
		{name: "ratio falling shape drops zero-scoring resources", args: fitArgs(RequestedToCapacityRatio, falling), want: []int64{50, 60, 73}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := scoreAll(mustFit(t, tc.args), pod(), scoreNodes())
			if !ok {
				t.Fatal("PreScore returned nil")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scores = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFitScoreEdges(t *testing.T) {
	tests := []struct {
		name  string
		args  NodeResourcesFitArgs
		pod   *snapshot.PodInfo
		nodes []*snapshot.NodeInfo
		want  []int64
	}{
		{
			// 100m and 200Mi are assumed for a container with no requests: cpu 900/1000 free,
			// memory 800/1000Mi free.
			name:  "pod without requests counts the non-zero defaults",
			args:  DefaultFitArgs(),
			pod:   podWith(),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "1", "memory", "1000Mi", "pods", "10"))},
			want:  []int64{85},
		},
		{
			// Two request-less pods already there count 100m and 200Mi each too.
			name:  "pods on the node without requests count the non-zero defaults",
			args:  DefaultFitArgs(),
			pod:   podWith(),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "1", "memory", "1000Mi", "pods", "10"), podWith(), podWith())},
			want:  []int64{55}, // cpu 700/1000 free → 70, memory 400/1000 → 40
		},
		{
			name:  "over-committed node scores zero when least allocated",
			args:  DefaultFitArgs(),
			pod:   podWith("cpu", "2", "memory", "2000Mi"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "1", "memory", "1000Mi", "pods", "10"))},
			want:  []int64{0},
		},
		{
			name:  "over-committed node caps at 100 when most allocated",
			args:  fitArgs(MostAllocated, nil),
			pod:   podWith("cpu", "2", "memory", "2000Mi"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "1", "memory", "1000Mi", "pods", "10"))},
			want:  []int64{100},
		},
		{
			name:  "node without allocatable of a resource leaves it out",
			args:  DefaultFitArgs(),
			pod:   podWith("cpu", "1", "memory", "1"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "pods", "10"))},
			want:  []int64{75},
		},
		{
			name:  "node with nothing allocatable scores zero",
			args:  DefaultFitArgs(),
			pod:   podWith("cpu", "1"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("pods", "10"))},
			want:  []int64{0},
		},
		{
			// gpu 2 of 4 after placing → 50; cpu 1 + 0.1 (the gpu pod's non-zero default) of 4 → 72;
			// weights 1 and 3: (72 + 150)/4 = 55. The node without gpu scores cpu alone.
			name: "extended resource scored when requested",
			args: fitArgs(LeastAllocated, nil, ResourceSpec{"cpu", 1}, ResourceSpec{"example.com/gpu", 3}),
			pod:  podWith("cpu", "1", "example.com/gpu", "1"),
			nodes: []*snapshot.NodeInfo{
				nodeWith("gpu", rl("cpu", "4", "example.com/gpu", "4", "pods", "10"), podWith("example.com/gpu", "1")),
				nodeWith("nogpu", rl("cpu", "4", "pods", "10")),
			},
			want: []int64{55, 75},
		},
		{
			name:  "extended resource left out when the pod does not request it",
			args:  fitArgs(LeastAllocated, nil, ResourceSpec{"cpu", 1}, ResourceSpec{"example.com/gpu", 3}),
			pod:   podWith("cpu", "1"),
			nodes: []*snapshot.NodeInfo{nodeWith("gpu", rl("cpu", "4", "example.com/gpu", "4", "pods", "10"), podWith("example.com/gpu", "4"))},
			want:  []int64{72}, // cpu 1.1 of 4 only
		},
		{
			// ephemeral storage counts plain requests: 1Gi in use + 1Gi → 2 of 4 → 50.
			name:  "ephemeral storage",
			args:  fitArgs(LeastAllocated, nil, ResourceSpec{"ephemeral-storage", 1}),
			pod:   podWith("ephemeral-storage", "1Gi"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("ephemeral-storage", "4Gi", "pods", "10"), podWith("ephemeral-storage", "1Gi"))},
			want:  []int64{50},
		},
		{
			name:  "pods is never a scored resource",
			args:  fitArgs(MostAllocated, nil, ResourceSpec{"pods", 1}),
			pod:   podWith("cpu", "1"),
			nodes: []*snapshot.NodeInfo{nodeWith("n", rl("cpu", "4", "pods", "2"), podWith())},
			want:  []int64{0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := scoreAll(mustFit(t, tc.args), tc.pod, tc.nodes)
			if !ok {
				t.Fatal("PreScore returned nil")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scores = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestShapeInterpolation(t *testing.T) {
	s := newShapeStrategy([]UtilizationShapePoint{{Utilization: 20, Score: 2}, {Utilization: 50, Score: 8}, {Utilization: 80, Score: 5}})
	tests := []struct {
		u, want int64
	}{
		{0, 20},   // below the first point: its score
		{20, 20},  // on a point
		{35, 50},  // 20 + (80-20)*15/30
		{50, 80},  // on a point
		{60, 70},  // 80 + (50-80)*10/30
		{80, 50},  // last point
		{100, 50}, // above the last point: its score
	}
	for _, tc := range tests {
		if got := s.at(tc.u); got != tc.want {
			t.Errorf("at(%d) = %d, want %d", tc.u, got, tc.want)
		}
	}
}

func TestScoredResourceKinds(t *testing.T) {
	got := newScoredResources([]ResourceSpec{{"cpu", 1}, {"memory", 2}, {"ephemeral-storage", 3}, {"example.com/gpu", 4}, {"hugepages-1Gi", 5}, {"pods", 6}})
	want := []resourceKind{kindCPU, kindMemory, kindEphemeralStorage, kindScalar, kindScalar, kindOther}
	for i, r := range got {
		if r.kind != want[i] || r.weight != int64(i+1) || r.name != v1.ResourceName([]string{"cpu", "memory", "ephemeral-storage", "example.com/gpu", "hugepages-1Gi", "pods"}[i]) {
			t.Errorf("resource %d = %+v, want kind %d", i, r, want[i])
		}
	}
}

func BenchmarkFitScore5000(b *testing.B) {
	for _, typ := range []ScoringStrategyType{LeastAllocated, MostAllocated, RequestedToCapacityRatio} {
		b.Run(string(typ), func(b *testing.B) {
			var shape []UtilizationShapePoint
			if typ == RequestedToCapacityRatio {
				shape = []UtilizationShapePoint{{Utilization: 0, Score: 10}, {Utilization: 100, Score: 0}}
			}
			nodes := benchFitNodes(5000)
			pl := mustFit(b, fitArgs(typ, shape))
			s := pl.PreScore(podWith("cpu", "1", "memory", "1Gi"), snapshot.New(nodes, nil), nodes)
			b.ReportAllocs()
			for b.Loop() {
				for _, n := range nodes {
					s.Score(n)
				}
			}
		})
	}
}
