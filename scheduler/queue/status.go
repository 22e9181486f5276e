package queue

import (
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Where a pod is, as Status reports it: kube-scheduler's queue names (scheduler_pending_pods),
// and "in flight" for a pod a scheduling cycle holds.
const (
	StateActive        = "active"
	StateBackoff       = "backoff"
	StateUnschedulable = "unschedulable"
	StateGated         = "gated"
	StateInFlight      = "in flight"
)

// Status is a read-only view of one pending pod's place and history in the queue.
type Status struct {
	Pod *v1.Pod
	// State is one of the State constants. A pod a PreEnqueue plugin holds counts as gated,
	// as scheduler_pending_pods counts it.
	State string
	// Attempts counts the scheduling attempts; LastAttempt is when the last began (zero before
	// the first).
	Attempts    int
	LastAttempt time.Time
	// Enqueued is when the pod was last added or sent back (see QueuedPod.Enqueued); Created is
	// its creation time, from the pod.
	Enqueued time.Time
	// Message is what the last attempt reported (QueuedPod.Message); RejectedBy the plugins that
	// rejected it.
	Message    string
	RejectedBy []string
}

// Status returns the status of the pending pod with key namespace/name; false when the queue
// does not hold it (bound, deleted, or never seen).
func (q *Queue) Status(key string) (Status, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[key]
	if !ok || qp.discarded {
		return Status{}, false
	}
	return qp.status(), true
}

// Statuses returns every pending pod's status, oldest pod (by creation) first.
func (q *Queue) Statuses() []Status {
	q.mu.Lock()
	out := make([]Status, 0, len(q.pods))
	for _, qp := range q.pods {
		if !qp.discarded {
			out = append(out, qp.status())
		}
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Pod, out[j].Pod
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return out
}

// status reads qp under the queue's lock.
func (qp *QueuedPod) status() Status {
	s := Status{
		Pod: qp.Pod, Attempts: qp.Attempts, LastAttempt: qp.lastAttempt, Enqueued: qp.Enqueued,
		Message: qp.Message, RejectedBy: qp.RejectedBy,
	}
	switch qp.where {
	case inActive:
		s.State = StateActive
	case inBackoff:
		s.State = StateBackoff
	case inUnschedulable:
		s.State = StateUnschedulable
		if qp.held {
			s.State = StateGated
		}
	case inGated:
		s.State = StateGated
	default:
		s.State = StateInFlight
	}
	return s
}
