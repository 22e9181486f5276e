package interpodaffinity

import (
	"slices"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Filter reasons, in kube-scheduler's words.
const (
	ReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	reasonParsingPodPrefix                  = "parsing pod: "
)

// Shared verdicts: Filter returns them without allocating. A missing affinity match cannot be
// fixed by removing pods; an anti-affinity conflict can.
var (
	rejectAffinity        = snapshot.RejectUnresolvable(ReasonAffinityRulesNotMatch)
	rejectAntiAffinity    = snapshot.Reject(ReasonAntiAffinityRulesNotMatch)
	rejectExistingAntiAff = snapshot.Reject(ReasonExistingAntiAffinityRulesNotMatch)
)

// PodFilter is the InterPodAffinity check of one pod, prepared by PreFilter.
//
// Filter only reads it and is safe for concurrent calls. AddPod and RemovePod change it and must
// not run concurrently with anything else on the same PodFilter: a caller simulating changes on
// several nodes at once (preemption) works on one Clone per goroutine.
type PodFilter struct {
	pod *snapshot.PodInfo
	// nsLabels are the labels of the pod's namespace, which existing pods' terms select on.
	nsLabels labels.Set
	// namespaces are all known namespaces, which the pod's own terms select on.
	namespaces map[string]labels.Set

	affinity []podTerm
	anti     []podTerm
	// selfMatch is set when the pod matches all its own affinity terms (the first-pod rule).
	selfMatch bool

	// affinityCounts counts, per domain of each affinity term, the pods matching all the terms.
	affinityCounts topologyCounts
	// antiCounts counts, per domain of each anti-affinity term, the pods matching that term.
	antiCounts topologyCounts
	// existingAntiCounts counts, per domain, existing pods' anti-affinity terms matching the pod.
	existingAntiCounts topologyCounts

	// The layers add to the counts above: counts borrowed, read-only, from the snapshot's
	// indexes instead of copied (see countLayer). Only a fresh PodFilter has them; Clone folds
	// them into its own counts.
	affinityLayers, antiLayers, existingAntiLayers []countLayer
}

// countLayer is one index entry's pod counts per value of topology key: a read-only map of the
// snapshot, valid while the snapshot is (until its owner's next Update).
type countLayer struct {
	key    string
	counts map[string]int
}

// maxLayers bounds the layers of one count: a Filter call looks a node up in every layer, so
// beyond a few, copying them into one map once is cheaper.
const maxLayers = 8

// layerCount is the sum of the layers' counts for key=value.
func layerCount(layers []countLayer, key, value string) int64 {
	var n int64
	for _, l := range layers {
		if l.key == key {
			n += int64(l.counts[value])
		}
	}
	return n
}

// fold adds layers into c and returns no layers.
func fold(c topologyCounts, layers []countLayer) []countLayer {
	for _, l := range layers {
		addDomains(c, l.key, l.counts)
	}
	return nil
}

// addLayer adds a layer, folding them all into c once there are too many.
func addLayer(c topologyCounts, layers []countLayer, key string, counts map[string]int) []countLayer {
	layers = append(layers, countLayer{key, counts})
	if len(layers) > maxLayers {
		return fold(c, layers)
	}
	return layers
}

// PreFilter precomputes pod's inter-pod checks over snap. It returns a nil NodeFilter when nothing
// constrains the pod (it has no required terms and no existing pod's anti-affinity selects it), and
// an unresolvable verdict when the pod's affinity cannot be parsed.
//
// Cost: the existing pods with required anti-affinity, plus every existing pod when the incoming
// pod has required terms of its own (that scan is split among up to decide.Workers() goroutines, all
// joined before PreFilter returns).
func (pl *InterPodAffinity) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	if pod.AffinityErr != nil {
		return nil, snapshot.RejectUnresolvable(reasonParsingPodPrefix + pod.AffinityErr.Error())
	}
	f := &PodFilter{
		pod:                pod,
		nsLabels:           snap.Namespace(pod.Pod.Namespace),
		namespaces:         snap.NamespaceLabels,
		affinity:           newPodTerms(pod.RequiredAffinity),
		anti:               newPodTerms(pod.RequiredAntiAffinity),
		affinityCounts:     topologyCounts{},
		antiCounts:         topologyCounts{},
		existingAntiCounts: topologyCounts{},
	}
	f.selfMatch = matchesAll(f.affinity, pod.Pod, f.namespaces)

	selects := termMemo{}
	if idx := snap.AntiAffinity(); idx.Unknown() == 0 {
		for e := range idx.Terms() {
			if selects.selects(e.Term, pod.Pod, f.nsLabels) {
				f.existingAntiLayers = addLayer(f.existingAntiCounts, f.existingAntiLayers, e.Term.TopologyKey, e.Counts)
			}
		}
	} else {
		for _, n := range snap.WithRequiredAntiAffinity {
			for _, p := range n.PodsWithRequiredAntiAffinity {
				f.countExistingAnti(p, n.Node, 1, selects)
			}
		}
	}
	if len(f.affinity) > 0 || len(f.anti) > 0 {
		if !f.countIndexed(snap) {
			f.countAllPods(snap.Nodes)
		}
	}
	if len(f.existingAntiCounts) == 0 && len(f.existingAntiLayers) == 0 && len(f.affinity) == 0 && len(f.anti) == 0 {
		return nil, snapshot.Verdict{}
	}
	return f, snapshot.Verdict{}
}

