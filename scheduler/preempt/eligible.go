package preempt

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Reasons Eligible gives for a pod that may not preempt, in upstream's words.
const (
	NotEligibleNever       = "not eligible due to preemptionPolicy=Never."
	NotEligibleTerminating = "not eligible due to a terminating pod on the nominated node."
)

// Eligible reports whether pod may preempt others now, as upstream decides: never with
// preemptionPolicy Never; and a pod nominated to a node (nominated, "" for none) waits while a
// lower-priority pod there is still terminating because of a preemption, unless the filters ruled
// that node out for good (nominatedUnresolvable). The reason is set when it may not.
func Eligible(pod *v1.Pod, nominated string, snap *snapshot.Snapshot, nominatedUnresolvable bool) (bool, string) {
	if p := pod.Spec.PreemptionPolicy; p != nil && *p == v1.PreemptNever {
		return false, NotEligibleNever
	}
	if nominated == "" || nominatedUnresolvable {
		return true, ""
	}
	if n := snap.Get(nominated); n != nil {
		prio := Priority(pod)
		for _, p := range n.Pods {
			if Priority(p.Pod) < prio && TerminatingByPreemption(p.Pod) {
				return false, NotEligibleTerminating
			}
		}
	}
	return true, ""
}

// TerminatingByPreemption reports whether pod is being deleted because a scheduler preempted it:
// it has a deletion timestamp and is MarkedByPreemption.
func TerminatingByPreemption(pod *v1.Pod) bool {
	return pod.DeletionTimestamp != nil && MarkedByPreemption(pod)
}

// MarkedByPreemption reports whether pod carries the condition DisruptionTarget=True with reason
// PreemptionByScheduler, which a scheduler writes before deleting a victim.
func MarkedByPreemption(pod *v1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.DisruptionTarget {
			return c.Status == v1.ConditionTrue && c.Reason == v1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

// NumCandidates is how many candidate nodes a preemption looks for among n: pct percent of them,
// at least abs, at most n (DefaultPreemptionArgs minCandidateNodesPercentage and
// minCandidateNodesAbsolute).
func NumCandidates(n int, pct, abs int32) int {
	c := n * int(pct) / 100
	c = max(c, int(abs))
	return min(c, n)
}
