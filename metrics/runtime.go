package metrics

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// scrape is the state of one WritePrometheus call. Families read through it
// what is expensive or shared, so it is read at most once per scrape. Only
// the goroutine running WritePrometheus uses it.
type scrape struct {
	readMemStats func(*runtime.MemStats)
	memDone      bool
	mem          runtime.MemStats

	proc       procReader
	statDone   bool
	stat       procStat
	statErr    error
	limitsDone bool
	limits     procLimits
	limitsErr  error
	netDone    bool
	rx, tx     float64
	netErr     error
}

func (r *Registry) newScrape() *scrape {
	return &scrape{readMemStats: r.readMemStats, proc: procReader{root: r.procRoot}}
}

// memStats reads runtime.MemStats, which stops the world, on first use.
func (s *scrape) memStats() *runtime.MemStats {
	if !s.memDone {
		s.readMemStats(&s.mem)
		s.memDone = true
	}
	return &s.mem
}

// RegisterRuntime registers metrics about the Go runtime (go_*) and, on
// Linux, about the process as seen in /proc (process_*), under the names
// Prometheus' Go client uses, so existing dashboards keep working. A scrape
// stops the world once, for runtime.ReadMemStats. It fails if any of the
// names is already registered, and then registers none.
func (r *Registry) RegisterRuntime() error {
	fams := goFamilies()
	if runtime.GOOS == "linux" {
		fams = append(fams, processFamilies()...)
	}
	if err := r.register(fams...); err != nil {
		return fmt.Errorf("registering runtime metrics: %w", err)
	}
	return nil
}

// RegisterProcessStartTime registers process_start_time_seconds alone, for
// registries served apart from the main one (kube-scheduler's /metrics/slis
// carries it). It does nothing outside Linux, where the process metrics are
// not read.
func (r *Registry) RegisterProcessStartTime() error {
	if runtime.GOOS != "linux" {
		return nil
	}
	for _, f := range processFamilies() {
		if f.name == "process_start_time_seconds" {
			return r.register(f)
		}
	}
	return nil
}

// valueFamily is a family without labels holding the single value get
// returns at scrape time.
func valueFamily(name, help string, k kind, get func(*scrape) (float64, error)) *family {
	return &family{name: name, help: help, kind: k,
		collect: func(s *scrape, out []series) ([]series, error) {
			v, err := get(s)
			if err != nil {
				return out, err
			}
			return append(out, series{value: v}), nil
		}}
}