// countExistingAnti counts the required anti-affinity terms of p, on node, that select the pod.
// memo (nil: none) remembers the answers per term.
func (f *PodFilter) countExistingAnti(p *snapshot.PodInfo, node *v1.Node, delta int64, memo termMemo) {
	if node == nil {
		return
	}
	for i := range p.RequiredAntiAffinity {
		t := &p.RequiredAntiAffinity[i]
		if memo.selects(t, f.pod.Pod, f.nsLabels) {
			f.existingAntiCounts.add(node.Labels, t.TopologyKey, delta)
		}
	}
}

// countAllPods counts every pod of nodes against the pod's own terms. The nodes are split among
// goroutines that count separately; their counts are merged before it returns.
func (f *PodFilter) countAllPods(nodes []*snapshot.NodeInfo) {
	k := chunks(len(nodes))
	affinity, anti := make([]topologyCounts, k), make([]topologyCounts, k)
	affinity[0], anti[0] = f.affinityCounts, f.antiCounts
	for i := 1; i < k; i++ {
		affinity[i], anti[i] = topologyCounts{}, topologyCounts{}
	}
	inParallel(len(nodes), k, func(i, lo, hi int) {
		memo := f.newPodMemo()
		for _, n := range nodes[lo:hi] {
			for _, p := range n.Pods {
				f.countIncomingInto(affinity[i], anti[i], p, n.Node, 1, memo)
			}
		}
	})
	for i := 1; i < k; i++ {
		f.affinityCounts.merge(affinity[i])
		f.antiCounts.merge(anti[i])
	}
}

// countIndexed counts the existing pods against the pod's own terms from the snapshot's
// topology indexes (one per topology key of the terms): one match per distinct label set rather
// than per pod. It returns false, counting nothing, when an index is not available (the
// snapshot's limit of indexes is reached, or some pods cannot be grouped).
func (f *PodFilter) countIndexed(snap *snapshot.Snapshot) bool {
	memo := f.newPodMemo()
	if memo == nil {
		return false
	}
	var keys []string
	for _, ts := range [][]podTerm{f.affinity, f.anti} {
		for i := range ts {
			if !slices.Contains(keys, ts[i].TopologyKey) {
				keys = append(keys, ts[i].TopologyKey)
			}
		}
	}
	indexes := make([]*snapshot.TopologyIndex, len(keys))
	for i, key := range keys {
		if indexes[i] = snap.TopologyAll(key); indexes[i] == nil || indexes[i].Unknown() > 0 {
			return false
		}
	}
	for i, key := range keys {
		for set := range indexes[i].LabelSets() {
			bits := memo.selected(set.Pod, f.incomingSelects)
			if bits == 0 {
				continue
			}
			for j := range f.affinity {
				if bits&1 != 0 && f.affinity[j].TopologyKey == key {
					f.affinityLayers = addLayer(f.affinityCounts, f.affinityLayers, key, set.Counts[0])
				}
			}
			for j := range f.anti {
				if bits&(1<<(j+1)) != 0 && f.anti[j].TopologyKey == key {
					f.antiLayers = addLayer(f.antiCounts, f.antiLayers, key, set.Counts[0])
				}
			}
		}
	}
	return true
}

// addDomains adds per-domain pod counts of key to c.
func addDomains(c topologyCounts, key string, counts map[string]int) {
	for value, n := range counts {
		c.addValue(key, value, int64(n))
	}
}

// countIncomingInto counts p, on node, in the domains of the pod's terms that select it. It only
// reads f, so concurrent calls with distinct count maps and memos are safe. memo (nil: none)
// remembers the answers per LabelsID.
func (f *PodFilter) countIncomingInto(affinity, anti topologyCounts, p *snapshot.PodInfo, node *v1.Node, delta int64, memo podMemo) {
	if node == nil {
		return
	}
	if memo == nil {
		if matchesAll(f.affinity, p.Pod, f.namespaces) {
			for i := range f.affinity {
				affinity.add(node.Labels, f.affinity[i].TopologyKey, delta)
			}
		}
		for i := range f.anti {
			if f.anti[i].matches(p.Pod, f.namespaces) {
				anti.add(node.Labels, f.anti[i].TopologyKey, delta)
			}
		}
		return
	}
	bits := memo.selected(p, f.incomingSelects)
	if bits&1 != 0 {
		for i := range f.affinity {
			affinity.add(node.Labels, f.affinity[i].TopologyKey, delta)
		}
	}
	for i := range f.anti {
		if bits&(1<<(i+1)) != 0 {
			anti.add(node.Labels, f.anti[i].TopologyKey, delta)
		}
	}
}

