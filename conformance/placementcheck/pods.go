package placementcheck

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// podTerm is a required (anti-)affinity term with its owner, whose namespace and labels it is
// read against, and its selectors parsed.
type podTerm struct {
	owner *v1.Pod
	term  v1.PodAffinityTerm
	// selector is the label selector with the owner's matchLabelKeys and mismatchLabelKeys
	// applied; nsSelector the namespaceSelector (nil when the term has none).
	selector, nsSelector labels.Selector
}

func newPodTerm(owner *v1.Pod, t v1.PodAffinityTerm) podTerm {
	pt := podTerm{owner: owner, term: t, selector: labelSelector(t.LabelSelector, owner.Labels, t.MatchLabelKeys, t.MismatchLabelKeys)}
	if t.NamespaceSelector != nil {
		pt.nsSelector = labelSelector(t.NamespaceSelector, nil, nil, nil)
	}
	return pt
}

// matches reports whether pod q is selected by the term: q's namespace is among the term's
// (listed, or picked by namespaceSelector, or the owner's own when neither is given) and q's
// labels match the selector (with matchLabelKeys/mismatchLabelKeys taken from the owner).
func (t podTerm) matches(q *v1.Pod, nsLabels map[string]map[string]string) bool {
	inNS := false
	if len(t.term.Namespaces) == 0 && t.nsSelector == nil {
		inNS = q.Namespace == t.owner.Namespace
	} else {
		inNS = slices.Contains(t.term.Namespaces, q.Namespace) ||
			(t.nsSelector != nil && t.nsSelector.Matches(labels.Set(nsLabels[q.Namespace])))
	}
	return inNS && t.selector.Matches(labels.Set(q.Labels))
}

func requiredTerms(p *v1.Pod, anti bool) []podTerm {
	a := p.Spec.Affinity
	var terms []v1.PodAffinityTerm
	switch {
	case a == nil:
	case anti && a.PodAntiAffinity != nil:
		terms = a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	case !anti && a.PodAffinity != nil:
		terms = a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	out := make([]podTerm, len(terms))
	for i, t := range terms {
		out[i] = newPodTerm(p, t)
	}
	return out
}

// sameDomain reports whether nodes a and b both have label key with the same value.
func sameDomain(a, b *v1.Node, key string) bool {
	va, ok1 := a.Labels[key]
	vb, ok2 := b.Labels[key]
	return ok1 && ok2 && va == vb
}

// checkInterPod checks required affinity and anti-affinity. Anti-affinity holds both ways, so it
// is exact on the final state. Affinity is exact too, except for the first pod of a series that
// matches its own terms: with no pod matching them anywhere it may go to any node, which the
// final state can only bound (no pre-existing pod may match, and of two such pods each matching
// the other's terms only one can have come first).
func checkInterPod(w *World, all []placed) []Violation {
	var out []Violation
	type exemption struct {
		pl    placed
		terms []podTerm
	}
	var exempt []exemption
	for _, pl := range all {
		if !pl.incoming {
			continue
		}
		p, n := pl.pod, pl.node
		for _, t := range requiredTerms(p, true) {
			for _, q := range all {
				if q.pod == p || !sameDomain(n, q.node, t.term.TopologyKey) || !t.matches(q.pod, w.NamespaceLabels) {
					continue
				}
				out = append(out, Violation{podName(p), n.Name, "InterPodAffinity",
					fmt.Sprintf("anti-affinity term (topologyKey %s) matches %s on %s", t.term.TopologyKey, podName(q.pod), q.node.Name)})
			}
		}
		for _, q := range all {
			if q.incoming || q.pod == p {
				continue
			}
			for _, t := range requiredTerms(q.pod, true) {
				if sameDomain(n, q.node, t.term.TopologyKey) && t.matches(p, w.NamespaceLabels) {
					out = append(out, Violation{podName(p), n.Name, "InterPodAffinity",
						fmt.Sprintf("existing %s on %s has an anti-affinity term (topologyKey %s) matching the pod", podName(q.pod), q.node.Name, t.term.TopologyKey)})
				}
			}
		}
		terms := requiredTerms(p, false)
		if len(terms) == 0 {
			continue
		}
		missing, unmet := "", false
		for _, t := range terms {
			if _, ok := n.Labels[t.term.TopologyKey]; !ok {
				missing = t.term.TopologyKey
				break
			}
			found := false
			for _, q := range all {
				if q.pod != p && sameDomain(n, q.node, t.term.TopologyKey) && matchesAll(terms, q.pod, w.NamespaceLabels) {
					found = true
					break
				}
			}
			unmet = unmet || !found
		}
		switch {
		case missing != "":
			out = append(out, Violation{podName(p), n.Name, "InterPodAffinity", "node lacks affinity topology key " + missing})
		case !unmet:
		case !matchesAll(terms, p, w.NamespaceLabels):
			out = append(out, Violation{podName(p), n.Name, "InterPodAffinity", "no pod matching the affinity terms in the node's domain"})
		default:
			for _, q := range all {
				if !q.incoming && contributes(terms, q, w.NamespaceLabels) {
					out = append(out, Violation{podName(p), n.Name, "InterPodAffinity",
						fmt.Sprintf("affinity unmet here, and %s on %s matched the terms before the pod came (so it was not the first of its series)", podName(q.pod), q.node.Name)})
					break
				}
			}
			exempt = append(exempt, exemption{pl, terms})
		}
	}
	for i, a := range exempt {
		for _, b := range exempt[i+1:] {
			if contributes(a.terms, b.pl, w.NamespaceLabels) && contributes(b.terms, a.pl, w.NamespaceLabels) {
				out = append(out, Violation{podName(a.pl.pod), a.pl.node.Name, "InterPodAffinity",
					fmt.Sprintf("both it and %s on %s were placed as the first of their affinity series, but each matches the other's terms", podName(b.pl.pod), b.pl.node.Name)})
			}
		}
	}
	return out
}

func matchesAll(terms []podTerm, q *v1.Pod, ns map[string]map[string]string) bool {
	for _, t := range terms {
		if !t.matches(q, ns) {
			return false
		}
	}
	return len(terms) > 0
}

// contributes reports whether q would make the affinity terms count as "some pod matches": it
// matches all of them and its node carries at least one of their topology keys.
func contributes(terms []podTerm, q placed, ns map[string]map[string]string) bool {
	if !matchesAll(terms, q.pod, ns) {
		return false
	}
	for _, t := range terms {
		if _, ok := q.node.Labels[t.term.TopologyKey]; ok {
			return true
		}
	}
	return false
}
