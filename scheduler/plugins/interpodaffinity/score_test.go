package interpodaffinity

import (
	"reflect"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// scoreAll runs Score on every feasible node and then Normalize; a nil scorer gives 0 everywhere.
func scoreAll(s decide.NodeScorer, feasible []*snapshot.NodeInfo) map[string]int64 {
	scores := make([]int64, len(feasible))
	if s != nil {
		for i, n := range feasible {
			scores[i] = s.Score(n)
		}
		if nz, ok := s.(decide.Normalizer); ok {
			nz.Normalize(scores)
		}
	}
	out := make(map[string]int64, len(feasible))
	for i, n := range feasible {
		out[n.Name()] = scores[i]
	}
	return out
}

func TestScore(t *testing.T) {
	web := labelsAre("app", "web")
	nsLabels := map[string]labels.Set{"team-a": {"team": "a"}, "team-b": {"team": "b"}}
	threeRegions := func(pods map[string][]*v1.Pod) []placed {
		return []placed{
			on(mkNode("m1", regionKey, "r1"), pods["m1"]...),
			on(mkNode("m2", regionKey, "r2"), pods["m2"]...),
			on(mkNode("m3", regionKey, "r3"), pods["m3"]...),
		}
	}
	tests := []struct {
		name       string
		args       *Args // nil: defaults
		pod        *v1.Pod
		nodes      []placed
		namespaces map[string]labels.Set
		// feasible names the nodes to score; nil: all.
		feasible []string
		// wantNil: PreScore finds nothing to score.
		wantNil bool
		want    map[string]int64
	}{
		{
			name:    "no affinity anywhere",
			pod:     testPod("in").labels("app", "web").obj(),
			nodes:   fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}}),
			wantNil: true,
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name:    "required terms of the incoming pod do not score",
			pod:     testPod("in").affinity(term(zoneKey, web)).anti(term(hostKey, web)).obj(),
			nodes:   fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}}),
			wantNil: true,
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name:  "preferred affinity: the matching pod's zone scores highest",
			pod:   testPod("in").prefer(5, term(zoneKey, web)).obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}}),
			want:  map[string]int64{"n1": 100, "n2": 100, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name: "preferred affinity: more matching pods, higher score",
			pod:  testPod("in").prefer(4, term(regionKey, web)).obj(),
			nodes: threeRegions(map[string][]*v1.Pod{
				"m1": {testPod("a").labels("app", "web").obj(), testPod("b").labels("app", "web").obj()},
				"m2": {testPod("c").labels("app", "web").obj(), testPod("d").labels("app", "db").obj()},
			}),
			want: map[string]int64{"m1": 100, "m2": 50, "m3": 0},
		},
		{
			name:  "preferred anti-affinity: the matching pod's node scores lowest",
			pod:   testPod("in").avoid(3, term(hostKey, web)).obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}}),
			want:  map[string]int64{"n1": 0, "n2": 100, "n3": 100, "n4": 100, "n5": 100},
		},
		{
			name:  "preferred affinity and anti-affinity add up",
			pod:   testPod("in").prefer(10, term(zoneKey, web)).avoid(4, term(hostKey, web)).obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}}),
			want:  map[string]int64{"n1": 60, "n2": 100, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name:    "weights that cancel out score every node 0",
			pod:     testPod("in").prefer(5, term(zoneKey, web)).avoid(5, term(zoneKey, web)).obj(),
			nodes:   fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}}),
			wantNil: true,
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name:  "symmetry: an existing pod preferring the newcomer attracts it",
			pod:   testPod("in").labels("app", "web").obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{"n3": {testPod("a").prefer(7, term(zoneKey, web)).obj()}}),
			want:  map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 0, "n5": 0},
		},
		{
			name:  "symmetry: an existing pod avoiding the newcomer repels it",
			pod:   testPod("in").labels("app", "web").obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").avoid(2, term(zoneKey, web)).obj()}}),
			want:  map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 100, "n5": 100},
		},
		{
			name:  "symmetry: an existing pod's required affinity scores hardPodAffinityWeight",
			pod:   testPod("in").labels("app", "web").obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").affinity(term(hostKey, web)).obj()}}),
			want:  map[string]int64{"n1": 100, "n2": 0, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name:    "hardPodAffinityWeight 0 ignores existing pods' required affinity",
			args:    &Args{HardPodAffinityWeight: 0},
			pod:     testPod("in").labels("app", "web").obj(),
			nodes:   fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").affinity(term(hostKey, web)).obj()}}),
			wantNil: true,
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name: "hardPodAffinityWeight weighs against preferred weights",
			args: &Args{HardPodAffinityWeight: 50},
			pod:  testPod("in").labels("app", "web").obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").affinity(term(hostKey, web)).obj()},
				"n3": {testPod("b").prefer(60, term(zoneKey, web)).obj()},
			}),
			want: map[string]int64{"n1": 83, "n2": 0, "n3": 100, "n4": 0, "n5": 0},
		},
		{
			name: "existing pods' required anti-affinity does not score",
			pod:  testPod("in").labels("app", "web").obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").anti(term(hostKey, web)).obj()},
			}),
			wantNil: true,
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name: "ignorePreferredTermsOfExistingPods skips a pod without preferred terms",
			args: &Args{HardPodAffinityWeight: 1, IgnorePreferredTermsOfExistingPods: true},
			pod:  testPod("in").labels("app", "web").obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").affinity(term(hostKey, web)).obj()},
				"n3": {testPod("b").prefer(9, term(zoneKey, web)).obj()},
			}),
			wantNil: true,
			want:    map[string]int64{"n1": 0, "n2": 0, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name: "ignorePreferredTermsOfExistingPods still counts existing pods for a pod with preferred terms",
			args: &Args{HardPodAffinityWeight: 1, IgnorePreferredTermsOfExistingPods: true},
			pod:  testPod("in").labels("app", "web").prefer(1, term(hostKey, labelsAre("app", "db"))).obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n2": {testPod("a").labels("app", "db").obj()},
				"n3": {testPod("b").prefer(9, term(zoneKey, web)).obj()},
			}),
			want: map[string]int64{"n1": 0, "n2": 11, "n3": 100, "n4": 0, "n5": 0},
		},
		{
			name:       "preferred affinity with a namespaceSelector",
			pod:        testPod("in").prefer(5, withNamespaceSelector(term(hostKey, web), labelsAre("team", "b"))).obj(),
			namespaces: nsLabels,
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").labels("app", "web").obj()},
				"n2": {testPod("b").in("team-b").labels("app", "web").obj()},
			}),
			want: map[string]int64{"n1": 0, "n2": 100, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name:       "preferred anti-affinity with a negative namespaceSelector skips unknown namespaces",
			pod:        testPod("in").avoid(5, withNamespaceSelector(term(hostKey, web), expr("team", metav1.LabelSelectorOpNotIn, "a"))).obj(),
			namespaces: nsLabels,
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").labels("app", "web").obj()},
				"n2": {testPod("b").in("team-b").labels("app", "web").obj()},
				"n3": {testPod("c").in("ghost").labels("app", "web").obj()},
			}),
			want: map[string]int64{"n1": 100, "n2": 0, "n3": 100, "n4": 100, "n5": 100},
		},
		{
			name:       "existing pod's namespaceSelector is evaluated on the newcomer's namespace",
			pod:        testPod("in").in("team-b").labels("app", "web").obj(),
			namespaces: nsLabels,
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").prefer(3, withNamespaceSelector(term(zoneKey, web), labelsAre("team", "b"))).obj()},
				"n3": {testPod("b").in("team-a").prefer(3, withNamespaceSelector(term(zoneKey, web), labelsAre("team", "a"))).obj()},
			}),
			want: map[string]int64{"n1": 100, "n2": 100, "n3": 0, "n4": 0, "n5": 0},
		},
		{
			name: "pods on nodes without the topology key contribute nothing",
			pod:  testPod("in").labels("app", "web").prefer(5, term(zoneKey, web)).obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n3": {testPod("a").labels("app", "web").obj()},
				"n4": {testPod("b").labels("app", "web").obj(), testPod("c").affinity(term(zoneKey, web)).obj()},
				"n5": {testPod("d").labels("app", "web").prefer(50, term(hostKey, web)).obj()},
			}),
			want: map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 0, "n5": 0},
		},
		{
			name: "normalisation spans the feasible nodes only",
			pod:  testPod("in").prefer(5, term(zoneKey, web)).obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web").obj(), testPod("b").labels("app", "web").obj()},
				"n3": {testPod("c").labels("app", "web").obj()},
			}),
			feasible: []string{"n3", "n4"},
			want:     map[string]int64{"n3": 100, "n4": 0},
		},
		{
			name: "existing pods outside the feasible nodes still count",
			pod:  testPod("in").prefer(5, term(zoneKey, web)).obj(),
			nodes: fiveNodes(map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web").obj(), testPod("b").labels("app", "web").obj()},
				"n3": {testPod("c").labels("app", "web").obj()},
			}),
			feasible: []string{"n2", "n3", "n4"},
			want:     map[string]int64{"n2": 100, "n3": 50, "n4": 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := DefaultArgs()
			if tc.args != nil {
				args = *tc.args
			}
			snap := buildSnapshot(t, tc.nodes, tc.namespaces)
			feasible := snap.Nodes
			if tc.feasible != nil {
				feasible = nil
				for _, name := range tc.feasible {
					feasible = append(feasible, snap.Get(name))
				}
			}
			s := newPlugin(t, args).PreScore(snapshot.NewPodInfo(tc.pod), snap, feasible)
			if gotNil := s == nil; gotNil != tc.wantNil {
				t.Errorf("PreScore returned nil: %v, want %v", gotNil, tc.wantNil)
			}
			if got := scoreAll(s, feasible); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scores:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		scores []int64
		want   []int64
	}{
		{"no nodes", []int64{}, []int64{}},
		{"one node", []int64{7}, []int64{0}},
		{"all equal", []int64{-3, -3, -3}, []int64{0, 0, 0}},
		{"linear", []int64{1, 2, 3}, []int64{0, 50, 100}},
		{"truncates", []int64{1, 3, 4}, []int64{0, 66, 100}},
		{"negative raw scores", []int64{-10, 0, -5, -9}, []int64{0, 100, 50, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := append([]int64(nil), tc.scores...)
			(&scorer{}).Normalize(got)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Normalize(%v) = %v, want %v", tc.scores, got, tc.want)
			}
		})
	}
}

func TestScoreDoesNotAllocate(t *testing.T) {
	pod := testPod("in").labels("app", "web").prefer(5, term(zoneKey, labelsAre("app", "web"))).avoid(2, term(hostKey, labelsAre("app", "web"))).obj()
	snap := buildSnapshot(t, fiveNodes(map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}}), nil)
	s := newPlugin(t, DefaultArgs()).PreScore(snapshot.NewPodInfo(pod), snap, snap.Nodes)
	if s == nil {
		t.Fatal("PreScore returned nil")
	}
	for _, n := range snap.Nodes {
		if allocs := testing.AllocsPerRun(50, func() { s.Score(n) }); allocs != 0 {
			t.Errorf("Score(%s) allocates %v times per call", n.Name(), allocs)
		}
	}
}
