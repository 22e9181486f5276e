// Package queue holds the pods waiting to be scheduled and hands them, one at a time, to the
// scheduling loop. It is kube-scheduler's scheduling queue, rebuilt small.
//
// A pending pod lives in exactly one of four places:
//
//   - active: ready to be tried; a heap ordered by priority, then by the time it was queued.
//   - backoff: failed recently; waits out InitialBackoff*2^(attempts-1), capped at MaxBackoff.
//   - unschedulable: fit nowhere; waits for a cluster event it declared interest in (OnEvent),
//     for an update of its own, or for MaxInUnschedulable to pass (Flush).
//   - gated: has spec.schedulingGates; waits for an Update that removes them. Never popped.
//
// Pop takes the best active pod and marks it in flight. The cycle that popped it reports back
// exactly once: Done (bound or assumed), Unschedulable (fits nowhere) or Retry (an error). An
// event that arrives while a pod is in flight is remembered, so a pod that failed against a
// cluster that has since changed in a way it cares about goes to backoff, not to the pool.
//
// The queue has no goroutines and reads time only from Config.Clock. Run is the one loop that
// moves pods whose time has come; a caller that prefers to drive time itself calls Flush.
// The queue knows nothing of plugins, the API server or metrics: Lens and Config.OnIncoming
// expose what a metrics layer needs.
//
// All methods are safe for concurrent use.
package queue

import (
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Queue is the scheduling queue. Create it with New.
type Queue struct {
	cfg   Config
	clock Clock

	mu            sync.Mutex
	pods          map[string]*QueuedPod // every known pod by namespace/name, queued or in flight
	active        podHeap
	backoff       podHeap
	unschedulable map[string]*QueuedPod
	gated         map[string]*QueuedPod
	inFlight      int
	seq           uint64 // heap insertion counter

	// eventSeq counts OnEvent calls; lastEvent[i] is eventSeq at the last event with bit i.
	// A pod popped at eventSeq n has seen, while in flight, every bit whose lastEvent > n.
	eventSeq  uint64
	lastEvent [numEventKinds]uint64

	closed bool
	// wake is closed (and cleared) to wake blocked Pop calls; nil while nobody waits.
	wake chan struct{}
	// kick tells Run that the head of the backoff queue changed.
	kick chan struct{}
}

// New returns an empty queue. It fails if cfg is invalid, naming the bad field.
func New(cfg Config) (*Queue, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("configuring scheduling queue: %w", err)
	}
	return &Queue{
		cfg:           cfg,
		clock:         cfg.Clock,
		pods:          make(map[string]*QueuedPod),
		active:        podHeap{less: activeLess},
		backoff:       podHeap{less: backoffLess},
		unschedulable: make(map[string]*QueuedPod),
		gated:         make(map[string]*QueuedPod),
		kick:          make(chan struct{}, 1),
	}, nil
}

// Add queues a new pending pod: gated pods go to the gated set, others to the active queue.
// A pod already known under the same name and UID is treated as Update; one with a new UID
// (deleted and recreated) replaces the old one, whose in-flight result is then discarded.
// Nil is ignored.
func (q *Queue) Add(pod *v1.Pod) {
	if pod == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp, ok := q.pods[podKey(pod)]; ok {
		if qp.Pod.UID == pod.UID {
			q.update(qp, pod)
			return
		}
		q.forget(qp)
	}
	q.add(pod)
}

// Update records a new version of a pending pod. Where it goes depends on where it is:
//   - active or backoff: replaced in place (the active order follows a priority change);
//   - gated: moves to active once its scheduling gates are gone;
//   - unschedulable: moves to backoff or active if the change (PodChange: labels or spec
//     differ) matches its interest, else stays with the new version;
//   - in flight: remembered; the newest version is what Unschedulable or Retry requeue, and
//     a PodChange counts as an event received while in flight.
//
// Changes are judged against the version the queue holds; oldPod only serves to ignore
// resyncs (same non-empty ResourceVersion). An unknown pod is added; a new UID replaces the
// old pod, as in Add. Nil newPod is ignored. The caller passes only pods not yet bound to a
// node; a pod that gets bound is reported with Delete (or Done by the cycle that bound it).
func (q *Queue) Update(oldPod, newPod *v1.Pod) {
	if newPod == nil {
		return
	}
	if oldPod != nil && oldPod.ResourceVersion != "" && oldPod.ResourceVersion == newPod.ResourceVersion {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[podKey(newPod)]
	switch {
	case !ok:
		q.add(newPod)
	case qp.Pod.UID != newPod.UID:
		q.forget(qp)
		q.add(newPod)
	default:
		q.update(qp, newPod)
	}
}

// Delete drops the pod wherever it is. If it is in flight, the cycle's later report is
// ignored. A pod whose UID differs from the one held (an older incarnation) is ignored, as
// is nil.
func (q *Queue) Delete(pod *v1.Pod) {
	if pod == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[podKey(pod)]
	if !ok || (pod.UID != "" && qp.Pod.UID != pod.UID) {
		return
	}
	q.forget(qp)
}

// Lens counts pods by where the queue holds them. The first four are the values of
// scheduler_pending_pods{queue="active"|"backoff"|"unschedulable"|"gated"}.
type Lens struct {
	Active        int // ready to pop
	Backoff       int // waiting out a backoff
	Unschedulable int // parked until a matching event or the timeout
	Gated         int // held by scheduling gates
	InFlight      int // popped and not yet reported back (deleted ones included)
}

// Lens returns the current counts.
func (q *Queue) Lens() Lens {
	q.mu.Lock()
	defer q.mu.Unlock()
	held := 0
	for _, qp := range q.unschedulable {
		if qp.held {
			held++
		}
	}
	return Lens{
		Active:        q.active.Len(),
		Backoff:       q.backoff.Len(),
		Unschedulable: len(q.unschedulable) - held,
		Gated:         len(q.gated) + held,
		InFlight:      q.inFlight,
	}
}

// UnschedulablePlugins calls fn, under the queue's lock, once per pod in the unschedulable pool
// (held pods aside: no plugin rejected them) with the plugins that rejected it
// (QueuedPod.RejectedBy): the source of scheduler_unschedulable_pods{plugin,profile}. fn must not
// call the queue.
func (q *Queue) UnschedulablePlugins(fn func(pod *v1.Pod, rejectedBy []string)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, qp := range q.unschedulable {
		if !qp.held {
			fn(qp.Pod, qp.RejectedBy)
		}
	}
}

// Close makes every current and future Pop return ErrClosed. Other methods keep working.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.wakePoppers()
}

