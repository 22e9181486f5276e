package explain

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/interpodaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeports"
	"github.com/berth-scheduler/berth/scheduler/plugins/podtopologyspread"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// This file holds the hints about other pods: the host ports they hold, their presence under
// inter-pod anti-affinity, the skew of topology spread, affinity terms nobody matches.

// portHints finds the nodes NodePorts rejects that would pass every filter once the pods holding
// the ports the pod asks for were gone from them.
func portHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	want := snapshot.PodHostPorts(pi.Pod)
	groups := groupBy(rejected(tr, nodeports.Name), func(n *snapshot.NodeInfo) (string, int, bool) {
		var taken []string
		for _, hp := range want {
			if n.UsedPorts.Conflicts(hp) {
				taken = append(taken, portString(hp))
			}
		}
		return strings.Join(taken, " and "), len(taken), len(taken) > 0
	})
	var p *decide.Prepared
	return verified(groups, func(g *nodeGroup) []string {
		if p == nil {
			p = d.DryPrepare(pi, snap)
		}
		var fit []string
		for _, n := range g.nodes {
			holders := portHolders(n, want)
			if p.Check(without(n, holders), holders).Fits() {
				fit = append(fit, n.Name())
			}
		}
		return fit
	}, func(g *nodeGroup, fit []string) string {
		what := "port " + g.key + " were"
		if strings.Contains(g.key, " and ") {
			what = "ports " + g.key + " were"
		}
		return fmt.Sprintf("%s would fit if %s free (%s)", nodeCount(len(fit)), what, sample(fit))
	})
}

// portString words a host port: "8080" for TCP on any address, else with protocol and address.
func portString(hp snapshot.HostPort) string {
	s := fmt.Sprint(hp.Port)
	if hp.Protocol != v1.ProtocolTCP {
		s += "/" + string(hp.Protocol)
	}
	if hp.IP != "0.0.0.0" {
		s += " on " + hp.IP
	}
	return s
}

// portHolders returns the pods on n that bind a host port clashing with one of want.
func portHolders(n *snapshot.NodeInfo, want []snapshot.HostPort) []*snapshot.PodInfo {
	var out []*snapshot.PodInfo
	for _, p := range n.Pods {
		if holds(snapshot.PodHostPorts(p.Pod), want) {
			out = append(out, p)
		}
	}
	return out
}

// holds reports whether one of used clashes with one of want, by NodePorts' rule: same protocol
// and port, on the same address or with either on the wildcard address.
func holds(used, want []snapshot.HostPort) bool {
	for _, u := range used {
		for _, w := range want {
			if u.Port == w.Port && u.Protocol == w.Protocol && (u.IP == w.IP || u.IP == "0.0.0.0" || w.IP == "0.0.0.0") {
				return true
			}
		}
	}
	return false
}

// without returns a copy of n without the pods gone.
func without(n *snapshot.NodeInfo, gone []*snapshot.PodInfo) *snapshot.NodeInfo {
	c := n.Clone()
	for _, p := range gone {
		c.RemovePod(p)
	}
	return c
}

// blocker is a pod whose presence keeps the pod off the nodes of one topology domain, and why.
type blocker struct {
	pod  *snapshot.PodInfo
	node string // where it runs
	why  string
}

