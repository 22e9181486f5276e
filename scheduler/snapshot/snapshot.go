package snapshot

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"time"
)

// Snapshot is the cluster as one scheduling decision sees it. It is immutable once built and safe
// for concurrent reads; the topology indexes (see Topology) are built on first use, under a lock
// of their own.
type Snapshot struct {
	// Nodes are all nodes with a node object, in a stable order.
	Nodes []*NodeInfo
	// WithScoringTerms are the nodes running at least one pod with scoring terms (see
	// NodeInfo.PodsWithScoringTerms).
	WithScoringTerms []*NodeInfo
	// WithRequiredAntiAffinity are the nodes running at least one pod with required anti-affinity.
	WithRequiredAntiAffinity []*NodeInfo
	// NamespaceLabels maps each known namespace to its labels (for namespace selectors).
	NamespaceLabels map[string]labels.Set
	// Nominated are the pending pods nominated to a node (by status.nominatedNodeName, or by a
	// preemption this scheduler just decided), by node name. Filters count the pods nominated to
	// a node with a priority at least the scheduled pod's as if they ran there, so that a pod
	// cannot take the room a preemption freed for a more important one. Set with SetNominated.
	Nominated map[string][]*PodInfo
	// Storage holds the claims, volumes, classes and CSI objects (never nil; New makes it
	// empty, and the cache carries its own from snapshot to snapshot).
	Storage *Storage
	// Devices holds the ResourceClaims, DeviceClasses, ResourceSlices and DeviceTaintRules
	// (never nil; New makes it empty, and the cache carries its own from snapshot to snapshot).
	Devices *Devices
	// Time is when the cache took the snapshot (zero when nobody said): what the decision
	// takes as "now", for instance to see a device binding time out, so that it stays a
	// function of the pod and the snapshot.
	Time time.Time

	nominatedNode map[types.UID]string

	index      map[string]int // position in Nodes
	imageNodes map[string]int
	topology   topologyIndexes
	anti       antiIndex
}

// New builds a snapshot of nodes (entries without a node object are left out) and the namespaces'
// labels. The NodeInfos must not be changed afterwards.
func New(nodes []*NodeInfo, namespaceLabels map[string]labels.Set) *Snapshot {
	s := &Snapshot{
		Nodes:           make([]*NodeInfo, 0, len(nodes)),
		NamespaceLabels: namespaceLabels,
		Storage:         NewStorage(),
		Devices:         NewDevices(),
		index:           make(map[string]int, len(nodes)),
		imageNodes:      map[string]int{},
	}
	for _, n := range nodes {
		if n.Node == nil {
			continue
		}
		s.index[n.Node.Name] = len(s.Nodes)
		s.Nodes = append(s.Nodes, n)
		for img := range n.Images {
			s.imageNodes[img]++
		}
	}
	s.rebuildAffinityLists()
	return s
}

// NewAt is New for nodes (every one with its node object) whose positions are known: positions
// is another snapshot's Positions, and nodes[positions[name]] is the node called name, for
// every node. It takes nodes as its Nodes and shares positions, building no index of its own.
func NewAt(nodes []*NodeInfo, positions map[string]int, namespaceLabels map[string]labels.Set) *Snapshot {
	s := &Snapshot{
		Nodes:           nodes,
		NamespaceLabels: namespaceLabels,
		Storage:         NewStorage(),
		Devices:         NewDevices(),
		index:           positions,
		imageNodes:      map[string]int{},
	}
	for _, n := range nodes {
		for img := range n.Images {
			s.imageNodes[img]++
		}
	}
	s.rebuildAffinityLists()
	return s
}

func (s *Snapshot) rebuildAffinityLists() {
	s.WithScoringTerms, s.WithRequiredAntiAffinity = s.WithScoringTerms[:0], s.WithRequiredAntiAffinity[:0]
	for _, n := range s.Nodes {
		if len(n.PodsWithScoringTerms) > 0 {
			s.WithScoringTerms = append(s.WithScoringTerms, n)
		}
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			s.WithRequiredAntiAffinity = append(s.WithRequiredAntiAffinity, n)
		}
	}
}

// Update swaps in new versions of nodes already in s (matched by name) and refreshes what is
// derived from them. It returns false, changing nothing, when a node of changed is not in s: the
// caller must then build a new snapshot with New. Update mutates s: only its owner may call it,
// while no decision is reading s.
func (s *Snapshot) Update(changed []*NodeInfo) bool {
	for _, n := range changed {
		if n.Node == nil {
			return false
		}
		if _, ok := s.index[n.Node.Name]; !ok {
			return false
		}
	}
	rebuild, images := false, false
	for _, n := range changed {
		at := s.index[n.Node.Name]
		old := s.Nodes[at]
		s.topology.replace(old, n)
		s.anti.replace(old, n)
		s.Nodes[at] = n
		if len(n.PodsWithScoringTerms) > 0 || len(old.PodsWithScoringTerms) > 0 ||
			len(n.PodsWithRequiredAntiAffinity) > 0 || len(old.PodsWithRequiredAntiAffinity) > 0 {
			rebuild = true // list membership or the listed pointer changed
		}
		if len(old.Images) != len(n.Images) || (len(n.Images) > 0 && !sameImages(old.Images, n.Images)) {
			images = true
		}
	}
	if rebuild {
		s.rebuildAffinityLists()
	}
	if images {
		clear(s.imageNodes)
		for _, n := range s.Nodes {
			for img := range n.Images {
				s.imageNodes[img]++
			}
		}
	}
	return true
}

func sameImages(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// Get returns the node named name, or nil.
func (s *Snapshot) Get(name string) *NodeInfo {
	if i, ok := s.index[name]; ok {
		return s.Nodes[i]
	}
	return nil
}

// Position returns where the node named name is in Nodes; false when s has no such node.
func (s *Snapshot) Position(name string) (int, bool) {
	i, ok := s.index[name]
	return i, ok
}

// Positions returns where each node is in Nodes, by name. The map is built once, by New, and
// never changed afterwards, not even by Update (which keeps every node in its place): callers may
// keep it and share it, read-only, for instance with NewAt.
func (s *Snapshot) Positions() map[string]int { return s.index }

// SetNominated replaces the nominated pods (see Nominated). Like Update, only the snapshot's
// owner may call it, while no decision is reading s.
func (s *Snapshot) SetNominated(byNode map[string][]*PodInfo) {
	s.Nominated = byNode
	s.nominatedNode = make(map[types.UID]string, len(byNode))
	for node, pods := range byNode {
		for _, p := range pods {
			s.nominatedNode[p.Pod.UID] = node
		}
	}
}

// NominatedNode returns the node the pod with uid is nominated to, and whether it is nominated.
func (s *Snapshot) NominatedNode(uid types.UID) (string, bool) {
	node, ok := s.nominatedNode[uid]
	return node, ok
}

// ImageNodes returns on how many nodes the (normalised) image is present.
func (s *Snapshot) ImageNodes(image string) int { return s.imageNodes[image] }

// Namespace returns the labels of namespace ns (nil when unknown).
func (s *Snapshot) Namespace(ns string) labels.Set { return s.NamespaceLabels[ns] }
