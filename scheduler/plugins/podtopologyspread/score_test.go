package podtopologyspread

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// The expected scores below are worked out by hand from kube-scheduler's formula:
// raw = round(sum over constraints of count*log(domains+2) + maxSkew-1), then
// normalized = 100*(max+min-raw)/max over the scored nodes, ignored nodes 0.
func TestScore(t *testing.T) {
	webSelector := fixedSelectors{labels.SelectorFromSet(labels.Set{"app": "web"})}
	hostOnly := func(name string, pods ...*v1.Pod) *snapshot.NodeInfo {
		return mkNode(name, []string{hostKey, name}, pods...)
	}
	// wellKnown is a node with the well-known zone label the system defaults spread over.
	wellKnown := func(name, zone string, pods ...*v1.Pod) *snapshot.NodeInfo {
		return mkNode(name, []string{v1.LabelTopologyZone, zone, hostKey, name}, pods...)
	}
	tests := []struct {
		name     string
		args     *Args
		lister   SelectorLister
		pod      *v1.Pod
		nodes    []*snapshot.NodeInfo
		feasible []string // nil: every node
		wantNil  bool
		wantRaw  []int64
		want     []int64
	}{
		{
			name:    "no soft constraints",
			pod:     web(spread(hard("zone", 1, appWeb))),
			nodes:   []*snapshot.NodeInfo{zoned("a", "z1")},
			wantNil: true,
		},
		{
			name:  "no existing pods: every node gets 100",
			pod:   web(spread(soft(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), zoned("b", "z1")},
			// 0 matching pods everywhere.
			wantRaw: []int64{0, 0},
			want:    []int64{100, 100},
		},
		{
			name: "hostname spread 2/1/0/3",
			pod:  web(spread(soft(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1", web()), zoned("x", "z2"), zoned("y", "z2", web(), web(), web()),
			},
			// weight log(6)=1.792: 3.58->4, 1.79->2, 0, 5.38->5.
			wantRaw: []int64{4, 2, 0, 5},
			want:    []int64{20, 60, 100, 0},
		},
		{
			name: "maxSkew adds maxSkew-1 to every node",
			pod:  web(spread(soft(hostKey, 3, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1", web()), zoned("x", "z2"), zoned("y", "z2", web(), web(), web()),
			},
			// 5.58->6, 3.79->4, 2, 7.38->7; max 7, min 2.
			wantRaw: []int64{6, 4, 2, 7},
			want:    []int64{42, 71, 100, 28},
		},
		{
			name: "hostname weight counts only the feasible nodes",
			pod:  web(spread(soft(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web(), web()), zoned("b", "z1", web()), zoned("x", "z2"), zoned("y", "z2", web(), web()),
			},
			feasible: []string{"a", "b", "x"},
			// weight log(5)=1.609: 4.83->5, 1.61->2, 0.
			wantRaw: []int64{5, 2, 0},
			want:    []int64{0, 60, 100},
		},
		{
			name: "zone counts include pods on infeasible nodes",
			pod:  web(spread(soft("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web()), zoned("b", "z1"), zoned("x", "z2"), zoned("y", "z2", web(), web(), web()),
			},
			feasible: []string{"a", "b", "x"},
			// 2 zones, weight log(4)=1.386: z1=1 -> 1.39->1, z2=3 -> 4.16->4.
			wantRaw: []int64{1, 1, 4},
			want:    []int64{100, 100, 25},
		},
		{
			name: "a zone with no feasible node is not counted",
			pod:  web(spread(soft("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web()), zoned("x", "z2"), zoned("q", "z3", web(), web(), web()),
			},
			feasible: []string{"a", "x"},
			// 2 feasible zones, weight log(4): 1.39->1, 0.
			wantRaw: []int64{1, 0},
			want:    []int64{0, 100},
		},
		{
			name: "nodes missing a topology key are ignored",
			pod:  web(spread(soft("zone", 1, appWeb), soft(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1"), hostOnly("c", web()), zoned("x", "z2", web()),
			},
			// zones z1=2, z2=1, weight log(4)=1.386; hostnames of 3 scored nodes, weight log(5)=1.609.
			// a: 2*1.386+2*1.609=5.99->6; b: 2.77->3; x: 1.386+1.609=3.0->3.
			wantRaw: []int64{6, 3, 0, 3},
			want:    []int64{50, 100, 0, 100},
		},
		{
			name: "pods in other namespaces and terminating pods do not count",
			pod:  web(spread(soft(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(inNamespace("other")), web(terminating())), zoned("b", "z1", web()),
			},
			// weight log(4)=1.386: 0, 1.39->1.
			wantRaw: []int64{0, 1},
			want:    []int64{100, 0},
		},
		{
			name: "a nil selector counts nothing",
			pod:  web(spread(soft(hostKey, 1, nil))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1"),
			},
			wantRaw: []int64{0, 0},
			want:    []int64{100, 100},
		},
		{
			name: "minDomains does not change scores",
			pod:  web(spread(soft(hostKey, 1, appWeb, minDomains(5)))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1"),
			},
			// weight log(4)=1.386: 2.77->3, 0.
			wantRaw: []int64{3, 0},
			want:    []int64{0, 100},
		},
		{
			name: "nodeAffinityPolicy Honor: pods on nodes the pod cannot go to do not count",
			pod:  web(nodeSelector("pool", "blue"), spread(soft("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				mkNode("a", []string{"zone", "z1", "pool", "blue"}, web()),
				mkNode("x", []string{"zone", "z2", "pool", "blue"}),
				mkNode("y", []string{"zone", "z2", "pool", "red"}, web(), web(), web()),
			},
			feasible: []string{"a", "x"},
			// z1=1, z2=0, weight log(4): 1.39->1, 0.
			wantRaw: []int64{1, 0},
			want:    []int64{0, 100},
		},
		{
			name: "nodeAffinityPolicy Ignore: every node counts",
			pod:  web(nodeSelector("pool", "blue"), spread(soft("zone", 1, appWeb, affinityPolicy(v1.NodeInclusionPolicyIgnore)))),
			nodes: []*snapshot.NodeInfo{
				mkNode("a", []string{"zone", "z1", "pool", "blue"}, web()),
				mkNode("x", []string{"zone", "z2", "pool", "blue"}),
				mkNode("y", []string{"zone", "z2", "pool", "red"}, web(), web(), web()),
			},
			feasible: []string{"a", "x"},
			// z1=1, z2=3: 1.39->1, 4.16->4.
			wantRaw: []int64{1, 4},
			want:    []int64{100, 25},
		},
		{
			name: "nodeTaintsPolicy Honor: pods on untolerated tainted nodes do not count",
			pod:  web(spread(soft("zone", 1, appWeb, taintsPolicy(v1.NodeInclusionPolicyHonor)))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web()), zoned("x", "z2"), tainted(zoned("y", "z2", web(), web(), web()), "dedicated"),
			},
			feasible: []string{"a", "x"},
			wantRaw:  []int64{1, 0},
			want:     []int64{0, 100},
		},
		{
			name: "hostname counts ignore inclusion policies",
			pod:  web(spread(soft(hostKey, 1, appWeb, taintsPolicy(v1.NodeInclusionPolicyHonor)))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web()), tainted(zoned("b", "z2", web(), web(), web()), "dedicated"),
			},
			// weight log(4)=1.386: 1.39->1, 4.16->4.
			wantRaw: []int64{1, 4},
			want:    []int64{100, 25},
		},
		{
			name: "matchLabelKeys narrow the selector",
			pod: mkPod([]string{"app", "web", "version", "v2"},
				spread(soft(hostKey, 1, &metav1.LabelSelector{}, matchLabelKeys("version")))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", mkPod([]string{"app", "web", "version", "v2"})), zoned("b", "z1", web(), web()),
			},
			wantRaw: []int64{1, 0},
			want:    []int64{0, 100},
		},
		{
			name:   "system defaults: a node without a zone still spreads by hostname",
			lister: webSelector,
			pod:    web(),
			nodes: []*snapshot.NodeInfo{
				wellKnown("a", "z1", web(), web()), wellKnown("b", "z1"), hostOnly("c", web()),
			},
			// hostname (maxSkew 3): 3 nodes, weight log(5)=1.609. zone (maxSkew 5): domains z1 and ""
			// (c has no zone), weight log(4)=1.386, z1=2.
			// a: 2*1.609+2 + 2*1.386+4 = 11.99->12; b: 2 + 6.77 = 8.77->9; c: 1.609+2 = 3.61->4.
			wantRaw: []int64{12, 9, 4},
			want:    []int64{33, 58, 100},
		},
		{
			name:    "system defaults without owners' selectors",
			lister:  fixedSelectors{},
			pod:     web(),
			nodes:   []*snapshot.NodeInfo{zoned("a", "z1", web())},
			wantNil: true,
		},
		{
			name:   "listed default constraints require every topology key",
			args:   &Args{DefaultingType: ListDefaulting, DefaultConstraints: systemDefaultConstraints},
			lister: webSelector,
			pod:    web(),
			nodes: []*snapshot.NodeInfo{
				wellKnown("a", "z1", web(), web()), wellKnown("b", "z1"), hostOnly("c", web()),
			},
			// c is ignored; hostname weight log(4)=1.386, zone weight log(3)=1.099, z1=2.
			// a: 2*1.386+2 + 2*1.099+4 = 10.97->11; b: 2 + 6.20 = 8.20->8.
			wantRaw: []int64{11, 8, 0},
			want:    []int64{72, 100, 0},
		},
		{
			name:    "no nodes in the snapshot",
			pod:     web(spread(soft(hostKey, 1, appWeb))),
			wantNil: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := DefaultArgs()
			if tt.args != nil {
				args = *tt.args
			}
			pl := mustNew(t, args, tt.lister)
			s := snap(tt.nodes...)
			feasible := s.Nodes
			if tt.feasible != nil {
				feasible = nil
				for _, name := range tt.feasible {
					feasible = append(feasible, s.Get(name))
				}
			}
			sc := pl.PreScore(snapshot.NewPodInfo(tt.pod), s, feasible)
			if tt.wantNil {
				if sc != nil {
					t.Fatal("PreScore returned a scorer, want none")
				}
				return
			}
			if sc == nil {
				t.Fatal("PreScore returned no scorer")
			}
			scores := make([]int64, len(feasible))
			for i, n := range feasible {
				scores[i] = sc.Score(n)
			}
			if !slices.Equal(scores, tt.wantRaw) {
				t.Errorf("raw scores = %v, want %v", scores, tt.wantRaw)
			}
			sc.(*spreadScorer).Normalize(scores)
			if !slices.Equal(scores, tt.want) {
				t.Errorf("normalized scores = %v, want %v", scores, tt.want)
			}
		})
	}
}
