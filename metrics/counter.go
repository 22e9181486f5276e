package metrics

import (
	"math"
	"sync/atomic"
)

// Counter is a value that only goes up. It is safe for concurrent use, and
// a nil *Counter is a valid counter that discards everything (that is what
// CounterVec.With hands out for bad label values).
type Counter struct {
	whole atomic.Uint64 // sum of whole-number increments
	frac  atomic.Uint64 // float64 bits of the sum of all other increments
}

// Inc adds one.
func (c *Counter) Inc() {
	if c != nil {
		c.whole.Add(1)
	}
}

// Add adds v. Negative, zero and NaN values are ignored: a counter never
// goes down.
func (c *Counter) Add(v float64) {
	if c == nil || !(v > 0) {
		return
	}
	if v < 1<<63 && v == math.Trunc(v) {
		c.whole.Add(uint64(v))
		return
	}
	addFloat(&c.frac, v)
}

// Value returns the current total.
func (c *Counter) Value() float64 {
	if c == nil {
		return 0
	}
	return float64(c.whole.Load()) + math.Float64frombits(c.frac.Load())
}

// addFloat adds v to the float64 stored as bits in u.
func addFloat(u *atomic.Uint64, v float64) {
	for {
		old := u.Load()
		if u.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// CounterVec is a family of counters told apart by label values. It is safe
// for concurrent use. A nil *CounterVec (from a failed registration) hands
// out nil counters, which discard.
type CounterVec struct {
	children *children[Counter]
}

// Counter registers a counter family. labelNames are the labels every
// series carries, in the order With takes their values; with no label
// names the family has exactly one series, exposed from the start at 0.
// It fails if name or a label name is invalid or name is already taken. A family
// --disabled-metrics names is not registered: the vector is nil and counts nothing.
func (r *Registry) Counter(name, help string, labelNames ...string) (*CounterVec, error) {
	if r.off(name) {
		return nil, nil
	}
	labels, err := r.newLabelSet(name, labelNames, "")
	if err != nil {
		return nil, err
	}
	v := &CounterVec{children: newChildren(labels, func() *Counter { return new(Counter) })}
	f := &family{name: name, help: help, kind: kindCounter, labels: labels,
		collect: func(_ *scrape, out []series) ([]series, error) {
			v.children.each(func(values []string, c *Counter) {
				out = append(out, series{labelValues: values, value: c.Value()})
			})
			return out, nil
		}}
	if err := r.register(f); err != nil {
		return nil, err
	}
	return v, nil
}

// With returns the counter for labelValues, given in the order of the label
// names at registration, creating it on first use. If the values do not fit
// (wrong count, invalid UTF-8) it returns a nil counter, which discards;
// use Lookup to see the error.
func (v *CounterVec) With(labelValues ...string) *Counter {
	c, _ := v.Lookup(labelValues...)
	return c
}

// Lookup is With that reports why the label values do not fit.
func (v *CounterVec) Lookup(labelValues ...string) (*Counter, error) {
	if v == nil {
		return nil, errNilVec
	}
	return v.children.get(labelValues)
}

// Reset drops every series, as a DELETE of kube-scheduler's /metrics/slis
// does; they reappear, from zero, on their next use. Counters handed out
// before keep counting, but are no longer exposed.
func (v *CounterVec) Reset() {
	if v != nil {
		v.children.reset()
	}
}
