package queue

import (
	"context"
	"testing"
	"time"
)

// startRun runs q.Run until the test ends, and fails the test if Run does not return once its
// context is cancelled.
func startRun(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
}

// popWithin pops with a real-time safety limit, for pods Run is expected to release.
func popWithin(t *testing.T, q *Queue) *QueuedPod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qp, err := q.Pop(ctx)
	if err != nil {
		t.Fatalf("Pop: %v (lens %+v)", err, q.Lens())
	}
	return qp
}

func TestRunReleasesBackoffAtExpiry(t *testing.T) {
	q, clock := newTestQueue(t, Config{InitialBackoff: 300 * time.Millisecond, MaxBackoff: time.Second})
	q.Add(makePod("p"))
	q.Retry(popNow(t, q))
	startRun(t, q)

	clock.waitForTimers(t, 1)
	clock.Step(299 * time.Millisecond)
	if got := q.Lens(); got.Backoff != 1 {
		t.Fatalf("released before expiry: %+v", got)
	}
	clock.Step(time.Millisecond)
	if qp := popWithin(t, q); qp.Pod.Name != "p" || qp.Attempts != 2 {
		t.Errorf("popped %s attempt %d, want p attempt 2", qp.Pod.Name, qp.Attempts)
	}
}

// TestRunWakesForNewBackoffHead checks that Run, asleep with nothing to do, re-arms its timer
// for a pod that enters backoff with an expiry sooner than its current sleep.
func TestRunWakesForNewBackoffHead(t *testing.T) {
	q, clock := newTestQueue(t, Config{InitialBackoff: 300 * time.Millisecond, MaxBackoff: time.Second})
	startRun(t, q)
	clock.waitForTimers(t, 1) // the idle one-second sleep

	q.Add(makePod("p"))
	q.Retry(popNow(t, q))
	clock.waitForTimers(t, 2) // re-armed for the new expiry
	clock.Step(300 * time.Millisecond)
	if qp := popWithin(t, q); qp.Pod.Name != "p" {
		t.Errorf("popped %s, want p", qp.Pod.Name)
	}
}

func TestRunFlushesUnschedulableEvery30s(t *testing.T) {
	q, clock := newTestQueue(t, Config{MaxInUnschedulable: 10 * time.Second})
	q.Add(makePod("p"))
	q.Unschedulable(popNow(t, q), NodeAdd)
	startRun(t, q)

	for i := 1; i <= 30; i++ {
		clock.waitForTimers(t, 1) // Run finished its previous step
		if got := q.Lens(); got.Unschedulable != 1 {
			t.Fatalf("after %ds: %+v, want the pod still unschedulable until the 30s check", i-1, got)
		}
		clock.Step(time.Second)
	}
	if qp := popWithin(t, q); qp.Pod.Name != "p" {
		t.Errorf("popped %s, want p", qp.Pod.Name)
	}
}
