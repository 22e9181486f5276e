package podtopologyspread

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	fits  = ""
	skew  = ErrReasonConstraintsNotMatch
	label = ErrReasonNodeLabelNotMatch
)

func TestFilter(t *testing.T) {
	honor, ignore := v1.NodeInclusionPolicyHonor, v1.NodeInclusionPolicyIgnore
	blue := func(name, zone string, pods ...*v1.Pod) *snapshot.NodeInfo {
		return mkNode(name, []string{"zone", zone, hostKey, name, "pool", "blue"}, pods...)
	}
	red := func(name, zone string, pods ...*v1.Pod) *snapshot.NodeInfo {
		return mkNode(name, []string{"zone", zone, hostKey, name, "pool", "red"}, pods...)
	}
	withVersion := func(v string) podOpt { return func(p *v1.Pod) { p.Labels["version"] = v } }
	listDefaults := Args{DefaultingType: ListDefaulting, DefaultConstraints: []v1.TopologySpreadConstraint{
		{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule},
	}}
	webSelector := fixedSelectors{labels.SelectorFromSet(labels.Set{"app": "web"})}

	tests := []struct {
		name         string
		args         *Args // nil: DefaultArgs()
		lister       SelectorLister
		pod          *v1.Pod
		nodes        []*snapshot.NodeInfo
		want         map[string]string // node name -> reason, fits ("") when it fits
		wantNoFilter bool
		wantPreFail  string
	}{
		{
			name:  "clean cluster",
			pod:   web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), zoned("b", "z1"), zoned("x", "z2"), zoned("y", "z2")},
			want:  map[string]string{"a": fits, "b": fits, "x": fits, "y": fits},
		},
		{
			name: "zones at 3/1: only the emptier zone fits",
			pod:  web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1", web(), other()),
				zoned("x", "z2", web()), zoned("y", "z2", other()),
			},
			want: map[string]string{"a": skew, "b": skew, "x": fits, "y": fits},
		},
		{
			name: "the incoming pod counts itself when it matches",
			pod:  web(spread(hard("zone", 2, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1", web()), zoned("x", "z2", web()),
			},
			want: map[string]string{"a": skew, "b": skew, "x": fits},
		},
		{
			name: "the incoming pod does not count itself when it does not match",
			pod:  other(spread(hard("zone", 2, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("b", "z1", web()), zoned("x", "z2", web()),
			},
			want: map[string]string{"a": fits, "b": fits, "x": fits},
		},
		{
			name:  "pods in other namespaces do not count",
			pod:   web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", repeat(3, web, inNamespace("other"))...), zoned("x", "z2")},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			// Pods with equal labels are matched once per decision: the namespace must still
			// tell them apart, whichever is seen first.
			name: "equal labels in another namespace: only this namespace's pods count",
			pod:  web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(inNamespace("other")), web(inNamespace("other")), web(), web()),
				zoned("x", "z2", web(inNamespace("other")), web()),
			},
			want: map[string]string{"a": skew, "x": fits},
		},
		{
			name: "a terminating pod does not hide running pods with equal labels",
			pod:  web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(terminating()), web(), web()), zoned("x", "z2", web()),
			},
			want: map[string]string{"a": skew, "x": fits},
		},
		{
			name:  "terminating pods do not count",
			pod:   web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", repeat(2, web, terminating())...), zoned("x", "z2")},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			name:  "a nil labelSelector selects nothing, not even the pod",
			pod:   web(spread(hard("zone", 1, nil))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web(), web(), web()), zoned("x", "z2")},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			name:  "an empty labelSelector counts no existing pod",
			pod:   web(spread(hard("zone", 1, &metav1.LabelSelector{}))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web(), web(), web()), zoned("x", "z2")},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			name:  "a node without the topology key",
			pod:   web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), mkNode("c", []string{hostKey, "c"})},
			want:  map[string]string{"a": fits, "c": label},
		},
		{
			name: "pods on a node missing any constraint's key are not counted",
			pod:  web(spread(hard("zone", 1, appWeb), hard(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1"), zoned("x", "z2"), mkNode("c", []string{"zone", "z2"}, web(), web(), web()),
			},
			want: map[string]string{"a": fits, "x": fits, "c": label},
		},
		{
			name: "zone and hostname constraints",
			pod:  web(spread(hard("zone", 1, appWeb), hard(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web()), zoned("b", "z1"), zoned("x", "z2", web(), web()), zoned("y", "z2", web()),
			},
			want: map[string]string{"a": skew, "b": fits, "x": skew, "y": skew},
		},
		{
			name: "two constraints on one key with different selectors",
			pod: mkPod([]string{"app", "web", "tier", "front"}, spread(
				hard("zone", 1, appWeb),
				hard("zone", 1, &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("x", "z2", mkPod([]string{"app", "db", "tier", "front"})),
			},
			want: map[string]string{"a": skew, "x": skew},
		},
		{
			name:         "soft constraints are not filtered",
			pod:          web(spread(soft("zone", 1, appWeb))),
			nodes:        []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2")},
			wantNoFilter: true,
		},
		{
			name:  "fewer domains than minDomains: the minimum is 0",
			pod:   web(spread(hard(hostKey, 2, appWeb, minDomains(4)))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("b", "z1", web(), web()), zoned("c", "z1", web())},
			want:  map[string]string{"a": skew, "b": skew, "c": fits},
		},
		{
			name:  "as many domains as minDomains: the real minimum",
			pod:   web(spread(hard(hostKey, 2, appWeb, minDomains(3)))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("b", "z1", web(), web()), zoned("c", "z1", web())},
			want:  map[string]string{"a": fits, "b": fits, "c": fits},
		},
		{
			name:  "minDomains on zones",
			pod:   web(spread(hard("zone", 2, appWeb, minDomains(3)))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2", web())},
			want:  map[string]string{"a": skew, "x": fits},
		},
		{
			name:  "nodeAffinityPolicy Honor (default): nodes outside the pod's nodeSelector do not count",
			pod:   web(nodeSelector("pool", "blue"), spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{blue("a", "z1"), blue("x", "z2"), red("y", "z2", web(), web(), web())},
			want:  map[string]string{"a": fits, "x": fits, "y": fits},
		},
		{
			name:  "nodeAffinityPolicy Ignore: every node counts",
			pod:   web(nodeSelector("pool", "blue"), spread(hard("zone", 1, appWeb, affinityPolicy(ignore)))),
			nodes: []*snapshot.NodeInfo{blue("a", "z1"), blue("x", "z2"), red("y", "z2", web(), web(), web())},
			want:  map[string]string{"a": fits, "x": skew, "y": skew},
		},
		{
			name: "nodeAffinityPolicy Honor with required node affinity",
			pod: web(spread(hard("zone", 1, appWeb)), func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
					NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
						{Key: "pool", Operator: v1.NodeSelectorOpNotIn, Values: []string{"red"}}}}},
				}}}
			}),
			nodes: []*snapshot.NodeInfo{blue("a", "z1"), blue("x", "z2"), red("y", "z2", web(), web(), web())},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			name:  "nodeTaintsPolicy Ignore (default): tainted nodes count",
			pod:   web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), tainted(zoned("x", "z2", web(), web(), web()), "dedicated")},
			want:  map[string]string{"a": fits, "x": skew},
		},
		{
			name:  "nodeTaintsPolicy Honor: untolerated tainted nodes do not count",
			pod:   web(spread(hard("zone", 1, appWeb, taintsPolicy(honor)))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), tainted(zoned("x", "z2", web(), web(), web()), "dedicated")},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			name:  "nodeTaintsPolicy Honor: tolerated tainted nodes count",
			pod:   web(tolerate("dedicated"), spread(hard("zone", 1, appWeb, taintsPolicy(honor)))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), tainted(zoned("x", "z2", web(), web(), web()), "dedicated")},
			want:  map[string]string{"a": fits, "x": skew},
		},
		{
			name: "policies apply per constraint",
			pod: web(nodeSelector("pool", "blue"), spread(
				hard("zone", 1, appWeb, affinityPolicy(ignore)),
				hard(hostKey, 1, appWeb, taintsPolicy(honor)))),
			nodes: []*snapshot.NodeInfo{
				blue("a", "z1"), tainted(blue("b", "z1", web(), web()), "dedicated"), red("x", "z2", web()),
			},
			// zone (every node): z1=2, z2=1; hostname (blue and untainted nodes only): a=0.
			want: map[string]string{"a": skew, "b": skew, "x": fits},
		},
		{
			name:  "matchLabelKeys are ANDed with the labelSelector",
			pod:   web(withVersion("v2"), spread(hard("zone", 1, appWeb, matchLabelKeys("version")))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", repeat(3, web, withVersion("v1"))...), zoned("x", "z2")},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			name:  "matchLabelKeys with an empty labelSelector",
			pod:   web(spread(hard("zone", 1, &metav1.LabelSelector{}, matchLabelKeys("app")))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2", other())},
			want:  map[string]string{"a": skew, "x": fits},
		},
		{
			name:  "matchLabelKeys with a nil labelSelector select nothing",
			pod:   web(spread(hard("zone", 1, nil, matchLabelKeys("app")))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2")},
			want:  map[string]string{"a": fits, "x": fits},
		},
		{
			name:  "a matchLabelKeys key the pod lacks is ignored",
			pod:   web(spread(hard("zone", 1, appWeb, matchLabelKeys("version")))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", repeat(2, web, withVersion("v1"))...), zoned("x", "z2")},
			want:  map[string]string{"a": skew, "x": fits},
		},
		{
			name:   "listed default constraints use the pod's owners' selectors",
			args:   &listDefaults,
			lister: webSelector,
			pod:    web(),
			nodes:  []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2")},
			want:   map[string]string{"a": skew, "x": fits},
		},
		{
			name:         "listed default constraints without owners' selectors",
			args:         &listDefaults,
			lister:       fixedSelectors{labels.Everything(), labels.Nothing()},
			pod:          web(),
			nodes:        []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2")},
			wantNoFilter: true,
		},
		{
			name:         "listed default constraints without a SelectorLister",
			args:         &listDefaults,
			pod:          web(),
			nodes:        []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2")},
			wantNoFilter: true,
		},
		{
			name:         "default constraints do not apply to a pod with its own",
			args:         &listDefaults,
			lister:       webSelector,
			pod:          web(spread(soft("zone", 1, appWeb))),
			nodes:        []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2")},
			wantNoFilter: true,
		},
		{
			name:         "system default constraints are soft",
			lister:       webSelector,
			pod:          web(),
			nodes:        []*snapshot.NodeInfo{zoned("a", "z1", web(), web()), zoned("x", "z2")},
			wantNoFilter: true,
		},
		{
			name: "an invalid hard labelSelector rejects the pod",
			pod: web(spread(hard("zone", 1, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: "Near", Values: []string{"web"}}}}))),
			nodes:       []*snapshot.NodeInfo{zoned("a", "z1")},
			wantPreFail: "spec.topologySpreadConstraints[0].labelSelector",
		},
		{
			name: "an invalid soft labelSelector rejects the pod",
			pod: web(spread(hard("zone", 1, appWeb), soft("zone", 1, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: metav1.LabelSelectorOpIn}}}))),
			nodes:       []*snapshot.NodeInfo{zoned("a", "z1")},
			wantPreFail: "spec.topologySpreadConstraints[1].labelSelector",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := DefaultArgs()
			if tt.args != nil {
				args = *tt.args
			}
			pl := mustNew(t, args, tt.lister)
			f, v := pl.PreFilter(snapshot.NewPodInfo(tt.pod), snap(tt.nodes...))
			if tt.wantPreFail != "" {
				if v.Fits() || !v.Unresolvable || !strings.Contains(strings.Join(v.Reasons, ";"), tt.wantPreFail) {
					t.Fatalf("PreFilter verdict = %+v, want unresolvable containing %q", v, tt.wantPreFail)
				}
				return
			}
			if !v.Fits() {
				t.Fatalf("PreFilter rejected the pod: %+v", v)
			}
			if tt.wantNoFilter {
				if f != nil {
					t.Fatal("PreFilter returned a filter, want none")
				}
				return
			}
			if f == nil {
				t.Fatal("PreFilter returned no filter")
			}
			for _, n := range tt.nodes {
				want, ok := tt.want[n.Name()]
				if !ok {
					continue
				}
				checkVerdict(t, n.Name(), f.Filter(n), want)
			}
		})
	}
}

