package interpodaffinity

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Expected verdicts, spelled out so that a change of wording or code is caught.
var (
	fit        = snapshot.Verdict{}
	noAff      = snapshot.Verdict{Reasons: []string{"node(s) didn't match pod affinity rules"}, Unresolvable: true}
	noAnti     = snapshot.Verdict{Reasons: []string{"node(s) didn't match pod anti-affinity rules"}}
	noExisting = snapshot.Verdict{Reasons: []string{"node(s) didn't satisfy existing pods anti-affinity rules"}}
)

// verdicts maps node names to the verdict expected there.
type verdicts map[string]snapshot.Verdict

// fiveNodes is the topology most cases use: n1 and n2 share zone z1, n3 is alone in z2 (all three
// in region r1), n4 has only a hostname and n5 has no labels at all.
func fiveNodes(pods map[string][]*v1.Pod) []placed {
	nodes := []*v1.Node{
		mkNode("n1", hostKey, "n1", zoneKey, "z1", regionKey, "r1"),
		mkNode("n2", hostKey, "n2", zoneKey, "z1", regionKey, "r1"),
		mkNode("n3", hostKey, "n3", zoneKey, "z2", regionKey, "r1"),
		mkNode("n4", hostKey, "n4"),
		mkNode("n5"),
	}
	out := make([]placed, len(nodes))
	for i, n := range nodes {
		out[i] = on(n, pods[n.Name]...)
	}
	return out
}

// filterAll runs PreFilter and then Filter on every node; a nil NodeFilter means every node fits.
func filterAll(t *testing.T, f decide.NodeFilter, snap *snapshot.Snapshot) verdicts {
	t.Helper()
	got := verdicts{}
	for _, n := range snap.Nodes {
		got[n.Name()] = fit
		if f != nil {
			got[n.Name()] = f.Filter(n)
		}
	}
	return got
}