// memStatsMetrics are the go_memstats_* gauges and counters.
var memStatsMetrics = []struct {
	name, help string
	kind       kind
	get        func(*runtime.MemStats) uint64
}{
	{"go_memstats_alloc_bytes", "Bytes of allocated heap objects.", kindGauge, func(m *runtime.MemStats) uint64 { return m.Alloc }},
	{"go_memstats_alloc_bytes_total", "Cumulative bytes allocated for heap objects.", kindCounter, func(m *runtime.MemStats) uint64 { return m.TotalAlloc }},
	{"go_memstats_sys_bytes", "Bytes of memory obtained from the OS.", kindGauge, func(m *runtime.MemStats) uint64 { return m.Sys }},
	{"go_memstats_mallocs_total", "Cumulative count of heap objects allocated.", kindCounter, func(m *runtime.MemStats) uint64 { return m.Mallocs }},
	{"go_memstats_frees_total", "Cumulative count of heap objects freed.", kindCounter, func(m *runtime.MemStats) uint64 { return m.Frees }},
	{"go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects (same as go_memstats_alloc_bytes).", kindGauge, func(m *runtime.MemStats) uint64 { return m.HeapAlloc }},
	{"go_memstats_heap_sys_bytes", "Bytes of heap memory obtained from the OS.", kindGauge, func(m *runtime.MemStats) uint64 { return m.HeapSys }},
	{"go_memstats_heap_idle_bytes", "Bytes in idle heap spans.", kindGauge, func(m *runtime.MemStats) uint64 { return m.HeapIdle }},
	{"go_memstats_heap_inuse_bytes", "Bytes in in-use heap spans.", kindGauge, func(m *runtime.MemStats) uint64 { return m.HeapInuse }},
	{"go_memstats_heap_released_bytes", "Bytes of heap memory returned to the OS.", kindGauge, func(m *runtime.MemStats) uint64 { return m.HeapReleased }},
	{"go_memstats_heap_objects", "Number of allocated heap objects.", kindGauge, func(m *runtime.MemStats) uint64 { return m.HeapObjects }},
	{"go_memstats_stack_inuse_bytes", "Bytes in stack spans.", kindGauge, func(m *runtime.MemStats) uint64 { return m.StackInuse }},
	{"go_memstats_stack_sys_bytes", "Bytes of stack memory obtained from the OS.", kindGauge, func(m *runtime.MemStats) uint64 { return m.StackSys }},
	{"go_memstats_next_gc_bytes", "Heap size the next garbage collection aims at.", kindGauge, func(m *runtime.MemStats) uint64 { return m.NextGC }},
	{"go_memstats_mspan_inuse_bytes", "Bytes of allocated mspan structures.", kindGauge, func(m *runtime.MemStats) uint64 { return m.MSpanInuse }},
	{"go_memstats_mspan_sys_bytes", "Bytes of memory obtained from the OS for mspan structures.", kindGauge, func(m *runtime.MemStats) uint64 { return m.MSpanSys }},
	{"go_memstats_mcache_inuse_bytes", "Bytes of allocated mcache structures.", kindGauge, func(m *runtime.MemStats) uint64 { return m.MCacheInuse }},
	{"go_memstats_mcache_sys_bytes", "Bytes of memory obtained from the OS for mcache structures.", kindGauge, func(m *runtime.MemStats) uint64 { return m.MCacheSys }},
	{"go_memstats_buck_hash_sys_bytes", "Bytes of memory in profiling bucket hash tables.", kindGauge, func(m *runtime.MemStats) uint64 { return m.BuckHashSys }},
	{"go_memstats_gc_sys_bytes", "Bytes of memory in garbage collection metadata.", kindGauge, func(m *runtime.MemStats) uint64 { return m.GCSys }},
	{"go_memstats_other_sys_bytes", "Bytes of memory in miscellaneous off-heap runtime allocations.", kindGauge, func(m *runtime.MemStats) uint64 { return m.OtherSys }},
}

// goFamilies returns the go_* families.
func goFamilies() []*family {
	fams := []*family{
		valueFamily("go_goroutines", "Number of goroutines that currently exist.", kindGauge,
			func(*scrape) (float64, error) { return float64(runtime.NumGoroutine()), nil }),
		valueFamily("go_threads", "Number of OS threads created by the Go runtime.", kindGauge,
			func(*scrape) (float64, error) {
				n, _ := runtime.ThreadCreateProfile(nil)
				return float64(n), nil
			}),
		valueFamily("go_memstats_last_gc_time_seconds", "Time the last garbage collection finished, in seconds since the Unix epoch.", kindGauge,
			func(s *scrape) (float64, error) { return float64(s.memStats().LastGC) / 1e9, nil }),
		{name: "go_info", help: "Information about the Go toolchain that built the binary.", kind: kindGauge,
			labels: labelSet{names: []string{"version"}, order: []int{0}},
			collect: func(_ *scrape, out []series) ([]series, error) {
				return append(out, series{labelValues: []string{runtime.Version()}, value: 1}), nil
			}},
		{name: "go_gc_duration_seconds", help: "Stop-the-world pause durations of garbage collection cycles.", kind: kindSummary,
			collect: collectGCPauses},
	}
	for _, m := range memStatsMetrics {
		fams = append(fams, valueFamily(m.name, m.help, m.kind,
			func(s *scrape) (float64, error) { return float64(m.get(s.memStats())), nil }))
	}
	return fams
}

// collectGCPauses reads GC pause quantiles (over the last pauses the
// runtime keeps), their total and count. It does not stop the world.
func collectGCPauses(_ *scrape, out []series) ([]series, error) {
	quantiles := []float64{0, 0.25, 0.5, 0.75, 1}
	stats := debug.GCStats{PauseQuantiles: make([]time.Duration, len(quantiles))}
	debug.ReadGCStats(&stats)
	points := make([]point, len(quantiles))
	for i, q := range quantiles {
		points[i] = point{at: q, value: stats.PauseQuantiles[i].Seconds()}
	}
	return append(out, series{points: points, count: uint64(stats.NumGC), sum: stats.PauseTotal.Seconds()}), nil
}
