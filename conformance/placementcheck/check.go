package placementcheck

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// World is a cluster at the end of a phase, as Check sees it. Check only reads it.
type World struct {
	// Nodes are the cluster's nodes by name.
	Nodes map[string]*v1.Node
	// NamespaceLabels are the namespaces' labels by name (for namespaceSelector); a namespace
	// missing here has no labels.
	NamespaceLabels map[string]map[string]string
	// Existing are the pods bound before the phase began, terminating ones included; pods bound
	// to a node missing from Nodes are left out.
	Existing []*v1.Pod
	// Incoming are the phase's pods as they ended: bound (spec.nodeName set) or pending.
	Incoming []*v1.Pod
	// Storage, when not nil, is the cluster's storage at the end of the phase: the incoming
	// pods' volumes are then judged too. Nil leaves volumes unjudged.
	Storage *Storage
	// Devices, when not nil, is the cluster's dynamic resources at the end of the phase: the
	// incoming pods' ResourceClaims are then judged too. Nil leaves them unjudged.
	Devices *Devices
}

// Violation is one broken hard constraint.
type Violation struct {
	// Pod is the incoming pod's namespace/name, Node the node it is bound to.
	Pod, Node string
	// Rule names the constraint, by the kube-scheduler plugin that enforces it
	// ("TaintToleration", "InterPodAffinity", ...; "NodeName" for a node not in the World).
	Rule string
	// Detail says how the placement breaks it.
	Detail string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s on %s breaks %s: %s", v.Pod, v.Node, v.Rule, v.Detail)
}

// placed is a bound pod with its node.
type placed struct {
	pod      *v1.Pod
	node     *v1.Node
	incoming bool
}

// Check returns every hard constraint the bound incoming pods of w break, nil when none.
func Check(w *World) []Violation {
	var all []placed
	for _, p := range w.Existing {
		if n := w.Nodes[p.Spec.NodeName]; n != nil {
			all = append(all, placed{pod: p, node: n})
		}
	}
	var out []Violation
	for _, p := range w.Incoming {
		if p.Spec.NodeName == "" {
			continue
		}
		n := w.Nodes[p.Spec.NodeName]
		if n == nil {
			out = append(out, Violation{podName(p), p.Spec.NodeName, "NodeName", "bound to a node that is not in the world"})
			continue
		}
		all = append(all, placed{pod: p, node: n, incoming: true})
	}
	for i, pl := range all {
		if !pl.incoming {
			continue
		}
		for _, msg := range nodeLocal(pl.pod, pl.node) {
			out = append(out, Violation{podName(pl.pod), pl.node.Name, msg[0], msg[1]})
		}
		for j, other := range all {
			if other.node.Name != pl.node.Name || (other.incoming && j <= i) {
				continue
			}
			if a, b, ok := portConflict(pl.pod, other.pod); ok {
				out = append(out, Violation{podName(pl.pod), pl.node.Name, "NodePorts",
					fmt.Sprintf("host port %s conflicts with %s of %s", portString(a), portString(b), podName(other.pod))})
			}
		}
	}
	out = append(out, checkResources(w, all)...)
	out = append(out, checkInterPod(w, all)...)
	out = append(out, checkSpread(w, all)...)
	out = append(out, checkVolumes(w, all)...)
	out = append(out, checkDevices(w, all)...)
	out = append(out, checkExtended(w, all)...)
	return out
}

// nodeLocal checks what depends on the node alone: cordon, taints, node selector and affinity.
// It returns (rule, detail) pairs.
func nodeLocal(p *v1.Pod, n *v1.Node) [][2]string {
	var out [][2]string
	cordon := v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}
	if n.Spec.Unschedulable && !tolerated(p.Spec.Tolerations, cordon) {
		out = append(out, [2]string{"NodeUnschedulable", "node is cordoned and the pod does not tolerate it"})
	}
	for _, t := range n.Spec.Taints {
		if (t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute) && !tolerated(p.Spec.Tolerations, t) {
			out = append(out, [2]string{"TaintToleration", fmt.Sprintf("untolerated taint %s=%s:%s", t.Key, t.Value, t.Effect)})
		}
	}
	if !nodeAffinityMatches(p, n) {
		out = append(out, [2]string{"NodeAffinity", "node does not match the pod's nodeSelector or required node affinity"})
	}
	return out
}

// tolerated reports whether some toleration tolerates taint t: same effect (or any when empty),
// same key (or any when empty with Exists), and same value unless the operator is Exists.
func tolerated(tols []v1.Toleration, t v1.Taint) bool {
	for _, tol := range tols {
		if tol.Effect != "" && tol.Effect != t.Effect {
			continue
		}
		if tol.Key != "" && tol.Key != t.Key {
			continue
		}
		switch tol.Operator {
		case v1.TolerationOpExists:
			return true
		case v1.TolerationOpEqual, "":
			if tol.Key != "" && tol.Value == t.Value {
				return true
			}
		}
	}
	return false
}

