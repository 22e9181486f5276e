// Package nodename implements kube-scheduler's NodeName plugin: a pod that already names a node in
// spec.nodeName fits only that node, and no preemption changes that, so the verdict elsewhere is
// unresolvable.
package nodename

import (
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "NodeName"
	// ReasonMismatch is the filter's reason, as kube-scheduler v1.37 words it.
	ReasonMismatch = "node(s) didn't match the requested node name"
)

var mismatchVerdict = snapshot.RejectUnresolvable(ReasonMismatch)

// NodeName is the plugin. It has no configuration and no state; the zero value is ready.
type NodeName struct{}

// New returns the plugin.
func New() *NodeName { return &NodeName{} }

// Name returns "NodeName".
func (*NodeName) Name() string { return Name }

// PreFilter returns nil (nothing to check) when the pod names no node, and otherwise a filter that
// admits only the named node. It never rejects a pod outright, even when the named node is not in
// the snapshot: every node then fails the filter.
func (*NodeName) PreFilter(pod *snapshot.PodInfo, _ *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	if pod.Pod.Spec.NodeName == "" {
		return nil, snapshot.Verdict{}
	}
	return nameFilter(pod.Pod.Spec.NodeName), snapshot.Verdict{}
}

// nameFilter is the node name a pod asks for.
type nameFilter string

// NodeObjectOnly marks the filter as judging the node object alone (see decide.NodeObjectFilter).
func (nameFilter) NodeObjectOnly() {}

// Filter rejects, unresolvably, every node but the named one (and a NodeInfo without a node
// object, which has no name).
func (want nameFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.Node == nil || n.Node.Name != string(want) {
		return mismatchVerdict
	}
	return snapshot.Verdict{}
}
