package podtopologyspread

import (
	"maps"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestAddRemovePod(t *testing.T) {
	type op struct {
		remove bool
		pod    *v1.Pod
		node   string
	}
	zoneOnly := web(spread(hard("zone", 1, appWeb)))
	zoneAndHost := web(spread(hard("zone", 1, appWeb), hard(hostKey, 1, appWeb)))
	tests := []struct {
		name       string
		pod        *v1.Pod
		nodes      func() []*snapshot.NodeInfo
		ops        []op
		wantCounts []map[string]int
		wantMin    []int
	}{
		{
			name:       "adding to the emptiest zone raises the minimum",
			pod:        zoneOnly,
			nodes:      func() []*snapshot.NodeInfo { return []*snapshot.NodeInfo{zoned("a", "z1", web()), zoned("x", "z2")} },
			ops:        []op{{pod: web(), node: "x"}},
			wantCounts: []map[string]int{{"z1": 1, "z2": 1}},
			wantMin:    []int{1},
		},
		{
			name:       "a pod of another namespace changes nothing",
			pod:        zoneOnly,
			nodes:      func() []*snapshot.NodeInfo { return []*snapshot.NodeInfo{zoned("a", "z1", web()), zoned("x", "z2")} },
			ops:        []op{{pod: web(inNamespace("other")), node: "x"}},
			wantCounts: []map[string]int{{"z1": 1, "z2": 0}},
			wantMin:    []int{0},
		},
		{
			name:       "a pod the selector does not match changes nothing",
			pod:        zoneOnly,
			nodes:      func() []*snapshot.NodeInfo { return []*snapshot.NodeInfo{zoned("a", "z1", web()), zoned("x", "z2")} },
			ops:        []op{{pod: other(), node: "x"}},
			wantCounts: []map[string]int{{"z1": 1, "z2": 0}},
			wantMin:    []int{0},
		},
		{
			name: "a node missing a topology key changes nothing",
			pod:  zoneAndHost,
			nodes: func() []*snapshot.NodeInfo {
				return []*snapshot.NodeInfo{zoned("a", "z1", web()), zoned("x", "z2"), mkNode("c", []string{"zone", "z2"})}
			},
			ops:        []op{{pod: web(), node: "c"}},
			wantCounts: []map[string]int{{"z1": 1, "z2": 0}, {"a": 1, "x": 0}},
			wantMin:    []int{0, 0},
		},
		{
			name: "removing from the fullest zone",
			pod:  zoneOnly,
			nodes: func() []*snapshot.NodeInfo {
				return []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("b", "z1", web()), zoned("x", "z2", web(), web())}
			},
			ops:        []op{{remove: true, pod: web(), node: "a"}, {remove: true, pod: web(), node: "b"}},
			wantCounts: []map[string]int{{"z1": 1, "z2": 2}},
			wantMin:    []int{1},
		},
		{
			name: "zone and hostname both change",
			pod:  zoneAndHost,
			nodes: func() []*snapshot.NodeInfo {
				return []*snapshot.NodeInfo{zoned("a", "z1", web()), zoned("b", "z1", web()), zoned("x", "z2", web(), web(), web())}
			},
			ops:        []op{{remove: true, pod: web(), node: "x"}, {pod: web(), node: "a"}},
			wantCounts: []map[string]int{{"z1": 3, "z2": 2}, {"a": 2, "b": 1, "x": 2}},
			wantMin:    []int{2, 1},
		},
		{
			name: "a node outside the pod's nodeSelector does not count (Honor)",
			pod:  web(nodeSelector("pool", "blue"), spread(hard("zone", 1, appWeb))),
			nodes: func() []*snapshot.NodeInfo {
				return []*snapshot.NodeInfo{
					mkNode("a", []string{"zone", "z1", "pool", "blue"}), mkNode("x", []string{"zone", "z2", "pool", "red"}),
				}
			},
			ops:        []op{{pod: web(), node: "x"}, {pod: web(), node: "a"}},
			wantCounts: []map[string]int{{"z1": 1}},
			wantMin:    []int{1},
		},
		{
			name: "an untolerated tainted node does not count (Honor)",
			pod:  web(spread(hard("zone", 1, appWeb, taintsPolicy(v1.NodeInclusionPolicyHonor)))),
			nodes: func() []*snapshot.NodeInfo {
				return []*snapshot.NodeInfo{zoned("a", "z1"), tainted(zoned("x", "z2"), "dedicated")}
			},
			ops:        []op{{pod: web(), node: "x"}},
			wantCounts: []map[string]int{{"z1": 0}},
			wantMin:    []int{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := tt.nodes()
			s := snap(nodes...)
			nf, v := mustNew(t, Args{DefaultingType: ListDefaulting}, nil).PreFilter(snapshot.NewPodInfo(tt.pod), s)
			if !v.Fits() || nf == nil {
				t.Fatalf("PreFilter = %v, %+v", nf, v)
			}
			orig := nf.(*spreadFilter)
			before := cloneCounts(orig.counts)
			f := orig.Clone().(*spreadFilter)
			for _, o := range tt.ops {
				pi, ni := snapshot.NewPodInfo(o.pod), s.Get(o.node)
				if o.remove {
					f.RemovePod(pi, ni)
				} else {
					f.AddPod(pi, ni)
				}
			}
			for i := range tt.wantCounts {
				if !maps.Equal(f.counts[i], tt.wantCounts[i]) {
					t.Errorf("constraint %d: counts %v, want %v", i, f.counts[i], tt.wantCounts[i])
				}
				if got := f.minCount(i); got != tt.wantMin[i] {
					t.Errorf("constraint %d: minimum %d, want %d", i, got, tt.wantMin[i])
				}
				if !maps.Equal(orig.counts[i], before[i]) {
					t.Errorf("constraint %d: the original changed to %v, was %v", i, orig.counts[i], before[i])
				}
			}
		})
	}
}

