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
// The clock is the plugin's (time.Now unless a test sets another): the search reads it once when
// it starts and then once every checkEvery steps, so a search that finishes in a few steps, the
// usual case, pays one clock read per node.

// errTimedOut ends a search that ran past its deadline.
var errTimedOut = errors.New("timed out trying to allocate devices")

// checkEvery is how many search steps pass between two reads of the clock. A step is one device
// considered for one request, well under a microsecond unless a CEL selector is evaluated for the
// first time, so the deadline is overrun by a millisecond or so at most.
const checkEvery = 1 << 10

// deadline is one search's time bound. The zero value has none.
type deadline struct {
	now   func() time.Time // nil: no bound
	at    time.Time
	steps uint32
}

// set starts the bound: timeout from now, none when timeout is 0.
func (d *deadline) set(now func() time.Time, timeout time.Duration) {
	d.steps = 0
	if timeout <= 0 {
		d.now = nil
		return
	}
	d.now, d.at = now, now().Add(timeout)
}

// passed counts one search step and reports, every checkEvery steps, whether the deadline has
// passed (it never has without a bound).
func (d *deadline) passed() bool {
	if d.now == nil {
		return false
	}
	d.steps++
	return d.steps%checkEvery == 0 && !d.now().Before(d.at)
}
