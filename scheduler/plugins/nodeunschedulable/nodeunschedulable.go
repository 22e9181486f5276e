// Package nodeunschedulable implements kube-scheduler's NodeUnschedulable plugin: a cordoned node
// (spec.unschedulable) takes no new pods unless the pod tolerates the
// node.kubernetes.io/unschedulable:NoSchedule taint. Uncordoning, not preemption, is what helps,
// so the verdict is unresolvable.
package nodeunschedulable

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "NodeUnschedulable"
	// ReasonUnschedulable is the filter's reason, as kube-scheduler v1.37 words it.
	ReasonUnschedulable = "node(s) were unschedulable"
)

// unschedulableTaint is the taint a cordoned node is treated as having.
var unschedulableTaint = v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}

var unschedulableVerdict = snapshot.RejectUnresolvable(ReasonUnschedulable)

// NodeUnschedulable is the plugin. It has no configuration and no state; the zero value is ready.
type NodeUnschedulable struct{}

// New returns the plugin.
func New() *NodeUnschedulable { return &NodeUnschedulable{} }

// Name returns "NodeUnschedulable".
func (*NodeUnschedulable) Name() string { return Name }

// PreFilter returns nil (nothing to check) for a pod that tolerates the unschedulable taint, and
// otherwise a filter that rejects cordoned nodes. It never rejects a pod outright.
func (*NodeUnschedulable) PreFilter(pod *snapshot.PodInfo, _ *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	if tainttoleration.Tolerates(pod.Pod.Spec.Tolerations, &unschedulableTaint) {
		return nil, snapshot.Verdict{}
	}
	return cordonFilter{}, snapshot.Verdict{}
}

// cordonFilter rejects cordoned nodes for a pod that does not tolerate them.
type cordonFilter struct{}

// NodeObjectOnly marks the filter as judging the node object alone (see decide.NodeObjectFilter):
// it reads one flag, cheaper than remembering.
func (cordonFilter) NodeObjectOnly() {}

// Filter rejects, unresolvably, a node whose spec.unschedulable is set. A NodeInfo without a node
// object is let through: there is nothing to judge.
func (cordonFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.Unschedulable {
		return unschedulableVerdict
	}
	return snapshot.Verdict{}
}