func checkVerdict(t *testing.T, node string, got snapshot.Verdict, want string) {
	t.Helper()
	if want == fits {
		if !got.Fits() {
			t.Errorf("node %s: verdict %+v, want fit", node, got)
		}
		return
	}
	if len(got.Reasons) != 1 || got.Reasons[0] != want || got.Unresolvable != (want == label) {
		t.Errorf("node %s: verdict %+v, want %q (unresolvable %v)", node, got, want, want == label)
	}
}

// TestDetail checks the words explain shows for a node the filter rejects: the first constraint
// the node breaks, its domain's count with the pod, and what it is compared with.
func TestDetail(t *testing.T) {
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*snapshot.NodeInfo
		node  string
		want  string
	}{
		{
			name: "skew against the least crowded zone",
			pod:  web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web(), web()), zoned("x", "z2"), zoned("y", "z3", web()),
			},
			node: "a",
			want: "zone=z1 would hold 3 matching pods, 3 more than zone=z2; maxSkew 1",
		},
		{
			name: "the second constraint is the one broken",
			pod:  web(spread(hard("zone", 2, appWeb), hard(hostKey, 1, appWeb))),
			nodes: []*snapshot.NodeInfo{
				zoned("a", "z1", web()), zoned("x", "z2"),
			},
			node: "a",
			want: hostKey + "=a would hold 2 matching pods, 2 more than " + hostKey + "=x; maxSkew 1",
		},
		{
			name:  "fewer domains than minDomains: compared with 0",
			pod:   web(spread(hard("zone", 1, appWeb, minDomains(3)))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1", web()), zoned("x", "z2", web())},
			node:  "a",
			want:  "zone=z1 would hold 2 matching pods, 2 more than the minimum of 0 (2 of minDomains 3 domains); maxSkew 1",
		},
		{
			name:  "a node without the topology key",
			pod:   web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), mkNode("bare", []string{hostKey, "bare"})},
			node:  "bare",
			want:  "node has no label zone",
		},
		{
			name:  "a node that passes has none",
			pod:   web(spread(hard("zone", 1, appWeb))),
			nodes: []*snapshot.NodeInfo{zoned("a", "z1"), zoned("x", "z2")},
			node:  "a",
			want:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, v := mustNew(t, DefaultArgs(), nil).PreFilter(snapshot.NewPodInfo(tt.pod), snap(tt.nodes...))
			if !v.Fits() || f == nil {
				t.Fatalf("PreFilter: filter %v, verdict %+v", f, v)
			}
			d, ok := f.(decide.Detailer)
			if !ok {
				t.Fatalf("%T is no decide.Detailer", f)
			}
			for _, n := range tt.nodes {
				if n.Name() != tt.node {
					continue
				}
				if got := d.Detail(n); got != tt.want {
					t.Errorf("Detail(%s) = %q, want %q", n.Name(), got, tt.want)
				}
				if fitsNow := f.Filter(n).Fits(); fitsNow != (tt.want == "") {
					t.Errorf("Filter(%s) fits = %v, but Detail says %q", n.Name(), fitsNow, tt.want)
				}
			}
		})
	}
}
