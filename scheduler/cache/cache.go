// Package cache keeps the scheduler's live view of the cluster: every node and the pods placed on
// it, including pods the scheduler has chosen a node for but the API server has not yet confirmed
// (assumed pods), so that the next decision already sees them.
//
// It also keeps the storage objects decisions read (claims, volumes, classes, CSI objects; see
// snapshot.Storage), with the claims and volumes this scheduler has assumed bound, and the
// resource.k8s.io objects (ResourceClaims, DeviceClasses, ResourceSlices, DeviceTaintRules; see
// snapshot.Devices), with the ResourceClaims this scheduler has assumed allocated and reserved.
//
// It also keeps the pending pods nominated to a node (after a preemption), which decisions count
// on that node like assumed pods (see snapshot.Snapshot.Nominated).
//
// Informer handlers call the Add/Update/Remove methods; the scheduling loop calls Assume, Forget,
// Nominate and UpdateSnapshot. All methods are safe for concurrent use.
package cache

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

type podState struct {
	info    *snapshot.PodInfo
	node    string
	assumed bool // chosen by us, not yet seen bound by the informer
}

// Cache is the live cluster state. The zero value is not usable; call New.
type Cache struct {
	mu         sync.Mutex
	nodes      map[string]*snapshot.NodeInfo
	pods       map[types.UID]podState // by value: one allocation less for each of a cluster's pods
	namespaces map[string]labels.Set
	nominated  map[types.UID]nomination
	storage    storage
	devices    devices

	// snapshot bookkeeping: which live nodes changed since the last UpdateSnapshot.
	dirty map[string]struct{}
	// frozen are the clones the last UpdateSnapshot put in the loop's snapshot (frozenFor), in
	// its order, and frozenAt its Positions: immutable clones, each equal to the live node unless
	// that is dirty. Dry runs share all three. Valid while nodeSetChange is false and frozen is
	// not nil.
	frozen        []*snapshot.NodeInfo
	frozenAt      map[string]int
	frozenFor     *snapshot.Snapshot
	nodeSetChange bool // a node was added or removed (or gained/lost its node object)
	nsChange      bool
	nomChange     bool
}

type nomination struct {
	info *snapshot.PodInfo
	node string
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{
		nodes:         map[string]*snapshot.NodeInfo{},
		pods:          map[types.UID]podState{},
		namespaces:    map[string]labels.Set{},
		nominated:     map[types.UID]nomination{},
		storage:       newStorage(),
		devices:       newDevices(),
		dirty:         map[string]struct{}{},
		nodeSetChange: true,
	}
}

func (c *Cache) nodeInfo(name string) *snapshot.NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		n = snapshot.NewNodeInfo(nil)
		c.nodes[name] = n
	}
	return n
}

func (c *Cache) touch(name string) { c.dirty[name] = struct{}{} }

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeInfo(node.Name)
	if n.Node == nil {
		c.nodeSetChange = true
	}
	n.SetNode(node)
	c.touch(node.Name)
}

// UpdateNode replaces a node.
func (c *Cache) UpdateNode(node *v1.Node) { c.AddNode(node) }

// RemoveNode removes a node. Pods still on it stay accounted for until they are removed, as the
// node may come back.
func (c *Cache) RemoveNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	c.nodeSetChange = true
	if len(n.Pods) == 0 {
		delete(c.nodes, node.Name)
		return
	}
	n.SetNode(nil)
}

// AddPod records a pod the informer reports bound to a node (pods without spec.nodeName are
// ignored). It confirms an assumed pod.
func (c *Cache) AddPod(pod *v1.Pod) {
	if pod.Spec.NodeName == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.pods[pod.UID]; ok {
		c.removeLocked(old)
	}
	c.addLocked(pod.UID, snapshot.NewPodInfo(pod), pod.Spec.NodeName, false)
	c.unnominateLocked(pod.UID)
}

// UpdatePod replaces a bound pod's record.
func (c *Cache) UpdatePod(pod *v1.Pod) { c.AddPod(pod) }

// RemovePod forgets a pod (deleted, or no longer relevant such as finished).
func (c *Cache) RemovePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.pods[pod.UID]; ok {
		c.removeLocked(old)
	}
}

// Assume places pod on node before the binding is confirmed, so that later decisions see it.
func (c *Cache) Assume(pi *snapshot.PodInfo, node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pi.Pod.UID]; ok {
		return fmt.Errorf("assuming pod %s/%s on %s: already in the cache", pi.Pod.Namespace, pi.Pod.Name, node)
	}
	c.addLocked(pi.Pod.UID, pi, node, true)
	c.unnominateLocked(pi.Pod.UID)
	return nil
}

// Nominate records that the pending pod pi is nominated to node (replacing an earlier
// nomination); an empty node removes its nomination. A pod the cache holds as placed is never
// nominated.
func (c *Cache) Nominate(pi *snapshot.PodInfo, node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if node == "" {
		c.unnominateLocked(pi.Pod.UID)
		return
	}
	if _, placed := c.pods[pi.Pod.UID]; placed {
		return
	}
	c.nominated[pi.Pod.UID] = nomination{info: pi, node: node}
	c.nomChange = true
}

// Unnominate removes the nomination of the pod with uid and reports whether it had one.
func (c *Cache) Unnominate(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unnominateLocked(uid)
}

// Nomination returns the node the pod with uid is nominated to, and whether it is nominated.
func (c *Cache) Nomination(uid types.UID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nominated[uid]
	return n.node, ok
}

// NominatedTo returns the pods nominated to node.
func (c *Cache) NominatedTo(node string) []*v1.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*v1.Pod
	for _, n := range c.nominated {
		if n.node == node {
			out = append(out, n.info.Pod)
		}
	}
	return out
}

