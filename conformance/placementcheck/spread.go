package placementcheck

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// spreadConstraint is one DoNotSchedule constraint of a pod, ready to count with.
type spreadConstraint struct {
	c        v1.TopologySpreadConstraint
	selector labels.Selector
	all      []v1.TopologySpreadConstraint // the pod's DoNotSchedule constraints: nodes need every key
	owner    *v1.Pod
}

func spreadConstraints(p *v1.Pod) []spreadConstraint {
	var hard []v1.TopologySpreadConstraint
	for _, c := range p.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable == v1.DoNotSchedule {
			hard = append(hard, c)
		}
	}
	out := make([]spreadConstraint, len(hard))
	for i, c := range hard {
		out[i] = spreadConstraint{c: c, selector: labelSelector(c.LabelSelector, p.Labels, c.MatchLabelKeys, nil), all: hard, owner: p}
	}
	return out
}

// eligible reports whether pods on n count toward the constraint: n has every constraint's key
// and passes the inclusion policies (node affinity honoured by default, taints ignored by default).
func (s spreadConstraint) eligible(n *v1.Node) bool {
	for _, c := range s.all {
		if _, ok := n.Labels[c.TopologyKey]; !ok {
			return false
		}
	}
	if s.c.NodeAffinityPolicy == nil || *s.c.NodeAffinityPolicy == v1.NodeInclusionPolicyHonor {
		if !nodeAffinityMatches(s.owner, n) {
			return false
		}
	}
	if s.c.NodeTaintsPolicy != nil && *s.c.NodeTaintsPolicy == v1.NodeInclusionPolicyHonor {
		for _, t := range n.Spec.Taints {
			if (t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute) && !tolerated(s.owner.Spec.Tolerations, t) {
				return false
			}
		}
	}
	return true
}

// counts returns matching pods per domain over eligible nodes (every eligible domain present,
// possibly 0). Pods in other namespaces, terminating pods and skip are not counted; an empty
// selector counts nothing (upstream's reading: {} never counts, though it matches the pod itself).
func (s spreadConstraint) counts(nodes map[string]*v1.Node, pods []placed, skip *v1.Pod) map[string]int {
	out := map[string]int{}
	for _, n := range nodes {
		if s.eligible(n) {
			out[n.Labels[s.c.TopologyKey]] += 0
		}
	}
	if s.selector.Empty() {
		return out
	}
	for _, q := range pods {
		if q.pod == skip || q.pod.Namespace != s.owner.Namespace || q.pod.DeletionTimestamp != nil || !s.eligible(q.node) {
			continue
		}
		if s.selector.Matches(labels.Set(q.pod.Labels)) {
			out[q.node.Labels[s.c.TopologyKey]]++
		}
	}
	return out
}

// minimum is the skew baseline: 0 while there are fewer domains than minDomains (1 by default),
// else the smallest count; ok is false when there are no domains (nothing to compare with).
func (s spreadConstraint) minimum(counts map[string]int) (int, bool) {
	if len(counts) == 0 {
		return 0, false
	}
	minDomains := 1
	if s.c.MinDomains != nil {
		minDomains = int(*s.c.MinDomains)
	}
	if len(counts) < minDomains {
		return 0, true
	}
	m := math.MaxInt
	for _, c := range counts {
		m = min(m, c)
	}
	return m, true
}

// checkSpread checks every incoming pod's DoNotSchedule constraints. When the pod was placed,
// its domain held at least the pre-existing matching pods, and the smallest domain at most what
// it holds at the end without the pod, so "existing in its domain + itself - final minimum" must
// be within maxSkew; this is exact when no other incoming pod matches the selector. For a set of
// identical pods whose selectors match only themselves it also checks the invariant that a spread
// within maxSkew before the phase is still within maxSkew after it.
func checkSpread(w *World, all []placed) []Violation {
	var before []placed
	for _, pl := range all {
		if !pl.incoming {
			before = append(before, pl)
		}
	}
	var out []Violation
	for _, pl := range all {
		if !pl.incoming {
			continue
		}
		p, n := pl.pod, pl.node
		for _, s := range spreadConstraints(p) {
			val, ok := n.Labels[s.c.TopologyKey]
			if !ok {
				out = append(out, Violation{podName(p), n.Name, "PodTopologySpread", "node lacks topology key " + s.c.TopologyKey})
				continue
			}
			low, ok := s.minimum(s.counts(w.Nodes, all, p))
			if !ok {
				continue
			}
			self := 0
			if s.selector.Matches(labels.Set(p.Labels)) {
				self = 1
			}
			had := s.counts(w.Nodes, before, p)[val]
			if had+self-low > int(s.c.MaxSkew) {
				out = append(out, Violation{podName(p), n.Name, "PodTopologySpread",
					fmt.Sprintf("topologyKey %s=%s: %d matching pods were already there, +%d itself, minimum at most %d: skew > maxSkew %d",
						s.c.TopologyKey, val, had, self, low, s.c.MaxSkew)})
			}
		}
	}
	return append(out, checkSpreadGroups(w, all, before)...)
}

// checkSpreadGroups checks the invariant for sets of identical incoming pods (same namespace,
// labels, constraints, node affinity and tolerations) whose constraint selects themselves and no
// other incoming pod: each placement kept its domain within min+maxSkew and min never falls, so
// a spread within maxSkew before the phase must still be within it at the end.
func checkSpreadGroups(w *World, all, before []placed) []Violation {
	groups := map[string][]placed{}
	var keys []string
	for _, pl := range all {
		if !pl.incoming || len(spreadConstraints(pl.pod)) == 0 {
			continue
		}
		k := spreadSignature(pl.pod)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], pl)
	}
	var out []Violation
	for _, k := range keys {
		members := groups[k]
		p := members[0].pod
		for _, s := range spreadConstraints(p) {
			if !s.selector.Matches(labels.Set(p.Labels)) || s.selector.Empty() || othersMatch(s, w.Incoming, members) {
				continue
			}
			if spreadWithin(s, s.counts(w.Nodes, before, nil)) && !spreadWithin(s, s.counts(w.Nodes, all, nil)) {
				out = append(out, Violation{podName(p), members[0].node.Name, "PodTopologySpread",
					fmt.Sprintf("the %d identical pods with topologyKey %s left the spread %v beyond maxSkew %d (it was %v before)",
						len(members), s.c.TopologyKey, s.counts(w.Nodes, all, nil), s.c.MaxSkew, s.counts(w.Nodes, before, nil))})
			}
		}
	}
	return out
}

// othersMatch reports whether an incoming pod outside members matches the constraint.
func othersMatch(s spreadConstraint, incoming []*v1.Pod, members []placed) bool {
	for _, q := range incoming {
		if q.Namespace != s.owner.Namespace || !s.selector.Matches(labels.Set(q.Labels)) {
			continue
		}
		in := false
		for _, m := range members {
			in = in || m.pod == q
		}
		if !in && spreadSignature(q) != spreadSignature(s.owner) {
			return true
		}
	}
	return false
}

func spreadWithin(s spreadConstraint, counts map[string]int) bool {
	low, ok := s.minimum(counts)
	if !ok {
		return true
	}
	for _, c := range counts {
		if c-low > int(s.c.MaxSkew) {
			return false
		}
	}
	return true
}

// spreadSignature identifies pods that the spreading rules treat identically.
func spreadSignature(p *v1.Pod) string {
	var na any
	if p.Spec.Affinity != nil {
		na = p.Spec.Affinity.NodeAffinity
	}
	own := map[string]string{}
	for k, v := range p.Labels {
		if !strings.HasPrefix(k, "topology.kubernetes.io/") { // copied from the node at binding
			own[k] = v
		}
	}
	b, _ := json.Marshal([]any{p.Namespace, own, p.Spec.TopologySpreadConstraints, p.Spec.NodeSelector, na, p.Spec.Tolerations})
	return string(b)
}