// podPresenceHints finds the nodes InterPodAffinity rejects for anti-affinity (the pod's, or a
// running pod's) that would pass every filter if the pods in the way were not there; fewer pods
// first. Each is checked on a copy of the snapshot without those pods.
func podPresenceHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	nodes := rejected(tr, interpodaffinity.Name, interpodaffinity.ReasonAntiAffinityRulesNotMatch, interpodaffinity.ReasonExistingAntiAffinityRulesNotMatch)
	if len(nodes) == 0 {
		return nil
	}
	doms := antiAffinityDomains(pi, snap)
	inWay := map[string][]blocker{}
	groups := groupBy(nodes, func(n *snapshot.NodeInfo) (string, int, bool) {
		var bs []blocker
		seen := map[*snapshot.PodInfo]bool{}
		for key, byValue := range doms {
			v, ok := n.Node.Labels[key]
			if !ok {
				continue
			}
			for _, b := range byValue[v] {
				if !seen[b.pod] {
					seen[b.pod] = true
					bs = append(bs, b)
				}
			}
		}
		sort.Slice(bs, func(i, j int) bool { return podName(bs[i].pod) < podName(bs[j].pod) })
		names := make([]string, len(bs))
		for i, b := range bs {
			names[i] = podName(b.pod)
		}
		k := strings.Join(names, ", ")
		inWay[k] = bs
		return k, len(bs), len(bs) > 0
	})
	return verified(groups, func(g *nodeGroup) []string {
		rest := snapshotWithout(snap, inWay[g.key])
		p := d.DryPrepare(pi, rest)
		var fit []string
		for _, n := range g.nodes {
			if p.Check(rest.Get(n.Name()), nil).Fits() {
				fit = append(fit, n.Name())
			}
		}
		return fit
	}, func(g *nodeGroup, fit []string) string {
		return fmt.Sprintf("%s would fit if %s were not there (%s)", nodeCount(len(fit)), blockersPhrase(inWay[g.key]), sample(fit))
	})
}

// antiAffinityDomains indexes the pods that anti-affinity keeps the pod away from, by topology
// key and value: those its required anti-affinity terms match, and those whose own required
// anti-affinity terms match it.
func antiAffinityDomains(pi *snapshot.PodInfo, snap *snapshot.Snapshot) map[string]map[string][]blocker {
	doms := map[string]map[string][]blocker{}
	add := func(key string, n *snapshot.NodeInfo, b blocker) {
		v, ok := n.Node.Labels[key]
		if !ok {
			return
		}
		if doms[key] == nil {
			doms[key] = map[string][]blocker{}
		}
		doms[key][v] = append(doms[key][v], b)
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		for _, n := range snap.Nodes {
			for _, other := range n.Pods {
				for i := range pi.RequiredAntiAffinity {
					t := &pi.RequiredAntiAffinity[i]
					if t.Matches(other.Pod, snap.Namespace(other.Pod.Namespace)) {
						add(t.TopologyKey, n, blocker{other, n.Name(), "matching the anti-affinity term " + termString(t)})
					}
				}
			}
		}
	}
	for _, n := range snap.WithRequiredAntiAffinity {
		for _, other := range n.PodsWithRequiredAntiAffinity {
			for i := range other.RequiredAntiAffinity {
				t := &other.RequiredAntiAffinity[i]
				if t.Matches(pi.Pod, snap.Namespace(pi.Pod.Namespace)) {
					add(t.TopologyKey, n, blocker{other, n.Name(), "whose anti-affinity term " + termString(t) + " matches this pod"})
				}
			}
		}
	}
	return doms
}

// snapshotWithout returns a copy of snap without the blockers' pods: the nodes they run on are
// cloned, every other node and everything else is shared. snap is not changed.
func snapshotWithout(snap *snapshot.Snapshot, bs []blocker) *snapshot.Snapshot {
	gone := map[string][]*snapshot.PodInfo{}
	for _, b := range bs {
		gone[b.node] = append(gone[b.node], b.pod)
	}
	nodes := append([]*snapshot.NodeInfo(nil), snap.Nodes...)
	for name, pods := range gone {
		if i, ok := snap.Position(name); ok {
			nodes[i] = without(nodes[i], pods)
		}
	}
	c := snapshot.NewAt(nodes, snap.Positions(), snap.NamespaceLabels)
	c.Storage, c.Devices, c.Time = snap.Storage, snap.Devices, snap.Time
	if snap.Nominated != nil {
		c.SetNominated(snap.Nominated)
	}
	return c
}

// blockersPhrase words the pods in the way: "pod ns/a (matching ...)" or "pods ns/a, ns/b
// (matching ...)", grouped by why, at most three names per reason.
func blockersPhrase(bs []blocker) string {
	var whys []string
	byWhy := map[string][]string{}
	for _, b := range bs {
		if byWhy[b.why] == nil {
			whys = append(whys, b.why)
		}
		byWhy[b.why] = append(byWhy[b.why], podName(b.pod))
	}
	parts := make([]string, len(whys))
	for i, w := range whys {
		names := byWhy[w]
		noun := "pods "
		if len(names) == 1 {
			noun = "pod "
		}
		parts[i] = noun + sample(names) + " (" + w + ")"
	}
	return strings.Join(parts, " and ")
}