// incomingSelects returns which of the pod's terms select p: bit 0 when all affinity terms do,
// bit 1+i when anti-affinity term i does (so only for pods with fewer than 63 such terms).
func (f *PodFilter) incomingSelects(p *v1.Pod) uint64 {
	var bits uint64
	if matchesAll(f.affinity, p, f.namespaces) {
		bits |= 1
	}
	for i := range f.anti {
		if f.anti[i].matches(p, f.namespaces) {
			bits |= 1 << (i + 1)
		}
	}
	return bits
}

// newPodMemo returns a memo for incomingSelects, or nil when the pod has too many anti-affinity
// terms for its bit set (such pods are matched without one).
func (f *PodFilter) newPodMemo() podMemo {
	if len(f.anti) >= 63 {
		return nil
	}
	return podMemo{}
}

// Filter judges the prepared pod on node n. It does not allocate.
func (f *PodFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if !f.affinityMet(n) {
		return rejectAffinity
	}
	if f.antiViolated(n) {
		return rejectAntiAffinity
	}
	if f.existingAntiCounts.anyOnNode(n) {
		return rejectExistingAntiAff
	}
	for _, l := range f.existingAntiLayers {
		if value, ok := n.Label(l.key); ok && l.counts[value] > 0 {
			return rejectExistingAntiAff
		}
	}
	return snapshot.Verdict{}
}

// affinityMet reports whether the node has every affinity term's topology key and its domains hold
// a pod matching all terms, or the first-pod rule applies.
func (f *PodFilter) affinityMet(n *snapshot.NodeInfo) bool {
	found := true
	for i := range f.affinity {
		key := f.affinity[i].TopologyKey
		value, ok := n.Label(key)
		if !ok {
			return false
		}
		if f.affinityCounts[key][value]+layerCount(f.affinityLayers, key, value) <= 0 {
			found = false
		}
	}
	return found || (len(f.affinityCounts) == 0 && len(f.affinityLayers) == 0 && f.selfMatch)
}

// antiViolated reports whether a domain of the node holds a pod matching an anti-affinity term.
func (f *PodFilter) antiViolated(n *snapshot.NodeInfo) bool {
	if len(f.antiCounts) == 0 && len(f.antiLayers) == 0 {
		return false
	}
	for i := range f.anti {
		key := f.anti[i].TopologyKey
		if value, ok := n.Label(key); ok && f.antiCounts[key][value]+layerCount(f.antiLayers, key, value) > 0 {
			return true
		}
	}
	return false
}

// AddPod updates the prepared state as if p were running on n (preemption's "what if").
func (f *PodFilter) AddPod(p *snapshot.PodInfo, n *snapshot.NodeInfo) { f.update(p, n, 1) }

// RemovePod updates the prepared state as if p, running on n, were gone.
func (f *PodFilter) RemovePod(p *snapshot.PodInfo, n *snapshot.NodeInfo) { f.update(p, n, -1) }

func (f *PodFilter) update(p *snapshot.PodInfo, n *snapshot.NodeInfo, delta int64) {
	if p == nil || p.Pod == nil || n == nil {
		return
	}
	// Counts that may go down are kept in one map, where a domain reaching zero disappears.
	f.affinityLayers = fold(f.affinityCounts, f.affinityLayers)
	f.antiLayers = fold(f.antiCounts, f.antiLayers)
	f.existingAntiLayers = fold(f.existingAntiCounts, f.existingAntiLayers)
	f.countExistingAnti(p, n.Node, delta, nil)
	f.countIncomingInto(f.affinityCounts, f.antiCounts, p, n.Node, delta, nil)
}

// Clone returns an independent copy whose counts AddPod and RemovePod may change without affecting
// f. The pod, its terms and the namespaces are shared: they are read-only.
func (f *PodFilter) Clone() decide.NodeFilter {
	c := *f
	c.affinityCounts = f.affinityCounts.clone()
	c.antiCounts = f.antiCounts.clone()
	c.existingAntiCounts = f.existingAntiCounts.clone()
	c.affinityLayers = fold(c.affinityCounts, f.affinityLayers)
	c.antiLayers = fold(c.antiCounts, f.antiLayers)
	c.existingAntiLayers = fold(c.existingAntiCounts, f.existingAntiLayers)
	return &c
}
