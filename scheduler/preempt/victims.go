// Package preempt chooses what a pod that fits nowhere may evict, as kube-scheduler v1.37's
// DefaultPreemption does: on each candidate node, the fewest and least important lower-priority
// pods whose removal lets the pod fit, respecting PodDisruptionBudgets where it can; then the one
// node whose victims cost least.
//
// It is pure: it reads a node and the budgets, asks a Fits function whether the preemptor fits a
// changed copy of the node, and returns data. It makes no API call and starts no goroutine; the
// scheduling loop acts on its answer (nominates the preemptor, deletes the victims).
package preempt

import (
	"math"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Filter runs every filter for the preemptor on node, a changed copy of a snapshot node from
// which the pods in removed are gone, with the rest of the cluster as the snapshot has it, and
// returns the first rejection (empty when the preemptor fits). Filters that count pods across
// nodes (topology spread, inter-pod affinity) must count the removed pods as gone (see
// decide.Prepared.Check).
type Filter func(node *snapshot.NodeInfo, removed []*snapshot.PodInfo) snapshot.Verdict

// PDB is a PodDisruptionBudget as preemption reads it.
type PDB struct {
	Namespace string
	// Selector selects the pods the budget covers; nil, or an empty selector, covers none (as
	// upstream treats a budget whose selector is missing, empty or invalid).
	Selector labels.Selector
	// DisruptionsAllowed is status.disruptionsAllowed.
	DisruptionsAllowed int32
	// DisruptedPods are the names in status.disruptedPods: evictions the API server already
	// counted, which do not use up the budget again.
	DisruptedPods map[string]bool
}

// covers reports whether the budget counts an eviction of pod against itself.
func (b *PDB) covers(pod *v1.Pod) bool {
	if b.Namespace != pod.Namespace || b.Selector == nil || b.Selector.Empty() || len(pod.Labels) == 0 {
		return false
	}
	return b.Selector.Matches(labels.Set(pod.Labels)) && !b.DisruptedPods[pod.Name]
}

// Candidate is a node on which the preemptor fits once its Victims are gone.
type Candidate struct {
	Node *snapshot.NodeInfo
	// Victims are the pods to evict, most important first.
	Victims []*snapshot.PodInfo
	// PDBViolations counts the victims whose eviction a budget does not allow.
	PDBViolations int
}

// NoVictims is why a node that runs no pod of lower priority than the preemptor is no candidate,
// in upstream's words.
const NoVictims = "No preemption victims found for incoming pod"

// SelectVictims finds the victims for preemptor on node, as upstream does: it removes every pod
// of lower priority, checks that the preemptor then fits (else the node is no candidate), and
// puts pods back, most important first, keeping each that still lets the preemptor fit: first
// those whose eviction a budget forbids, then the others. The pods left out are the victims.
//
// now stands in for the start time of pods that have not started (upstream uses the clock). The
// node is not changed. When the node is no candidate, the verdict says why: NoVictims, or the
// filters' rejection with every lower-priority pod gone.
func SelectVictims(preemptor *snapshot.PodInfo, node *snapshot.NodeInfo, filter Filter, pdbs []PDB, now time.Time) (Candidate, snapshot.Verdict) {
	prio := Priority(preemptor.Pod)
	var potential []*snapshot.PodInfo
	for _, p := range node.Pods {
		if Priority(p.Pod) < prio {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return Candidate{}, snapshot.RejectUnresolvable(NoVictims)
	}
	trial := node.Clone()
	for _, p := range potential {
		trial.RemovePod(p)
	}
	removed := slices.Clone(potential)
	if v := filter(trial, removed); !v.Fits() {
		return Candidate{}, v
	}
	slices.SortStableFunc(potential, func(a, b *snapshot.PodInfo) int { return moreImportantFirst(a.Pod, b.Pod, now) })
	violating, nonViolating := splitByBudget(potential, pdbs)

	c := Candidate{Node: node}
	reprieve := func(p *snapshot.PodInfo) bool {
		trial.AddPod(p)
		i := slices.Index(removed, p)
		removed = slices.Delete(removed, i, i+1)
		if filter(trial, removed).Fits() {
			return true
		}
		trial.RemovePod(p)
		removed = append(removed, p)
		c.Victims = append(c.Victims, p)
		return false
	}
	for _, p := range violating {
		if !reprieve(p) {
			c.PDBViolations++
		}
	}
	for _, p := range nonViolating {
		reprieve(p)
	}
	if len(violating) > 0 && len(nonViolating) > 0 {
		slices.SortStableFunc(c.Victims, func(a, b *snapshot.PodInfo) int { return moreImportantFirst(a.Pod, b.Pod, now) })
	}
	return c, snapshot.Verdict{}
}

// splitByBudget splits pods (in order) into those whose eviction, counted in order, exceeds a
// budget covering them, and the others.
func splitByBudget(pods []*snapshot.PodInfo, pdbs []PDB) (violating, nonViolating []*snapshot.PodInfo) {
	allowed := make([]int32, len(pdbs))
	for i := range pdbs {
		allowed[i] = pdbs[i].DisruptionsAllowed
	}
	for _, p := range pods {
		violates := false
		for i := range pdbs {
			if !pdbs[i].covers(p.Pod) {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				violates = true
				break // upstream stops counting at the first exceeded budget
			}
		}
		if violates {
			violating = append(violating, p)
		} else {
			nonViolating = append(nonViolating, p)
		}
	}
	return violating, nonViolating
}

// Priority is the pod's spec.priority, 0 when unset.
func Priority(pod *v1.Pod) int32 {
	if pod.Spec.Priority == nil {
		return 0
	}
	return *pod.Spec.Priority
}

// startTime is when pod started; now for a pod that has not.
func startTime(pod *v1.Pod, now time.Time) time.Time {
	if pod.Status.StartTime != nil {
		return pod.Status.StartTime.Time
	}
	return now
}

// moreImportantFirst orders pods by priority, highest first, then by start time, earliest first.
func moreImportantFirst(a, b *v1.Pod, now time.Time) int {
	if pa, pb := Priority(a), Priority(b); pa != pb {
		if pa > pb {
			return -1
		}
		return 1
	}
	return startTime(a, now).Compare(startTime(b, now))
}

// PickNode returns the candidate whose victims cost least, by upstream's criteria in order: the
// fewest budget violations; the lowest priority of the most important victim; the smallest sum of
// victim priorities (each shifted to be non-negative); the fewest victims; the latest start time
// among the most important victims; then the first in cands. nil when cands is empty. Every
// candidate must have at least one victim.
func PickNode(cands []Candidate, now time.Time) *Candidate {
	if len(cands) == 0 {
		return nil
	}
	left := make([]*Candidate, len(cands))
	for i := range cands {
		left[i] = &cands[i]
	}
	criteria := []func(c *Candidate) int64{
		func(c *Candidate) int64 { return -int64(c.PDBViolations) },
		func(c *Candidate) int64 { return -int64(Priority(c.Victims[0].Pod)) },
		func(c *Candidate) int64 {
			var sum int64
			for _, v := range c.Victims {
				sum += int64(Priority(v.Pod)) + math.MaxInt32 + 1
			}
			return -sum
		},
		func(c *Candidate) int64 { return -int64(len(c.Victims)) },
		func(c *Candidate) int64 { return earliestStartOfTop(c.Victims, now).UnixNano() },
	}
	for _, score := range criteria {
		best := int64(math.MinInt64)
		var kept []*Candidate
		for _, c := range left {
			switch s := score(c); {
			case s > best:
				best, kept = s, append(kept[:0], c)
			case s == best:
				kept = append(kept, c)
			}
		}
		if len(kept) == 1 {
			return kept[0]
		}
		left = kept
	}
	return left[0]
}

// earliestStartOfTop is the earliest start time among the victims of the highest priority.
func earliestStartOfTop(victims []*snapshot.PodInfo, now time.Time) time.Time {
	top := Priority(victims[0].Pod)
	earliest := startTime(victims[0].Pod, now)
	for _, v := range victims[1:] {
		switch p := Priority(v.Pod); {
		case p > top:
			top, earliest = p, startTime(v.Pod, now)
		case p == top:
			if t := startTime(v.Pod, now); t.Before(earliest) {
				earliest = t
			}
		}
	}
	return earliest
}
