package explain

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeunschedulable"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// This file holds the hints that change a node (or what the pod asks of nodes): taints,
// cordons, labels. hints_pods.go holds those about other pods.

// maxTries is how many groups of nodes one kind of hint checks at most: a check may prepare the
// pod's filters again (on a changed pod or snapshot), so a pod rejected in many different ways
// must not cost one such check per node.
const maxTries = 2 * maxHintsPerKind

// nodeGroup is the rejected nodes that one change would help: key names the change, cost orders
// the groups (cheaper first; ties: more nodes first, then by key).
type nodeGroup struct {
	key   string
	cost  int
	nodes []*snapshot.NodeInfo
}

// rejected returns the nodes plugin rejected, for one of reasons when any are given.
func rejected(tr *decide.Trace, plugin string, reasons ...string) []*snapshot.NodeInfo {
	var out []*snapshot.NodeInfo
	for i := range tr.Nodes {
		nt := &tr.Nodes[i]
		if nt.RejectedBy != plugin {
			continue
		}
		if len(reasons) == 0 || slices.ContainsFunc(nt.Verdict.Reasons, func(r string) bool { return slices.Contains(reasons, r) }) {
			out = append(out, nt.Node)
		}
	}
	return out
}

// groupBy groups nodes by the change that would help each: change returns its key and cost, or
// false when no change is known. Cheapest first.
func groupBy(nodes []*snapshot.NodeInfo, change func(n *snapshot.NodeInfo) (key string, cost int, ok bool)) []*nodeGroup {
	byKey := map[string]*nodeGroup{}
	for _, n := range nodes {
		k, cost, ok := change(n)
		if !ok {
			continue
		}
		g := byKey[k]
		if g == nil {
			g = &nodeGroup{key: k, cost: cost}
			byKey[k] = g
		}
		g.nodes = append(g.nodes, n)
	}
	list := make([]*nodeGroup, 0, len(byKey))
	for _, g := range byKey {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.cost != b.cost {
			return a.cost < b.cost
		}
		if len(a.nodes) != len(b.nodes) {
			return len(a.nodes) > len(b.nodes)
		}
		return a.key < b.key
	})
	return list
}

// verified returns the hints of the first groups whose change check finds true, cheapest first:
// at most maxHintsPerKind hints, from at most maxTries groups. check returns the names of the
// group's nodes the pod fits once changed, and word the hint for them.
func verified(groups []*nodeGroup, check func(g *nodeGroup) []string, word func(g *nodeGroup, fit []string) string) []string {
	var out []string
	for _, g := range groups[:min(len(groups), maxTries)] {
		if fit := check(g); len(fit) > 0 {
			out = append(out, word(g, fit))
		}
		if len(out) == maxHintsPerKind {
			break
		}
	}
	return out
}

// fitting returns the names of the nodes on which p passes every filter once change (nil: no
// change) has made its copy of each; change must not modify the node it is given.
func fitting(p *decide.Prepared, nodes []*snapshot.NodeInfo, change func(*snapshot.NodeInfo) *snapshot.NodeInfo) []string {
	var fit []string
	for _, n := range nodes {
		c := n
		if change != nil {
			c = change(n)
		}
		if p.Check(c, nil).Fits() {
			fit = append(fit, n.Name())
		}
	}
	return fit
}

// wouldFit words a verified hint: "2 nodes would fit if they <plural>" or "1 node would fit if
// it <singular>", with the nodes named.
func wouldFit(fit []string, singular, plural string) string {
	if len(fit) == 1 {
		return fmt.Sprintf("1 node would fit if it %s (%s)", singular, fit[0])
	}
	return fmt.Sprintf("%d nodes would fit if they %s (%s)", len(fit), plural, sample(fit))
}

