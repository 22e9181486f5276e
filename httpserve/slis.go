package httpserve

import (
	"fmt"
	"io"
	"net/http"

	"github.com/berth-scheduler/berth/metrics"
)

// sliMetrics are component-base's health-check SLIs, served at /metrics/slis: the last result of
// each check run by /healthz, /livez or /readyz (1 passed, 0 failed), and a count of results.
// Only the checks run by the endpoints themselves count, not the per-check sub-paths, as
// upstream. A nil *sliMetrics observes nothing.
type sliMetrics struct {
	last  *metrics.GaugeVec   // kubernetes_healthcheck{name,type}
	total *metrics.CounterVec // kubernetes_healthchecks_total{name,type,status}
}

// newSLIMetrics registers the SLI families, and process_start_time_seconds, in reg.
func newSLIMetrics(reg *metrics.Registry) (*sliMetrics, error) {
	last, err := reg.Gauge("kubernetes_healthcheck",
		"[STABLE] This metric records the result of a single healthcheck.", "name", "type")
	if err != nil {
		return nil, fmt.Errorf("registering SLI metrics: %w", err)
	}
	total, err := reg.Counter("kubernetes_healthchecks_total",
		"[STABLE] This metric records the results of all healthcheck.", "name", "type", "status")
	if err != nil {
		return nil, fmt.Errorf("registering SLI metrics: %w", err)
	}
	if err := reg.RegisterProcessStartTime(); err != nil {
		return nil, fmt.Errorf("registering SLI metrics: %w", err)
	}
	return &sliMetrics{last: last, total: total}, nil
}

// observe records one result of check on endpoint ("healthz", "livez", "readyz").
func (s *sliMetrics) observe(check, endpoint string, passed bool) {
	if s == nil {
		return
	}
	status, value := "success", 1.0
	if !passed {
		status, value = "error", 0
	}
	s.last.With(check, endpoint).Set(value)
	s.total.With(check, endpoint, status).Inc()
}

// handler serves reg; DELETE forgets every SLI series instead, as kube-scheduler's
// /metrics/slis does (the verb is authorized as "delete").
func (s *sliMetrics) handler(reg *metrics.Registry, onError func(error)) http.Handler {
	serve := reg.Handler(onError)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			s.last.Reset()
			s.total.Reset()
			_, _ = io.WriteString(w, "metrics reset\n")
			return
		}
		serve.ServeHTTP(w, r)
	})
}
