package scheduler

import (
	"context"
	"strings"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
	"github.com/berth-scheduler/berth/scheduler/queue"
)

// DynamicResources' PostFilter. When a pod fits nowhere and the decision proposes to deallocate
// one of its claims (see dynamicresources.Deallocation), the loop decides the rest as usual,
// preemption included, and hands the API write to the writer pool, as it hands a preemption's:
// the pool writes the claim's status without allocation, reservations or device statuses, makes
// the written claim the one the cache shows (until the informer delivers it, as kube-scheduler's
// assume cache would), and only then reports the attempt and parks the pod. The pod stays in
// flight meanwhile, so its report is written before it can be attempted again. The claim's
// change, seen while the pod was in flight or delivered later, sends it back to the queue (with
// its backoff), and its next attempt may allocate the claim anew, on another node.
//
// The write is upstream's: one UpdateStatus carrying the resourceVersion of the claim as the
// decision saw it, not retried. A conflict means the claim changed meanwhile (another pod
// reserved it, say), so it is left as it is; as in kube-scheduler, the error is then the
// PostFilter part of the pod's message, and a preemption the loop found is not carried out
// (upstream stops at the failing plugin). The pod waits for a claim event as any pod
// DynamicResources rejected.

// deallocation returns the claim deallocation among a decision's PostFilter plans, or nil.
func deallocation(plans []decide.Plan) *dynamicresources.Deallocation {
	for _, p := range plans {
		if d, ok := p.(*dynamicresources.Deallocation); ok {
			return d
		}
	}
	return nil
}

// postFilterMessage is the PostFilter part of the message of a pod whose claim was deallocated:
// the plugins' reasons in the profile's order, joined as kube-scheduler joins them. preemptMsg is
// preemption's part ("" when the profile does not preempt, or when it found a node: its success
// then stands alone).
func postFilterMessage(prof *Profile, d *dynamicresources.Deallocation, preemptMsg string, found bool) string {
	if found {
		return preemptMsg
	}
	parts := []string{d.Message()}
	if preemptMsg != "" {
		if prof.PreemptFirst {
			parts = []string{preemptMsg, d.Message()}
		} else {
			parts = append(parts, preemptMsg)
		}
	}
	return strings.Join(parts, ", ")
}

// deallocate writes d's claim deallocated and makes the written claim the cache's, or deletes it
// (a stale extended resource claim; the informer's delete then requeues the pod). The error is
// the writer's, unwrapped: it becomes part of the pod's message, as upstream's does.
func (s *Scheduler) deallocate(ctx context.Context, d *dynamicresources.Deallocation) error {
	if s.claims == nil {
		return errNoClaimWriter
	}
	if d.Delete {
		return deleteClaim(ctx, s.claims, d.Claim)
	}
	out, err := s.claims.UpdateResourceClaimStatus(ctx, d.Deallocated())
	if err != nil {
		return err
	}
	s.cache.AssumeWrittenResourceClaim(out)
	return nil
}

// deallocateAsync, in the pool, deallocates the claim of d for the pod qp, which fit nowhere,
// then carries out the rest of its attempt: the preemption p found (when it found a node), or the
// report and the wait in the unschedulable pool. msg is the pod's message when the write succeeds;
// filterMsg is the filters' part alone, which the write's error follows when it fails.
func (s *Scheduler) deallocateAsync(ctx context.Context, qp *queue.QueuedPod, prof *Profile, d *dynamicresources.Deallocation,
	p preemption, msg, filterMsg string, interest queue.Events, cyc cycleRecorder) {
	pod := qp.Pod
	start := cyc.start()
	err := s.deallocate(ctx, d)
	cyc.deallocationDone(err, start, p.cand == nil && prof.Preemption == nil)
	if err != nil {
		s.log.Info("deallocating a ResourceClaim in PostFilter", "pod", klogRef(pod), "claim", d.Claim.Namespace+"/"+d.Claim.Name, "err", err)
		if p.cand != nil {
			s.cache.Unnominate(pod.UID)
		}
		if ctx.Err() == nil {
			s.reportUnschedulable(ctx, prof.SchedulerName, pod, "Unschedulable", filterMsg+" "+err.Error(), nil)
		}
		s.queue.Unschedulable(qp, interest)
		return
	}
	if p.cand != nil {
		s.preemptAsync(ctx, qp, prof, p, msg, interest)
		return
	}
	if p.nominate != nil && *p.nominate == "" {
		s.cache.Unnominate(pod.UID)
	}
	// Reported before the pod is parked: the claim's change requeues it at once, and the next
	// attempt's report must not be overtaken by this one.
	s.reportUnschedulable(ctx, prof.SchedulerName, pod, "Unschedulable", msg, p.nominate)
	s.queue.Unschedulable(qp, interest)
}