// nodeAffinityMatches reports whether n satisfies p's nodeSelector and required node affinity
// (any term, all requirements of a term; a term without requirements matches nothing).
func nodeAffinityMatches(p *v1.Pod, n *v1.Node) bool {
	for k, v := range p.Spec.NodeSelector {
		if got, ok := n.Labels[k]; !ok || got != v {
			return false
		}
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatchesNode(term, n) {
			return true
		}
	}
	return false
}

func termMatchesNode(term v1.NodeSelectorTerm, n *v1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, r := range term.MatchExpressions {
		v, ok := n.Labels[r.Key]
		if !requirementHolds(r, v, ok) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != metav1.ObjectNameField || !requirementHolds(r, n.Name, true) {
			return false
		}
	}
	return true
}

// requirementHolds evaluates one node selector requirement against a value (present or not).
func requirementHolds(r v1.NodeSelectorRequirement, v string, present bool) bool {
	switch r.Operator {
	case v1.NodeSelectorOpIn:
		return present && slices.Contains(r.Values, v)
	case v1.NodeSelectorOpNotIn:
		return !present || !slices.Contains(r.Values, v)
	case v1.NodeSelectorOpExists:
		return present
	case v1.NodeSelectorOpDoesNotExist:
		return !present
	case v1.NodeSelectorOpGt, v1.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == v1.NodeSelectorOpGt {
			return have > want
		}
		return have < want
	}
	return false
}

// portConflict returns the first pair of host ports of a and b that cannot share a node.
func portConflict(a, b *v1.Pod) (v1.ContainerPort, v1.ContainerPort, bool) {
	for _, pa := range HostPorts(a) {
		for _, pb := range HostPorts(b) {
			if portsConflict(pa, pb) {
				return pa, pb, true
			}
		}
	}
	return v1.ContainerPort{}, v1.ContainerPort{}, false
}

func portString(p v1.ContainerPort) string {
	ip := p.HostIP
	if ip == "" {
		ip = "*"
	}
	return fmt.Sprintf("%s:%d/%s", ip, p.HostPort, p.Protocol)
}

// checkResources sums every pod's requests per node. A resource an incoming pod on the node asks
// for must not be over-committed (each placement checked the room left; pods that ask for none
// of a resource never look at it), and the pod count must stay within allocatable pods. Sums
// saturate (see Amounts), and a saturated allocatable is never exceeded. An extended resource a
// DeviceClass provides and the node does not advertise is served by devices instead (see
// checkExtended), not counted here.
func checkResources(w *World, all []placed) []Violation {
	type usage struct {
		node     *v1.Node
		sum      Amounts
		pods     int64
		asked    map[v1.ResourceName]string // resource -> an incoming pod asking for it
		incoming string
	}
	byNode := map[string]*usage{}
	var order []string
	for _, pl := range all {
		u := byNode[pl.node.Name]
		if u == nil {
			u = &usage{node: pl.node, sum: Amounts{}, asked: map[v1.ResourceName]string{}}
			byNode[pl.node.Name] = u
			order = append(order, pl.node.Name)
		}
		req := PodRequests(pl.pod)
		u.sum.Add(req)
		u.pods++
		if pl.incoming {
			u.incoming = podName(pl.pod)
			for r, v := range req {
				if v > 0 {
					u.asked[r] = podName(pl.pod)
				}
			}
		}
	}
	var out []Violation
	for _, name := range order {
		u := byNode[name]
		alloc := ToAmounts(u.node.Status.Allocatable)
		var names []string
		for r := range u.asked {
			names = append(names, string(r))
		}
		sort.Strings(names)
		for _, r := range names {
			rn := v1.ResourceName(r)
			if u.sum[rn] > alloc[rn] && !w.Devices.servedByDevices(rn, u.node) {
				out = append(out, Violation{u.asked[rn], name, "NodeResourcesFit",
					fmt.Sprintf("%s requested %d of %d allocatable", r, u.sum[rn], alloc[rn])})
			}
		}
		if u.incoming != "" && u.pods > alloc[v1.ResourcePods] {
			out = append(out, Violation{u.incoming, name, "NodeResourcesFit",
				fmt.Sprintf("%d pods on a node allowing %d", u.pods, alloc[v1.ResourcePods])})
		}
	}
	return out
}

// labelSelector converts an API selector: nil selects nothing, an empty one everything. keys
// adds "key in (value)" for each of owner's labels named by matchLabelKeys, mismatch adds
// "key notin (value)" for mismatchLabelKeys; keys the owner lacks are ignored.
func labelSelector(s *metav1.LabelSelector, owner map[string]string, match, mismatch []string) labels.Selector {
	if s == nil {
		return labels.Nothing()
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return labels.Nothing()
	}
	add := func(keys []string, op selection.Operator) {
		for _, k := range keys {
			v, ok := owner[k]
			if !ok {
				continue
			}
			if r, err := labels.NewRequirement(k, op, []string{v}); err == nil {
				sel = sel.Add(*r)
			}
		}
	}
	add(match, selection.In)
	add(mismatch, selection.NotIn)
	return sel
}

func podName(p *v1.Pod) string { return p.Namespace + "/" + p.Name }
