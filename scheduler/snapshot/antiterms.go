package snapshot

import (
	"iter"
	"maps"
	"sync"
)

// AntiAffinityIndex counts the required anti-affinity terms of a snapshot's pods by what they
// select and their topology domain. Inter-pod affinity asks, for every incoming pod, which
// existing pods' anti-affinity terms select it and in which domains those pods run: with the
// index that is one selector match per distinct term instead of one per pod (replicas share
// their terms), and no scan of the pods at all.
//
// Like TopologyIndex it is built on first use and then kept up to date by Snapshot.Update, so a
// decision never rebuilds it. Terms without a TermID (pods built without NewPodInfo) cannot be
// grouped: Unknown says how many there are, and an index with any is not to be used.
type AntiAffinityIndex struct {
	terms   map[antiTermKey]*AntiTermCounts
	unknown int
}

type antiTermKey struct {
	id  TermID
	key string
}

// AntiTermCounts is where the pods carrying one anti-affinity term (by TermID and topology key)
// run.
type AntiTermCounts struct {
	// Term is one of the equal terms: what it selects and its topology key.
	Term *AffinityTerm
	// Counts maps each value of the term's topology key to the number of terms there (a pod
	// carrying the term twice counts twice, as kube-scheduler counts it).
	Counts map[string]int
	terms  int
}

// Terms returns the counts of every term carried by a pod on a node with its topology key.
func (x *AntiAffinityIndex) Terms() iter.Seq[*AntiTermCounts] { return maps.Values(x.terms) }

// Unknown is how many terms have no TermID.
func (x *AntiAffinityIndex) Unknown() int { return x.unknown }

// account adds (delta 1) or removes (delta -1) the terms of node n's pods.
func (x *AntiAffinityIndex) account(n *NodeInfo, delta int) {
	if n == nil || n.Node == nil {
		return
	}
	for _, p := range n.PodsWithRequiredAntiAffinity {
		for i := range p.RequiredAntiAffinity {
			t := &p.RequiredAntiAffinity[i]
			value, ok := n.Node.Labels[t.TopologyKey]
			if !ok {
				continue
			}
			if !t.ID.Known() {
				x.unknown += delta
				continue
			}
			k := antiTermKey{t.ID, t.TopologyKey}
			e := x.terms[k]
			if e == nil {
				e = &AntiTermCounts{Term: t, Counts: map[string]int{}}
				x.terms[k] = e
			}
			addCount(e.Counts, value, delta)
			if e.terms += delta; e.terms == 0 {
				delete(x.terms, k)
			}
		}
	}
}

// antiIndex holds a snapshot's AntiAffinityIndex once built; the zero value is ready.
type antiIndex struct {
	mu sync.Mutex
	x  *AntiAffinityIndex
}

// AntiAffinity returns the snapshot's AntiAffinityIndex, building it on first use. Safe for
// concurrent use with other readers.
func (s *Snapshot) AntiAffinity() *AntiAffinityIndex {
	s.anti.mu.Lock()
	defer s.anti.mu.Unlock()
	if s.anti.x == nil {
		x := &AntiAffinityIndex{terms: map[antiTermKey]*AntiTermCounts{}}
		for _, n := range s.WithRequiredAntiAffinity {
			x.account(n, 1)
		}
		s.anti.x = x
	}
	return s.anti.x
}

// replace moves the index, if built, from old to n, a new version of the same node.
func (a *antiIndex) replace(old, n *NodeInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.x == nil || (len(old.PodsWithRequiredAntiAffinity) == 0 && len(n.PodsWithRequiredAntiAffinity) == 0) {
		return
	}
	a.x.account(old, -1)
	a.x.account(n, 1)
}
