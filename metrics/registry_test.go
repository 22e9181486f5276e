package metrics

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestRegistration(t *testing.T) {
	one := []float64{1}
	counter := func(name string, labels ...string) func(*Registry) error {
		return func(r *Registry) error { _, err := r.Counter(name, "", labels...); return err }
	}
	gauge := func(name string, labels ...string) func(*Registry) error {
		return func(r *Registry) error { _, err := r.Gauge(name, "", labels...); return err }
	}
	histogram := func(name string, buckets []float64, labels ...string) func(*Registry) error {
		return func(r *Registry) error { _, err := r.Histogram(name, "", buckets, labels...); return err }
	}
	gaugeFunc := func(name string) func(*Registry) error {
		return func(r *Registry) error { return r.GaugeFunc(name, "", func() float64 { return 0 }) }
	}
	gaugeVecFunc := func(name string, labels ...string) func(*Registry) error {
		return func(r *Registry) error {
			return r.GaugeVecFunc(name, "", labels, func(func(float64, ...string)) {})
		}
	}
	tests := []struct {
		name      string
		before    []func(*Registry) error // must succeed
		register  func(*Registry) error
		wantErr   string // substring; "" means success
		duplicate bool   // error wraps ErrAlreadyRegistered
	}{
		{name: "valid names", register: counter("ns:sub_total", "_a", "B9")},
		{name: "duplicate counter", before: []func(*Registry) error{counter("x")}, register: counter("x"), wantErr: "already registered", duplicate: true},
		{name: "duplicate across types", before: []func(*Registry) error{counter("x")}, register: gauge("x", "l"), wantErr: "already registered", duplicate: true},
		{name: "duplicate gauge func", before: []func(*Registry) error{gaugeFunc("x")}, register: gaugeVecFunc("x", "l"), wantErr: "already registered", duplicate: true},
		{name: "histogram sample taken by counter", before: []func(*Registry) error{counter("x_count")}, register: histogram("x", one), wantErr: `"x_count"`, duplicate: true},
		{name: "counter name taken by histogram sample", before: []func(*Registry) error{histogram("x", one)}, register: gauge("x_bucket"), wantErr: `"x_bucket"`, duplicate: true},
		{name: "histogram name taken by gauge", before: []func(*Registry) error{gauge("x_sum")}, register: histogram("x", one), duplicate: true, wantErr: "already registered"},
		{name: "empty metric name", register: counter(""), wantErr: "name must match"},
		{name: "metric name with dash", register: gauge("a-b"), wantErr: "name must match"},
		{name: "metric name starting with digit", register: gaugeFunc("1a"), wantErr: "name must match"},
		{name: "invalid name in gauge vec func", register: gaugeVecFunc("a b", "l"), wantErr: "name must match"},
		{name: "label with colon", register: counter("c", "a:b"), wantErr: `label name "a:b"`},
		{name: "label starting with digit", register: counter("c", "1a"), wantErr: `label name "1a"`},
		{name: "empty label", register: gauge("g", ""), wantErr: `label name ""`},
		{name: "reserved label prefix", register: gaugeVecFunc("g", "__name"), wantErr: `label name "__name"`},
		{name: "repeated label", register: counter("c", "a", "b", "a"), wantErr: `"a" is repeated`},
		{name: "le on histogram", register: histogram("h", one, "le"), wantErr: `"le" is reserved`},
		{name: "le allowed on counter", register: counter("c", "le")},
		{name: "no buckets", register: histogram("h", nil), wantErr: "at least one finite"},
		{name: "only +Inf bucket", register: histogram("h", []float64{math.Inf(1)}), wantErr: "at least one finite"},
		{name: "descending buckets", register: histogram("h", []float64{2, 1}), wantErr: "buckets[1]"},
		{name: "repeated bucket", register: histogram("h", []float64{1, 1}), wantErr: "buckets[1]"},
		{name: "NaN bucket", register: histogram("h", []float64{math.NaN()}), wantErr: "buckets[0]"},
		{name: "-Inf bucket", register: histogram("h", []float64{math.Inf(-1), 1}), wantErr: "buckets[0]"},
		{name: "invalid bucket helper result", register: histogram("h", ExponentialBuckets(0, 2, 3)), wantErr: "at least one finite"},
		{name: "runtime twice", before: []func(*Registry) error{(*Registry).RegisterRuntime}, register: (*Registry).RegisterRuntime, wantErr: "already registered", duplicate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			for _, b := range tt.before {
				if err := b(reg); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			err := tt.register(reg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrAlreadyRegistered); got != tt.duplicate {
				t.Errorf("errors.Is(err, ErrAlreadyRegistered) = %v, want %v", got, tt.duplicate)
			}
		})
	}
}

