package snapshot

import (
	"strings"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NodeInfo is one node and the pods placed on it, with running totals. The scheduler cache owns
// the live NodeInfos and mutates them; a Snapshot holds clones that nobody mutates.
type NodeInfo struct {
	// Node is nil when pods are known on a node the informer has not delivered (or has deleted).
	Node *v1.Node
	// version identifies the node object SetNode was last given (see NodeVersion). It sits
	// beside Pods, which NodeResourcesFit reads of every node, so that a search reading it (in
	// place of the node-only filters) touches no memory that filter does not.
	version uint64
	Pods    []*PodInfo
	// PodsWithScoringTerms are the pods of Pods whose own terms can weigh on where other pods go
	// when those have no preferred terms: required affinity (weighted by hardPodAffinityWeight)
	// and preferred (anti-)affinity. Pods with required anti-affinity only are not among them.
	PodsWithScoringTerms []*PodInfo
	// PodsWithRequiredAntiAffinity are the pods of Pods with a required anti-affinity term.
	PodsWithRequiredAntiAffinity []*PodInfo

	// Unschedulable and Taints are the node's spec.unschedulable and spec.taints (false and nil
	// without a node object), kept here so that filters and scores of every pod read this struct
	// alone: at thousands of nodes, following each Node pointer was a cache miss per node.
	Unschedulable bool
	Taints        []v1.Taint
	// topo holds the node's values of the topology labels pods are spread and kept apart by
	// most (topoKeys), and topoSet which of them the node has: Label reads them here, for the
	// same reason.
	topo    [len(topoKeys)]string
	topoSet uint8

	// Requested is the sum of the pods' requests.
	Requested Resource
	// NonZeroRequested is the sum of the pods' non-zero cpu and memory requests (scoring only).
	NonZeroRequested Resource
	// Allocatable is the node's allocatable resources.
	Allocatable Resource
	// UsedPorts are the host ports the pods use.
	UsedPorts HostPorts
	// Images maps each normalised image name on the node to its size in bytes.
	Images map[string]int64

	// Generation increases on every change; the cache uses it to refresh snapshots cheaply.
	Generation int64
}

// nodeVersions numbers the SetNode calls of the process.
var nodeVersions atomic.Uint64

// NodeVersion identifies the node object: it differs between any two SetNode calls in the
// process (so between any two node objects, on any NodeInfo) and is kept by Clone; 0 when SetNode
// was never called. What depends on the node object alone (its spec, labels, taints) may be
// remembered by NodeVersion.
func (n *NodeInfo) NodeVersion() uint64 { return n.version }

// NewNodeInfo returns a NodeInfo for node (which may be nil) with the given pods.
func NewNodeInfo(node *v1.Node, pods ...*PodInfo) *NodeInfo {
	n := &NodeInfo{}
	n.SetNode(node)
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// Name returns the node's name, or "" when the node object is unknown.
func (n *NodeInfo) Name() string {
	if n.Node == nil {
		return ""
	}
	return n.Node.Name
}

// SetNode replaces the node object and what is derived from it (allocatable, images).
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.Node = node
	n.Generation++
	n.version = nodeVersions.Add(1)
	n.topo, n.topoSet = [len(topoKeys)]string{}, 0
	if node == nil {
		n.Allocatable, n.Images, n.Unschedulable, n.Taints = Resource{}, nil, false, nil
		return
	}
	n.Unschedulable, n.Taints = node.Spec.Unschedulable, node.Spec.Taints
	for i, key := range topoKeys {
		if v, ok := node.Labels[key]; ok {
			n.topo[i], n.topoSet = v, n.topoSet|1<<i
		}
	}
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.Images = nil
	if len(node.Status.Images) > 0 {
		n.Images = make(map[string]int64, len(node.Status.Images))
		for _, img := range node.Status.Images {
			for _, name := range img.Names {
				n.Images[NormalizeImageName(name)] = img.SizeBytes
			}
		}
	}
}

// topoKeys are the labels Label answers without reading the node's label map.
var topoKeys = [...]string{v1.LabelHostname, v1.LabelTopologyZone, v1.LabelTopologyRegion}

// Label returns the node's value of the label key and whether it has it (false without a node
// object). Topology-spread and inter-pod affinity filters ask it for every node they judge: for
// the hostname, zone and region labels it answers from the NodeInfo itself, without touching the
// node's label map, which at thousands of nodes costs a cache miss per node.
func (n *NodeInfo) Label(key string) (string, bool) {
	i := -1
	switch key { // the order of topoKeys
	case v1.LabelHostname:
		i = 0
	case v1.LabelTopologyZone:
		i = 1
	case v1.LabelTopologyRegion:
		i = 2
	}
	if i >= 0 {
		return n.topo[i], n.topoSet&(1<<i) != 0
	}
	if n.Node == nil {
		return "", false
	}
	v, ok := n.Node.Labels[key]
	return v, ok
}

// AddPod accounts for p on the node.
func (n *NodeInfo) AddPod(p *PodInfo) {
	n.Pods = append(n.Pods, p)
	if p.HasScoringTerms() {
		n.PodsWithScoringTerms = append(n.PodsWithScoringTerms, p)
	}
	if len(p.RequiredAntiAffinity) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, p)
	}
	n.Requested.Add(&p.Requests)
	n.NonZeroRequested.MilliCPU += p.NonZeroCPU
	n.NonZeroRequested.Memory += p.NonZeroMemory
	n.UsedPorts.addPod(p.Pod, 1)
	n.Generation++
}

