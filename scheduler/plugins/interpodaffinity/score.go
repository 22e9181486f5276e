package interpodaffinity

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
	"k8s.io/apimachinery/pkg/labels"
)

// PreScore sums, per topology domain, the affinity weights between pod and the existing pods (see
// the package doc). Like kube-scheduler it looks at the existing pods of every node, not only the
// feasible ones; when pod has no preferred terms only pods with affinity terms can contribute.
// The scan is split among up to decide.Workers() goroutines, all joined before PreScore returns.
// It returns nil (every node scores 0) when no domain gets a weight, when the args ignore a pod
// without preferred terms, or when the pod's affinity cannot be parsed (PreFilter rejected it).
func (pl *InterPodAffinity) PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	if pod.AffinityErr != nil {
		return nil
	}
	hasPreferred := len(pod.PreferredAffinity)+len(pod.PreferredAntiAffinity) > 0
	if pl.args.IgnorePreferredTermsOfExistingPods && !hasPreferred {
		return nil
	}
	preferred := append(newWeightedPodTerms(pod.PreferredAffinity, 1), newWeightedPodTerms(pod.PreferredAntiAffinity, -1)...)
	nodes := snap.WithScoringTerms
	if hasPreferred {
		nodes = snap.Nodes
	}
	k := chunks(len(nodes))
	builders := make([]scoreBuilder, k)
	for i := range builders {
		builders[i] = scoreBuilder{
			pod:        pod,
			nsLabels:   snap.Namespace(pod.Pod.Namespace),
			namespaces: snap.NamespaceLabels,
			hardWeight: int64(pl.args.HardPodAffinityWeight),
			preferred:  preferred,
			sums:       topologyCounts{},
			selects:    termMemo{},
		}
		if len(preferred) <= 64 {
			builders[i].selected = podMemo{}
		}
	}
	inParallel(len(nodes), k, func(i, lo, hi int) {
		for _, n := range nodes[lo:hi] {
			builders[i].addNode(n, hasPreferred)
		}
	})
	sums := builders[0].sums
	for i := 1; i < k; i++ {
		sums.merge(builders[i].sums)
	}
	if len(sums) == 0 {
		// Also when weights cancelled out: every node would score 0 either way.
		return nil
	}
	return newScorer(sums)
}

// scoreBuilder accumulates weights over some of the nodes of one PreScore. Builders of the same
// PreScore share everything but sums, which each owns.
type scoreBuilder struct {
	pod        *snapshot.PodInfo
	nsLabels   labels.Set
	namespaces map[string]labels.Set
	hardWeight int64
	preferred  []weightedPodTerm
	sums       topologyCounts
	// selects remembers which existing terms select the pod; selected remembers which preferred
	// terms of the pod select existing pods (nil when there are more than 64 of them).
	selects  termMemo
	selected podMemo
}

// addNode adds the weights of the pods on n: all of them when the incoming pod has preferred
// terms, else only those with scoring terms of their own. Nodes without labels are in no domain.
func (b *scoreBuilder) addNode(n *snapshot.NodeInfo, allPods bool) {
	if n.Node == nil || len(n.Node.Labels) == 0 {
		return
	}
	pods := n.PodsWithScoringTerms
	if allPods {
		pods = n.Pods
	}
	for _, p := range pods {
		b.addExisting(p, n.Node.Labels)
	}
}

// addExisting adds the weights between the pod and existing pod p on a node with nodeLabels.
func (b *scoreBuilder) addExisting(p *snapshot.PodInfo, nodeLabels map[string]string) {
	if b.selected == nil {
		for i := range b.preferred {
			t := &b.preferred[i]
			if t.matches(p.Pod, b.namespaces) {
				b.sums.add(nodeLabels, t.TopologyKey, t.weight)
			}
		}
	} else if len(b.preferred) > 0 {
		bits := b.selected.selected(p, b.preferredSelect)
		for i := range b.preferred {
			if bits&(1<<i) != 0 {
				b.sums.add(nodeLabels, b.preferred[i].TopologyKey, b.preferred[i].weight)
			}
		}
	}
	if b.hardWeight > 0 {
		for i := range p.RequiredAffinity {
			b.addIfSelected(&p.RequiredAffinity[i], b.hardWeight, nodeLabels)
		}
	}
	for i := range p.PreferredAffinity {
		t := &p.PreferredAffinity[i]
		b.addIfSelected(&t.AffinityTerm, int64(t.Weight), nodeLabels)
	}
	for i := range p.PreferredAntiAffinity {
		t := &p.PreferredAntiAffinity[i]
		b.addIfSelected(&t.AffinityTerm, -int64(t.Weight), nodeLabels)
	}
}

// preferredSelect returns which of the pod's preferred terms select p (bit i: term i).
func (b *scoreBuilder) preferredSelect(p *v1.Pod) uint64 {
	var bits uint64
	for i := range b.preferred {
		if b.preferred[i].matches(p, b.namespaces) {
			bits |= 1 << i
		}
	}
	return bits
}

// addIfSelected adds weight when an existing pod's term selects the incoming pod.
func (b *scoreBuilder) addIfSelected(t *snapshot.AffinityTerm, weight int64, nodeLabels map[string]string) {
	if b.selects.selects(t, b.pod.Pod, b.nsLabels) {
		b.sums.add(nodeLabels, t.TopologyKey, weight)
	}
}

// scorer scores nodes by the weights of their topology domains. Safe for concurrent use.
type scorer struct {
	domains []domainWeights
}

type domainWeights struct {
	key    string
	values map[string]int64
}

func newScorer(sums topologyCounts) *scorer {
	s := &scorer{domains: make([]domainWeights, 0, len(sums))}
	for key, values := range sums {
		s.domains = append(s.domains, domainWeights{key: key, values: values})
	}
	return s
}

// Score returns the node's raw score: the sum of the weights of its domains, possibly negative.
// Normalize rescales it.
func (s *scorer) Score(n *snapshot.NodeInfo) int64 {
	if n.Node == nil {
		return 0
	}
	var sum int64
	for i := range s.domains {
		if value, ok := n.Label(s.domains[i].key); ok {
			sum += s.domains[i].values[value]
		}
	}
	return sum
}

// Normalize maps the raw scores linearly onto 0..MaxNodeScore, the lowest to 0 and the highest to
// MaxNodeScore (truncating); all scores become 0 when they are equal.
func (s *scorer) Normalize(scores []int64) {
	if len(scores) == 0 {
		return
	}
	lo, hi := scores[0], scores[0]
	for _, v := range scores[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	spread := hi - lo
	for i, v := range scores {
		if spread <= 0 {
			scores[i] = 0
			continue
		}
		scores[i] = int64(float64(decide.MaxNodeScore) * (float64(v-lo) / float64(spread)))
	}
}
