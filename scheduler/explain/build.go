package explain

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/queue"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// ListLimit is how many feasible nodes, and how many rejected nodes per group, a report lists
// when the caller names no nodes.
const ListLimit = 10

// Decider is the pod's profile's decision (a decide.Decider): ExplainInto is the dry run,
// DryPrepare checks the hints. Neither reports to the decider's metrics recorder.
type Decider interface {
	ExplainInto(tr *decide.Trace, pod *snapshot.PodInfo, snap *snapshot.Snapshot) decide.Result
	DryPrepare(pod *snapshot.PodInfo, snap *snapshot.Snapshot) *decide.Prepared
}

// traces are dry-run traces to reuse: one entry per node, they are most of what an explain
// would otherwise allocate.
var traces = sync.Pool{New: func() any { return new(decide.Trace) }}

// Input is what Build explains.
type Input struct {
	// Pod is the pod as the informer has it; a pod with spec.nodeName is explained as bound.
	Pod     *v1.Pod
	Profile string
	Decider Decider
	// Snapshot is the cluster to decide on; for a bound pod, without the pod itself.
	Snapshot *snapshot.Snapshot
	// Queue is the pod's queue status; nil when the queue does not hold it.
	Queue *queue.Status
	// Nodes, when not empty, are the only nodes to list, each in full.
	Nodes []string
}

// Build runs the dry run and builds the report. It changes nothing: not the snapshot, the
// decider's state for the next real decision, nor the queue.
func Build(in Input) *Report {
	pod := in.Pod
	r := &Report{
		Pod:     PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)},
		Profile: in.Profile,
	}
	for _, g := range pod.Spec.SchedulingGates {
		r.Gates = append(r.Gates, g.Name)
	}
	if q := in.Queue; q != nil {
		r.Queue = &QueueState{State: q.State, Attempts: q.Attempts, Enqueued: q.Enqueued, LastMessage: q.Message}
		if !q.LastAttempt.IsZero() {
			last := q.LastAttempt
			r.Queue.LastAttempt = &last
		}
	}
	if pod.Spec.NodeName != "" {
		r.BoundTo, r.Recomputed = pod.Spec.NodeName, true
		pod = pod.DeepCopy()
		pod.Spec.NodeName = ""
	}
	pi := snapshot.NewPodInfo(pod)
	tr := traces.Get().(*decide.Trace)
	defer traces.Put(tr) // the report keeps nothing of it
	res := in.Decider.ExplainInto(tr, pi, in.Snapshot)
	r.Decision = Decision{Node: res.Node, Nominated: tr.Nominated != "", Nodes: len(tr.Nodes), Sample: tr.Wanted}
	for _, s := range tr.Scorers {
		r.Decision.Scorers = append(r.Decision.Scorers, Scorer(s))
	}
	switch {
	case res.Err != nil:
		r.Decision.Message, r.Decision.Error = res.Err.Error(), true
	case res.Node == "" && res.Diagnosis != nil:
		r.Decision.Message = res.Diagnosis.Message()
	}
	groups := map[groupKey][]*decide.NodeTrace{}
	for i := range tr.Nodes {
		nt := &tr.Nodes[i]
		if nt.Feasible() {
			r.Decision.Feasible++
			continue
		}
		k := groupKey{nt.RejectedBy, strings.Join(nt.Verdict.Reasons, ", ")}
		groups[k] = append(groups[k], nt)
	}
	keys := sortedGroups(groups)
	for _, k := range keys {
		r.Summary.Groups = append(r.Summary.Groups, Group{Plugin: k.plugin, Reason: k.reason, Count: len(groups[k])})
	}
	if res.Node == "" && res.Err == nil {
		r.Summary.Hints = hints(in.Decider, pi, in.Snapshot, tr)
	}
	r.list(tr, res.Node, groups, keys, in.Nodes)
	return r
}

type groupKey struct{ plugin, reason string }

// sortedGroups orders the groups by size, largest first, then by plugin and reason.
func sortedGroups(groups map[groupKey][]*decide.NodeTrace) []groupKey {
	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if len(groups[a]) != len(groups[b]) {
			return len(groups[a]) > len(groups[b])
		}
		if a.plugin != b.plugin {
			return a.plugin < b.plugin
		}
		return a.reason < b.reason
	})
	return keys
}

