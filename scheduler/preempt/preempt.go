package preempt

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Args are DefaultPreemptionArgs: how many candidate nodes a preemption looks for.
type Args struct {
	MinCandidateNodesPercentage, MinCandidateNodesAbsolute int32
}

// DefaultArgs are kube-scheduler v1.37's defaults (10%, at least 100).
func DefaultArgs() Args { return Args{MinCandidateNodesPercentage: 10, MinCandidateNodesAbsolute: 100} }

// Request is one preemption attempt, after the preemptor fit no node.
type Request struct {
	Preemptor *snapshot.PodInfo
	Snapshot  *snapshot.Snapshot
	// Potential are the nodes where preemption might help: those the filters rejected for a
	// reason preemption could resolve (decide.Diagnosis.Resolvable).
	Potential []*snapshot.NodeInfo
	// Nominated is the node the preemptor is nominated to ("" for none), and
	// NominatedUnresolvable tells that the filters rejected it for good, so that the preemptor
	// may preempt again (see Eligible).
	Nominated             string
	NominatedUnresolvable bool
	Filter                Filter
	PDBs                  []PDB
	Args                  Args
	// Offset picks where the search starts among Potential (upstream: random).
	Offset func(n int) int
	// Now stands in for the start time of victims that have not started.
	Now time.Time
}

// Preempt runs one preemption attempt as upstream's DefaultPreemption does: check that the
// preemptor may preempt, search the potential nodes for candidates, pick the cheapest. It returns
// the chosen candidate, or nil and the part upstream adds to the FailedScheduling message
// ("preemption: ..."), e.g. "preemption: 0/3 nodes are available: 3 No preemption victims found
// for incoming pod."; eligible is false when the preemptor may not preempt now (Eligible), so
// that no search was made.
func Preempt(r Request) (c *Candidate, msg string, eligible bool) {
	if ok, reason := Eligible(r.Preemptor.Pod, r.Nominated, r.Snapshot, r.NominatedUnresolvable); !ok {
		return nil, "preemption: " + reason, false
	}
	numNodes := len(r.Snapshot.Nodes)
	var rejected map[string]snapshot.Verdict
	if len(r.Potential) > 0 {
		want := NumCandidates(len(r.Potential), r.Args.MinCandidateNodesPercentage, r.Args.MinCandidateNodesAbsolute)
		var cands []Candidate
		cands, rejected = Search(r.Preemptor, r.Potential, r.Offset(len(r.Potential)), want, r.Filter, r.PDBs, r.Now)
		if c := PickNode(cands, r.Now); c != nil {
			return c, "", true
		}
	}
	return nil, "preemption: " + message(numNodes, rejected), true
}

// notHelpful is upstream's reason for the nodes preemption was not tried on.
const notHelpful = "Preemption is not helpful for scheduling"

// message renders the nodes' verdicts in kube-scheduler's words: "0/N nodes are available:" and
// each reason with its count, sorted; nodes without a verdict count as notHelpful.
func message(numNodes int, rejected map[string]snapshot.Verdict) string {
	counts := map[string]int{}
	for _, v := range rejected {
		for _, reason := range v.Reasons {
			counts[reason]++
		}
	}
	if rest := numNodes - len(rejected); rest > 0 {
		counts[notHelpful] += rest
	}
	parts := make([]string, 0, len(counts))
	for reason, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, reason))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", numNodes, strings.Join(parts, ", "))
}
