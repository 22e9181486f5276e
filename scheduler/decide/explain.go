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

// Detailer is implemented by a NodeFilter that can say in words how far a node it rejects is
// from passing, where no Shortfall fits (PodTopologySpread: the domain counts that make the
// skew). Only Explain calls it, on rejected nodes.
type Detailer interface {
	Detail(n *snapshot.NodeInfo) string
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

	snap   *snapshot.Snapshot // the snapshot explained: its node positions are Nodes' indexes
	ranked []int              // index in Nodes of each ranked node, in the decision's order
	dry    *state             // the dry run's decision state, its scratch space kept for the next
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
	// Detail says how far the node is from passing, when RejectedBy can tell (see Detailer).
	Detail string
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
	if t.snap == nil {
		return nil
	}
	if i, ok := t.snap.Position(name); ok {
		return &t.Nodes[i]
	}
	return nil
}

// pos is the index in Nodes of a node of the snapshot explained.
func (t *Trace) pos(name string) int {
	i, _ := t.snap.Position(name)
	return i
}

// reset readies t to record a dry run on snap, reusing its memory.
func (t *Trace) reset(snap *snapshot.Snapshot) {
	nodes := t.Nodes
	if cap(nodes) < len(snap.Nodes) {
		nodes = make([]NodeTrace, len(snap.Nodes))
	} else {
		nodes = nodes[:len(snap.Nodes)]
		clear(nodes)
	}
	for i, n := range snap.Nodes {
		nodes[i].Node = n
	}
	*t = Trace{Nodes: nodes, Scorers: t.Scorers[:0], snap: snap, ranked: t.ranked[:0], dry: t.dry}
}

// Explain is a dry run of Decide: it returns the decision Decide would make now for pod on snap
// (same node, same tie-break) and a trace of every node's verdict and scores. Unlike Decide it
// filters every node, not only the sample that percentageOfNodesToScore asks for, but it ranks
// and chooses within that sample as Decide does. It changes nothing a later Decide sees, and may
// run at the same time as Decide. The result's Diagnosis and Prepared are its own.
func (d *Decider) Explain(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (Result, *Trace) {
	tr := &Trace{}
	return d.ExplainInto(tr, pod, snap), tr
}

// ExplainInto is Explain recording into tr, which it empties first. It reuses tr's memory, so
// that a caller explaining one pod after another can keep one Trace for all of them; what the
// trace held before is gone (copy out what must outlive the next call).
func (d *Decider) ExplainInto(tr *Trace, pod *snapshot.PodInfo, snap *snapshot.Snapshot) Result {
	d.mu.Lock()
	tr.dry = d.st.dryRunFrom(tr.dry)
	d.mu.Unlock()
	tr.reset(snap)
	return d.decide(tr.dry, nil, pod, snap, tr)
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
			nt := &t.Nodes[t.pos(n.Name())]
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
			t.Nodes[i].Verdict, t.Nodes[i].RejectedBy = p.notAllowed(), p.restrictedBy[0]
			continue
		}
		v, f := p.filter(n, nil, nil)
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
	if d, ok := p.checks[filter].(Detailer); ok {
		nt.Detail = d.Detail(n)
	}
}

// filtered records the verdicts of a search over all from start (verdicts by offset).
func (t *Trace) filtered(all []*snapshot.NodeInfo, start int, verdicts []snapshot.Verdict, rejectedBy []int16, passed []bool, p *Prepared) {
	n := len(all)
	t.Start = t.pos(all[start].Name())
	for off := range verdicts {
		node := all[(start+off)%n]
		if !passed[off] {
			t.reject(t.pos(node.Name()), node, verdicts[off], p, int(rejectedBy[off]))
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
	t.ranked = t.ranked[:0]
	for _, node := range feasible {
		t.ranked = append(t.ranked, t.pos(node.Name()))
	}
	t.scores(raw, func(nt *NodeTrace) *[]int64 { return &nt.Raw })
}

// normalizedScores records the normalised scores and the totals (of the nodes rawScores had).
func (t *Trace) normalizedScores(normalized, totals []int64) {
	if t == nil {
		return
	}
	t.scores(normalized, func(nt *NodeTrace) *[]int64 { return &nt.Normalized })
	for i, at := range t.ranked {
		t.Nodes[at].Total = totals[i]
	}
}

// scores copies one score per scorer and ranked node out of all (scorer-major) into the nodes'
// field, in one allocation.
func (t *Trace) scores(all []int64, field func(*NodeTrace) *[]int64) {
	n, k := len(t.ranked), len(t.Scorers)
	flat := make([]int64, n*k)
	for i, at := range t.ranked {
		nt := &t.Nodes[at]
		nt.Scored = true
		out := flat[i*k : (i+1)*k : (i+1)*k]
		for s := range k {
			out[s] = all[s*n+i]
		}
		*field(nt) = out
	}
}
