package metrics

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

// Histogram counts observations into buckets with fixed upper bounds. It is
// safe for concurrent use, and a nil *Histogram discards everything.
type Histogram struct {
	bounds []float64       // upper bounds, strictly increasing, no +Inf
	counts []atomic.Uint64 // per bucket, not cumulative; last is +Inf
	sum    atomic.Uint64   // float64 bits
}

// Observe records v. It goes into the first bucket whose upper bound is
// >= v (Prometheus' "le"); NaN goes only into the +Inf bucket.
func (h *Histogram) Observe(v float64) {
	if h == nil {
		return
	}
	// Binary search for the first bound >= v; NaN compares false and so
	// ends past the last bound, in +Inf.
	lo, hi := 0, len(h.bounds)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if h.bounds[mid] >= v {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	h.counts[lo].Add(1)
	addFloat(&h.sum, v)
}

// snapshot returns the cumulative bucket counts (excluding +Inf), the total
// count and the sum. Observations running concurrently may show in the
// counts and not yet in the sum; the count always equals the +Inf bucket.
func (h *Histogram) snapshot() (points []point, count uint64, sum float64) {
	points = make([]point, len(h.bounds))
	for i, b := range h.bounds {
		count += h.counts[i].Load()
		points[i] = point{at: b, value: float64(count)}
	}
	count += h.counts[len(h.bounds)].Load()
	return points, count, math.Float64frombits(h.sum.Load())
}

// HistogramVec is a family of histograms told apart by label values, all
// with the same buckets. It is safe for concurrent use. A nil *HistogramVec
// hands out nil histograms, which discard.
type HistogramVec struct {
	children *children[Histogram]
}

// Histogram registers a histogram family with the given bucket upper
// bounds, which must be non-empty and strictly increasing; a last bound of
// +Inf may be given and is implied otherwise. See Counter for labelNames;
// "le" is not allowed as a label name.
func (r *Registry) Histogram(name, help string, buckets []float64, labelNames ...string) (*HistogramVec, error) {
	if r.off(name) {
		return nil, nil
	}
	bounds, err := checkBuckets(buckets)
	if err != nil {
		return nil, fmt.Errorf("registering metric %q: %w", name, err)
	}
	labels, err := r.newLabelSet(name, labelNames, "le")
	if err != nil {
		return nil, err
	}
	v := &HistogramVec{children: newChildren(labels, func() *Histogram {
		return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
	})}
	f := &family{name: name, help: help, kind: kindHistogram, labels: labels,
		collect: func(_ *scrape, out []series) ([]series, error) {
			v.children.each(func(values []string, h *Histogram) {
				points, count, sum := h.snapshot()
				out = append(out, series{labelValues: values, points: points, count: count, sum: sum})
			})
			return out, nil
		}}
	if err := r.register(f); err != nil {
		return nil, err
	}
	return v, nil
}

// With returns the histogram for labelValues, creating it on first use; on
// values that do not fit it returns a nil histogram, which discards.
func (v *HistogramVec) With(labelValues ...string) *Histogram {
	h, _ := v.Lookup(labelValues...)
	return h
}

// Lookup is With that reports why the label values do not fit.
func (v *HistogramVec) Lookup(labelValues ...string) (*Histogram, error) {
	if v == nil {
		return nil, errNilVec
	}
	return v.children.get(labelValues)
}

// checkBuckets validates bucket bounds and returns a copy without a
// trailing +Inf.
func checkBuckets(buckets []float64) ([]float64, error) {
	bounds := slices.Clone(buckets)
	if n := len(bounds); n > 0 && math.IsInf(bounds[n-1], 1) {
		bounds = bounds[:n-1]
	}
	if len(bounds) == 0 {
		return nil, fmt.Errorf("buckets: need at least one finite upper bound")
	}
	for i, b := range bounds {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			return nil, fmt.Errorf("buckets[%d]: %v is not a finite bound", i, b)
		}
		if i > 0 && b <= bounds[i-1] {
			return nil, fmt.Errorf("buckets[%d]: %v is not greater than the bound before it, %v", i, b, bounds[i-1])
		}
	}
	return bounds, nil
}

// ExponentialBuckets returns count bounds, the first start and each the one
// before times factor. It returns nil (which Histogram rejects) unless
// count >= 1, start > 0 and factor > 1.
func ExponentialBuckets(start, factor float64, count int) []float64 {
	if count < 1 || !(start > 0) || !(factor > 1) || math.IsInf(start, 0) || math.IsInf(factor, 0) {
		return nil
	}
	b := make([]float64, count)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

// LinearBuckets returns count bounds, the first start and each width more
// than the one before. It returns nil (which Histogram rejects) unless
// count >= 1 and width > 0.
func LinearBuckets(start, width float64, count int) []float64 {
	if count < 1 || !(width > 0) || math.IsInf(width, 0) || math.IsNaN(start) || math.IsInf(start, 0) {
		return nil
	}
	b := make([]float64, count)
	for i := range b {
		b[i] = start
		start += width
	}
	return b
}
