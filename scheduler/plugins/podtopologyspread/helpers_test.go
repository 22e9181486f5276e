package podtopologyspread

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var (
	_ decide.FilterPlugin = (*PodTopologySpread)(nil)
	_ decide.ScorePlugin  = (*PodTopologySpread)(nil)
	_ decide.Normalizer   = (*spreadScorer)(nil)
	_ decide.PodChanger   = (*spreadFilter)(nil)
	_ SelectorLister      = Listers{}
)

const hostKey = v1.LabelHostname

// appWeb selects pods labelled app=web.
var appWeb = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}

type podOpt func(*v1.Pod)

var podSeq int

// mkPod returns a pod in namespace "default" with labels given as key, value, key, value...
func mkPod(kv []string, opts ...podOpt) *v1.Pod {
	podSeq++
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: fmt.Sprintf("pod-%d", podSeq), Namespace: "default", UID: types.UID(fmt.Sprintf("uid-%d", podSeq)),
		Labels: map[string]string{},
	}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Labels[kv[i]] = kv[i+1]
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func web(opts ...podOpt) *v1.Pod { return mkPod([]string{"app", "web"}, opts...) }
func other(opts ...podOpt) *v1.Pod {
	return mkPod([]string{"app", "db"}, opts...)
}

func inNamespace(ns string) podOpt { return func(p *v1.Pod) { p.Namespace = ns } }

func terminating() podOpt {
	return func(p *v1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
}

func spread(cs ...v1.TopologySpreadConstraint) podOpt {
	return func(p *v1.Pod) { p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, cs...) }
}

func nodeSelector(kv ...string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func tolerate(key string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: key, Operator: v1.TolerationOpExists})
	}
}

type constraintOpt func(*v1.TopologySpreadConstraint)

func constraintOf(action v1.UnsatisfiableConstraintAction, key string, maxSkew int32, sel *metav1.LabelSelector, opts ...constraintOpt) v1.TopologySpreadConstraint {
	c := v1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action, LabelSelector: sel}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func hard(key string, maxSkew int32, sel *metav1.LabelSelector, opts ...constraintOpt) v1.TopologySpreadConstraint {
	return constraintOf(v1.DoNotSchedule, key, maxSkew, sel, opts...)
}

func soft(key string, maxSkew int32, sel *metav1.LabelSelector, opts ...constraintOpt) v1.TopologySpreadConstraint {
	return constraintOf(v1.ScheduleAnyway, key, maxSkew, sel, opts...)
}

func minDomains(n int32) constraintOpt {
	return func(c *v1.TopologySpreadConstraint) { c.MinDomains = &n }
}

func affinityPolicy(p v1.NodeInclusionPolicy) constraintOpt {
	return func(c *v1.TopologySpreadConstraint) { c.NodeAffinityPolicy = &p }
}

func taintsPolicy(p v1.NodeInclusionPolicy) constraintOpt {
	return func(c *v1.TopologySpreadConstraint) { c.NodeTaintsPolicy = &p }
}

func matchLabelKeys(keys ...string) constraintOpt {
	return func(c *v1.TopologySpreadConstraint) { c.MatchLabelKeys = keys }
}

// mkNode returns a node with labels given as key, value, ... holding pods.
func mkNode(name string, kv []string, pods ...*v1.Pod) *snapshot.NodeInfo {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Labels[kv[i]] = kv[i+1]
	}
	ni := snapshot.NewNodeInfo(n)
	for _, p := range pods {
		p.Spec.NodeName = name
		ni.AddPod(snapshot.NewPodInfo(p))
	}
	return ni
}

// zoned returns a node in zone with the hostname label and the given pods.
func zoned(name, zone string, pods ...*v1.Pod) *snapshot.NodeInfo {
	return mkNode(name, []string{"zone", zone, hostKey, name}, pods...)
}

func tainted(ni *snapshot.NodeInfo, key string) *snapshot.NodeInfo {
	ni.Node.Spec.Taints = append(ni.Node.Spec.Taints, v1.Taint{Key: key, Effect: v1.TaintEffectNoSchedule})
	return ni
}

func snap(nodes ...*snapshot.NodeInfo) *snapshot.Snapshot { return snapshot.New(nodes, nil) }

// repeat returns n pods made by mk.
func repeat(n int, mk func(...podOpt) *v1.Pod, opts ...podOpt) []*v1.Pod {
	out := make([]*v1.Pod, n)
	for i := range out {
		out[i] = mk(opts...)
	}
	return out
}

// fixedSelectors is a SelectorLister returning the same selectors for every pod.
type fixedSelectors []labels.Selector

func (f fixedSelectors) PodSelectors(*v1.Pod) []labels.Selector { return f }

func mustNew(t testing.TB, args Args, sl SelectorLister) *PodTopologySpread {
	t.Helper()
	pl, err := New(args, sl)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return pl
}

func fixedSelectorsFor(key, value string) fixedSelectors {
	return fixedSelectors{labels.SelectorFromSet(labels.Set{key: value})}
}
