package metrics

import (
	"strings"
	"testing"
)

// TestRegisterMeta checks the registry's families about itself against what was registered,
// disabled and recategorised, including families registered after it.
func TestRegisterMeta(t *testing.T) {
	r := NewRegistry()
	r.Configure([]string{"off_a", "off_b", "off_a"}, map[string]map[string][]string{"limited_total": {"result": {"ok"}}})
	if err := r.RegisterMeta(); err != nil {
		t.Fatal(err)
	}
	limited, err := r.Counter("limited_total", "[STABLE] Limited.", "result")
	if err != nil {
		t.Fatal(err)
	}
	for _, reg := range []struct{ name, help string }{
		{"stable_total", "[STABLE] A stable one."}, {"alpha_total", "[ALPHA] An alpha one."},
		{"plain_total", "No level: not a Kubernetes metric."}, {"off_a", "[BETA] Disabled."},
	} {
		if _, err := r.Counter(reg.name, reg.help); err != nil {
			t.Fatal(err)
		}
	}
	limited.With("ok").Inc()
	limited.With("weird").Inc()
	limited.With("odd").Inc()
	var b strings.Builder
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	got := samples(t, b.String())
	tests := []struct {
		sample string
		want   float64
	}{
		// limited_total and stable_total; the meta families' own BETA and ALPHA help counts too.
		{`registered_metrics_total{deprecated_version="",stability_level="STABLE"}`, 2},
		{`registered_metrics_total{deprecated_version="",stability_level="BETA"}`, 3},
		{`registered_metrics_total{deprecated_version="",stability_level="ALPHA"}`, 2},
		{"disabled_metrics_total", 2},
		{"hidden_metrics_total", 0},
		{"cardinality_enforcement_unexpected_categorizations_total", 2},
	}
	for _, tc := range tests {
		if v, ok := got[tc.sample]; !ok || v != tc.want {
			t.Errorf("%s = %v (present %v), want %v", tc.sample, v, ok, tc.want)
		}
	}
}
