package nodeaffinity

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// requiredAffinityPath is where a pod's required node affinity lives, for error messages.
var requiredAffinityPath = field.NewPath("spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")

// RequiredMatcher is a pod's spec.nodeSelector and required node affinity, compiled once so that
// matching a node allocates nothing. It is read-only once built and safe for concurrent use.
//
// Besides this plugin, PodTopologySpread uses it to decide which nodes count for a constraint
// whose nodeAffinityPolicy is Honor.
type RequiredMatcher struct {
	nodeSelector []labelPair // spec.nodeSelector: every pair must be on the node
	hasAffinity  bool        // the pod has a required node affinity, so affinity must match too
	affinity     nodeSelector
}

type labelPair struct{ key, value string }

// NewRequiredMatcher compiles pod's spec.nodeSelector and
// spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.
//
// It always returns a usable matcher. Like kube-scheduler, the matcher is lenient: an affinity
// term that cannot be parsed (unknown operator, bad values) simply never matches, and the pod may
// still match nodes through its other terms. The error, when not nil, lists those parse problems
// (with field paths) for callers that want to report them; callers that only need kube-scheduler's
// matching may ignore it.
func NewRequiredMatcher(pod *v1.Pod) (*RequiredMatcher, error) {
	m := &RequiredMatcher{}
	if len(pod.Spec.NodeSelector) > 0 {
		m.nodeSelector = make([]labelPair, 0, len(pod.Spec.NodeSelector))
		for k, v := range pod.Spec.NodeSelector {
			m.nodeSelector = append(m.nodeSelector, labelPair{k, v})
		}
	}
	ns := requiredNodeSelector(pod)
	if ns == nil {
		return m, nil
	}
	m.hasAffinity = true
	var errs []error
	m.affinity, errs = compileNodeSelector(ns, requiredAffinityPath)
	if len(errs) == 0 {
		return m, nil
	}
	return m, fmt.Errorf("invalid node affinity: %w", utilerrors.Flatten(utilerrors.NewAggregate(errs)))
}

// MatchesAll reports whether the pod has neither a nodeSelector nor a required node affinity, so
// that Match is true for every node object.
func (m *RequiredMatcher) MatchesAll() bool { return len(m.nodeSelector) == 0 && !m.hasAffinity }

// Match reports whether node carries every label of the pod's nodeSelector and matches at least
// one of its required node affinity terms (when it has a required node affinity). A nil node
// matches nothing.
func (m *RequiredMatcher) Match(node *v1.Node) bool {
	if node == nil {
		return false
	}
	for _, p := range m.nodeSelector {
		if v, ok := node.Labels[p.key]; !ok || v != p.value {
			return false
		}
	}
	return !m.hasAffinity || m.affinity.matches(node)
}

// matchesNothing reports whether every affinity term was dropped as invalid, so that no node can
// ever match because of the pod's bad spec (rather than because of the nodes).
func (m *RequiredMatcher) matchesNothing() bool {
	return m.hasAffinity && len(m.affinity.terms) == 0 && m.affinity.invalid > 0
}

func requiredNodeSelector(pod *v1.Pod) *v1.NodeSelector {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil {
		return nil
	}
	return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}