// taintHints finds, per set of untolerated taints, the nodes TaintToleration rejects that would
// pass every filter if the pod tolerated those taints; fewer taints first.
func taintHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	taints := map[string][]v1.Taint{}
	groups := groupBy(rejected(tr, tainttoleration.Name), func(n *snapshot.NodeInfo) (string, int, bool) {
		ts := untolerated(n.Taints, pi.Pod.Spec.Tolerations)
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = taintString(t)
		}
		k := strings.Join(names, " and ")
		taints[k] = ts
		return k, len(ts), len(ts) > 0
	})
	return verified(groups, func(g *nodeGroup) []string {
		return fitting(d.DryPrepare(snapshot.NewPodInfo(Tolerating(pi.Pod, taints[g.key]...)), snap), g.nodes, nil)
	}, func(g *nodeGroup, fit []string) string {
		what := "the taint " + g.key + " were"
		if len(taints[g.key]) > 1 {
			what = "the taints " + g.key + " were all"
		}
		return fmt.Sprintf("%s would fit if %s tolerated (%s)", nodeCount(len(fit)), what, sample(fit))
	})
}

// untolerated returns the node's NoSchedule and NoExecute taints that tolerations do not
// tolerate, in the node's order, without repeats.
func untolerated(taints []v1.Taint, tolerations []v1.Toleration) []v1.Taint {
	var out []v1.Taint
	for _, t := range taints {
		if t.Effect != v1.TaintEffectNoSchedule && t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		if !tainttoleration.Tolerates(tolerations, &t) && !hasTaint(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func hasTaint(ts []v1.Taint, t v1.Taint) bool {
	for _, x := range ts {
		if x.Key == t.Key && x.Value == t.Value && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

// Tolerating returns a copy of pod that also tolerates each of taints: the change a taint hint
// suggests. A NoExecute toleration is given no tolerationSeconds: the pod may stay.
func Tolerating(pod *v1.Pod, taints ...v1.Taint) *v1.Pod {
	c := pod.DeepCopy()
	for _, t := range taints {
		tol := v1.Toleration{Key: t.Key, Operator: v1.TolerationOpEqual, Value: t.Value, Effect: t.Effect}
		if t.Value == "" {
			tol.Operator = v1.TolerationOpExists
		}
		c.Spec.Tolerations = append(c.Spec.Tolerations, tol)
	}
	return c
}

func taintString(t v1.Taint) string {
	if t.Value == "" {
		return t.Key + ":" + string(t.Effect)
	}
	return t.Key + "=" + t.Value + ":" + string(t.Effect)
}

// cordonHints finds the cordoned nodes that would pass every filter once uncordoned.
func cordonHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	nodes := rejected(tr, nodeunschedulable.Name)
	if len(nodes) == 0 {
		return nil
	}
	fit := fitting(d.DryPrepare(pi, snap), nodes, uncordoned)
	if len(fit) == 0 {
		return nil
	}
	return []string{wouldFit(fit, "were uncordoned", "were uncordoned")}
}

// uncordoned returns a copy of n as `kubectl uncordon` leaves it: spec.unschedulable unset and
// without the node.kubernetes.io/unschedulable taint the node controller adds to cordoned nodes.
func uncordoned(n *snapshot.NodeInfo) *snapshot.NodeInfo {
	node := *n.Node
	node.Spec.Unschedulable = false
	node.Spec.Taints = nil
	for _, t := range n.Node.Spec.Taints {
		if t.Key != v1.TaintNodeUnschedulable {
			node.Spec.Taints = append(node.Spec.Taints, t)
		}
	}
	return withNode(n, &node)
}

// withNode returns a copy of n with node, a changed shallow copy of n's node object (what it
// shares with the original must be left as it is), as its node.
func withNode(n *snapshot.NodeInfo, node *v1.Node) *snapshot.NodeInfo {
	c := n.Clone()
	c.SetNode(node)
	return c
}

// nodeLabelHints finds the nodes NodeAffinity rejects that would pass every filter with a few
// labels more: those of the pod's nodeSelector they lack and, of its required node affinity, the
// term they are closest to matching with In expressions. Fewer labels first. When the labels
// all come from the nodeSelector and the pod without them fits the same nodes, the hint says
// so too.
func nodeLabelHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	wanted := map[string]map[string]string{}
	groups := groupBy(rejected(tr, nodeaffinity.Name, nodeaffinity.ErrReasonPod), func(n *snapshot.NodeInfo) (string, int, bool) {
		add, ok := missingLabels(pi.Pod, n.Node.Labels)
		if !ok || len(add) == 0 {
			return "", 0, false
		}
		k := labelList(add)
		wanted[k] = add
		return k, len(add), true
	})
	var p *decide.Prepared
	return verified(groups, func(g *nodeGroup) []string {
		if p == nil {
			p = d.DryPrepare(pi, snap)
		}
		add := wanted[g.key]
		return fitting(p, g.nodes, func(n *snapshot.NodeInfo) *snapshot.NodeInfo { return withLabels(n, add) })
	}, func(g *nodeGroup, fit []string) string {
		add := wanted[g.key]
		verb := "had " + g.key
		if fromSelector(pi.Pod, add) && slices.Equal(fitting(d.DryPrepare(snapshot.NewPodInfo(withoutSelector(pi.Pod, add)), snap), g.nodes, nil), fit) {
			verb += ", or if the pod's nodeSelector did not require " + itOrThem(len(add))
		}
		return wouldFit(fit, verb, verb)
	})
}

// missingLabels returns the labels a node with labels have lacks for the pod's nodeSelector and
// required node affinity; false when adding labels cannot make it match (every term needs a
// label removed, a value that In cannot give, or a field).
func missingLabels(pod *v1.Pod, have map[string]string) (map[string]string, bool) {
	add := map[string]string{}
	for k, v := range pod.Spec.NodeSelector {
		if have[k] != v {
			add[k] = v
		}
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return add, true
	}
	var best map[string]string
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		need, ok := termNeeds(term, have)
		if ok && (best == nil || len(need) < len(best)) {
			best = need
		}
	}
	if best == nil {
		return nil, false
	}
	for k, v := range best {
		if w, ok := add[k]; ok && w != v {
			return nil, false
		}
		add[k] = v
	}
	return add, true
}

// termNeeds returns the labels a node with labels have needs to match term; false when labels
// added cannot make it match.
func termNeeds(term v1.NodeSelectorTerm, have map[string]string) (map[string]string, bool) {
	if len(term.MatchFields) > 0 || len(term.MatchExpressions) == 0 {
		return nil, false
	}
	need := map[string]string{}
	for _, e := range term.MatchExpressions {
		v, ok := have[e.Key]
		switch {
		case e.Operator == v1.NodeSelectorOpIn && len(e.Values) > 0:
			if !ok || !slices.Contains(e.Values, v) {
				if w, dup := need[e.Key]; dup && !slices.Contains(e.Values, w) {
					return nil, false
				} else if !dup {
					need[e.Key] = e.Values[0]
				}
			}
		case e.Operator == v1.NodeSelectorOpExists && ok:
		case e.Operator == v1.NodeSelectorOpDoesNotExist && !ok:
		case e.Operator == v1.NodeSelectorOpNotIn && (!ok || !slices.Contains(e.Values, v)):
		default: // not met, and no label added would meet it
			return nil, false
		}
	}
	return need, true
}

// withLabels returns a copy of n whose node also has the labels add: the change a label hint
// suggests.
func withLabels(n *snapshot.NodeInfo, add map[string]string) *snapshot.NodeInfo {
	node := *n.Node
	node.Labels = make(map[string]string, len(n.Node.Labels)+len(add))
	maps.Copy(node.Labels, n.Node.Labels)
	maps.Copy(node.Labels, add)
	return withNode(n, &node)
}

// withoutSelector returns a copy of pod whose nodeSelector no longer requires the keys of drop.
func withoutSelector(pod *v1.Pod, drop map[string]string) *v1.Pod {
	c := pod.DeepCopy()
	for k := range drop {
		delete(c.Spec.NodeSelector, k)
	}
	return c
}

// fromSelector reports whether every label of add is one the pod's nodeSelector requires.
func fromSelector(pod *v1.Pod, add map[string]string) bool {
	for k, v := range add {
		if pod.Spec.NodeSelector[k] != v {
			return false
		}
	}
	return true
}

// labelList words labels as "zone eu-1c and label disk=ssd", sorted by key.
func labelList(add map[string]string) string {
	keys := make([]string, 0, len(add))
	for k := range add {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = labelPhrase(k, []string{add[k]})
	}
	return strings.Join(parts, " and ")
}

func itOrThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
