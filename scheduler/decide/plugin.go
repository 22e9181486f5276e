// Package decide makes the scheduling decision: given a pod and a snapshot of the cluster it runs
// the filter plugins, scores the nodes that pass and picks one. It is a pure function of its inputs:
// no API calls, no clock, no goroutines that outlive a call. (One plugin reads a clock: a
// DynamicResources device search that outlasts filterTimeout fails the decision, as upstream's
// does; a decision that completes does not depend on the time.) For a pod that fits nowhere, the
// filters' PostFilter proposals (see PostFilterer) are data in the result, carried out by the
// caller.
package decide

import "github.com/berth-scheduler/berth/scheduler/snapshot"

// MaxNodeScore is the highest score a node can get from one plugin, before weighting.
const MaxNodeScore int64 = 100

// FilterPlugin judges whether a pod fits a node. Plugins are stateless between pods: everything a
// plugin learns about one pod lives in the NodeFilter it returns for that pod.
type FilterPlugin interface {
	Name() string
	// PreFilter prepares the checks for pod against snap, computing once what every node's check
	// needs (the pod's typed per-cycle state). It returns a nil NodeFilter when the plugin has
	// nothing to check for this pod. A verdict that does not fit rejects the pod on every node
	// (for example an invalid spec), and the NodeFilter is then ignored.
	PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (NodeFilter, snapshot.Verdict)
}

// NodeFilter checks one prepared pod against one node. Filter must be safe for concurrent calls on
// different nodes and must not modify the node.
type NodeFilter interface {
	Filter(n *snapshot.NodeInfo) snapshot.Verdict
}

// NodeObjectFilter is a NodeFilter whose verdict depends on nothing but the node object (its
// spec, labels and taints, as NodeInfo.SetNode keeps them) and the prepared pod: not on the
// node's pods, nor on other nodes. Filters cheap enough to run every time (a flag, a short taint
// list) are only NodeObjectFilters; costlier ones are NodeOnlyFilters, whose verdicts the Decider
// remembers (see nodeMemo), as long as only NodeObjectFilters run before them.
type NodeObjectFilter interface {
	NodeFilter
	// NodeObjectOnly marks the filter; it does nothing.
	NodeObjectOnly()
}

// NodeOnlyFilter is a NodeObjectFilter whose verdicts the Decider remembers per node object
// (NodeInfo.NodeVersion) for the pods whose filters write the same keys, so that the pods of one
// workload judge each node object once while it lasts.
type NodeOnlyFilter interface {
	NodeObjectFilter
	// AppendKey appends to b an encoding of everything of the pod (and of the plugin's
	// configuration) the verdicts depend on: two filters of the plugin that append the same
	// bytes must give every node object the same verdict. false: no key (nothing is
	// remembered for the pod).
	AppendKey(b []byte) ([]byte, bool)
}

// ScorePlugin ranks the nodes a pod fits on.
type ScorePlugin interface {
	Name() string
	// PreScore prepares the scoring of pod over the feasible nodes. It returns nil when the plugin
	// has nothing to score for this pod (every node then gets 0 from it).
	PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, feasible []*snapshot.NodeInfo) NodeScorer
}

// NodeScorer scores one prepared pod on one feasible node. Score must be safe for concurrent calls.
// Unless the scorer is also a Normalizer, scores must already lie in 0..MaxNodeScore.
type NodeScorer interface {
	Score(n *snapshot.NodeInfo) int64
}

// Normalizer is implemented by a NodeScorer whose raw scores need rescaling once all feasible nodes
// are scored. Normalize rewrites scores (same order as the feasible nodes) into 0..MaxNodeScore.
type Normalizer interface {
	Normalize(scores []int64)
}

// NodeRestricter is implemented by a NodeFilter that knows, before filtering, the only node names
// that can pass (as NodeAffinity does for required matchFields on metadata.name). NodeNames returns
// nil when any node may pass. Only the named nodes are then filtered at all; the others count as
// rejected by the plugin, in kube-scheduler's words.
type NodeRestricter interface {
	NodeNames() []string
}

// PodChanger is implemented by a NodeFilter whose prepared state counts pods on other nodes than
// the one it judges (inter-pod affinity, topology spread). What-if checks (pods nominated to a
// node, preemption's victims) change one node's pods; node-local filters see that in the changed
// NodeInfo they are given, while a PodChanger is cloned and told which pods to count as added or
// removed, as kube-scheduler's PreFilter extensions AddPod and RemovePod are.
type PodChanger interface {
	NodeFilter
	// Clone returns an independent copy (also a PodChanger) that AddPod and RemovePod may change.
	Clone() NodeFilter
	// AddPod updates the prepared state as if p ran on n.
	AddPod(p *snapshot.PodInfo, n *snapshot.NodeInfo)
	// RemovePod updates the prepared state as if p, running on n, were gone.
	RemovePod(p *snapshot.PodInfo, n *snapshot.NodeInfo)
}

// Reserver is implemented by a NodeFilter that has something to reserve for the pod on the node
// the decision chooses (VolumeBinding: the volumes to bind and provision there). Reserve returns
// that plan, computed from the prepared state and the snapshot alone, or nil when there is
// nothing to reserve. The scheduler acts on the plans in its binding cycle (reserve, pre-bind,
// bind; undone in reverse on failure); the decision itself stays free of side effects.
type Reserver interface {
	NodeFilter
	Reserve(n *snapshot.NodeInfo) Plan
}

// PostFilterer is implemented by a NodeFilter that has something to propose when the pod fits no
// node, as kube-scheduler's PostFilter plugins other than preemption do (DynamicResources: to
// deallocate a claim). After a search that found no node, the decision calls PostFilter once with
// the nodes this filter rejected and its verdicts, in the order they were filtered (none when an
// earlier filter rejected every node). It returns a plan for the scheduler to carry out, or nil;
// like Reserve, it reads only the prepared state and the nodes.
type PostFilterer interface {
	NodeFilter
	PostFilter(rejected []Rejection) Plan
}

// Rejection is a node a filter rejected, with the filter's verdict.
type Rejection struct {
	Node    *snapshot.NodeInfo
	Verdict snapshot.Verdict
}

// Plan is one plugin's reservation for a pod on its chosen node (see Reserver), or its proposal
// for a pod that fits nowhere (see PostFilterer). Its concrete type belongs to the plugin; the
// scheduler knows the ones it acts on.
type Plan interface {
	// PluginName names the plugin that made the plan.
	PluginName() string
}

// NormalizeToMax scales scores linearly so that the highest becomes MaxNodeScore (all stay 0 when
// the highest is 0): kube-scheduler's DefaultNormalizeScore, for plugins whose Normalize is that.
func NormalizeToMax(scores []int64) {
	var highest int64
	for _, v := range scores {
		highest = max(highest, v)
	}
	if highest == 0 {
		return
	}
	for i, v := range scores {
		scores[i] = MaxNodeScore * v / highest
	}
}
