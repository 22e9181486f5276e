package metrics

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Gauge is a value that goes up and down. It is safe for concurrent use,
// and a nil *Gauge is a valid gauge that discards everything.
type Gauge struct {
	bits atomic.Uint64 // float64 bits
}

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) {
	if g != nil {
		g.bits.Store(math.Float64bits(v))
	}
}

// Add adds v, which may be negative.
func (g *Gauge) Add(v float64) {
	if g != nil {
		addFloat(&g.bits, v)
	}
}

// Inc adds one.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.Add(-1) }

// Value returns the current value.
func (g *Gauge) Value() float64 {
	if g == nil {
		return 0
	}
	return math.Float64frombits(g.bits.Load())
}

// GaugeVec is a family of gauges told apart by label values. It is safe for
// concurrent use. A nil *GaugeVec hands out nil gauges, which discard.
type GaugeVec struct {
	children *children[Gauge]
}

// Gauge registers a gauge family; see Counter for labelNames and errors.
func (r *Registry) Gauge(name, help string, labelNames ...string) (*GaugeVec, error) {
	if r.off(name) {
		return nil, nil
	}
	labels, err := r.newLabelSet(name, labelNames, "")
	if err != nil {
		return nil, err
	}
	v := &GaugeVec{children: newChildren(labels, func() *Gauge { return new(Gauge) })}
	f := &family{name: name, help: help, kind: kindGauge, labels: labels,
		collect: func(_ *scrape, out []series) ([]series, error) {
			v.children.each(func(values []string, g *Gauge) {
				out = append(out, series{labelValues: values, value: g.Value()})
			})
			return out, nil
		}}
	if err := r.register(f); err != nil {
		return nil, err
	}
	return v, nil
}

// With returns the gauge for labelValues, creating it on first use; on
// values that do not fit it returns a nil gauge, which discards.
func (v *GaugeVec) With(labelValues ...string) *Gauge {
	g, _ := v.Lookup(labelValues...)
	return g
}

// Lookup is With that reports why the label values do not fit.
func (v *GaugeVec) Lookup(labelValues ...string) (*Gauge, error) {
	if v == nil {
		return nil, errNilVec
	}
	return v.children.get(labelValues)
}

// Reset drops every series; see CounterVec.Reset.
func (v *GaugeVec) Reset() {
	if v != nil {
		v.children.reset()
	}
}

// GaugeFunc registers a gauge without labels whose value is fn(), called
// once per scrape, without any registry lock held, possibly from several
// scrapes at once.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) error {
	if r.off(name) {
		return nil
	}
	labels, err := newLabelSet(name, nil, "")
	if err != nil {
		return err
	}
	return r.register(&family{name: name, help: help, kind: kindGauge, labels: labels,
		collect: func(_ *scrape, out []series) ([]series, error) {
			return append(out, series{value: fn()}), nil
		}})
}

// GaugeVecFunc registers a labelled gauge family read at scrape time: fn is
// called once per scrape (as for GaugeFunc) and calls emit once per series,
// with label values in the order of labelNames. emit may be called from any
// goroutine until fn returns and is a no-op afterwards. Calls with the wrong
// number of values or invalid UTF-8 are dropped, and of two calls with the
// same label values only the first counts. If fn emits nothing the family
// is not written at all.
func (r *Registry) GaugeVecFunc(name, help string, labelNames []string, fn func(emit func(value float64, labelValues ...string))) error {
	if r.off(name) {
		return nil
	}
	labels, err := r.newLabelSet(name, labelNames, "")
	if err != nil {
		return err
	}
	return r.register(&family{name: name, help: help, kind: kindGauge, labels: labels,
		collect: func(_ *scrape, out []series) ([]series, error) {
			var mu sync.Mutex
			open := true
			fn(func(value float64, labelValues ...string) {
				if len(labelValues) != len(labels.names) || !allValidUTF8(labelValues) {
					return
				}
				labelValues = labels.admit(labelValues)
				mu.Lock()
				defer mu.Unlock()
				if open {
					out = append(out, series{labelValues: slices.Clone(labelValues), value: value})
				}
			})
			mu.Lock()
			defer mu.Unlock()
			open = false
			return out, nil
		}})
}

func allValidUTF8(values []string) bool {
	for _, v := range values {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}
