package podtopologyspread

import (
	"math"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// PreScore counts, for each of the pod's ScheduleAnyway constraints, the matching pods in the
// domains of the feasible nodes. It returns nil when the pod has no such constraint (or a label
// selector cannot be parsed, which PreFilter has already refused) or the snapshot has no node.
//
// Nodes missing a topology key are ignored (they score 0) unless the constraints are the system
// defaults, for which a node without a zone label still takes part in the hostname spreading.
func (pl *PodTopologySpread) PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, feasible []*snapshot.NodeInfo) decide.NodeScorer {
	if len(snap.Nodes) == 0 {
		return nil
	}
	p := pod.Pod
	cs, err := pl.constraints(p, v1.ScheduleAnyway)
	if err != nil || len(cs) == 0 {
		return nil
	}
	s := &spreadScorer{
		namespace:   p.Namespace,
		constraints: cs,
		requireAll:  len(p.Spec.TopologySpreadConstraints) > 0 || !pl.systemDefaulted,
		counts:      make([]map[string]int64, len(cs)),
		weights:     make([]float64, len(cs)),
		ignored:     make([]bool, len(feasible)),
	}
	for i := range cs {
		s.counts[i] = map[string]int64{}
	}
	s.addDomains(feasible)

	in := newInclusion(p, cs)
	found := countDomains(snap.Nodes, len(cs), func(i int) int { return len(s.counts[i]) },
		func() *matcher { return newMatcher(cs, p.Namespace) },
		func(n *snapshot.NodeInfo, into []map[string]int64, m *matcher) { s.countNode(n, &in, into, m) })
	for i, m := range found {
		for domain, c := range m {
			s.counts[i][domain] += c
		}
	}
	return s
}

// spreadScorer scores one pod's soft constraints. Read-only once built.
type spreadScorer struct {
	namespace   string
	constraints []constraint
	// requireAll: nodes missing any topology key are ignored.
	requireAll bool
	// counts[i] maps the domains of constraint i that hold a feasible node to their matching pod
	// counts. Hostname constraints have none: each node counts its own pods in Score.
	counts []map[string]int64
	// weights[i] is log(domains+2) for constraint i, so that counts over few big domains weigh
	// less than counts over many small ones.
	weights []float64
	// ignored[j] is true when feasible node j misses a topology key (and requireAll).
	ignored []bool
}

// addDomains registers the domains of the feasible nodes and works out the constraints' weights.
func (s *spreadScorer) addDomains(feasible []*snapshot.NodeInfo) {
	ignored := 0
	for j, n := range feasible {
		if n.Node == nil {
			s.ignored[j] = true
			ignored++
			continue
		}
		nodeLabels := n.Node.Labels
		if s.requireAll && !hasTopologyKeys(nodeLabels, s.constraints) {
			s.ignored[j] = true
			ignored++
			continue
		}
		for i := range s.constraints {
			if s.constraints[i].topologyKey == v1.LabelHostname {
				continue
			}
			// A missing key (possible with system defaults) makes an "" domain, as upstream.
			s.counts[i][nodeLabels[s.constraints[i].topologyKey]] += 0
		}
	}
	for i := range s.constraints {
		size := len(s.counts[i])
		if s.constraints[i].topologyKey == v1.LabelHostname {
			size = len(feasible) - ignored
		}
		s.weights[i] = math.Log(float64(size + 2))
	}
}

// countNode adds, in into, the matching pods of n to the domains n belongs to that addDomains
// registered. It only reads s.
func (s *spreadScorer) countNode(n *snapshot.NodeInfo, in *inclusion, into []map[string]int64, m *matcher) {
	node := n.Node
	if node == nil || (s.requireAll && !hasTopologyKeys(node.Labels, s.constraints)) {
		return
	}
	v := in.judge(node)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !v.counts(c) {
			continue
		}
		value := node.Labels[c.topologyKey]
		if _, ok := s.counts[i][value]; !ok {
			continue // no feasible node there (always the case for hostname constraints)
		}
		into[i][value] += int64(m.count(n.Pods, i))
	}
}

// Score returns a raw score that grows with the number of matching pods in n's domains (lower is
// better); Normalize reverses it. Ignored nodes get 0.
func (s *spreadScorer) Score(n *snapshot.NodeInfo) int64 {
	if n.Node == nil {
		return 0
	}
	if s.requireAll && !nodeHasTopologyKeys(n, s.constraints) {
		return 0
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		value, ok := n.Label(c.topologyKey)
		if !ok {
			continue
		}
		var cnt int64
		if c.topologyKey == v1.LabelHostname {
			cnt = int64(countMatching(n.Pods, c, s.namespace))
		} else {
			cnt = s.counts[i][value]
		}
		// maxSkew-1 is added so that a larger maxSkew waters down the differences between domains.
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score))
}

// Normalize maps the raw scores of the feasible nodes (in PreScore's order) onto 0..100, reversed
// so that the least crowded node gets 100: 100*(max+min-score)/max. Ignored nodes get 0; when
// every score is 0 the others all get 100.
func (s *spreadScorer) Normalize(scores []int64) {
	var lowest, highest int64 = math.MaxInt64, 0
	for j, v := range scores {
		if s.isIgnored(j) {
			continue
		}
		lowest, highest = min(lowest, v), max(highest, v)
	}
	for j, v := range scores {
		switch {
		case s.isIgnored(j):
			scores[j] = 0
		case highest == 0:
			scores[j] = decide.MaxNodeScore
		default:
			scores[j] = decide.MaxNodeScore * (highest + lowest - v) / highest
		}
	}
}

func (s *spreadScorer) isIgnored(j int) bool { return j < len(s.ignored) && s.ignored[j] }
