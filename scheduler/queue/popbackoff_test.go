package queue

import (
	"context"
	"testing"
	"time"
)

// TestPopBackoffEarly: with nothing active, Pop takes a pod backing off after a misfit at once
// (kube-scheduler v1.37's SchedulerPopFromBackoffQ), but never one backing off after an error,
// and active pods always come first.
func TestPopBackoffEarly(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, q *Queue, clock *fakeClock)
		wantPop string // "" means Pop must block
	}{
		{name: "misfit moved by an event is popped early", setup: func(t *testing.T, q *Queue, clock *fakeClock) {
			q.Add(makePod("a"))
			q.Unschedulable(popNow(t, q), NodeAdd)
			q.OnEvent(NodeAdd)
			assertLens(t, q, Lens{Backoff: 1})
		}, wantPop: "a"},
		{name: "error backoff waits", setup: func(t *testing.T, q *Queue, clock *fakeClock) {
			q.Add(makePod("a"))
			q.Retry(popNow(t, q))
			assertLens(t, q, Lens{Backoff: 1})
		}},
		{name: "active pod first", setup: func(t *testing.T, q *Queue, clock *fakeClock) {
			q.Add(makePod("a"))
			q.Unschedulable(popNow(t, q), NodeAdd)
			q.OnEvent(NodeAdd)
			q.Add(makePod("b"))
		}, wantPop: "b"},
		{name: "earliest backoff end first, skipping error pods", setup: func(t *testing.T, q *Queue, clock *fakeClock) {
			q.Add(makePod("err"))
			q.Retry(popNow(t, q))
			q.Add(makePod("a"))
			q.Add(makePod("b"))
			qa, qb := popName(t, q, "a"), popName(t, q, "b")
			q.Unschedulable(qb, NodeAdd)
			clock.Step(time.Second) // a's backoff ends a second after b's (equal ends tie by arrival)
			q.Unschedulable(qa, NodeAdd)
			q.OnEvent(NodeAdd)
		}, wantPop: "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{InitialBackoff: time.Minute, MaxBackoff: time.Minute})
			tc.setup(t, q, clock)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			qp, err := q.Pop(ctx)
			switch {
			case tc.wantPop == "" && err == nil:
				t.Fatalf("popped %s early; want Pop to wait", qp.Pod.Name)
			case tc.wantPop != "" && err != nil:
				t.Fatalf("Pop: %v, want %s", err, tc.wantPop)
			case tc.wantPop != "" && qp.Pod.Name != tc.wantPop:
				t.Fatalf("popped %s, want %s", qp.Pod.Name, tc.wantPop)
			}
		})
	}
}

// TestPopWakesForBackoffEarly: a Pop blocked on an empty queue wakes when an event moves a
// misfit to backoff.
func TestPopWakesForBackoffEarly(t *testing.T) {
	q, _ := newTestQueue(t, Config{InitialBackoff: time.Minute, MaxBackoff: time.Minute})
	q.Add(makePod("a"))
	q.Unschedulable(popNow(t, q), NodeAdd)
	got := make(chan string, 1)
	go func() {
		qp, err := q.Pop(context.Background())
		if err != nil {
			got <- err.Error()
			return
		}
		got <- qp.Pod.Name
	}()
	time.Sleep(10 * time.Millisecond)
	q.OnEvent(NodeAdd)
	select {
	case name := <-got:
		if name != "a" {
			t.Fatalf("popped %q, want a", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pop did not wake for the pod moved to backoff")
	}
}
