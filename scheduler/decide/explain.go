package decide

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Shortfaller is implemented by a NodeFilter that can say how much of each resource a node it
// rejects lacks (NodeResourcesFit). Only Explain calls it, on rejected nodes.
type Shortfaller interface {
	Shortfalls(n *snapshot.NodeInfo) []Shortfall
}

// Shortfall is how much of one resource a node lacks for a pod: the pod requests Requested and
// the node has Free left (cpu in millicores, pods as a count, everything else in the quantity's
// base unit). Free may be negative on an overcommitted node.
type Shortfall struct {
	Resource           v1.ResourceName
	Requested, Free    int64
	ExceedsAllocatable bool // more than the node's whole allocatable: no eviction helps
}

// Missing is how much more the node would need.
func (s Shortfall) Missing() int64 { return s.Requested - s.Free }

// Trace is what Explain records of one decision, node by node.
type Trace struct {
	// Nodes has one entry per node of the snapshot, in the snapshot's order.
	Nodes []NodeTrace
	// Scorers are the score plugins that scored this pod (a plugin with nothing to score is
	// left out), in the order of NodeTrace.Raw and Normalized.
	Scorers []ScorerWeight
	// Nominated is set when the pod was nominated to a node that fits: the decision takes it
	// without scoring any node.
	Nominated string
	// Wanted is how many feasible nodes the decision looks for before it stops filtering
	// (percentageOfNodesToScore); Start is the node (index in Nodes) where its search begins.
	Wanted, Start int
	// Searched is how many nodes a decision that stops at Wanted feasible nodes filters.
	Searched int

	index map[string]int // node name to its index in Nodes
}

// ScorerWeight names one score plugin and its weight.
type ScorerWeight struct {
	Name   string
	Weight int64
}

// NodeTrace is one node's part in a decision.
type NodeTrace struct {
	Node *snapshot.NodeInfo
	// Verdict is the first rejection (empty when the node is feasible), by the plugin RejectedBy.
	Verdict    snapshot.Verdict
	RejectedBy string
	// Shortfalls say how much the node lacks, when RejectedBy can tell (see Shortfaller).
	Shortfalls []Shortfall
	// Scored is set for the feasible nodes the decision ranked: the first Trace.Wanted feasible
	// nodes from Trace.Start. A feasible node that is not scored was outside that sample.
	Scored bool
	// Raw and Normalized are each scorer's score (see Trace.Scorers), Total the weighted sum of
	// the normalised scores; set when Scored.
	Raw, Normalized []int64
	Total           int64
}

// Feasible reports whether the pod passes every filter on the node.
func (n *NodeTrace) Feasible() bool { return n.Verdict.Fits() }

// Node returns the trace of the named node, nil when the snapshot has none.
func (t *Trace) Node(name string) *NodeTrace {
	if i, ok := t.index[name]; ok {
		return &t.Nodes[i]
	}
	return nil
}

// Explain is a dry run of Decide: it returns the decision Decide would make now for pod on snap
// (same node, same tie-break) and a trace of every node's verdict and scores. Unlike Decide it
// filters every node, not only the sample that percentageOfNodesToScore asks for, but it ranks
// and chooses within that sample as Decide does. It changes nothing a later Decide sees, and may
// run at the same time as Decide. The result's Diagnosis and Prepared are its own.
func (d *Decider) Explain(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (Result, *Trace) {
	d.mu.Lock()
	st := d.st.copyForDryRun()
	d.mu.Unlock()
	tr := &Trace{Nodes: make([]NodeTrace, len(snap.Nodes)), index: make(map[string]int, len(snap.Nodes))}
	for i, n := range snap.Nodes {
		tr.Nodes[i].Node = n
		tr.index[n.Name()] = i
	}
	res := d.decide(st, nil, pod, snap, tr)
	return res, tr
}

// rejectAll records one verdict for every node (a PreFilter rejected the pod outright).
func (t *Trace) rejectAll(nodes []*snapshot.NodeInfo, v snapshot.Verdict, plugin string) {
	if t == nil {
		return
	}
	for i := range t.Nodes {
		t.Nodes[i].Verdict, t.Nodes[i].RejectedBy = v, plugin
	}
	t.Searched = len(nodes)
}

// rejectOthers records v for every node p's NodeRestricters exclude.
func (t *Trace) rejectOthers(nodes []*snapshot.NodeInfo, p *Prepared, v snapshot.Verdict, plugin string) {
	if t == nil {
		return
	}
	for _, n := range nodes {
		if !p.allows(n.Name()) {
			nt := &t.Nodes[t.index[n.Name()]]
			nt.Verdict, nt.RejectedBy = v, plugin
		}
	}
}

// nominated records a decision taken on the nominated node: every node is still filtered, for
// the record, but none is scored.
func (t *Trace) nominated(p *Prepared, snap *snapshot.Snapshot, name string) {
	if t == nil {
		return
	}
	t.Nominated = name
	for i, n := range snap.Nodes {
		if !p.allows(n.Name()) {
			continue // recorded by rejectOthers
		}
		v, f := p.filter(n, nil)
		if !v.Fits() {
			t.reject(i, n, v, p, f)
		}
	}
}

func (t *Trace) reject(i int, n *snapshot.NodeInfo, v snapshot.Verdict, p *Prepared, filter int) {
	nt := &t.Nodes[i]
	nt.Verdict, nt.RejectedBy = v, p.names[filter]
	if sf, ok := p.checks[filter].(Shortfaller); ok {
		nt.Shortfalls = sf.Shortfalls(n)
	}
}

// filtered records the verdicts of a search over all from start (verdicts by offset).
func (t *Trace) filtered(all []*snapshot.NodeInfo, start int, verdicts []snapshot.Verdict, rejectedBy []int16, passed []bool, p *Prepared) {
	n := len(all)
	t.Start = t.index[all[start].Name()]
	for off := range verdicts {
		node := all[(start+off)%n]
		if !passed[off] {
			t.reject(t.index[node.Name()], node, verdicts[off], p, int(rejectedBy[off]))
		}
	}
}

// rawScores records the scorers and their raw scores (raw holds one run of len(feasible)
// scores per scorer).
func (t *Trace) rawScores(feasible []*snapshot.NodeInfo, names []string, weights, raw []int64) {
	if t == nil {
		return
	}
	t.Scorers = t.Scorers[:0]
	for s, name := range names {
		t.Scorers = append(t.Scorers, ScorerWeight{Name: name, Weight: weights[s]})
	}
	t.scores(feasible, raw, func(nt *NodeTrace) *[]int64 { return &nt.Raw })
}

// normalizedScores records the normalised scores and the totals.
func (t *Trace) normalizedScores(feasible []*snapshot.NodeInfo, normalized, totals []int64) {
	if t == nil {
		return
	}
	t.scores(feasible, normalized, func(nt *NodeTrace) *[]int64 { return &nt.Normalized })
	for i, node := range feasible {
		t.Nodes[t.index[node.Name()]].Total = totals[i]
	}
}

func (t *Trace) scores(feasible []*snapshot.NodeInfo, all []int64, field func(*NodeTrace) *[]int64) {
	n := len(feasible)
	for i, node := range feasible {
		nt := &t.Nodes[t.index[node.Name()]]
		nt.Scored = true
		out := make([]int64, len(t.Scorers))
		for s := range t.Scorers {
			out[s] = all[s*n+i]
		}
		*field(nt) = out
	}
}
