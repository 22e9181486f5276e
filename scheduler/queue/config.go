package queue

import (
	"fmt"
	"time"
)

// Defaults applied by New to zero-valued Config fields. They match kube-scheduler's
// podInitialBackoffSeconds, podMaxBackoffSeconds and --pod-max-in-unschedulable-pods-duration.
const (
	DefaultInitialBackoff     = 1 * time.Second
	DefaultMaxBackoff         = 10 * time.Second
	DefaultMaxInUnschedulable = 5 * time.Minute
)

// Cadence of Run. backoffCheckInterval bounds how long Run sleeps between backoff checks even
// when no pod is due (so a clock jump is noticed); unschedulableCheckInterval is how often the
// unschedulable pool is scanned for pods parked longer than MaxInUnschedulable.
const (
	backoffCheckInterval       = 1 * time.Second
	unschedulableCheckInterval = 30 * time.Second
)

// Clock tells the queue the time. Every timestamp the queue records and every backoff decision
// it makes reads Now.
//
// A Clock may also implement After(d time.Duration) <-chan time.Time; Run then waits on it
// instead of a real timer, which lets tests drive Run with a fake clock.
type Clock interface {
	Now() time.Time
}

// timerClock is the optional ability of a Clock that Run uses to sleep.
type timerClock interface {
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a Queue. The zero value is valid and means "upstream defaults, real time".
type Config struct {
	// InitialBackoff is the backoff after a pod's first failed attempt; it doubles with every
	// further attempt. Zero means DefaultInitialBackoff; it must not be negative.
	InitialBackoff time.Duration
	// MaxBackoff caps the backoff. Zero means DefaultMaxBackoff; it must be >= InitialBackoff.
	MaxBackoff time.Duration
	// MaxInUnschedulable is how long a pod may stay in the unschedulable pool without a
	// matching event before Flush retries it anyway. Zero means DefaultMaxInUnschedulable; it
	// must not be negative.
	MaxInUnschedulable time.Duration
	// Clock supplies the time. Nil means real time.
	Clock Clock
	// OnIncoming, if not nil, is called once for every pod that enters a sub-queue, with the
	// queue ("active", "backoff" or "unschedulable"; gated pods count as "unschedulable", as
	// upstream does) and the event that moved it (e.g. "UnscheduledPodAdd",
	// "ScheduleAttemptFailure", "BackoffComplete", "UnschedulableTimeout", or an Events
	// label such as "NodeAdd"). It feeds scheduler_queue_incoming_pods_total. It is called
	// with the queue's lock held: it must be quick and must not call the Queue.
	OnIncoming func(queue, event string)
}

// resolve fills in defaults and validates the result, naming the first bad field.
func (c Config) resolve() (Config, error) {
	if c.InitialBackoff < 0 {
		return c, fmt.Errorf("InitialBackoff must be positive, got %v", c.InitialBackoff)
	}
	if c.InitialBackoff == 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff < 0 {
		return c, fmt.Errorf("MaxBackoff must not be negative, got %v", c.MaxBackoff)
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.InitialBackoff {
		return c, fmt.Errorf("MaxBackoff (%v) must be >= InitialBackoff (%v)", c.MaxBackoff, c.InitialBackoff)
	}
	if c.MaxInUnschedulable < 0 {
		return c, fmt.Errorf("MaxInUnschedulable must not be negative, got %v", c.MaxInUnschedulable)
	}
	if c.MaxInUnschedulable == 0 {
		c.MaxInUnschedulable = DefaultMaxInUnschedulable
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	return c, nil
}

// backoffFor is the backoff owed after the given number of attempts:
// initial * 2^(attempts-1), capped at maxBackoff; zero for a pod never attempted.
func backoffFor(attempts int, initial, maxBackoff time.Duration) time.Duration {
	if attempts <= 0 {
		return 0
	}
	d := initial
	for i := 1; i < attempts; i++ {
		if d > maxBackoff/2 {
			return maxBackoff
		}
		d *= 2
	}
	return min(d, maxBackoff)
}
