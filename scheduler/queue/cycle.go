package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
)

// ErrClosed is returned by Pop once Close has been called.
var ErrClosed = errors.New("scheduling queue closed")

// Pop removes the best active pod, marks it in flight and returns it, blocking until there is
// one. It returns ctx's error (wrapped) once ctx is done, and ErrClosed once Close was called.
// The caller must report the pod's outcome with exactly one of Done, Unschedulable or Retry.
func (q *Queue) Pop(ctx context.Context) (*QueuedPod, error) {
	for {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for a pod to schedule: %w", ctx.Err())
		}
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil, ErrClosed
		}
		qp := q.active.pop()
		if qp == nil {
			qp = q.popBackoffEarly()
		}
		if qp != nil {
			qp.where = inFlight
			qp.Attempts++
			qp.lastAttempt = q.clock.Now()
			qp.poppedAt = q.eventSeq
			qp.changed = 0
			qp.latest = nil
			q.inFlight++
			q.mu.Unlock()
			return qp, nil
		}
		if q.wake == nil {
			q.wake = make(chan struct{})
		}
		wake := q.wake
		q.mu.Unlock()

		select {
		case <-ctx.Done():
		case <-wake:
		}
	}
}

// Done reports that the cycle for a popped pod succeeded (the pod is bound or assumed): the
// queue forgets it. A pod that is not in flight (nil, already reported) is ignored.
func (q *Queue) Done(qp *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.land(qp) {
		return
	}
	if q.pods[qp.key] == qp {
		delete(q.pods, qp.key)
	}
}

// Unschedulable reports that a popped pod fits nowhere. interest names the events that could
// change that. The pod is parked in the unschedulable pool until such an event arrives
// (OnEvent), it changes itself (PodChange), or MaxInUnschedulable passes. If a matching event
// already arrived while it was in flight, it goes to backoff (or active, if its backoff is
// already over) instead. A pod that is not in flight, or was deleted or replaced while in
// flight, is dropped.
func (q *Queue) Unschedulable(qp *QueuedPod, interest Events) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.landForRequeue(qp) {
		return
	}
	if (q.eventsSince(qp.poppedAt)|qp.changed)&interest != 0 {
		qp.errorBackoff = false
		q.requeue(qp, eventAttemptFailure)
		return
	}
	q.toUnschedulable(qp, interest, eventAttemptFailure)
}

// Hold reports that a popped pod cannot be attempted yet, as kube-scheduler's PreEnqueue says of a
// pod whose ResourceClaims do not exist yet: the pop does not count as an attempt, no backoff is
// owed, and the pod waits, counted among the gated pods, until an event in interest, a change of
// its own, or the periodic flush. A pod that is not in flight, or was deleted or replaced while
// in flight, is dropped.
func (q *Queue) Hold(qp *QueuedPod, interest Events) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.landForRequeue(qp) {
		return
	}
	qp.Attempts--
	if qp.Attempts == 0 {
		qp.InitialAttempt = time.Time{} // time spent held does not count, as time gated does not
	}
	qp.backoffUntil = time.Time{}
	qp.errorBackoff = false
	if (q.eventsSince(qp.poppedAt)|qp.changed)&interest != 0 {
		q.requeue(qp, eventAttemptFailure)
		return
	}
	q.toUnschedulable(qp, interest, eventAttemptFailure)
	qp.held = qp.where == inUnschedulable
}

// Retry reports that a popped pod's cycle failed with an error (not a misfit, e.g. binding
// failed): it goes to backoff for InitialBackoff*2^(Attempts-1), capped at MaxBackoff. A pod
// that is not in flight, or was deleted or replaced while in flight, is dropped.
func (q *Queue) Retry(qp *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.landForRequeue(qp) {
		return
	}
	qp.errorBackoff = true
	q.requeue(qp, eventAttemptFailure)
}

// OnEvent reports cluster events. Every unschedulable pod whose interest intersects ev moves
// to backoff (if still backing off) or active; in-flight pods remember ev for Unschedulable.
// Bits outside AllEvents are ignored.
func (q *Queue) OnEvent(ev Events) { q.OnEventIf(ev, nil) }

// OnEventIf is OnEvent with a queueing hint: an unschedulable pod whose interest intersects ev
// moves only if helps(pod, rejectedBy) says the event could make it fit (nil: every one moves).
// helps is called with the queue locked and must not call the queue. In-flight pods remember ev
// whatever helps would say.
func (q *Queue) OnEventIf(ev Events, helps func(pod *v1.Pod, rejectedBy []string) bool) {
	ev &= AllEvents
	if ev == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.eventSeq++
	for i := range numEventKinds {
		if ev&(1<<i) != 0 {
			q.lastEvent[i] = q.eventSeq
		}
	}
	label := ev.String()
	for key, qp := range q.unschedulable {
		if qp.interest&ev == 0 || (helps != nil && !helps(qp.Pod, qp.RejectedBy)) {
			continue
		}
		delete(q.unschedulable, key)
		qp.where = nowhere
		qp.errorBackoff = false
		qp.held = false
		q.requeue(qp, label)
	}
}

// land ends qp's flight. It reports false if qp was not in flight.
func (q *Queue) land(qp *QueuedPod) bool {
	if qp == nil || qp.where != inFlight {
		return false
	}
	q.inFlight--
	qp.where = nowhere
	return true
}

// landForRequeue ends qp's flight after a failure and prepares it to be queued again: the
// newest version of the pod, a fresh Enqueued time and the backoff it now owes. It reports
// false if qp was not in flight or must not be requeued (deleted or replaced meanwhile).
func (q *Queue) landForRequeue(qp *QueuedPod) bool {
	if !q.land(qp) || qp.discarded {
		return false
	}
	qp.Flushed = false
	if qp.latest != nil {
		qp.setPod(qp.latest)
		qp.latest = nil
	}
	now := q.clock.Now()
	qp.Enqueued = now
	qp.backoffUntil = q.backoffUntil(now, qp.Attempts)
	return true
}

// eventsSince returns the event kinds reported after the event counter read seq.
func (q *Queue) eventsSince(seq uint64) Events {
	var ev Events
	for i, last := range q.lastEvent {
		if last > seq {
			ev |= 1 << i
		}
	}
	return ev
}

// popBackoffEarly takes, when the active queue is empty, the backoff pod whose backoff ends first
// among those backing off after a misfit (not after an error), as kube-scheduler v1.37 does
// (SchedulerPopFromBackoffQ): an idle scheduler need not wait out the backoff of a pod that a
// cluster event may have made schedulable. It returns nil when there is none.
func (q *Queue) popBackoffEarly() *QueuedPod {
	var best *QueuedPod
	for _, qp := range q.backoff.items {
		if !qp.errorBackoff && (best == nil || backoffLess(qp, best)) {
			best = qp
		}
	}
	if best != nil {
		q.backoff.remove(best)
	}
	return best
}
