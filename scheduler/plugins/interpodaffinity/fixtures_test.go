package interpodaffinity

import (
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

const (
	hostKey   = v1.LabelHostname
	zoneKey   = "topology.kubernetes.io/zone"
	regionKey = "topology.kubernetes.io/region"
)

// kv turns "k1", "v1", "k2", "v2"... into a map (nil for no pairs).
func kv(pairs ...string) map[string]string {
	if len(pairs) == 0 {
		return nil
	}
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

func mkNode(name string, labelPairs ...string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: kv(labelPairs...)}}
}

// testPod builds pods fluently: testPod("p").in("ns").labels("app", "web").anti(...).obj().
type podBuilder struct{ p *v1.Pod }

func testPod(name string) *podBuilder {
	return &podBuilder{p: &v1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "default", UID: types.UID("uid-" + name),
	}}}
}

func (b *podBuilder) in(ns string) *podBuilder {
	b.p.Namespace = ns
	b.p.UID = types.UID("uid-" + ns + "-" + b.p.Name)
	return b
}

func (b *podBuilder) labels(pairs ...string) *podBuilder {
	b.p.Labels = kv(pairs...)
	return b
}

func (b *podBuilder) terminating() *podBuilder {
	now := metav1.Now()
	b.p.DeletionTimestamp = &now
	return b
}

func (b *podBuilder) podAffinity() *v1.PodAffinity {
	if b.p.Spec.Affinity == nil {
		b.p.Spec.Affinity = &v1.Affinity{}
	}
	if b.p.Spec.Affinity.PodAffinity == nil {
		b.p.Spec.Affinity.PodAffinity = &v1.PodAffinity{}
	}
	return b.p.Spec.Affinity.PodAffinity
}

func (b *podBuilder) podAntiAffinity() *v1.PodAntiAffinity {
	if b.p.Spec.Affinity == nil {
		b.p.Spec.Affinity = &v1.Affinity{}
	}
	if b.p.Spec.Affinity.PodAntiAffinity == nil {
		b.p.Spec.Affinity.PodAntiAffinity = &v1.PodAntiAffinity{}
	}
	return b.p.Spec.Affinity.PodAntiAffinity
}

// affinity adds required affinity terms.
func (b *podBuilder) affinity(terms ...v1.PodAffinityTerm) *podBuilder {
	a := b.podAffinity()
	a.RequiredDuringSchedulingIgnoredDuringExecution = append(a.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	return b
}

// anti adds required anti-affinity terms.
func (b *podBuilder) anti(terms ...v1.PodAffinityTerm) *podBuilder {
	a := b.podAntiAffinity()
	a.RequiredDuringSchedulingIgnoredDuringExecution = append(a.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	return b
}

// prefer adds a preferred affinity term.
func (b *podBuilder) prefer(weight int32, t v1.PodAffinityTerm) *podBuilder {
	a := b.podAffinity()
	a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution,
		v1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return b
}

// avoid adds a preferred anti-affinity term.
func (b *podBuilder) avoid(weight int32, t v1.PodAffinityTerm) *podBuilder {
	a := b.podAntiAffinity()
	a.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PreferredDuringSchedulingIgnoredDuringExecution,
		v1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t})
	return b
}

func (b *podBuilder) obj() *v1.Pod { return b.p }

// term is a pod affinity term over topology key selecting pods by sel (nil selects nothing).
func term(key string, sel *metav1.LabelSelector) v1.PodAffinityTerm {
	return v1.PodAffinityTerm{TopologyKey: key, LabelSelector: sel}
}

func inNamespaces(t v1.PodAffinityTerm, names ...string) v1.PodAffinityTerm {
	t.Namespaces = names
	return t
}

func withNamespaceSelector(t v1.PodAffinityTerm, sel *metav1.LabelSelector) v1.PodAffinityTerm {
	t.NamespaceSelector = sel
	return t
}

// labelsAre is a selector with matchLabels; labelsAre() is the empty selector (matches all).
func labelsAre(pairs ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: kv(pairs...)}
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

// placed is a node with the pods running on it.
type placed struct {
	node *v1.Node
	pods []*v1.Pod
}

func on(node *v1.Node, pods ...*v1.Pod) placed { return placed{node: node, pods: pods} }

func buildSnapshot(t testing.TB, nodes []placed, namespaces map[string]labels.Set) *snapshot.Snapshot {
	t.Helper()
	infos := make([]*snapshot.NodeInfo, 0, len(nodes))
	for _, pn := range nodes {
		n := snapshot.NewNodeInfo(pn.node)
		for _, p := range pn.pods {
			p = p.DeepCopy()
			p.Spec.NodeName = pn.node.Name
			n.AddPod(snapshot.NewPodInfo(p))
		}
		infos = append(infos, n)
	}
	return snapshot.New(infos, namespaces)
}

func newPlugin(t testing.TB, args Args) *InterPodAffinity {
	t.Helper()
	pl, err := New(args)
	if err != nil {
		t.Fatalf("New(%+v): %v", args, err)
	}
	return pl
}
