package metrics

import (
	"strings"
)

// RegisterMeta registers the families Kubernetes' metrics registry keeps about itself:
//   - registered_metrics_total{stability_level,deprecated_version}: the families registered, by
//     the stability level their help text starts with ("[STABLE] ..."); families without one
//     (go_*, process_*, berth_*) are not Kubernetes metrics and are not counted, as there;
//   - disabled_metrics_total: the distinct names --disabled-metrics gave;
//   - hidden_metrics_total: 0, since berth hides no deprecated family;
//   - cardinality_enforcement_unexpected_categorizations_total: label values --allow-metric-labels
//     turned into "unexpected".
//
// The counts are read at each scrape. Call it after Configure.
func (r *Registry) RegisterMeta() error {
	levels, err := newLabelSet("registered_metrics_total", []string{"stability_level", "deprecated_version"}, "")
	if err != nil {
		return err
	}
	counter := func(name, help string, get func() float64) *family {
		return valueFamily(name, help, kindCounter, func(*scrape) (float64, error) { return get(), nil })
	}
	return r.register(
		&family{name: "registered_metrics_total", help: "[BETA] The count of registered metrics broken by stability level and deprecation version.",
			kind: kindCounter, labels: levels,
			collect: func(_ *scrape, out []series) ([]series, error) {
				for _, level := range []string{"ALPHA", "BETA", "STABLE", "INTERNAL"} {
					if n := r.registeredAt(level); n > 0 {
						out = append(out, series{labelValues: []string{level, ""}, value: float64(n)})
					}
				}
				return out, nil
			}},
		counter("disabled_metrics_total", "[BETA] The count of disabled metrics.", func() float64 {
			r.mu.Lock()
			defer r.mu.Unlock()
			return float64(len(r.disabled))
		}),
		counter("hidden_metrics_total", "[BETA] The count of hidden metrics.", func() float64 { return 0 }),
		counter("cardinality_enforcement_unexpected_categorizations_total", "[ALPHA] The count of unexpected categorizations during cardinality enforcement.",
			func() float64 { return float64(r.unexpected.Load()) }),
	)
}

// registeredAt counts the registered families whose help starts with "[level]".
func (r *Registry) registeredAt(level string) int {
	prefix := "[" + level + "]"
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, f := range r.families {
		if strings.HasPrefix(f.help, prefix) {
			n++
		}
	}
	return n
}
