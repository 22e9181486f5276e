package podtopologyspread

import (
	"fmt"
	"maps"
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var (
	reasonsNotMatch     = []string{ErrReasonConstraintsNotMatch}
	reasonsMissingLabel = []string{ErrReasonNodeLabelNotMatch}
)

// PreFilter counts, for each of the pod's DoNotSchedule constraints, the matching pods in every
// domain (from the snapshot's topology index when it can answer, else node by node). It returns
// a nil NodeFilter when the pod has no such constraint, and rejects the pod (unresolvably) when a
// label selector of its constraints cannot be parsed.
//
// The returned filter also implements AddPod, RemovePod and Clone for preemption (see there).
func (pl *PodTopologySpread) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	p := pod.Pod
	cs, err := pl.constraints(p, v1.DoNotSchedule)
	if err == nil {
		// A bad soft constraint fails kube-scheduler's PreScore; refuse the pod here instead.
		_, err = parseConstraints(p.Spec.TopologySpreadConstraints, p.Labels, v1.ScheduleAnyway, "spec.topologySpreadConstraints")
	}
	if err != nil {
		return nil, snapshot.RejectUnresolvable("invalid topology spread constraint: " + err.Error())
	}
	if len(cs) == 0 {
		return nil, snapshot.Verdict{}
	}

	f := &spreadFilter{
		namespace:   p.Namespace,
		constraints: cs,
		inclusion:   newInclusion(p, cs),
		paths:       make([]criticalPaths, len(cs)),
	}
	podLabels := labels.Set(p.Labels)
	for i := range cs {
		if cs[i].selector.Matches(podLabels) {
			cs[i].self = 1
		}
	}
	domainsHint := func(i int) int {
		if cs[i].topologyKey == v1.LabelHostname {
			return len(snap.Nodes)
		}
		return 0
	}
	var indexed bool
	if f.counts, indexed = indexedCounts(snap, cs, &f.inclusion, p.Namespace); !indexed {
		f.counts = countDomains(snap.Nodes, len(cs), domainsHint, func() *matcher { return newMatcher(cs, p.Namespace) }, f.countNode)
	}
	for i := range cs {
		f.paths[i] = newCriticalPaths()
		for value, num := range f.counts[i] {
			f.paths[i].update(value, num)
		}
	}
	return f, snapshot.Verdict{}
}

// spreadFilter is the PodTopologySpread check prepared for one pod: per constraint, the matching
// pod count of every domain and the two least crowded domains.
//
// Filter only reads it and is safe for concurrent calls. AddPod and RemovePod change it and must
// not run concurrently with anything else on the same value: preemption works on a Clone.
type spreadFilter struct {
	namespace   string
	constraints []constraint
	inclusion   inclusion
	// counts[i] maps each domain (topology value) of constraint i to its matching pod count.
	// Every eligible node's domain is present, with a count of 0 when it has no matching pod.
	counts []map[string]int
	paths  []criticalPaths
}

// countNode adds the matching pods of n to the domains n belongs to, in into.
func (f *spreadFilter) countNode(n *snapshot.NodeInfo, into []map[string]int, m *matcher) {
	node := n.Node
	if node == nil || !hasTopologyKeys(node.Labels, f.constraints) {
		return
	}
	v := f.inclusion.judge(node)
	for i := range f.constraints {
		c := &f.constraints[i]
		if !v.counts(c) {
			continue
		}
		into[i][node.Labels[c.topologyKey]] += m.count(n.Pods, i)
	}
}

// Filter rejects a node that lacks a topology key (unresolvable) or whose domain would exceed a
// constraint's maxSkew with the pod placed there.
func (f *spreadFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	for i := range f.constraints {
		c := &f.constraints[i]
		value, ok := n.Label(c.topologyKey)
		if !ok {
			return snapshot.Verdict{Reasons: reasonsMissingLabel, Unresolvable: true}
		}
		if f.skew(i, value) > int(c.maxSkew) {
			return snapshot.Verdict{Reasons: reasonsNotMatch}
		}
	}
	return snapshot.Verdict{}
}