// add queues a pod the queue does not know.
func (q *Queue) add(pod *v1.Pod) {
	qp := &QueuedPod{Enqueued: q.clock.Now(), key: podKey(pod), index: -1}
	qp.setPod(pod)
	q.pods[qp.key] = qp
	if gated(pod) {
		q.toGated(qp, eventPodAdd)
		return
	}
	q.toActive(qp, eventPodAdd)
}

// update applies a new version of a known pod with the same UID.
func (q *Queue) update(qp *QueuedPod, pod *v1.Pod) {
	if qp.where == inFlight {
		current := qp.Pod
		if qp.latest != nil {
			current = qp.latest
		}
		qp.changed |= podChange(current, pod)
		qp.latest = pod
		return
	}
	change := podChange(qp.Pod, pod)
	qp.setPod(pod)
	switch {
	case gated(pod):
		if qp.where != inGated {
			q.detach(qp)
			q.toGated(qp, PodChange.String())
		}
	case qp.where == inGated:
		q.detach(qp)
		q.toActive(qp, eventGatesRemoved)
	case qp.where == inActive:
		q.active.fix(qp)
	case qp.where == inUnschedulable && change&qp.interest != 0:
		q.detach(qp)
		q.requeue(qp, PodChange.String())
	}
}

// forget drops a known pod. An in-flight pod stays counted until its cycle reports back.
func (q *Queue) forget(qp *QueuedPod) {
	delete(q.pods, qp.key)
	if qp.where == inFlight {
		qp.discarded = true
		return
	}
	q.detach(qp)
}

// detach takes a queued (not in-flight) pod out of its sub-queue.
func (q *Queue) detach(qp *QueuedPod) {
	switch qp.where {
	case inActive:
		q.active.remove(qp)
	case inBackoff:
		q.backoff.remove(qp)
	case inUnschedulable:
		delete(q.unschedulable, qp.key)
		qp.held = false
	case inGated:
		delete(q.gated, qp.key)
	}
	qp.where = nowhere
}

// requeue sends a detached pod that may now fit to backoff if it still owes backoff, else to
// active (or to gated, should it carry scheduling gates).
func (q *Queue) requeue(qp *QueuedPod, event string) {
	switch {
	case gated(qp.Pod):
		q.toGated(qp, event)
	case q.clock.Now().Before(qp.backoffUntil):
		q.toBackoff(qp, event)
	default:
		q.toActive(qp, event)
	}
}

func (q *Queue) toActive(qp *QueuedPod, event string) {
	if qp.InitialAttempt.IsZero() {
		qp.InitialAttempt = q.clock.Now()
	}
	qp.where = inActive
	qp.seq = q.nextSeq()
	q.active.push(qp)
	q.incoming("active", event)
	q.wakePoppers()
}

func (q *Queue) toBackoff(qp *QueuedPod, event string) {
	qp.where = inBackoff
	qp.seq = q.nextSeq()
	q.backoff.push(qp)
	q.incoming("backoff", event)
	if !qp.errorBackoff {
		q.wakePoppers() // an idle Pop may take it early (popBackoffEarly)
	}
	if qp.index == 0 {
		select {
		case q.kick <- struct{}{}:
		default: // Run has a kick pending already.
		}
	}
}

func (q *Queue) toUnschedulable(qp *QueuedPod, interest Events, event string) {
	if gated(qp.Pod) {
		q.toGated(qp, event)
		return
	}
	qp.where = inUnschedulable
	qp.interest = interest
	q.unschedulable[qp.key] = qp
	q.incoming("unschedulable", event)
}

func (q *Queue) toGated(qp *QueuedPod, event string) {
	qp.where = inGated
	qp.Flushed = false
	q.gated[qp.key] = qp
	q.incoming("unschedulable", event)
}

func (q *Queue) nextSeq() uint64 {
	q.seq++
	return q.seq
}

func (q *Queue) incoming(queue, event string) {
	if q.cfg.OnIncoming != nil {
		q.cfg.OnIncoming(queue, event)
	}
}

// wakePoppers wakes every Pop blocked waiting for an active pod.
func (q *Queue) wakePoppers() {
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
}

// backoffUntil is when a pod that failed now, after the given attempts, may be retried.
func (q *Queue) backoffUntil(now time.Time, attempts int) time.Time {
	return now.Add(backoffFor(attempts, q.cfg.InitialBackoff, q.cfg.MaxBackoff))
}
