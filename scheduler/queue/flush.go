package queue

import (
	"context"
	"time"
)

// Flush moves every pod whose wait is over: backoff pods whose backoff has expired go to
// active, and unschedulable pods parked for longer than MaxInUnschedulable go to backoff or
// active. Run calls it on its own schedule; tests and callers that drive time call it
// directly.
func (q *Queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	q.flushBackoff(now)
	q.flushUnschedulable(now)
}

// Run moves pods between sub-queues as their time comes until ctx is done: backoff pods the
// moment their backoff expires (checking at least every second), and unschedulable pods
// parked too long every 30 seconds. It blocks; call it once, from the goroutine that owns the
// queue's lifetime.
func (q *Queue) Run(ctx context.Context) {
	after := time.After
	if tc, ok := q.clock.(timerClock); ok {
		after = tc.After
	}
	lastUnschedulableCheck := q.clock.Now()
	for {
		wait := q.step(&lastUnschedulableCheck)
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		case <-after(wait):
		}
	}
}

// step does the flushing that is due and returns how long Run may sleep before the next.
func (q *Queue) step(lastUnschedulableCheck *time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	q.flushBackoff(now)
	nextCheck := lastUnschedulableCheck.Add(unschedulableCheckInterval)
	if !now.Before(nextCheck) {
		q.flushUnschedulable(now)
		*lastUnschedulableCheck = now
		nextCheck = now.Add(unschedulableCheckInterval)
	}
	wait := min(backoffCheckInterval, nextCheck.Sub(now))
	if head := q.backoff.peek(); head != nil {
		wait = min(wait, head.backoffUntil.Sub(now))
	}
	return max(wait, 0)
}

// flushBackoff moves backoff pods whose backoff ended by now to active.
func (q *Queue) flushBackoff(now time.Time) {
	for head := q.backoff.peek(); head != nil && !now.Before(head.backoffUntil); head = q.backoff.peek() {
		q.backoff.pop()
		q.toActive(head, eventBackoffComplete)
	}
}

// flushUnschedulable requeues unschedulable pods parked for longer than MaxInUnschedulable.
func (q *Queue) flushUnschedulable(now time.Time) {
	for key, qp := range q.unschedulable {
		if now.Sub(qp.Enqueued) <= q.cfg.MaxInUnschedulable {
			continue
		}
		delete(q.unschedulable, key)
		qp.where = nowhere
		qp.held = false
		qp.Flushed = true
		q.requeue(qp, eventTimeout)
	}
}
