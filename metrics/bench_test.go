package metrics

import "testing"

func TestHotPathDoesNotAllocate(t *testing.T) {
	reg := NewRegistry()
	counters := must(reg.Counter("c_total", "", "result", "profile"))(t)
	gauges := must(reg.Gauge("g", "", "queue"))(t)
	hists := must(reg.Histogram("h_seconds", "", ExponentialBuckets(0.001, 2, 15), "op"))(t)
	c, g, h := counters.With("ok", "default"), gauges.With("active"), hists.With("bind")
	tests := []struct {
		name string
		fn   func()
	}{
		{"Counter.Inc", func() { c.Inc() }},
		{"Counter.Add", func() { c.Add(0.5) }},
		{"Gauge.Set", func() { g.Set(3) }},
		{"Gauge.Add", func() { g.Add(-1) }},
		{"Histogram.Observe", func() { h.Observe(0.042) }},
		{"CounterVec.With.Inc", func() { counters.With("ok", "default").Inc() }},
		{"GaugeVec.With.Inc", func() { gauges.With("active").Inc() }},
		{"HistogramVec.With.Observe", func() { hists.With("bind").Observe(0.5) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if allocs := testing.AllocsPerRun(200, tt.fn); allocs != 0 {
				t.Errorf("%v allocations per call, want 0", allocs)
			}
		})
	}
}

func BenchmarkCounterInc(b *testing.B) {
	c := must(NewRegistry().Counter("c_total", ""))(b).With()
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkCounterIncParallel(b *testing.B) {
	c := must(NewRegistry().Counter("c_total", ""))(b).With()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkCounterVecWithInc(b *testing.B) {
	vec := must(NewRegistry().Counter("c_total", "", "result", "profile"))(b)
	b.ReportAllocs()
	for b.Loop() {
		vec.With("scheduled", "default-scheduler").Inc()
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := must(NewRegistry().Histogram("h_seconds", "", ExponentialBuckets(0.00001, 1.5, 20)))(b).With()
	b.ReportAllocs()
	v := 0.0
	for b.Loop() {
		h.Observe(v)
		v += 0.0001
	}
}

func BenchmarkWritePrometheus(b *testing.B) {
	reg := NewRegistry()
	vec := must(reg.Histogram("h_seconds", "", ExponentialBuckets(0.001, 2, 15), "plugin", "point"))(b)
	for i := range 50 {
		vec.With(string(rune('a'+i%26)), string(rune('A'+i/26))).Observe(0.01)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := reg.WritePrometheus(discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
