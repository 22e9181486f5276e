package queue

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// location says where the queue currently holds a pod.
type location int

const (
	nowhere location = iota
	inActive
	inBackoff
	inUnschedulable
	inGated
	inFlight
)

// QueuedPod is a pending pod and its queueing history.
//
// Between Pop and the matching Done, Unschedulable or Retry the caller owns it and may read
// the exported fields; the queue does not change them in that time. Passing it back hands it
// to the queue again: the caller must not use it afterwards.
type QueuedPod struct {
	// Pod is the pod, as last seen by the queue.
	Pod *v1.Pod
	// Attempts counts how many times the pod has been popped.
	Attempts int
	// InitialAttempt is when the pod first entered the active queue (the start of
	// pod_scheduling_sli_duration_seconds: time spent gated does not count). Zero until then.
	InitialAttempt time.Time
	// Enqueued is when the pod was last added to the queue: by Add, or by the failure that
	// sent it back. Among pods of equal priority the earlier Enqueued pops first; backoff
	// and the MaxInUnschedulable timeout are measured from it.
	Enqueued time.Time
	// RejectedBy names the plugins that rejected the pod in its last attempt. The caller sets it
	// before passing the pod to Unschedulable; the queue only reports it (UnschedulablePlugins).
	RejectedBy []string
	// Message is what the last attempt reported (the FailedScheduling message). The caller sets
	// it, as RejectedBy, before passing the pod back; the queue only reports it (Status).
	Message string
	// Flushed is set when the periodic flush took the pod out of the unschedulable pool (no
	// event moved it), until its next failure or gating: a pod bound while it is set counts in
	// scheduler_pod_scheduled_after_flush_total.
	Flushed bool

	lastAttempt  time.Time // when it was last popped
	key          string    // namespace/name
	where        location  // which sub-queue holds it
	index        int       // position in the heap that holds it (active or backoff)
	seq          uint64    // heap insertion order, the last tie-breaker
	backoffUntil time.Time // end of its backoff; zero if it owes none
	interest     Events    // events that can move it out of the unschedulable pool
	errorBackoff bool      // backing off after an error (Retry), so never popped early
	held         bool      // in the unschedulable pool because of Hold: counted as gated
	priority     int32     // priority(Pod), cached for the active heap

	// While in flight:
	poppedAt  uint64  // the queue's event counter when it was popped
	changed   Events  // events about the pod itself since it was popped (PodChange)
	latest    *v1.Pod // newest version seen since it was popped; nil if none
	discarded bool    // deleted or replaced: its result must not requeue it
}

// setPod replaces the pod and refreshes what is derived from it.
func (qp *QueuedPod) setPod(pod *v1.Pod) {
	qp.Pod = pod
	qp.priority = priority(pod)
}

func podKey(pod *v1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}

// priority is spec.priority, nil counting as zero.
func priority(pod *v1.Pod) int32 {
	if pod.Spec.Priority == nil {
		return 0
	}
	return *pod.Spec.Priority
}

func gated(pod *v1.Pod) bool {
	return len(pod.Spec.SchedulingGates) > 0
}

// podChange tells whether an update from oldPod to newPod could change where the pod fits:
// PodChange if its labels or spec differ, or the ResourceClaims generated for it (which
// DynamicResources waits for), nothing for other status or metadata updates.
func podChange(oldPod, newPod *v1.Pod) Events {
	if !equality.Semantic.DeepEqual(oldPod.Labels, newPod.Labels) ||
		!equality.Semantic.DeepEqual(&oldPod.Spec, &newPod.Spec) ||
		!equality.Semantic.DeepEqual(oldPod.Status.ResourceClaimStatuses, newPod.Status.ResourceClaimStatuses) {
		return PodChange
	}
	return 0
}

// activeLess orders the active queue: higher priority first, then earlier Enqueued, then
// insertion order.
func activeLess(a, b *QueuedPod) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	if !a.Enqueued.Equal(b.Enqueued) {
		return a.Enqueued.Before(b.Enqueued)
	}
	return a.seq < b.seq
}

// backoffLess orders the backoff queue: earliest expiry first, then insertion order.
func backoffLess(a, b *QueuedPod) bool {
	if !a.backoffUntil.Equal(b.backoffUntil) {
		return a.backoffUntil.Before(b.backoffUntil)
	}
	return a.seq < b.seq
}
