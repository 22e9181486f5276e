package main

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The checks that relate pods to each other: required inter-pod (anti-)affinity and hard
// topology spread.

// term is a required inter-pod term of one pod, ready to match.
type term struct {
	owner      *v1.Pod
	namespaces map[string]bool
	selector   labels.Selector
	key        string
}

func terms(pod *v1.Pod, list []v1.PodAffinityTerm) ([]term, error) {
	var out []term
	for _, t := range list {
		if t.NamespaceSelector != nil {
			return nil, fmt.Errorf("namespaceSelector is not supported by the checker")
		}
		sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("label selector: %w", err)
		}
		ns := map[string]bool{}
		for _, n := range t.Namespaces {
			ns[n] = true
		}
		if len(ns) == 0 {
			ns[pod.Namespace] = true
		}
		out = append(out, term{owner: pod, namespaces: ns, selector: sel, key: t.TopologyKey})
	}
	return out, nil
}

func (t term) matches(pod *v1.Pod) bool {
	return t.namespaces[pod.Namespace] && t.selector.Matches(labels.Set(pod.Labels))
}

// checkInterPod checks required anti-affinity (no matching pod in the owner's topology domain)
// and required affinity (some matching pod there, unless the owner is the only match anywhere).
func checkInterPod(nodes map[string]*v1.Node, bound []*v1.Pod) []string {
	var out []string
	byDomain := map[string]map[string][]*v1.Pod{} // topology key -> domain -> pods, built on demand
	inDomain := func(key, d string) []*v1.Pod {
		idx, ok := byDomain[key]
		if !ok {
			idx = map[string][]*v1.Pod{}
			for _, p := range bound {
				if v, ok := nodes[p.Spec.NodeName].Labels[key]; ok {
					idx[v] = append(idx[v], p)
				}
			}
			byDomain[key] = idx
		}
		return idx[d]
	}
	for _, pod := range bound {
		a := pod.Spec.Affinity
		if a == nil {
			continue
		}
		name := pod.Namespace + "/" + pod.Name
		node := nodes[pod.Spec.NodeName]
		if a.PodAntiAffinity != nil {
			anti, err := terms(pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
			if err != nil {
				out = append(out, fmt.Sprintf("%s: cannot check anti-affinity: %v", name, err))
			}
			for _, t := range anti {
				d, ok := node.Labels[t.key]
				if !ok {
					continue
				}
				for _, other := range inDomain(t.key, d) {
					if other != pod && t.matches(other) {
						out = append(out, fmt.Sprintf("%s on %s: anti-affinity (%s) broken by %s/%s on %s",
							name, pod.Spec.NodeName, t.key, other.Namespace, other.Name, other.Spec.NodeName))
					}
				}
			}
		}
		if a.PodAffinity != nil {
			aff, err := terms(pod, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
			if err != nil {
				out = append(out, fmt.Sprintf("%s: cannot check affinity: %v", name, err))
			}
			for _, t := range aff {
				if v := affinityViolation(t, node, inDomain, bound); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// affinityViolation checks one required affinity term of a bound pod on node.
func affinityViolation(t term, node *v1.Node, inDomain func(key, d string) []*v1.Pod, bound []*v1.Pod) string {
	name := t.owner.Namespace + "/" + t.owner.Name
	d, ok := node.Labels[t.key]
	if !ok {
		return fmt.Sprintf("%s on %s: affinity topology key %s missing on node", name, node.Name, t.key)
	}
	for _, other := range inDomain(t.key, d) {
		if other != t.owner && t.matches(other) {
			return ""
		}
	}
	for _, other := range bound {
		if other != t.owner && t.matches(other) {
			return fmt.Sprintf("%s on %s: required affinity (%s) has no matching pod in its domain", name, node.Name, t.key)
		}
	}
	return "" // the first pod of its kind may start a domain
}

// checkSpread checks every hard topology spread constraint: in the final state the counts of
// matching pods per domain may differ by at most maxSkew (placements only ever add pods, so a
// scheduler honouring the constraint at each placement keeps this true). Domains are the key's
// values on the nodes the owning pod's node selector and required node affinity allow; taints are
// ignored, as by default upstream.
func checkSpread(nodes map[string]*v1.Node, bound []*v1.Pod) []string {
	var out []string
	checked := map[string]bool{}
	for _, pod := range bound {
		for _, c := range pod.Spec.TopologySpreadConstraints {
			if c.WhenUnsatisfiable != v1.DoNotSchedule {
				continue
			}
			id := fmt.Sprintf("%s|%s|%d|%s", pod.Namespace, c.TopologyKey, c.MaxSkew, metav1.FormatLabelSelector(c.LabelSelector))
			if checked[id] {
				continue
			}
			checked[id] = true
			if v := spreadViolation(nodes, bound, pod, c); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func spreadViolation(nodes map[string]*v1.Node, bound []*v1.Pod, owner *v1.Pod, c v1.TopologySpreadConstraint) string {
	name := owner.Namespace + "/" + owner.Name
	sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
	if err != nil {
		return fmt.Sprintf("%s: cannot check topology spread: %v", name, err)
	}
	if len(c.MatchLabelKeys) > 0 {
		return fmt.Sprintf("%s: cannot check topology spread: matchLabelKeys is not supported by the checker", name)
	}
	counts := map[string]int{}
	for _, n := range nodes {
		if d, ok := n.Labels[c.TopologyKey]; ok && nodeAllowed(owner, n) {
			counts[d] += 0
		}
	}
	for _, p := range bound {
		n := nodes[p.Spec.NodeName]
		d, ok := n.Labels[c.TopologyKey]
		if !ok || p.Namespace != owner.Namespace || !sel.Matches(labels.Set(p.Labels)) || !nodeAllowed(owner, n) {
			continue
		}
		counts[d]++
	}
	if len(counts) == 0 {
		return ""
	}
	lo, hi := -1, 0
	var loD, hiD string
	for d, n := range counts {
		if lo < 0 || n < lo {
			lo, loD = n, d
		}
		if n > hi {
			hi, hiD = n, d
		}
	}
	if c.MinDomains != nil && int32(len(counts)) < *c.MinDomains {
		lo, loD = 0, "(missing domains)"
	}
	if int32(hi-lo) > c.MaxSkew {
		return fmt.Sprintf("topology spread %s of %s: %s has %d pods, %s has %d: skew %d > maxSkew %d",
			c.TopologyKey, name, hiD, hi, loD, lo, hi-lo, c.MaxSkew)
	}
	return ""
}

// nodeAllowed reports whether pod's node selector and required node affinity allow node (an
// affinity the checker cannot evaluate allows it; checkNodeLocal reports that separately).
func nodeAllowed(pod *v1.Pod, node *v1.Node) bool {
	for k, v := range pod.Spec.NodeSelector {
		if node.Labels[k] != v {
			return false
		}
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		ok, err := matchNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, node)
		return ok || err != nil
	}
	return true
}