// RemovePod removes the pod with p's UID from the node and reports whether it was there.
func (n *NodeInfo) RemovePod(p *PodInfo) bool {
	uid := p.Pod.UID
	var old *PodInfo
	n.Pods, old = removeByUID(n.Pods, uid)
	if old == nil {
		return false
	}
	n.PodsWithScoringTerms, _ = removeByUID(n.PodsWithScoringTerms, uid)
	n.PodsWithRequiredAntiAffinity, _ = removeByUID(n.PodsWithRequiredAntiAffinity, uid)
	n.Requested.Sub(&old.Requests)
	n.NonZeroRequested.MilliCPU -= old.NonZeroCPU
	n.NonZeroRequested.Memory -= old.NonZeroMemory
	n.UsedPorts.addPod(old.Pod, -1)
	n.Generation++
	return true
}

// removeByUID removes the element with uid, swapping the last one into its place.
func removeByUID(s []*PodInfo, uid types.UID) ([]*PodInfo, *PodInfo) {
	for i, p := range s {
		if p.Pod.UID == uid {
			last := len(s) - 1
			s[i] = s[last]
			s[last] = nil
			return s[:last], p
		}
	}
	return s, nil
}

// Clone returns a copy that shares the immutable PodInfos and node object but none of the
// slices or maps that AddPod, RemovePod and SetNode change.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Node:             n.Node,
		Unschedulable:    n.Unschedulable,
		Taints:           n.Taints, // the node object's, never mutated
		topo:             n.topo,
		topoSet:          n.topoSet,
		Requested:        n.Requested.Clone(),
		NonZeroRequested: n.NonZeroRequested.Clone(),
		Allocatable:      n.Allocatable.Clone(),
		UsedPorts:        n.UsedPorts.Clone(),
		Images:           n.Images, // replaced, never mutated, by SetNode
		Generation:       n.Generation,
		version:          n.version,
	}
	c.Pods = append([]*PodInfo(nil), n.Pods...)
	c.PodsWithScoringTerms = append([]*PodInfo(nil), n.PodsWithScoringTerms...)
	c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	return c
}

// NormalizeImageName returns name with the ":latest" tag added when it has neither tag nor digest,
// so that "nginx" on a node and "nginx:latest" in a pod are the same image.
func NormalizeImageName(name string) string {
	if strings.Contains(name, "@") {
		return name
	}
	if i := strings.LastIndex(name, ":"); i >= 0 && !strings.Contains(name[i:], "/") {
		return name
	}
	return name + ":latest"
}