// list fills Feasible and Rejected: the named nodes when only is not empty; else the best
// ListLimit feasible nodes (ranked ones by total, the chosen first) and the first ListLimit
// nodes of each rejection group.
func (r *Report) list(tr *decide.Trace, chosen string, groups map[groupKey][]*decide.NodeTrace, keys []groupKey, only []string) {
	r.Feasible, r.Rejected = []Node{}, []Node{}
	if len(only) > 0 {
		for _, name := range only {
			if nt := tr.Node(name); nt != nil {
				r.add(nt, chosen, tr)
			}
		}
		r.Omitted = len(tr.Nodes) - len(r.Feasible) - len(r.Rejected)
		return
	}
	for _, nt := range bestFeasible(tr, tr.Node(chosen), ListLimit) {
		r.add(nt, chosen, tr)
	}
	for _, k := range keys {
		for _, nt := range groups[k][:min(len(groups[k]), ListLimit)] {
			r.add(nt, chosen, tr)
		}
	}
	r.Omitted = len(tr.Nodes) - len(r.Feasible) - len(r.Rejected)
}

// bestFeasible returns the k best feasible nodes of tr, best first: chosen (when feasible), then
// the ranked nodes by total, highest first, then the nodes not ranked; ties keep the snapshot's
// order. One pass, keeping the best k so far, with no node's name read: a full sort touched every
// node object, most of an explain's listing time at 1000 nodes and more.
func bestFeasible(tr *decide.Trace, chosen *decide.NodeTrace, k int) []*decide.NodeTrace {
	better := func(a, b *decide.NodeTrace) bool { // a strictly before b
		if (a == chosen) != (b == chosen) {
			return a == chosen
		}
		if a.Scored != b.Scored {
			return a.Scored
		}
		return a.Total > b.Total
	}
	best := make([]*decide.NodeTrace, 0, k)
	for i := range tr.Nodes {
		nt := &tr.Nodes[i]
		if !nt.Feasible() || (len(best) == k && !better(nt, best[k-1])) {
			continue
		}
		at := len(best) // after every node it is not strictly better than: ties keep their order
		for at > 0 && better(nt, best[at-1]) {
			at--
		}
		if len(best) < k {
			best = append(best, nil)
		}
		copy(best[at+1:], best[at:len(best)-1])
		best[at] = nt
	}
	return best
}

func (r *Report) add(nt *decide.NodeTrace, chosen string, tr *decide.Trace) {
	n := Node{Name: nt.Node.Name(), Feasible: nt.Feasible(), Chosen: nt.Node.Name() == chosen}
	if !n.Feasible {
		n.RejectedBy, n.Reasons = nt.RejectedBy, nt.Verdict.Reasons
		for _, s := range nt.Shortfalls {
			n.Missing = append(n.Missing, fmt.Sprintf("%s: requests %s, free %s", s.Resource,
				quantity(s.Resource, s.Requested), quantity(s.Resource, s.Free)))
		}
		if nt.Detail != "" {
			n.Missing = append(n.Missing, nt.Detail)
		}
		r.Rejected = append(r.Rejected, n)
		return
	}
	if nt.Scored {
		n.Ranked, n.Total = true, nt.Total
		for i, s := range tr.Scorers {
			n.Scores = append(n.Scores, Score{Plugin: s.Name, Raw: nt.Raw[i], Normalized: nt.Normalized[i], Weight: s.Weight})
		}
	}
	r.Feasible = append(r.Feasible, n)
}

// quantity formats an amount of a resource as Kubernetes writes it: cpu from millicores
// ("500m", "2"), memory and storage in binary units ("512Mi"), the rest as plain numbers.
func quantity(name v1.ResourceName, v int64) string {
	switch {
	case name == v1.ResourceCPU:
		return resource.NewMilliQuantity(v, resource.DecimalSI).String()
	case name == v1.ResourceMemory, name == v1.ResourceEphemeralStorage, strings.HasPrefix(string(name), v1.ResourceHugePagesPrefix):
		return resource.NewQuantity(v, resource.BinarySI).String()
	default:
		return resource.NewQuantity(v, resource.DecimalSI).String()
	}
}
