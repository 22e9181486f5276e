package election

import "time"

// Clock is the elector's only source of time. Every expiry judgement, deadline and retry interval is
// measured with it, so tests can inject a fake and step time by hand. Implementations must be safe for
// concurrent use.
type Clock interface {
	// Now returns the current local time. For a real clock it should carry a monotonic reading so that
	// wall-clock jumps do not move deadlines.
	Now() time.Time
	// NewTimer returns a one-shot timer that delivers on C once d has elapsed; d <= 0 fires at once.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C delivers the time at which the timer fired, at most once.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it stopped a pending timer.
	Stop() bool
}

// RealClock is the Clock of the running process: time.Now and time.NewTimer.
type RealClock struct{}

var _ Clock = RealClock{}

// Now returns time.Now(), monotonic reading included.
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a timer backed by time.NewTimer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }
