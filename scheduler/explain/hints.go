package explain

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Hints of one kind offered at most.
const maxHintsPerKind = 3

// hints returns the cheapest changes that would let pod fit, in this order: nodes that lack
// only some resources (the smallest shortfall first), nodes that only an untolerated taint keeps
// out, and node labels the pod requires that no node has. Each resource and taint hint is
// checked with the decision's own filters: the node changed as the hint says (more of the
// resource, or the pod tolerating the taint) must pass every filter.
func hints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	var out []string
	out = append(out, resourceHints(d, pi, snap, tr)...)
	out = append(out, taintHints(d, pi, snap, tr)...)
	out = append(out, labelHints(pi.Pod, snap)...)
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

// taintHints finds, per taint, the nodes TaintToleration rejects that would pass every filter
// if the pod tolerated that taint.
func taintHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	byTaint := map[string][]*snapshot.NodeInfo{}
	taints := map[string]v1.Taint{}
	for i := range tr.Nodes {
		nt := &tr.Nodes[i]
		if nt.RejectedBy != tainttoleration.Name {
			continue
		}
		t, ok := tainttoleration.FindUntoleratedTaint(nt.Node.Taints, pi.Pod.Spec.Tolerations)
		if !ok {
			continue
		}
		k := taintString(t)
		byTaint[k] = append(byTaint[k], nt.Node)
		taints[k] = t
	}
	keys := make([]string, 0, len(byTaint))
	for k := range byTaint {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(byTaint[keys[i]]) != len(byTaint[keys[j]]) {
			return len(byTaint[keys[i]]) > len(byTaint[keys[j]])
		}
		return keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys[:min(len(keys), maxHintsPerKind)] {
		p := d.DryPrepare(snapshot.NewPodInfo(Tolerating(pi.Pod, taints[k])), snap)
		var fit []string
		for _, n := range byTaint[k] {
			if p.Check(n, nil).Fits() {
				fit = append(fit, n.Name())
			}
		}
		if len(fit) > 0 {
			out = append(out, fmt.Sprintf("%s would fit if the taint %s were tolerated (%s)", nodeCount(len(fit)), k, sample(fit)))
		}
	}
	return out
}

// Tolerating returns a copy of pod that also tolerates t: the change a taint hint suggests.
func Tolerating(pod *v1.Pod, t v1.Taint) *v1.Pod {
	c := pod.DeepCopy()
	tol := v1.Toleration{Key: t.Key, Operator: v1.TolerationOpEqual, Value: t.Value, Effect: t.Effect}
	if t.Value == "" {
		tol.Operator = v1.TolerationOpExists
	}
	c.Spec.Tolerations = append(c.Spec.Tolerations, tol)
	return c
}

func taintString(t v1.Taint) string {
	if t.Value == "" {
		return t.Key + ":" + string(t.Effect)
	}
	return t.Key + "=" + t.Value + ":" + string(t.Effect)
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