func podName(p *snapshot.PodInfo) string { return p.Pod.Namespace + "/" + p.Pod.Name }

// termString words an affinity term: its label selector and its topology ("app=web in a
// zone").
func termString(t *snapshot.AffinityTerm) string {
	return t.Selector.String() + " " + topologyPhrase(t.TopologyKey)
}

// topologyPhrase words a topology key: "on a node", "in a zone", or "per label KEY".
func topologyPhrase(key string) string {
	switch key {
	case v1.LabelHostname:
		return "on a node"
	case v1.LabelTopologyZone:
		return "in a zone"
	case v1.LabelTopologyRegion:
		return "in a region"
	}
	return "per " + key
}

// spreadHints finds, per DoNotSchedule topology spread constraint of the pod, the nodes
// PodTopologySpread rejects for skew that would pass every filter were that constraint
// ScheduleAnyway, with the domain counts that make the skew on the first of them.
func spreadHints(d Decider, pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	nodes := rejected(tr, podtopologyspread.Name, podtopologyspread.ErrReasonConstraintsNotMatch)
	if len(nodes) == 0 {
		return nil
	}
	var out []string
	for i, c := range pi.Pod.Spec.TopologySpreadConstraints {
		if len(out) == maxHintsPerKind {
			break
		}
		if c.WhenUnsatisfiable != v1.DoNotSchedule {
			continue
		}
		fit := fitting(d.DryPrepare(snapshot.NewPodInfo(ScheduleAnyway(pi.Pod, i)), snap), nodes, nil)
		if len(fit) == 0 {
			continue
		}
		what := fmt.Sprintf("the topology spread constraint on %s (maxSkew %d) were ScheduleAnyway", c.TopologyKey, c.MaxSkew)
		where := sample(fit)
		if nt := tr.Node(fit[0]); nt != nil && nt.Detail != "" {
			where += "; on " + fit[0] + " " + nt.Detail // the skew the constraint counts
		}
		out = append(out, fmt.Sprintf("%s would fit if %s (%s)", nodeCount(len(fit)), what, where))
	}
	return out
}

// ScheduleAnyway returns a copy of pod whose i-th topology spread constraint is ScheduleAnyway:
// the change a spread hint suggests.
func ScheduleAnyway(pod *v1.Pod, i int) *v1.Pod {
	c := pod.DeepCopy()
	c.Spec.TopologySpreadConstraints[i].WhenUnsatisfiable = v1.ScheduleAnyway
	return c
}

// affinityTermHints names the pod's required affinity terms that no pod in the cluster matches,
// when InterPodAffinity rejected a node for affinity: no single change of a node helps then.
func affinityTermHints(pi *snapshot.PodInfo, snap *snapshot.Snapshot, tr *decide.Trace) []string {
	if len(pi.RequiredAffinity) == 0 || len(rejected(tr, interpodaffinity.Name, interpodaffinity.ReasonAffinityRulesNotMatch)) == 0 {
		return nil
	}
	var out []string
	for i := range pi.RequiredAffinity {
		t := &pi.RequiredAffinity[i]
		if !anyPodMatches(t, snap) {
			out = append(out, fmt.Sprintf("no pod matching the affinity term %s runs %s", t.Selector.String(), anyTopology(t.TopologyKey)))
		}
	}
	return out
}

func anyPodMatches(t *snapshot.AffinityTerm, snap *snapshot.Snapshot) bool {
	for _, n := range snap.Nodes {
		if _, ok := n.Node.Labels[t.TopologyKey]; !ok {
			continue
		}
		for _, p := range n.Pods {
			if t.Matches(p.Pod, snap.Namespace(p.Pod.Namespace)) {
				return true
			}
		}
	}
	return false
}

// anyTopology words "in any domain" of a topology key: "on any node", "in any zone".
func anyTopology(key string) string {
	return strings.Replace(strings.Replace(topologyPhrase(key), " a ", " any ", 1), "per ", "in any domain of ", 1)
}
