package metrics

import (
	"io"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestHistogramBucketBoundaries(t *testing.T) {
	bounds := []float64{1, 2, 5}
	tests := []struct {
		name   string
		value  float64
		bucket int // index into bounds; len(bounds) is +Inf
	}{
		{"below first bound", 0.5, 0},
		{"far below", -10, 0},
		{"minus infinity", math.Inf(-1), 0},
		{"equal to first bound", 1, 0},
		{"just above first bound", math.Nextafter(1, 2), 1},
		{"equal to middle bound", 2, 1},
		{"equal to last bound", 5, 2},
		{"just above last bound", math.Nextafter(5, 6), 3},
		{"plus infinity", math.Inf(1), 3},
		{"NaN", math.NaN(), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vec := must(NewRegistry().Histogram("h", "", bounds))(t)
			h := vec.With()
			h.Observe(tt.value)
			points, count, _ := h.snapshot()
			if count != 1 {
				t.Fatalf("count = %d, want 1", count)
			}
			for i, p := range points {
				want := 0.0
				if i >= tt.bucket {
					want = 1
				}
				if p.value != want {
					t.Errorf("cumulative bucket le=%v = %v, want %v", p.at, p.value, want)
				}
			}
		})
	}
}

func TestCounterAdd(t *testing.T) {
	tests := []struct {
		name string
		adds []float64
		want float64
	}{
		{"whole numbers", []float64{1, 2, 3}, 6},
		{"fractions", []float64{0.5, 0.25}, 0.75},
		{"mixed", []float64{1, 0.5, 2}, 3.5},
		{"negative ignored", []float64{5, -3}, 5},
		{"zero ignored", []float64{0, 1}, 1},
		{"NaN ignored", []float64{math.NaN(), 2}, 2},
		{"huge", []float64{1e20}, 1e20},
		{"infinity", []float64{math.Inf(1)}, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := new(Counter)
			for _, v := range tt.adds {
				c.Add(v)
			}
			if got := c.Value(); got != tt.want {
				t.Errorf("Value() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGaugeOperations(t *testing.T) {
	tests := []struct {
		name string
		ops  func(g *Gauge)
		want float64
	}{
		{"starts at zero", func(*Gauge) {}, 0},
		{"set", func(g *Gauge) { g.Set(7.5) }, 7.5},
		{"inc dec", func(g *Gauge) { g.Inc(); g.Inc(); g.Dec() }, 1},
		{"add negative", func(g *Gauge) { g.Set(3); g.Add(-4.5) }, -1.5},
		{"set overrides", func(g *Gauge) { g.Add(10); g.Set(2) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := new(Gauge)
			tt.ops(g)
			if got := g.Value(); got != tt.want {
				t.Errorf("Value() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConcurrentUpdatesSum(t *testing.T) {
	const workers, perWorker = 8, 2000
	reg := NewRegistry()
	counters := must(reg.Counter("c_total", "", "worker"))(t)
	gauges := must(reg.Gauge("g", ""))(t)
	hists := must(reg.Histogram("h", "", []float64{1}, "kind"))(t)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			own := strconv.Itoa(w % 3) // several workers share a series, created concurrently
			for range perWorker {
				counters.With("shared").Inc()
				counters.With(own).Add(0.5)
				gauges.With().Inc()
				gauges.With().Add(-0.25)
				hists.With("x").Observe(0.5)
				hists.With("x").Observe(2)
			}
		})
	}
	// Scrapes running alongside must not race with updates.
	wg.Go(func() {
		for range 5 {
			if err := reg.WritePrometheus(io.Discard); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()

	if got, want := counters.With("shared").Value(), float64(workers*perWorker); got != want {
		t.Errorf("shared counter = %v, want %v", got, want)
	}
	perSeries := map[string]int{}
	for w := range workers {
		perSeries[strconv.Itoa(w%3)]++
	}
	for label, n := range perSeries {
		if got, want := counters.With(label).Value(), float64(n*perWorker)*0.5; got != want {
			t.Errorf("counter %q = %v, want %v", label, got, want)
		}
	}
	if got, want := gauges.With().Value(), float64(workers*perWorker)*0.75; got != want {
		t.Errorf("gauge = %v, want %v", got, want)
	}
	points, count, sum := hists.With("x").snapshot()
	if count != 2*workers*perWorker || points[0].value != workers*perWorker {
		t.Errorf("histogram count = %d, le=1 bucket = %v; want %d and %d", count, points[0].value, 2*workers*perWorker, workers*perWorker)
	}
	if want := float64(workers*perWorker) * 2.5; sum != want {
		t.Errorf("histogram sum = %v, want %v", sum, want)
	}
}

func TestWrongLabelValues(t *testing.T) {
	tests := []struct {
		name   string
		values []string
	}{
		{"none", nil},
		{"too few", []string{"a"}},
		{"too many", []string{"a", "b", "c"}},
		{"invalid UTF-8", []string{"a", string([]byte{0xc3, 0x28})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			c := must(reg.Counter("c_total", "", "x", "y"))(t)
			g := must(reg.Gauge("g", "", "x", "y"))(t)
			h := must(reg.Histogram("h", "", []float64{1}, "x", "y"))(t)

			if _, err := c.Lookup(tt.values...); err == nil {
				t.Error("CounterVec.Lookup: no error")
			}
			if _, err := g.Lookup(tt.values...); err == nil {
				t.Error("GaugeVec.Lookup: no error")
			}
			if _, err := h.Lookup(tt.values...); err == nil {
				t.Error("HistogramVec.Lookup: no error")
			}
			// With hands out discarding metrics instead of panicking.
			c.With(tt.values...).Inc()
			c.With(tt.values...).Add(2)
			g.With(tt.values...).Set(3)
			g.With(tt.values...).Dec()
			h.With(tt.values...).Observe(1)
			if got := c.With(tt.values...).Value() + g.With(tt.values...).Value(); got != 0 {
				t.Errorf("discarding metrics report %v, want 0", got)
			}
			if got := exposition(t, reg); got != "" {
				t.Errorf("exposition = %q, want nothing (no valid series)", got)
			}
		})
	}
}

func TestNilVectorsDiscard(t *testing.T) {
	var (
		c *CounterVec
		g *GaugeVec
		h *HistogramVec
	)
	c.With("a").Inc()
	g.With().Set(1)
	h.With().Observe(1)
	if _, err := c.Lookup(); err == nil {
		t.Error("Lookup on nil CounterVec: no error")
	}
	if _, err := g.Lookup(); err == nil {
		t.Error("Lookup on nil GaugeVec: no error")
	}
	if _, err := h.Lookup(); err == nil {
		t.Error("Lookup on nil HistogramVec: no error")
	}
}

func TestWithReturnsSameSeries(t *testing.T) {
	vec := must(NewRegistry().Counter("c_total", "", "a", "b"))(t)
	tests := []struct {
		name       string
		one, other []string
		same       bool
	}{
		{"equal values", []string{"x", "y"}, []string{"x", "y"}, true},
		{"boundary between values differs", []string{"ab", ""}, []string{"a", "b"}, false},
		{"swapped values", []string{"x", "y"}, []string{"y", "x"}, false},
		{"empty values", []string{"", ""}, []string{"", ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vec.With(tt.one...) == vec.With(tt.other...); got != tt.same {
				t.Errorf("same series = %v, want %v", got, tt.same)
			}
		})
	}
	// The values slice is copied: changing it later does not rename the series.
	values := []string{"p", "q"}
	first := vec.With(values...)
	values[0] = "changed"
	if vec.With("p", "q") != first {
		t.Error("series moved after the caller reused its label slice")
	}
}

func TestReset(t *testing.T) {
	reg := NewRegistry()
	c := must(reg.Counter("c_total", "", "a"))(t)
	g := must(reg.Gauge("g", "", "a"))(t)
	plain := must(reg.Counter("plain_total", ""))(t)
	c.With("x").Inc()
	g.With("y").Set(3)
	plain.With().Add(2)
	c.Reset()
	g.Reset()
	plain.Reset()
	var buf strings.Builder
	if err := reg.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	if got, want := samples(t, buf.String()), map[string]float64{"plain_total": 0}; !maps.Equal(got, want) {
		t.Errorf("after Reset: %v, want %v", got, want)
	}
	c.With("x").Inc()
	buf.Reset()
	if err := reg.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	if got := samples(t, buf.String())[`c_total{a="x"}`]; got != 1 {
		t.Errorf(`c_total{a="x"} = %v after Reset and one Inc, want 1`, got)
	}
	var nilVec *CounterVec
	nilVec.Reset() // must not panic
}