func (c *Cache) unnominateLocked(uid types.UID) bool {
	if _, ok := c.nominated[uid]; !ok {
		return false
	}
	delete(c.nominated, uid)
	c.nomChange = true
	return true
}

// Forget removes an assumed pod (its binding failed, or leadership was lost). A pod the informer
// has already confirmed stays.
func (c *Cache) Forget(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.pods[pod.UID]; ok && old.assumed {
		c.removeLocked(old)
	}
}

// ForgetAllAssumed removes every assumed pod, returning how many there were.
func (c *Cache) ForgetAllAssumed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ps := range c.pods {
		if ps.assumed {
			c.removeLocked(ps)
			n++
		}
	}
	return n
}

// Holds reports whether the pod is placed on a node in the cache, assumed or confirmed.
func (c *Cache) Holds(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pods[uid]
	return ok
}

// NodeOf returns the node the cache places the pod on, assumed or confirmed, and whether it
// places it at all.
func (c *Cache) NodeOf(uid types.UID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[uid]; ok {
		return ps.node, true
	}
	return "", false
}

// IsAssumed reports whether the pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

func (c *Cache) addLocked(uid types.UID, pi *snapshot.PodInfo, node string, assumed bool) {
	c.nodeInfo(node).AddPod(pi)
	c.pods[uid] = podState{info: pi, node: node, assumed: assumed}
	c.storage.addUsers(pi.Pod, 1)
	c.touch(node)
}

func (c *Cache) removeLocked(ps podState) {
	delete(c.pods, ps.info.Pod.UID)
	c.storage.addUsers(ps.info.Pod, -1)
	n, ok := c.nodes[ps.node]
	if !ok {
		return
	}
	n.RemovePod(ps.info)
	c.touch(ps.node)
	if n.Node == nil && len(n.Pods) == 0 {
		delete(c.nodes, ps.node)
	}
}

// SetNamespace records a namespace's labels (for namespace selectors).
func (c *Cache) SetNamespace(ns *v1.Namespace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.namespaces[ns.Name] = labels.Set(ns.Labels)
	c.nsChange = true
}

// RemoveNamespace forgets a namespace.
func (c *Cache) RemoveNamespace(ns *v1.Namespace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.namespaces, ns.Name)
	c.nsChange = true
}

// Sizes returns the number of nodes (with a node object) and of pods in the cache, and how many
// of those pods are assumed (placed by this scheduler, their binding not seen yet).
func (c *Cache) Sizes() (nodes, pods, assumed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.Node != nil {
			nodes++
		}
	}
	for _, ps := range c.pods {
		if ps.assumed {
			assumed++
		}
	}
	return nodes, len(c.pods), assumed
}

// UpdateSnapshot brings s up to date with the cache, copying only what changed since the last call,
// and returns it (a new snapshot when s is nil or the set of nodes changed). The caller owns the
// snapshot: nothing else mutates it, and it must not be read while UpdateSnapshot runs.
func (c *Cache) UpdateSnapshot(s *snapshot.Snapshot) *snapshot.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ns map[string]labels.Set
	if s == nil || c.nsChange {
		ns = make(map[string]labels.Set, len(c.namespaces))
		for k, v := range c.namespaces {
			ns[k] = v
		}
		c.nsChange = false
	}
	if s != nil && !c.nodeSetChange {
		changed := make([]*snapshot.NodeInfo, 0, len(c.dirty))
		for name := range c.dirty {
			if n, ok := c.nodes[name]; ok && n.Node != nil {
				changed = append(changed, n.Clone())
			}
		}
		if s.Update(changed) {
			if s == c.frozenFor && c.frozen != nil {
				for _, n := range changed {
					c.frozen[c.frozenAt[n.Node.Name]] = n
				}
			} else {
				c.frozen = nil // another snapshot than the loop's: dry runs copy the live nodes
			}
			clear(c.dirty)
			if ns != nil {
				s.NamespaceLabels = ns
			}
			if c.nomChange {
				s.SetNominated(c.nominatedByNodeLocked())
			}
			c.storage.apply(s.Storage, false)
			c.devices.apply(s.Devices, false)
			s.Time = time.Now()
			return s
		}
	}
	if ns == nil {
		ns = s.NamespaceLabels
	}
	list := make([]*snapshot.NodeInfo, 0, len(c.nodes))
	for _, n := range c.nodes {
		if n.Node != nil {
			list = append(list, n.Clone())
		}
	}
	sortNodes(list)
	clear(c.dirty)
	c.nodeSetChange = false
	snap := snapshot.New(list, ns) // its Nodes are list's entries, in list's order
	c.frozen, c.frozenAt, c.frozenFor = list, snap.Positions(), snap
	snap.SetNominated(c.nominatedByNodeLocked())
	if s != nil { // the storage and device views carry over: only what changed is copied
		snap.Storage = s.Storage
		snap.Devices = s.Devices
	}
	c.storage.apply(snap.Storage, s == nil)
	c.devices.apply(snap.Devices, s == nil)
	snap.Time = time.Now()
	return snap
}

// nominatedByNodeLocked groups the nominated pods by node, ordered by UID for stable decisions.
func (c *Cache) nominatedByNodeLocked() map[string][]*snapshot.PodInfo {
	c.nomChange = false
	if len(c.nominated) == 0 {
		return nil
	}
	out := map[string][]*snapshot.PodInfo{}
	for _, n := range c.nominated {
		out[n.node] = append(out[n.node], n.info)
	}
	for _, pods := range out {
		slices.SortFunc(pods, func(a, b *snapshot.PodInfo) int { return strings.Compare(string(a.Pod.UID), string(b.Pod.UID)) })
	}
	return out
}
