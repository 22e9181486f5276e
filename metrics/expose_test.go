package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// exposition returns what reg writes, failing the test on error.
func exposition(t *testing.T, reg *Registry) string {
	t.Helper()
	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatalf("WritePrometheus: %v", err)
	}
	return b.String()
}

// must returns v, failing the test given to the returned function if err
// is not nil: must(reg.Counter(...))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func TestWritePrometheus(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, reg *Registry)
		want  string
	}{
		{
			name:  "empty registry writes nothing",
			setup: func(*testing.T, *Registry) {},
			want:  "",
		},
		{
			name: "counter with labels, escaping, labels sorted by name",
			setup: func(t *testing.T, reg *Registry) {
				c := must(reg.Counter("requests_total", "Requests \"served\".\nBy path\\code.", "path", "code"))(t)
				c.With("/a", "200").Add(3)
				c.With("/a\"b\\c\nd", "500").Inc()
				c.With("/a", "404").Add(1.5)
				c.With("/b", "200").Add(2e6)
			},
			want: `# HELP requests_total Requests "served".\nBy path\\code.
# TYPE requests_total counter
requests_total{code="200",path="/a"} 3
requests_total{code="200",path="/b"} 2000000
requests_total{code="404",path="/a"} 1.5
requests_total{code="500",path="/a\"b\\c\nd"} 1
`,
		},
		{
			name: "families sorted by name, unused labelled vectors omitted, unlabelled ones at zero",
			setup: func(t *testing.T, reg *Registry) {
				must(reg.Counter("zeta_total", "Z."))(t)
				must(reg.Gauge("unused", "Never set.", "queue"))(t)
				g := must(reg.Gauge("alpha", ""))(t)
				g.With().Set(-2.5)
				must(reg.Histogram("unused_seconds", "Never observed.", []float64{1}, "op"))(t)
			},
			want: `# TYPE alpha gauge
alpha -2.5
# HELP zeta_total Z.
# TYPE zeta_total counter
zeta_total 0
`,
		},
		{
			name: "histogram with labels",
			setup: func(t *testing.T, reg *Registry) {
				h := must(reg.Histogram("latency_seconds", "Latency.", []float64{0.25, 0.5, 1, math.Inf(1)}, "op"))(t)
				h.With("write").Observe(1)
				h.With("read").Observe(0.25)
				h.With("read").Observe(0.375)
				h.With("read").Observe(7)
			},
			want: `# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{op="read",le="0.25"} 1
latency_seconds_bucket{op="read",le="0.5"} 2
latency_seconds_bucket{op="read",le="1"} 2
latency_seconds_bucket{op="read",le="+Inf"} 3
latency_seconds_sum{op="read"} 7.625
latency_seconds_count{op="read"} 3
latency_seconds_bucket{op="write",le="0.25"} 0
latency_seconds_bucket{op="write",le="0.5"} 0
latency_seconds_bucket{op="write",le="1"} 1
latency_seconds_bucket{op="write",le="+Inf"} 1
latency_seconds_sum{op="write"} 1
latency_seconds_count{op="write"} 1
`,
		},
		{
			name: "unlabelled histogram",
			setup: func(t *testing.T, reg *Registry) {
				h := must(reg.Histogram("size_bytes", "Size.", ExponentialBuckets(1, 10, 2)))(t)
				h.With().Observe(5)
			},
			want: `# HELP size_bytes Size.
# TYPE size_bytes histogram
size_bytes_bucket{le="1"} 0
size_bytes_bucket{le="10"} 1
size_bytes_bucket{le="+Inf"} 1
size_bytes_sum 5
size_bytes_count 1
`,
		},
		{
			name: "gauge funcs: dropped and duplicate emits, empty family omitted",
			setup: func(t *testing.T, reg *Registry) {
				if err := reg.GaugeFunc("leader_election_master_status_up", "Up.", func() float64 { return 1 }); err != nil {
					t.Fatal(err)
				}
				err := reg.GaugeVecFunc("scheduler_pending_pods", "Pending pods.", []string{"queue"},
					func(emit func(float64, ...string)) {
						emit(4, "unschedulable")
						emit(2, "active")
						emit(9, "active")             // duplicate: first wins
						emit(1, "a", "b")             // wrong count: dropped
						emit(1)                       // wrong count: dropped
						emit(1, string([]byte{0xff})) // invalid UTF-8: dropped
						emit(0, "backoff")
					})
				if err != nil {
					t.Fatal(err)
				}
				if err := reg.GaugeVecFunc("silent", "Emits nothing.", []string{"x"}, func(func(float64, ...string)) {}); err != nil {
					t.Fatal(err)
				}
			},
			want: `# HELP leader_election_master_status_up Up.
# TYPE leader_election_master_status_up gauge
leader_election_master_status_up 1
# HELP scheduler_pending_pods Pending pods.
# TYPE scheduler_pending_pods gauge
scheduler_pending_pods{queue="active"} 2
scheduler_pending_pods{queue="backoff"} 0
scheduler_pending_pods{queue="unschedulable"} 4
`,
		},
		{
			name: "series sorted by label values in name order, not declaration order",
			setup: func(t *testing.T, reg *Registry) {
				g := must(reg.Gauge("g", "G.", "z", "a"))(t)
				g.With("1", "b").Set(1)
				g.With("2", "a").Set(2)
				g.With("0", "b").Set(math.NaN())
				g.With("3", "a").Set(math.Inf(-1))
			},
			want: `# HELP g G.
# TYPE g gauge
g{a="a",z="2"} 2
g{a="a",z="3"} -Inf
g{a="b",z="0"} NaN
g{a="b",z="1"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			tt.setup(t, reg)
			if got := exposition(t, reg); got != tt.want {
				t.Errorf("exposition mismatch\ngot:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"zero", 0, "0"},
		{"negative zero", math.Copysign(0, -1), "0"},
		{"one", 1, "1"},
		{"minus one", -1, "-1"},
		{"fraction", 1.5, "1.5"},
		{"tenth", 0.1, "0.1"},
		{"million without exponent", 1e6, "1000000"},
		{"negative integer", -42, "-42"},
		{"largest exact integer", 1 << 53, "9007199254740992"},
		{"integer beyond exact range", 1 << 54, "1.8014398509481984e+16"},
		{"max uint64", math.MaxUint64, "1.8446744073709552e+19"},
		{"small", 1e-7, "1e-07"},
		{"non-round bucket", 1.5e-5 * 1.5, "2.25e-05"},
		{"plus infinity", math.Inf(1), "+Inf"},
		{"minus infinity", math.Inf(-1), "-Inf"},
		{"not a number", math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendFloat(nil, tt.in)); got != tt.want {
				t.Errorf("appendFloat(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// failingWriter fails every write after the first n.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestWritePrometheusStopsOnWriteError(t *testing.T) {
	reg := NewRegistry()
	calls := 0
	for _, name := range []string{"a", "b", "c"} {
		if err := reg.GaugeFunc(name, "", func() float64 { calls++; return 1 }); err != nil {
			t.Fatal(err)
		}
	}
	err := reg.WritePrometheus(&failingWriter{n: 1})
	if err == nil || !strings.Contains(err.Error(), "writing metric b") || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the failed write of b", err)
	}
	if calls != 2 {
		t.Errorf("families read = %d, want 2 (stop after the failed write)", calls)
	}
}