func cloneCounts(in []map[string]int) []map[string]int {
	out := make([]map[string]int, len(in))
	for i, m := range in {
		out[i] = maps.Clone(m)
	}
	return out
}

// TestRemovePodMakesRoom checks the use preemption makes of RemovePod: once the victims are
// removed, Filter lets the pod onto a node it rejected.
func TestRemovePodMakesRoom(t *testing.T) {
	victims := []*v1.Pod{web(), web()}
	a := zoned("a", "z1", victims...)
	s := snap(a, zoned("x", "z2", web()))
	nf, _ := mustNew(t, DefaultArgs(), nil).PreFilter(snapshot.NewPodInfo(web(spread(hard("zone", 1, appWeb)))), s)
	f := nf.(*spreadFilter)
	checkVerdict(t, "a", f.Filter(a), skew)
	for _, p := range victims {
		f.RemovePod(snapshot.NewPodInfo(p), a)
	}
	checkVerdict(t, "a", f.Filter(a), fits)
}

func TestCriticalPaths(t *testing.T) {
	type step struct {
		value string
		num   int
	}
	tests := []struct {
		name     string
		steps    []step
		wantMin  string
		wantNum  int
		wantNext int
	}{
		{name: "initial fill keeps the two smallest", steps: []step{{"a", 5}, {"b", 2}, {"c", 7}, {"d", 3}}, wantMin: "b", wantNum: 2, wantNext: 3},
		{name: "the minimum growing past the second swaps them", steps: []step{{"a", 1}, {"b", 2}, {"a", 4}}, wantMin: "b", wantNum: 2, wantNext: 4},
		{name: "an untracked domain dropping below the minimum", steps: []step{{"a", 3}, {"b", 4}, {"c", 9}, {"c", 1}}, wantMin: "c", wantNum: 1, wantNext: 3},
		{name: "an empty topology value is tracked", steps: []step{{"", 2}, {"a", 3}}, wantMin: "", wantNum: 2, wantNext: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newCriticalPaths()
			for _, s := range tt.steps {
				p.update(s.value, s.num)
			}
			if p[0].value != tt.wantMin || p[0].num != tt.wantNum || p[1].num != tt.wantNext {
				t.Errorf("paths = %+v, want min %q=%d, next %d", p, tt.wantMin, tt.wantNum, tt.wantNext)
			}
		})
	}
}
