package scheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// testSink is a sink with millisecond backoffs whose drops are recorded by cause.
type testSink struct {
	*eventSink
	mu    sync.Mutex
	drops map[string]int
	logs  *bytes.Buffer
}

func newTestSink(tries, queue int) *testSink {
	ts := &testSink{drops: map[string]int{}, logs: &bytes.Buffer{}}
	ts.eventSink = newEventSink(func(cause string) {
		ts.mu.Lock()
		ts.drops[cause]++
		ts.mu.Unlock()
	}, slog.New(slog.NewTextHandler(&lockedWriter{w: ts.logs, mu: &ts.mu}, nil)))
	ts.queue = make(chan *eventWrite, queue)
	ts.tries, ts.backoff, ts.maxWait = tries, time.Millisecond, 2*time.Millisecond
	return ts
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// failing returns a write that fails with the errors in turn, then succeeds; it counts attempts
// and whether it was given up.
func failing(attempts, dropped *atomic.Int32, errs ...error) *eventWrite {
	return &eventWrite{what: "test write", write: func(context.Context) error {
		n := attempts.Add(1)
		if int(n) <= len(errs) {
			return errs[n-1]
		}
		return nil
	}, dropped: func() { dropped.Add(1) }}
}

func TestEventSinkRetries(t *testing.T) {
	gr := schema.GroupResource{Group: "events.k8s.io", Resource: "events"}
	unavailable := apierrors.NewServiceUnavailable("restarting")
	throttled := apierrors.NewTooManyRequests("slow down", 1)
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, "e", nil)
	notFound := apierrors.NewNotFound(gr, "e")
	tests := []struct {
		name         string
		errs         []error
		wantAttempts int32
		wantDrop     string // "" when written
	}{
		{name: "written at once", wantAttempts: 1},
		{name: "server errors and throttling are retried", errs: []error{unavailable, throttled, errors.New("connection reset")}, wantAttempts: 4},
		{name: "invalid is not retried", errs: []error{invalid}, wantAttempts: 1, wantDrop: dropRejected},
		{name: "a series of a vanished event is not retried", errs: []error{notFound}, wantAttempts: 1, wantDrop: dropRejected},
		{name: "given up after every attempt failed", errs: []error{unavailable, unavailable, unavailable, unavailable, unavailable}, wantAttempts: 5, wantDrop: dropRetries},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSink(5, 10)
			var attempts, dropped atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); s.run(ctx) }()
			s.submit(failing(&attempts, &dropped, tc.errs...))
			deadline := time.Now().Add(5 * time.Second)
			for attempts.Load() < tc.wantAttempts && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // room for a wrong extra attempt
			cancel()
			<-done
			if got := attempts.Load(); got != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", got, tc.wantAttempts)
			}
			wantDrops := map[string]int{}
			if tc.wantDrop != "" {
				wantDrops[tc.wantDrop] = 1
			}
			if len(s.drops) != len(wantDrops) || s.drops[tc.wantDrop] != wantDrops[tc.wantDrop] {
				t.Errorf("drops %v, want %v", s.drops, wantDrops)
			}
			if got, want := dropped.Load(), int32(len(wantDrops)); got != want {
				t.Errorf("dropped callback ran %d times, want %d", got, want)
			}
		})
	}
}

func TestEventSinkDropsWhenFullOrStopped(t *testing.T) {
	s := newTestSink(3, 2)
	var attempts, dropped atomic.Int32
	for range 5 { // nothing runs yet: two fit the queue, three do not
		s.submit(failing(&attempts, &dropped))
	}
	s.submit(nil) // nothing to write: ignored
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.run(ctx) // ends at once: the two queued are dropped as stopped
	if s.drops[dropQueueFull] != 3 || s.drops[dropStopped] != 2 || dropped.Load() != 5 {
		t.Errorf("drops %v (callbacks %d), want 3 queue_full and 2 stopped", s.drops, dropped.Load())
	}
	// One burst, one line when it happened, and the rest when run ended.
	logs := s.logs.String()
	if n := strings.Count(logs, "dropped events"); n != 2 || !strings.Contains(logs, "count=1 ") || !strings.Contains(logs, "count=4") {
		t.Errorf("logs:\n%s\nwant one line for the first drop and one with count=4 at the end", logs)
	}
}