func TestFailedRegistrationRegistersNothing(t *testing.T) {
	reg := NewRegistry()
	if _, err := reg.Gauge("process_open_fds", "mine"); err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterRuntime(); !errors.Is(err, ErrAlreadyRegistered) {
		t.Fatalf("RegisterRuntime = %v, want ErrAlreadyRegistered", err)
	}
	// Nothing of the failed batch was kept, so its names are still free.
	if _, err := reg.Gauge("go_goroutines", "mine"); err != nil {
		t.Errorf("go_goroutines taken after failed RegisterRuntime: %v", err)
	}
	vec, err := reg.Counter("process_open_fds", "")
	if err == nil || vec != nil {
		t.Fatalf("duplicate Counter = %v, %v; want nil vector and error", vec, err)
	}
	vec.With().Inc() // a failed registration's nil vector discards
}

func TestBucketHelpers(t *testing.T) {
	tests := []struct {
		name string
		got  []float64
		want []float64
	}{
		{"exponential", ExponentialBuckets(1, 2, 4), []float64{1, 2, 4, 8}},
		{"exponential single", ExponentialBuckets(0.5, 3, 1), []float64{0.5}},
		{"exponential zero count", ExponentialBuckets(1, 2, 0), nil},
		{"exponential zero start", ExponentialBuckets(0, 2, 3), nil},
		{"exponential factor one", ExponentialBuckets(1, 1, 3), nil},
		{"exponential NaN factor", ExponentialBuckets(1, math.NaN(), 3), nil},
		{"linear", LinearBuckets(-1, 0.5, 4), []float64{-1, -0.5, 0, 0.5}},
		{"linear zero width", LinearBuckets(0, 0, 3), nil},
		{"linear negative count", LinearBuckets(0, 1, -1), nil},
		{"linear infinite start", LinearBuckets(math.Inf(-1), 1, 2), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestConfigure checks kube-scheduler's metric options: a disabled family is not written, and a
// label value outside its allow-list is counted as "unexpected" (values outside it share one
// series), while other labels and families are untouched.
func TestConfigure(t *testing.T) {
	r := NewRegistry()
	r.Configure([]string{"hidden_total"},
		map[string]map[string][]string{"attempts_total": {"result": {"scheduled", "error"}}})
	attempts, err := r.Counter("attempts_total", "Attempts.", "result", "profile")
	if err != nil {
		t.Fatal(err)
	}
	hidden, err := r.Counter("hidden_total", "Hidden.")
	if err != nil {
		t.Fatal(err)
	}
	if hidden != nil {
		t.Error("Counter registered a disabled family; it should hand out a nil vector that counts nothing")
	}
	for _, reg := range []func() error{
		func() error { _, err := r.Histogram("hidden_total", "Hidden.", []float64{1}); return err },
		func() error { _, err := r.Gauge("hidden_total", "Hidden."); return err },
		func() error { return r.GaugeFunc("hidden_total", "Hidden.", func() float64 { return 1 }) },
		func() error {
			return r.GaugeVecFunc("hidden_total", "Hidden.", []string{"a"}, func(emit func(float64, ...string)) { emit(1, "x") })
		},
	} {
		if err := reg(); err != nil {
			t.Errorf("registering a disabled family again: %v, want nil (it was never registered)", err)
		}
	}
	other, err := r.Counter("other_total", "Other.", "result")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.GaugeVecFunc("live", "Live.", []string{"result"}, func(emit func(float64, ...string)) { emit(1, "weird") }); err != nil {
		t.Fatal(err)
	}
	attempts.With("scheduled", "p").Inc()
	attempts.With("weird", "p").Inc()
	attempts.With("odd", "p").Add(2)
	hidden.With().Inc()
	other.With("weird").Inc()
	var b strings.Builder
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		`attempts_total{profile="p",result="scheduled"} 1`,
		`attempts_total{profile="p",result="unexpected"} 3`,
		`other_total{result="weird"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"hidden_total", `result="weird",profile`, `attempts_total{profile="p",result="odd"}`} {
		if strings.Contains(got, unwanted) {
			t.Errorf("exposition has %s:\n%s", unwanted, got)
		}
	}
	if !strings.Contains(got, `live{result="weird"} 1`) {
		t.Errorf("a family without allow-list changed:\n%s", got)
	}
}
