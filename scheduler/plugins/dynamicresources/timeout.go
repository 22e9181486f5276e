package dynamicresources

import (
	"errors"
	"time"
)

// filterTimeout: DynamicResourcesArgs.filterTimeout bounds the device search on one node, as
// upstream's Filter does (gate DRASchedulerFilterTimeout, beta and on in v1.37). A search that is
// still running when it expires gives up on the node with an error, not a rejection: the
// scheduling attempt fails and the pod is retried with backoff, since the next attempt (other
// claims allocated, slices changed) may well finish in time. 0 disables the bound.
//
// The clock is the plugin's (time.Now unless a test sets another). A search reads it only every
// checkEvery steps, and not at its start: a Filter call costs about a microsecond per node, and a
// clock read per node would be a few per cent of that, on every node of every pod with claims,
// for a bound almost no search comes near. The first read starts the timeout instead, so the bound
// is filterTimeout plus the first checkEvery steps; a search that ends sooner never reads it.

// errTimedOut ends a search that ran past its deadline.
var errTimedOut = errors.New("timed out trying to allocate devices")

// checkEvery is how many search steps pass between two reads of the clock. A step is one device
// considered for one request, well under a microsecond unless a CEL selector is evaluated for the
// first time: the bound is overrun by the time of 2*checkEvery steps at most, a millisecond or
// so.
const checkEvery = 1 << 10

// deadline is one search's time bound. The zero value has none.
type deadline struct {
	now     func() time.Time // nil: no bound
	timeout time.Duration
	at      time.Time // zero until the first read of the clock
	steps   uint32
}

// set prepares the bound: timeout from the first read of the clock, none when timeout is 0.
func (d *deadline) set(now func() time.Time, timeout time.Duration) {
	*d = deadline{}
	if timeout > 0 {
		d.now, d.timeout = now, timeout
	}
}

// passed counts one search step and reports, every checkEvery steps, whether the deadline has
// passed (it never has without a bound).
func (d *deadline) passed() bool {
	if d.now == nil {
		return false
	}
	d.steps++
	if d.steps%checkEvery != 0 {
		return false
	}
	t := d.now()
	if d.at.IsZero() {
		d.at = t.Add(d.timeout)
		return false
	}
	return !t.Before(d.at)
}
