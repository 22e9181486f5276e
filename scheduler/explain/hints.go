package explain

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Hints of one kind offered at most.
const maxHintsPerKind = 3

// hints returns the cheapest changes that would let pod fit, in this order: nodes that lack
// only some resources (the smallest shortfall first), nodes that only untolerated taints keep
// out, cordoned nodes, nodes that lack only labels the pod requires, nodes where only host ports
// are taken, nodes that only other pods' presence keeps out (inter-pod anti-affinity), nodes that
// only a topology spread constraint's skew keeps out, and finally facts no change of one node
// helps with: node labels the pod requires that no node has, affinity terms no pod matches.
//
// Every hint that proposes a change is checked with the decision's own filters: the change is
// made to a copy (of the node, of the pod, or of the snapshot without some pods) and the pod
// must pass every filter there. Build calls hints only for a pod that fits nowhere, so none of
// this costs anything when the pod fits.
func hints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	var out []string
	out = append(out, resourceHints(d, pi, snap, tr)...)
	out = append(out, taintHints(d, pi, snap, tr)...)
	out = append(out, cordonHints(d, pi, snap, tr)...)
	out = append(out, nodeLabelHints(d, pi, snap, tr)...)
	out = append(out, portHints(d, pi, snap, tr)...)
	out = append(out, podPresenceHints(d, pi, snap, tr)...)
	out = append(out, spreadHints(d, pi, snap, tr)...)
	out = append(out, labelHints(pi.Pod, snap)...)
	out = append(out, affinityTermHints(pi, snap, tr)...)
	return out
}

// resourceHints finds the nodes NodeResourcesFit alone rejects: given the missing amounts they
// pass every filter. Nodes lacking the same amounts form one hint.
func resourceHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	type group struct {
		what  string
		nodes []string
		cost  float64 // missing as a fraction of the request, summed over the resources
	}
	var p *decide.Prepared
	groups := map[string]*group{}
	for i := range tr.Nodes {
		nt := &tr.Nodes[i]
		if nt.RejectedBy != noderesources.FitName || len(nt.Shortfalls) == 0 {
			continue
		}
		if p == nil {
			p = d.DryPrepare(pi, snap)
		}
		if !p.Check(withMore(nt.Node, nt.Shortfalls), nil).Fits() {
			continue
		}
		var parts []string
		cost := 0.0
		for _, s := range nt.Shortfalls {
			parts = append(parts, quantity(s.Resource, s.Missing())+" "+string(s.Resource))
			cost += float64(s.Missing()) / float64(s.Requested)
		}
		what := strings.Join(parts, " and ")
		g := groups[what]
		if g == nil {
			g = &group{what: what, cost: cost}
			groups[what] = g
		}
		g.nodes = append(g.nodes, nt.Node.Name())
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].cost != list[j].cost {
			return list[i].cost < list[j].cost
		}
		return list[i].what < list[j].what
	})
	var out []string
	for _, g := range list[:min(len(list), maxHintsPerKind)] {
		verb := "lack"
		if len(g.nodes) == 1 {
			verb = "lacks"
		}
		out = append(out, fmt.Sprintf("%s %s only %s (%s)", nodeCount(len(g.nodes)), verb, g.what, sample(g.nodes)))
	}
	return out
}

// withMore returns a copy of n with the missing amounts added to its allocatable.
func withMore(n *snapshot.NodeInfo, missing []decide.Shortfall) *snapshot.NodeInfo {
	c := n.Clone()
	for _, s := range missing {
		add := s.Missing()
		switch s.Resource {
		case v1.ResourcePods:
			c.Allocatable.AllowedPodNumber += add
		case v1.ResourceCPU:
			c.Allocatable.MilliCPU += add
		case v1.ResourceMemory:
			c.Allocatable.Memory += add
		case v1.ResourceEphemeralStorage:
			c.Allocatable.EphemeralStorage += add
		default:
			if c.Allocatable.Scalar == nil {
				c.Allocatable.Scalar = map[v1.ResourceName]int64{}
			}
			c.Allocatable.Scalar[s.Resource] += add
		}
	}
	return c
}

// labelHints names the node labels the pod requires (spec.nodeSelector, and the In
// expressions of a single required node affinity term) that no node has.
func labelHints(pod *v1.Pod, snap *snapshot.Snapshot) []string {
	type want struct {
		key    string
		values []string
	}
	var wants []want
	keys := make([]string, 0, len(pod.Spec.NodeSelector))
	for k := range pod.Spec.NodeSelector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		wants = append(wants, want{k, []string{pod.Spec.NodeSelector[k]}})
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		if req := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; req != nil && len(req.NodeSelectorTerms) == 1 {
			for _, e := range req.NodeSelectorTerms[0].MatchExpressions {
				if e.Operator == v1.NodeSelectorOpIn {
					wants = append(wants, want{e.Key, e.Values})
				}
			}
		}
	}
	var out []string
	for _, w := range wants {
		if !anyNodeHas(snap, w.key, w.values) {
			out = append(out, "no node has "+labelPhrase(w.key, w.values))
		}
	}
	return out
}

func anyNodeHas(snap *snapshot.Snapshot, key string, values []string) bool {
	for _, n := range snap.Nodes {
		if v, ok := n.Node.Labels[key]; ok {
			for _, want := range values {
				if v == want {
					return true
				}
			}
		}
	}
	return false
}

// labelPhrase words a label requirement: "zone eu-1c" for the well-known topology labels,
// "label disk=ssd" otherwise; several values as "in [a b]".
func labelPhrase(key string, values []string) string {
	name := "label " + key
	switch key {
	case v1.LabelTopologyZone:
		name = "zone"
	case v1.LabelTopologyRegion:
		name = "region"
	case v1.LabelHostname:
		name = "hostname"
	case v1.LabelInstanceTypeStable:
		name = "instance type"
	}
	sep := " "
	if strings.HasPrefix(name, "label ") {
		sep = "="
	}
	if len(values) == 1 {
		return name + sep + values[0]
	}
	return name + " in [" + strings.Join(values, " ") + "]"
}

func nodeCount(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

// sample names up to three nodes.
func sample(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:3], ", ") + fmt.Sprintf(", and %d more", len(names)-3)
}
