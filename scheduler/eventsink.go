package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// eventWrite is one API write of an event (a create, or the patch that makes it a series).
type eventWrite struct {
	what    string                          // what is being done, for the log
	write   func(ctx context.Context) error // one attempt
	dropped func()                          // nil, or called once if the write is given up
}

// eventSink writes events off the binding path, as client-go's event broadcaster does for
// kube-scheduler: submit hands a write over without blocking; the workers of run write them,
// retrying what fails for a cause that can pass (a server error, throttling, a lost connection)
// with backoff. A write that is refused (any other 4xx), that fails every attempt, that finds the
// queue full, or that is still queued when run ends, is dropped: counted in
// berth_events_dropped_total by cause and logged at most once per logEvery with the count.
//
// Events go through their own client and rate limiter (main wires them), so a pod's event never
// takes a token from the budget its binding needs.
type eventSink struct {
	queue    chan *eventWrite
	workers  int
	tries    int           // attempts per write
	backoff  time.Duration // before the second attempt; doubles up to maxWait
	maxWait  time.Duration
	logEvery time.Duration
	dropped  func(cause string) // counts a drop
	log      *slog.Logger

	mu       sync.Mutex // guards the fields below
	unlogged int        // drops not logged yet
	lastLog  time.Time
}

// Drop causes (the cause label of berth_events_dropped_total).
const (
	dropRetries   = "retries"
	dropRejected  = "rejected"
	dropQueueFull = "queue_full"
	dropStopped   = "stopped"
)

// newEventSink returns a sink with client-go's broadcaster's queue size (1000) and up to twelve
// attempts per write, the last about a minute after the first, so an API server restart of that
// length loses no event.
func newEventSink(dropped func(cause string), log *slog.Logger) *eventSink {
	return &eventSink{
		queue: make(chan *eventWrite, 1000), workers: 16, tries: 12,
		backoff: 250 * time.Millisecond, maxWait: 8 * time.Second, logEvery: 10 * time.Second,
		dropped: dropped, log: log,
	}
}

// submit queues w (nil: nothing to write); it never blocks. Safe for concurrent use.
func (s *eventSink) submit(w *eventWrite) {
	if w == nil {
		return
	}
	select {
	case s.queue <- w:
	default:
		s.drop(w, dropQueueFull, nil)
	}
}

// run writes queued events on s.workers goroutines until ctx ends, then drops what is still
// queued and returns once every worker has. One run at a time; its own goroutine logs the tail
// of a burst of drops.
func (s *eventSink) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case w := <-s.queue:
					if ctx.Err() != nil { // select picks at random among ready cases
						s.drop(w, dropStopped, nil)
						return
					}
					s.write(ctx, w)
				}
			}
		}()
	}
	tick := time.NewTicker(s.logEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			s.flushLog(false)
		}
	}
	wg.Wait()
	for {
		select {
		case w := <-s.queue:
			s.drop(w, dropStopped, nil)
		default:
			s.flushLog(true)
			return
		}
	}
}

// write makes up to s.tries attempts at w.
func (s *eventSink) write(ctx context.Context, w *eventWrite) {
	wait := s.backoff
	var err error
	for try := 1; ; try++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = w.write(actx)
		cancel()
		switch {
		case err == nil:
			return
		case ctx.Err() != nil:
			s.drop(w, dropStopped, err)
			return
		case !retryable(err):
			s.drop(w, dropRejected, err)
			return
		case try == s.tries:
			s.drop(w, dropRetries, err)
			return
		}
		select {
		case <-ctx.Done():
			s.drop(w, dropStopped, err)
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, s.maxWait)
	}
}

// retryable tells whether another attempt could succeed: anything but a request the API server
// refused on its merits (a 4xx other than 429 Too Many Requests).
func retryable(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return true // transport errors, timeouts
	}
	code := st.Status().Code
	return code == 429 || code >= 500 || code == 0
}

// drop gives w up: counts it and logs the drops of a burst together.
func (s *eventSink) drop(w *eventWrite, cause string, err error) {
	if w.dropped != nil {
		w.dropped()
	}
	s.dropped(cause)
	s.mu.Lock()
	s.unlogged++
	if time.Since(s.lastLog) < s.logEvery {
		s.mu.Unlock()
		return
	}
	n := s.unlogged
	s.unlogged, s.lastLog = 0, time.Now()
	s.mu.Unlock()
	s.log.Warn("dropped events", "count", n, "last", w.what, "cause", cause, "err", err,
		"note", "further drops within the next "+s.logEvery.String()+" are logged together")
}

// flushLog logs the drops not logged yet: all of them with force, else only once logEvery has
// passed since the last log (so a burst's tail is reported when the burst ends).
func (s *eventSink) flushLog(force bool) {
	s.mu.Lock()
	n := s.unlogged
	if n == 0 || (!force && time.Since(s.lastLog) < s.logEvery) {
		s.mu.Unlock()
		return
	}
	s.unlogged, s.lastLog = 0, time.Now()
	s.mu.Unlock()
	if n > 0 {
		s.log.Warn("dropped events", "count", n)
	}
}
