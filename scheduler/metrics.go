package scheduler

import (
	"errors"

	"github.com/berth-scheduler/berth/metrics"
)

// Metric results as kube-scheduler labels them.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

// schedMetrics are the scheduler's metrics, under kube-scheduler's names.
type schedMetrics struct {
	attempts        *metrics.CounterVec   // result, profile
	attemptDuration *metrics.HistogramVec // result, profile
	sli             *metrics.HistogramVec // attempts
	incoming        *metrics.CounterVec   // event, queue
	bindings        *metrics.CounterVec   // result (berth-specific: binding outcomes)
	eventsDropped   *metrics.CounterVec   // cause (berth-specific: events never written)
	preemptions     *metrics.CounterVec   // no labels
	victims         *metrics.HistogramVec // no labels
	algorithm       *metrics.HistogramVec // no labels: the decision, with preemption's search
	podAttempts     *metrics.HistogramVec // no labels: attempts of each pod bound
	binding         *metrics.Gauge        // scheduler_goroutines{operation="binding"}: bindings under way
	eventHandling   *metrics.HistogramVec // event: informer event handling (see Scheduler.timed)
	afterFlush      *metrics.CounterVec   // no labels: pods bound after the periodic flush moved them
	claimCreates    *metrics.CounterVec   // status, admin_access, owner_api_group, owner_api_kind
}

// claimCreated counts the creation of a pod's extended resource claim, labelled as upstream's
// scheduler labels it (no admin access, owned by a Pod).
func (m *schedMetrics) claimCreated(status string) {
	m.claimCreates.With(status, "false", "", "Pod").Inc()
}

// newSchedMetrics registers the scheduler's metrics in r. With r nil the metrics are counted
// nowhere (every method of a nil metric is a no-op).
func newSchedMetrics(r *metrics.Registry) (*schedMetrics, error) {
	m := &schedMetrics{}
	if r == nil {
		return m, nil
	}
	var errs []error
	var err error
	m.attempts, err = r.Counter("scheduler_schedule_attempts_total",
		"[STABLE] Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
		"result", "profile")
	errs = append(errs, err)
	m.attemptDuration, err = r.Histogram("scheduler_scheduling_attempt_duration_seconds",
		"[STABLE] Scheduling attempt latency in seconds (scheduling algorithm + binding)",
		metrics.ExponentialBuckets(0.001, 2, 15), "result", "profile")
	errs = append(errs, err)
	m.sli, err = r.Histogram("scheduler_pod_scheduling_sli_duration_seconds",
		"[BETA] E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.",
		metrics.ExponentialBuckets(0.01, 2, 20), "attempts")
	errs = append(errs, err)
	m.incoming, err = r.Counter("scheduler_queue_incoming_pods_total",
		"[STABLE] Number of pods added to scheduling queues by event and queue type.", "event", "queue")
	errs = append(errs, err)
	m.bindings, err = r.Counter("berth_bindings_total", "Bindings sent to the API server, by result.", "result")
	errs = append(errs, err)
	m.eventsDropped, err = r.Counter("berth_events_dropped_total",
		"Events berth did not write, by cause: 'retries' (every attempt failed), 'rejected' (the API server refused it), 'queue_full', 'stopped' (scheduling ended first).",
		"cause")
	errs = append(errs, err)
	m.preemptions, err = r.Counter("scheduler_preemption_attempts_total", "[STABLE] Total preemption attempts in the cluster till now")
	errs = append(errs, err)
	m.victims, err = r.Histogram("scheduler_preemption_victims", "[STABLE] Number of selected preemption victims for preemption initiated by a single pod",
		metrics.ExponentialBuckets(1, 2, 7))
	errs = append(errs, err)
	m.algorithm, err = r.Histogram("scheduler_scheduling_algorithm_duration_seconds", "[BETA] Scheduling algorithm latency in seconds",
		metrics.ExponentialBuckets(0.001, 2, 15))
	errs = append(errs, err)
	m.podAttempts, err = r.Histogram("scheduler_pod_scheduling_attempts", "[STABLE] Number of attempts to successfully schedule a pod.",
		metrics.ExponentialBuckets(1, 2, 5))
	errs = append(errs, err)
	goroutines, err := r.Gauge("scheduler_goroutines", "[BETA] Number of running goroutines split by the work they do such as binding.", "operation")
	errs = append(errs, err)
	m.binding = goroutines.With("binding")
	m.eventHandling, err = r.Histogram("scheduler_event_handling_duration_seconds", "[ALPHA] Event handling latency in seconds.",
		metrics.ExponentialBuckets(0.0001, 2, 12), "event")
	errs = append(errs, err)
	m.claimCreates, err = r.Counter("dynamic_resource_allocation_resourceclaim_creates_total",
		"[ALPHA] Number of ResourceClaims creation requests, categorized by creation status, admin access, and owning API group and kind (either Pod or scheduling.k8s.io/PodGroup)",
		"status", "admin_access", "owner_api_group", "owner_api_kind")
	errs = append(errs, err)
	m.afterFlush, err = r.Counter("scheduler_pod_scheduled_after_flush_total",
		"[ALPHA] Number of pods that were successfully scheduled after being flushed from unschedulableEntities due to timeout. This metric helps detect potential queueing hint misconfigurations or event handling issues.")
	errs = append(errs, err)
	return m, errors.Join(errs...)
}
