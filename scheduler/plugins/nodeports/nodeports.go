// Package nodeports implements kube-scheduler's NodePorts plugin: a pod that binds host ports fits
// only nodes where none of those ports is already bound (same protocol and port, on the same
// address or with either side on the wildcard address 0.0.0.0). Evicting the pod holding a port
// frees it, so the verdict is resolvable by preemption.
package nodeports

import (
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "NodePorts"
	// ReasonPortsTaken is the filter's reason, as kube-scheduler v1.37 words it.
	ReasonPortsTaken = "node(s) didn't have free ports for the requested pod ports"
)

var portsTakenVerdict = snapshot.Reject(ReasonPortsTaken)

// NodePorts is the plugin. It has no configuration and no state; the zero value is ready.
type NodePorts struct{}

// New returns the plugin.
func New() *NodePorts { return &NodePorts{} }

// Name returns "NodePorts".
func (*NodePorts) Name() string { return Name }

// PreFilter collects the host ports the pod binds (snapshot.PodHostPorts); it returns nil (nothing
// to check) when there are none. It never rejects a pod outright.
func (*NodePorts) PreFilter(pod *snapshot.PodInfo, _ *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	want := snapshot.PodHostPorts(pod.Pod)
	if len(want) == 0 {
		return nil, snapshot.Verdict{}
	}
	return portsFilter(want), snapshot.Verdict{}
}

// portsFilter is the host ports one pod binds.
type portsFilter []snapshot.HostPort

// Filter rejects a node where any of the pod's host ports conflicts with one in use.
func (want portsFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.UsedPorts.Len() == 0 {
		return snapshot.Verdict{}
	}
	for _, hp := range want {
		if n.UsedPorts.Conflicts(hp) {
			return portsTakenVerdict
		}
	}
	return snapshot.Verdict{}
}
