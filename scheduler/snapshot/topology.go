package snapshot

import (
	"iter"
	"maps"
	"strings"
	"sync"
)

// maxTopologyIndexes bounds how many key sets a snapshot indexes; further key sets get no index
// (callers count node by node), so odd pods cannot make the snapshot grow without bound.
const maxTopologyIndexes = 16

// TopologyIndex counts a snapshot's pods by label set and topology domain, for one list of
// topology keys, over the nodes that carry every one of those keys (the eligible nodes). A
// topology-spread constraint whose node inclusion admits every node can then be counted once per
// distinct label set instead of once per pod: replicas share their labels.
//
// Terminating pods (with a deletion timestamp) are not counted, as topology spreading ignores
// them. Pods without a LabelsID (built without NewPodInfo) cannot be grouped; Unknown says how
// many there are, and an index with any is not to be used.
//
// An index belongs to its snapshot: it is read by decisions and changed only by Snapshot.Update.
// Callers must not change what it returns.
type TopologyIndex struct {
	keys []string
	// domains[k] maps each value of keys[k] on the eligible nodes to how many eligible nodes have it.
	domains []map[string]int
	sets    map[LabelsID]*LabelSetCounts
	unknown int
	// terminating is set when pods with a deletion timestamp are counted too (see TopologyAll).
	terminating bool
}

// LabelSetCounts is where the pods of one label set run.
type LabelSetCounts struct {
	// Pod is one of the pods with this label set: its namespace and labels are what every
	// selector reads.
	Pod *PodInfo
	// Counts[k] maps values of keys[k] (see TopologyIndex) to the number of these pods there.
	Counts []map[string]int
	pods   int
}

// Domains returns, for keys[k], each value on the eligible nodes with the number of eligible
// nodes that have it.
func (t *TopologyIndex) Domains(k int) map[string]int { return t.domains[k] }

// LabelSets returns the counts of every label set with a pod on an eligible node.
func (t *TopologyIndex) LabelSets() iter.Seq[*LabelSetCounts] { return maps.Values(t.sets) }

// Unknown is how many pods on eligible nodes have no LabelsID.
func (t *TopologyIndex) Unknown() int { return t.unknown }

func newTopologyIndex(keys []string, terminating bool, nodes []*NodeInfo) *TopologyIndex {
	t := &TopologyIndex{keys: keys, domains: make([]map[string]int, len(keys)), sets: map[LabelsID]*LabelSetCounts{}, terminating: terminating}
	for k := range keys {
		t.domains[k] = map[string]int{}
	}
	for _, n := range nodes {
		t.account(n, 1)
	}
	return t
}

// account adds (delta 1) or removes (delta -1) node n and its pods.
func (t *TopologyIndex) account(n *NodeInfo, delta int) {
	if n.Node == nil {
		return
	}
	var buf [4]string
	values := buf[:0]
	for _, key := range t.keys {
		v, ok := n.Node.Labels[key]
		if !ok {
			return
		}
		values = append(values, v)
	}
	for k, v := range values {
		addCount(t.domains[k], v, delta)
	}
	for _, p := range n.Pods {
		if p.Pod.DeletionTimestamp != nil && !t.terminating {
			continue
		}
		if !p.LabelsID.Known() {
			t.unknown += delta
			continue
		}
		set := t.sets[p.LabelsID]
		if set == nil {
			set = &LabelSetCounts{Pod: p, Counts: make([]map[string]int, len(t.keys))}
			for k := range set.Counts {
				set.Counts[k] = map[string]int{}
			}
			t.sets[p.LabelsID] = set
		}
		for k, v := range values {
			addCount(set.Counts[k], v, delta)
		}
		if set.pods += delta; set.pods == 0 {
			delete(t.sets, p.LabelsID)
		}
	}
}

// addCount adds delta to m[key], dropping the key when it reaches 0.
func addCount(m map[string]int, key string, delta int) {
	if c := m[key] + delta; c != 0 {
		m[key] = c
	} else {
		delete(m, key)
	}
}

// topologyIndexes holds a snapshot's indexes by key list; the zero value is ready.
type topologyIndexes struct {
	mu    sync.Mutex
	byKey map[string]*TopologyIndex
}

// Topology returns the index of keys (in this order), building it on first use, or nil when the
// snapshot already holds its limit of indexes. Safe for concurrent use with other readers.
func (s *Snapshot) Topology(keys ...string) *TopologyIndex {
	return s.topologyIndex(false, keys)
}

// TopologyAll is Topology with terminating pods counted too, as inter-pod affinity counts them.
func (s *Snapshot) TopologyAll(keys ...string) *TopologyIndex {
	return s.topologyIndex(true, keys)
}

func (s *Snapshot) topologyIndex(terminating bool, keys []string) *TopologyIndex {
	id := strings.Join(keys, "\x00")
	if terminating {
		id = "\x01" + id
	}
	s.topology.mu.Lock()
	defer s.topology.mu.Unlock()
	if t, ok := s.topology.byKey[id]; ok {
		return t
	}
	if len(s.topology.byKey) >= maxTopologyIndexes {
		return nil
	}
	if s.topology.byKey == nil {
		s.topology.byKey = map[string]*TopologyIndex{}
	}
	t := newTopologyIndex(append([]string(nil), keys...), terminating, s.Nodes)
	s.topology.byKey[id] = t
	return t
}

// replace moves every index from old to n, a new version of the same node.
func (x *topologyIndexes) replace(old, n *NodeInfo) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, t := range x.byKey {
		t.account(old, -1)
		t.account(n, 1)
	}
}