func TestFilter(t *testing.T) {
	web := labelsAre("app", "web")
	nsLabels := map[string]labels.Set{
		"default": {"kubernetes.io/metadata.name": "default"},
		"team-a":  {"team": "a"},
		"team-b":  {"team": "b"},
	}
	tests := []struct {
		name       string
		pod        *v1.Pod
		pods       map[string][]*v1.Pod
		namespaces map[string]labels.Set
		// wantNoFilter: PreFilter finds nothing to check.
		wantNoFilter bool
		want         verdicts
	}{
		{
			name:         "no terms and no existing anti-affinity: nothing to check",
			pod:          testPod("in").labels("app", "web").obj(),
			pods:         map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}},
			wantNoFilter: true,
			want:         verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "affinity by zone: every node of the matching pod's zone fits",
			pod:  testPod("in").affinity(term(zoneKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}},
			want: verdicts{"n1": fit, "n2": fit, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "affinity by hostname: only the matching pod's node fits",
			pod:  testPod("in").affinity(term(hostKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n2": {testPod("a").labels("app", "web").obj()}},
			want: verdicts{"n1": noAff, "n2": fit, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "affinity with a NotIn selector",
			pod:  testPod("in").affinity(term(zoneKey, expr("app", metav1.LabelSelectorOpNotIn, "db"))).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "db").obj()},
				"n3": {testPod("b").labels("app", "web").obj()},
			},
			want: verdicts{"n1": noAff, "n2": noAff, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name: "affinity requirements of one selector are ANDed",
			pod: testPod("in").affinity(term(zoneKey, &metav1.LabelSelector{
				MatchLabels:      kv("app", "web"),
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpExists}},
			})).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web").obj()},
				"n3": {testPod("b").labels("app", "web", "tier", "front").obj()},
			},
			want: verdicts{"n1": noAff, "n2": noAff, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name: "affinity ignores matching pods of another namespace",
			pod:  testPod("in").affinity(term(zoneKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n1": {testPod("a").in("team-a").labels("app", "web").obj()}},
			want: verdicts{"n1": noAff, "n2": noAff, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "affinity naming another namespace matches pods there only",
			pod:  testPod("in").affinity(inNamespaces(term(zoneKey, web), "team-a")).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").labels("app", "web").obj()},
				"n3": {testPod("b").labels("app", "web").obj()},
			},
			want: verdicts{"n1": fit, "n2": fit, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name:       "affinity namespaceSelector matches pods in the selected namespaces",
			pod:        testPod("in").affinity(withNamespaceSelector(term(zoneKey, web), labelsAre("team", "b"))).obj(),
			namespaces: nsLabels,
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").labels("app", "web").obj()},
				"n3": {testPod("b").in("team-b").labels("app", "web").obj()},
			},
			want: verdicts{"n1": noAff, "n2": noAff, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name:       "affinity namespaceSelector and namespaces are ORed",
			pod:        testPod("in").affinity(inNamespaces(withNamespaceSelector(term(hostKey, web), labelsAre("team", "b")), "team-a")).obj(),
			namespaces: nsLabels,
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").labels("app", "web").obj()},
				"n2": {testPod("c").labels("app", "web").obj()},
				"n3": {testPod("b").in("team-b").labels("app", "web").obj()},
			},
			want: verdicts{"n1": fit, "n2": noAff, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name:       "empty namespaceSelector spans every namespace, even unknown ones",
			pod:        testPod("in").affinity(withNamespaceSelector(term(hostKey, web), labelsAre())).obj(),
			namespaces: nsLabels,
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").labels("app", "web").obj()},
				"n3": {testPod("b").in("ghost").labels("app", "web").obj()},
			},
			want: verdicts{"n1": fit, "n2": noAff, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name:       "negative namespaceSelector does not reach namespaces the snapshot does not know",
			pod:        testPod("in").anti(withNamespaceSelector(term(hostKey, web), expr("team", metav1.LabelSelectorOpNotIn, "a"))).obj(),
			namespaces: nsLabels,
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").labels("app", "web").obj()},
				"n2": {testPod("b").in("team-b").labels("app", "web").obj()},
				"n3": {testPod("c").in("ghost").labels("app", "web").obj()},
			},
			want: verdicts{"n1": fit, "n2": noAnti, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "empty label selector matches every pod of the namespace",
			pod:  testPod("in").affinity(term(hostKey, labelsAre())).obj(),
			pods: map[string][]*v1.Pod{
				"n2": {testPod("a").obj()},
				"n3": {testPod("b").in("team-a").obj()},
			},
			want: verdicts{"n1": noAff, "n2": fit, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "missing label selector matches no pod, not even the pod itself",
			pod:  testPod("in").labels("app", "web").affinity(term(hostKey, nil)).anti(term(hostKey, nil)).obj(),
			pods: map[string][]*v1.Pod{"n2": {testPod("a").labels("app", "web").obj()}},
			want: verdicts{"n1": noAff, "n2": noAff, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "several affinity terms must be met by one single pod",
			pod:  testPod("in").affinity(term(zoneKey, web), term(hostKey, labelsAre("tier", "front"))).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web", "tier", "back").obj()},
				"n2": {testPod("b").labels("app", "api", "tier", "front").obj()},
			},
			want: verdicts{"n1": noAff, "n2": noAff, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "several affinity terms: each term's domain must hold the pod matching all",
			pod:  testPod("in").affinity(term(zoneKey, web), term(hostKey, labelsAre("tier", "front"))).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web", "tier", "front").obj()},
				"n3": {testPod("b").labels("app", "web").obj()},
			},
			want: verdicts{"n1": fit, "n2": noAff, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "first pod of a group may go to any node with the topology key",
			pod:  testPod("in").labels("app", "web").affinity(term(zoneKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "db").obj()}},
			want: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name: "first-pod rule no longer applies once a matching pod exists",
			pod:  testPod("in").labels("app", "web").affinity(term(zoneKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n3": {testPod("a").labels("app", "web").obj()}},
			want: verdicts{"n1": noAff, "n2": noAff, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name: "first-pod rule still applies when matching pods only run on nodes without the key",
			pod:  testPod("in").labels("app", "web").affinity(term(zoneKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n4": {testPod("a").labels("app", "web").obj()}},
			want: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name: "first-pod rule needs every term's key on the node",
			pod: testPod("in").labels("app", "web").
				affinity(term(regionKey, web), term(hostKey, web)).obj(),
			want: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": noAff, "n5": noAff},
		},
		{
			name: "first-pod rule needs the pod to match all its own terms",
			pod:  testPod("in").labels("app", "web").affinity(term(zoneKey, web), term(zoneKey, labelsAre("tier", "x"))).obj(),
			want: verdicts{"n1": noAff, "n2": noAff, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "first-pod rule looks at the pod's own namespace",
			pod:  testPod("in").labels("app", "web").affinity(inNamespaces(term(zoneKey, web), "team-a")).obj(),
			want: verdicts{"n1": noAff, "n2": noAff, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "anti-affinity by hostname rejects only the node of the matching pod",
			pod:  testPod("in").anti(term(hostKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n1": {testPod("a").labels("app", "web").obj()}},
			want: verdicts{"n1": noAnti, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "anti-affinity by zone rejects the zone; nodes without the key are not in any zone",
			pod:  testPod("in").anti(term(zoneKey, web)).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web").obj()},
				"n4": {testPod("b").labels("app", "web").obj()},
			},
			want: verdicts{"n1": noAnti, "n2": noAnti, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "anti-affinity is violated by any one term",
			pod:  testPod("in").anti(term(hostKey, web), term(zoneKey, labelsAre("app", "db"))).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web").obj()},
				"n3": {testPod("b").labels("app", "db").obj()},
			},
			want: verdicts{"n1": noAnti, "n2": fit, "n3": noAnti, "n4": fit, "n5": fit},
		},
		{
			name: "anti-affinity ignores pods of other namespaces",
			pod:  testPod("in").anti(term(regionKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n1": {testPod("a").in("team-a").labels("app", "web").obj()}},
			want: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "anti-affinity counts terminating pods",
			pod:  testPod("in").anti(term(hostKey, web)).obj(),
			pods: map[string][]*v1.Pod{"n2": {testPod("a").labels("app", "web").terminating().obj()}},
			want: verdicts{"n1": fit, "n2": noAnti, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "a pod matching its own anti-affinity does not conflict with itself",
			pod:  testPod("in").labels("app", "web").anti(term(hostKey, web)).obj(),
			want: verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "symmetry: an existing pod's anti-affinity rejects the newcomer in its zone",
			pod:  testPod("in").labels("app", "web").obj(),
			pods: map[string][]*v1.Pod{"n1": {testPod("a").anti(term(zoneKey, web)).obj()}},
			want: verdicts{"n1": noExisting, "n2": noExisting, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "symmetry: hostname anti-affinity rejects only that node",
			pod:  testPod("in").labels("app", "web").anti(term(zoneKey, labelsAre("app", "none"))).obj(),
			pods: map[string][]*v1.Pod{"n3": {testPod("a").anti(term(hostKey, web)).obj()}},
			want: verdicts{"n1": fit, "n2": fit, "n3": noExisting, "n4": fit, "n5": fit},
		},
		{
			name:         "symmetry: an existing pod's term only covers its own namespace by default",
			pod:          testPod("in").labels("app", "web").obj(),
			pods:         map[string][]*v1.Pod{"n1": {testPod("a").in("team-a").anti(term(zoneKey, web)).obj()}},
			wantNoFilter: true,
			want:         verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name:       "symmetry: an existing pod's namespaceSelector is evaluated on the newcomer's namespace",
			pod:        testPod("in").in("team-b").labels("app", "web").obj(),
			namespaces: nsLabels,
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").in("team-a").anti(withNamespaceSelector(term(hostKey, web), labelsAre("team", "b"))).obj()},
				"n3": {testPod("b").in("team-a").anti(withNamespaceSelector(term(hostKey, web), labelsAre("team", "a"))).obj()},
			},
			want: verdicts{"n1": noExisting, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name:         "symmetry: a term whose key the existing pod's node lacks counts nowhere",
			pod:          testPod("in").labels("app", "web").obj(),
			pods:         map[string][]*v1.Pod{"n4": {testPod("a").anti(term(zoneKey, web)).obj()}},
			wantNoFilter: true,
			want:         verdicts{"n1": fit, "n2": fit, "n3": fit, "n4": fit, "n5": fit},
		},
		{
			name: "symmetry: partial match across terms of the existing pod still rejects",
			pod:  testPod("in").labels("app", "web").obj(),
			pods: map[string][]*v1.Pod{"n3": {testPod("a").anti(term(zoneKey, labelsAre("app", "db")), term(regionKey, web)).obj()}},
			want: verdicts{"n1": noExisting, "n2": noExisting, "n3": noExisting, "n4": fit, "n5": fit},
		},
		{
			name: "affinity and anti-affinity together; affinity is judged first",
			pod:  testPod("in").affinity(term(zoneKey, web)).anti(term(hostKey, labelsAre("app", "db"))).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "web").obj()},
				"n2": {testPod("b").labels("app", "db").obj()},
				"n3": {testPod("c").labels("app", "db").obj()},
			},
			want: verdicts{"n1": fit, "n2": noAnti, "n3": noAff, "n4": noAff, "n5": noAff},
		},
		{
			name: "own anti-affinity is judged before existing pods' anti-affinity",
			pod:  testPod("in").labels("app", "web").anti(term(hostKey, labelsAre("app", "db"))).obj(),
			pods: map[string][]*v1.Pod{
				"n1": {testPod("a").labels("app", "db").anti(term(hostKey, web)).obj()},
				"n2": {testPod("b").anti(term(hostKey, web)).obj()},
			},
			want: verdicts{"n1": noAnti, "n2": noExisting, "n3": fit, "n4": fit, "n5": fit},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := buildSnapshot(t, fiveNodes(tc.pods), tc.namespaces)
			pl := newPlugin(t, DefaultArgs())
			f, v := pl.PreFilter(snapshot.NewPodInfo(tc.pod), snap)
			if !v.Fits() {
				t.Fatalf("PreFilter verdict = %+v, want fits", v)
			}
			if gotNone := f == nil; gotNone != tc.wantNoFilter {
				t.Errorf("PreFilter returned no filter: %v, want %v", gotNone, tc.wantNoFilter)
			}
			if got := filterAll(t, f, snap); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verdicts:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestPreFilterRejectsUnparsableAffinity(t *testing.T) {
	bad := expr("app", metav1.LabelSelectorOpIn) // In needs values
	tests := []struct {
		name     string
		pod      *v1.Pod
		wantPart string
	}{
		{"required affinity", testPod("p").affinity(term(hostKey, bad)).obj(), "podAffinity.requiredDuringScheduling"},
		{"required anti-affinity", testPod("p").anti(term(hostKey, bad)).obj(), "podAntiAffinity.requiredDuringScheduling"},
		{"preferred affinity", testPod("p").prefer(1, term(hostKey, bad)).obj(), "podAffinity.preferredDuringScheduling"},
		{"namespace selector", testPod("p").anti(withNamespaceSelector(term(hostKey, labelsAre()), bad)).obj(), "namespaceSelector"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := buildSnapshot(t, fiveNodes(nil), nil)
			pl := newPlugin(t, DefaultArgs())
			pod := snapshot.NewPodInfo(tc.pod)
			f, v := pl.PreFilter(pod, snap)
			if f != nil {
				t.Errorf("PreFilter returned a filter for an unparsable pod")
			}
			if !v.Unresolvable || len(v.Reasons) != 1 {
				t.Fatalf("verdict = %+v, want one unresolvable reason", v)
			}
			if r := v.Reasons[0]; !strings.HasPrefix(r, "parsing pod: ") || !strings.Contains(r, tc.wantPart) {
				t.Errorf("reason %q, want prefix %q and mention of %q", r, "parsing pod: ", tc.wantPart)
			}
			if s := pl.PreScore(pod, snap, snap.Nodes); s != nil {
				t.Errorf("PreScore returned a scorer for an unparsable pod")
			}
		})
	}
}

func TestFilterDoesNotAllocate(t *testing.T) {
	web := labelsAre("app", "web")
	snap := buildSnapshot(t, fiveNodes(map[string][]*v1.Pod{
		"n1": {testPod("a").labels("app", "web").obj()},
		"n3": {testPod("b").anti(term(zoneKey, web)).obj()},
	}), nil)
	pod := testPod("in").labels("app", "web").affinity(term(regionKey, web)).anti(term(hostKey, web), term(zoneKey, labelsAre("app", "db"))).obj()
	f, _ := newPlugin(t, DefaultArgs()).PreFilter(snapshot.NewPodInfo(pod), snap)
	if f == nil {
		t.Fatal("PreFilter returned no filter")
	}
	for _, n := range snap.Nodes {
		if allocs := testing.AllocsPerRun(50, func() { f.Filter(n) }); allocs != 0 {
			t.Errorf("Filter(%s) allocates %v times per call", n.Name(), allocs)
		}
	}
}

func TestFilterConcurrent(t *testing.T) {
	web := labelsAre("app", "web")
	snap := buildSnapshot(t, fiveNodes(map[string][]*v1.Pod{
		"n1": {testPod("a").labels("app", "web").obj()},
		"n3": {testPod("b").anti(term(zoneKey, web)).obj()},
	}), nil)
	pod := testPod("in").labels("app", "web").anti(term(hostKey, web)).obj()
	f, _ := newPlugin(t, DefaultArgs()).PreFilter(snapshot.NewPodInfo(pod), snap)
	want := filterAll(t, f, snap)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, n := range snap.Nodes {
				if got := f.Filter(n); !reflect.DeepEqual(got, want[n.Name()]) {
					t.Errorf("concurrent Filter(%s) = %+v, want %+v", n.Name(), got, want[n.Name()])
				}
			}
		})
	}
	wg.Wait()
}
