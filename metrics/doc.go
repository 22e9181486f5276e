// Package metrics is a small, dependency-free metrics registry that writes
// the Prometheus text exposition format (version 0.0.4).
//
// Code that measures something registers a metric once, at start-up, and
// keeps the returned vector; registration returns an error instead of
// panicking, so a bad name is reported by the caller like any other
// configuration mistake:
//
//	reg := metrics.NewRegistry()
//	attempts, err := reg.Counter("scheduler_schedule_attempts_total",
//		"Number of attempts to schedule pods.", "result", "profile")
//	if err != nil {
//		return fmt.Errorf("registering scheduler metrics: %w", err)
//	}
//	attempts.With("scheduled", "default-scheduler").Inc()
//
// Counting (Inc, Add, Set, Observe) is lock-free and does not allocate.
// Values that already live elsewhere are read at scrape time through
// GaugeFunc and GaugeVecFunc; RegisterRuntime adds the go_* and process_*
// metrics Prometheus' own client library exposes.
//
// The package never installs an HTTP handler by itself: the server mounts
// Registry.Handler (or calls WritePrometheus) on its own mux.
package metrics
