// Package tainttoleration implements kube-scheduler's TaintToleration plugin and the toleration
// matching other plugins share.
//
// The filter keeps a pod off a node with a NoSchedule or NoExecute taint the pod does not
// tolerate; preemption cannot help there, so the verdict is unresolvable. The scorer prefers nodes
// with fewer PreferNoSchedule taints the pod does not tolerate: raw scores count those taints and
// Normalize maps them onto 0..100 reversed, so the node with the most such taints scores 0.
//
// Tolerates, ToleratesTaint and FindUntoleratedTaint are the matching rules alone, for
// NodeUnschedulable and PodTopologySpread.
package tainttoleration

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "TaintToleration"
	// ReasonUntolerated is the filter's reason, as kube-scheduler v1.37 words it.
	ReasonUntolerated = "node(s) had untolerated taint(s)"
)

var untoleratedVerdict = snapshot.RejectUnresolvable(ReasonUntolerated)

// TaintToleration is the plugin. It has no configuration and no state; the zero value is ready.
type TaintToleration struct{}

// New returns the plugin.
func New() *TaintToleration { return &TaintToleration{} }

// Name returns "TaintToleration".
func (*TaintToleration) Name() string { return Name }

// PreFilter returns the pod's taint check. It never rejects a pod outright.
func (*TaintToleration) PreFilter(pod *snapshot.PodInfo, _ *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	return filter{tolerations: pod.Pod.Spec.Tolerations}, snapshot.Verdict{}
}

// filter checks one pod's tolerations against each node's NoSchedule and NoExecute taints.
type filter struct {
	tolerations []v1.Toleration
}

// NodeObjectOnly marks the filter as judging the node object alone (see
// decide.NodeObjectFilter): most nodes have no taint or one, cheaper to check than to remember.
func (filter) NodeObjectOnly() {}

// Filter rejects, unresolvably, a node with a NoSchedule or NoExecute taint the pod does not
// tolerate. A NodeInfo without a node object has no taints.
func (f filter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if _, found := FindUntoleratedTaint(n.Taints, f.tolerations); found {
		return untoleratedVerdict
	}
	return snapshot.Verdict{}
}

// PreScore keeps the pod's tolerations that can tolerate a PreferNoSchedule taint (effect
// PreferNoSchedule or empty). It always returns a scorer, so that, as in kube-scheduler, every node
// scores 100 when no node has such a taint the pod does not tolerate.
func (*TaintToleration) PreScore(pod *snapshot.PodInfo, _ *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	var prefer []v1.Toleration
	for _, t := range pod.Pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == v1.TaintEffectPreferNoSchedule {
			prefer = append(prefer, t)
		}
	}
	return scorer{tolerations: prefer}
}

// scorer counts the PreferNoSchedule taints a pod does not tolerate.
type scorer struct {
	tolerations []v1.Toleration
}

// Score returns the number of the node's PreferNoSchedule taints the pod does not tolerate (a raw
// count; Normalize maps it to 0..100).
func (s scorer) Score(n *snapshot.NodeInfo) int64 {
	var count int64
	for i := range n.Taints {
		t := &n.Taints[i]
		if t.Effect == v1.TaintEffectPreferNoSchedule && !Tolerates(s.tolerations, t) {
			count++
		}
	}
	return count
}

// Normalize rescales the counts so that the highest count scores 0 and no untolerated taint scores
// decide.MaxNodeScore (all nodes score MaxNodeScore when no count is positive).
func (scorer) Normalize(scores []int64) {
	normalizeReverse(scores, decide.MaxNodeScore)
}

// normalizeReverse is kube-scheduler's default normalisation with reverse set: each score becomes
// maxScore - maxScore*score/highest, in integer arithmetic.
func normalizeReverse(scores []int64, maxScore int64) {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s)
	}
	for i, s := range scores {
		if highest == 0 {
			scores[i] = maxScore
			continue
		}
		scores[i] = maxScore - maxScore*s/highest
	}
}