// Detail says, for a node Filter rejects, the skew that makes it fail: the first constraint it
// breaks, its domain's count with the pod and the least crowded domain's (for explain).
func (f *spreadFilter) Detail(n *snapshot.NodeInfo) string {
	for i := range f.constraints {
		c := &f.constraints[i]
		value, ok := n.Label(c.topologyKey)
		if !ok {
			return fmt.Sprintf("node has no label %s", c.topologyKey)
		}
		skew := f.skew(i, value)
		if skew <= int(c.maxSkew) {
			continue
		}
		than := fmt.Sprintf("%s=%s", c.topologyKey, f.paths[i][0].value)
		if len(f.counts[i]) < int(c.minDomains) {
			than = fmt.Sprintf("the minimum of 0 (%d of minDomains %d domains)", len(f.counts[i]), c.minDomains)
		}
		return fmt.Sprintf("%s=%s would hold %d matching pods, %d more than %s; maxSkew %d",
			c.topologyKey, value, f.counts[i][value]+c.self, skew, than, c.maxSkew)
	}
	return ""
}

// skew is constraint i's skew with the pod placed in domain value: that domain's matching pods,
// the pod included when it matches, less the global minimum.
func (f *spreadFilter) skew(i int, value string) int {
	return f.counts[i][value] + f.constraints[i].self - f.minCount(i)
}

// minCount is the global minimum of constraint i for the skew: the least crowded domain's count,
// or 0 while there are fewer domains than minDomains.
func (f *spreadFilter) minCount(i int) int {
	if len(f.counts[i]) < int(f.constraints[i].minDomains) {
		return 0
	}
	return f.paths[i][0].num
}

// AddPod updates the counts as if p were added to n. Like kube-scheduler, it counts p when it is
// in the pod's namespace and selected by a constraint, on a node with every topology key that the
// constraint's inclusion policies admit (terminating pods included).
func (f *spreadFilter) AddPod(p *snapshot.PodInfo, n *snapshot.NodeInfo) { f.update(p.Pod, n.Node, 1) }

// RemovePod updates the counts as if p were removed from n (see AddPod).
func (f *spreadFilter) RemovePod(p *snapshot.PodInfo, n *snapshot.NodeInfo) {
	f.update(p.Pod, n.Node, -1)
}

func (f *spreadFilter) update(p *v1.Pod, node *v1.Node, delta int) {
	if node == nil || p.Namespace != f.namespace || !hasTopologyKeys(node.Labels, f.constraints) {
		return
	}
	podLabels := labels.Set(p.Labels)
	v := f.inclusion.judge(node)
	for i := range f.constraints {
		c := &f.constraints[i]
		if !c.selector.Matches(podLabels) || !v.counts(c) {
			continue
		}
		value := node.Labels[c.topologyKey]
		f.counts[i][value] += delta
		f.paths[i].update(value, f.counts[i][value])
	}
}

// Clone returns an independent copy whose AddPod and RemovePod leave f unchanged.
func (f *spreadFilter) Clone() decide.NodeFilter {
	c := *f
	c.counts = make([]map[string]int, len(f.counts))
	for i, m := range f.counts {
		c.counts[i] = maps.Clone(m)
	}
	c.paths = append([]criticalPaths(nil), f.paths...)
	return &c
}

// criticalPaths tracks, as kube-scheduler does, two domains with the fewest matching pods: [0]
// always holds the minimum; [1] holds a count no smaller, the second smallest after PreFilter but
// not necessarily after AddPod/RemovePod (preemption only ever changes one node's domain).
type criticalPaths [2]struct {
	value string
	num   int
}

func newCriticalPaths() criticalPaths {
	var p criticalPaths
	p[0].num, p[1].num = math.MaxInt32, math.MaxInt32
	return p
}

// update records that domain value now has num matching pods.
func (p *criticalPaths) update(value string, num int) {
	i := -1
	switch value {
	case p[0].value:
		i = 0
	case p[1].value:
		i = 1
	}
	if i >= 0 {
		p[i].num = num
		if p[0].num > p[1].num {
			p[0], p[1] = p[1], p[0]
		}
		return
	}
	if num < p[0].num {
		p[1] = p[0]
		p[0].value, p[0].num = value, num
	} else if num < p[1].num {
		p[1].value, p[1].num = value, num
	}
}
