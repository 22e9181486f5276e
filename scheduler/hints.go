package scheduler

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodedeclaredfeatures"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodename"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeunschedulable"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/queue"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Queueing hints for node events, as kube-scheduler's: a node added or changed requeues an
// unschedulable pod only if one of the plugins that rejected it could now pass it there.
//
// The plugins below judge a node by the node alone, so berth asks each of them itself, on the
// bare node (no pods on it): the same question upstream's hints ask, answered by the filter that
// rejected the pod. A node that a plugin passes now and passed before changes nothing for that
// plugin, except NodeResourcesFit: the node may have been full, so for it a change helps when the
// bare node fits and its allocatable grew in something the pod requests (or in pods). Every other
// rejecting plugin interested in the event requeues the pod, as upstream's plugins without a
// hint for it do.
var nodeLocalPlugins = map[string]bool{
	nodeunschedulable.Name:    true,
	nodename.Name:             true,
	tainttoleration.Name:      true,
	nodeaffinity.Name:         true,
	noderesources.FitName:     true,
	nodedeclaredfeatures.Name: true,
}

// nodeJudges returns the profile's filters that judge a node by the node alone, by name.
func nodeJudges(filters []decide.FilterPlugin) map[string]decide.FilterPlugin {
	judges := map[string]decide.FilterPlugin{}
	for _, f := range filters {
		if nodeLocalPlugins[f.Name()] {
			judges[f.Name()] = f
		}
	}
	return judges
}

// nodeEventHelps reports whether the node event ev (NodeAdd with oldNode nil, or NodeChange) could
// make pod, rejected by the plugins rejectedBy in profile p, fit.
func nodeEventHelps(p *Profile, pod *v1.Pod, rejectedBy []string, ev queue.Events, oldNode, newNode *v1.Node) bool {
	if len(rejectedBy) == 0 {
		return true
	}
	var pi *snapshot.PodInfo // built once, when a judge needs it
	for _, name := range rejectedBy {
		in, ok := p.Interest[name]
		if !ok {
			return true // a plugin of unknown interest: every event may help
		}
		if in&ev == 0 {
			continue
		}
		judge, ok := p.NodeJudges[name]
		if !ok {
			return true
		}
		if pi == nil {
			pi = snapshot.NewPodInfo(pod)
		}
		if judgeHelps(judge, pi, oldNode, newNode) {
			return true
		}
	}
	return false
}

// judgeHelps reports whether the node change could let judge pass the pod where it did not.
func judgeHelps(judge decide.FilterPlugin, pi *snapshot.PodInfo, oldNode, newNode *v1.Node) bool {
	after := snapshot.NewNodeInfo(newNode)
	if !passes(judge, pi, after) {
		return false
	}
	if oldNode == nil {
		return true
	}
	before := snapshot.NewNodeInfo(oldNode)
	if judge.Name() == noderesources.FitName {
		return grewForPod(&pi.Requests, &before.Allocatable, &after.Allocatable)
	}
	return !passes(judge, pi, before)
}

// passes reports whether judge lets pod onto the bare node n. The judges read the node alone,
// so their PreFilter needs no snapshot.
func passes(judge decide.FilterPlugin, pi *snapshot.PodInfo, n *snapshot.NodeInfo) bool {
	f, v := judge.PreFilter(pi, nil)
	if !v.Fits() {
		return false
	}
	return f == nil || f.Filter(n).Fits()
}

// grewForPod reports whether after has more pods, or more of a resource the pod requests, than
// before.
func grewForPod(req, before, after *snapshot.Resource) bool {
	switch {
	case after.AllowedPodNumber > before.AllowedPodNumber,
		req.MilliCPU > 0 && after.MilliCPU > before.MilliCPU,
		req.Memory > 0 && after.Memory > before.Memory,
		req.EphemeralStorage > 0 && after.EphemeralStorage > before.EphemeralStorage:
		return true
	}
	for name, q := range req.Scalar {
		if q > 0 && after.Scalar[name] > before.Scalar[name] {
			return true
		}
	}
	return false
}
