package scheduler

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/berth-scheduler/berth/metrics"
	"github.com/berth-scheduler/berth/scheduler/decide"
)

// kube-scheduler's framework metrics: how long each extension point takes per scheduling cycle
// (with all its plugins), how long single plugin calls take in a sample of the cycles, and how
// often each filter and score plugin runs. The decision's own points (PreFilter, Filter,
// PreScore, Score) are timed by decide through a frameworkRecorder; the others here.

// Extension points the scheduler runs around the decision, named as kube-scheduler's metrics do.
const (
	pointPreEnqueue = "PreEnqueue"
	pointPostFilter = "PostFilter"
	pointReserve    = "Reserve"
	pointUnreserve  = "Unreserve"
	pointPermit     = "Permit"
	pointPreBind    = "PreBind"
	pointBind       = "Bind"
	pointPostBind   = "PostBind"
)

// pluginSamplePercent is the share of scheduling cycles whose plugin calls are timed one by one
// (kube-scheduler's pluginMetricsSamplePercent).
const pluginSamplePercent = 10

// frameworkMetrics are the three families.
type frameworkMetrics struct {
	points  *metrics.HistogramVec // extension_point, status, profile
	plugins *metrics.HistogramVec // plugin, extension_point, status
	evals   *metrics.CounterVec   // plugin, extension_point, profile
}

func newFrameworkMetrics(r *metrics.Registry) (*frameworkMetrics, error) {
	var m frameworkMetrics
	var err1, err2, err3 error
	m.points, err1 = r.Histogram("scheduler_framework_extension_point_duration_seconds",
		"[STABLE] Latency for running all plugins of a specific extension point.",
		metrics.ExponentialBuckets(0.0001, 2, 12), "extension_point", "status", "profile")
	m.plugins, err2 = r.Histogram("scheduler_plugin_execution_duration_seconds",
		"[BETA] Duration for running a plugin at a specific extension point.",
		metrics.ExponentialBuckets(0.00001, 1.5, 20), "plugin", "extension_point", "status")
	m.evals, err3 = r.Counter("scheduler_plugin_evaluation_total",
		"[BETA] Number of attempts to schedule pods by each plugin and the extension point (available only in PreFilter, Filter, PreScore, and Score).",
		"plugin", "extension_point", "profile")
	return &m, errors.Join(err1, err2, err3)
}

// frameworkRecorder counts one profile's cycles into the framework metrics. It is the profile's
// decide.Recorder; the scheduling loop starts each cycle (newCycle), and the binding cycle, on
// other goroutines, records through the cycle it was handed. A nil recorder records nothing.
type frameworkRecorder struct {
	m       *frameworkMetrics
	profile string
	epoch   time.Time // Now counts from here (monotonic)
	timed   bool      // the current cycle times its plugin calls
}

// newFrameworkRecorder returns nil, which records nothing and reads no clock, when --disabled-metrics
// turned off all three families.
func newFrameworkRecorder(m *frameworkMetrics, profile string) *frameworkRecorder {
	if m == nil || (m.points == nil && m.plugins == nil && m.evals == nil) {
		return nil
	}
	return &frameworkRecorder{m: m, profile: profile, epoch: time.Now()}
}

// newCycle starts a scheduling cycle, choosing whether it times its plugin calls, and returns the
// cycle's view for the binding cycle.
func (r *frameworkRecorder) newCycle() cycleRecorder {
	if r == nil {
		return cycleRecorder{}
	}
	r.timed = r.m.plugins != nil && rand.IntN(100) < pluginSamplePercent
	return cycleRecorder{r: r, timed: r.timed}
}

func (r *frameworkRecorder) Now() int64 { return int64(time.Since(r.epoch)) }

func (r *frameworkRecorder) TimePlugins() bool { return r.timed }

func (r *frameworkRecorder) seconds(start int64) float64 {
	return float64(r.Now()-start) / float64(time.Second)
}

func (r *frameworkRecorder) Point(point, status string, start int64) {
	r.m.points.With(point, status, r.profile).Observe(r.seconds(start))
}

func (r *frameworkRecorder) Plugin(plugin, point, status string, start int64) {
	r.m.plugins.With(plugin, point, status).Observe(r.seconds(start))
}

func (r *frameworkRecorder) Evaluated(plugin, point string, n int) {
	r.m.evals.With(plugin, point, r.profile).Add(float64(n))
}

// cycleRecorder records one pod's cycle after the decision; safe to copy and to use from the
// binding goroutines. Its zero value records nothing.
type cycleRecorder struct {
	r     *frameworkRecorder
	timed bool
}

// start reads the clock for a later point or plugin.
func (c cycleRecorder) start() int64 {
	if c.r == nil {
		return 0
	}
	return c.r.Now()
}

// point records an extension point done.
func (c cycleRecorder) point(point string, err error, start int64) {
	if c.r != nil {
		c.r.Point(point, errStatus(err), start)
	}
}

// plugin records one plugin call done, in cycles that time them.
func (c cycleRecorder) plugin(plugin, point string, err error, start int64) {
	if c.r != nil && c.timed {
		c.r.Plugin(plugin, point, errStatus(err), start)
	}
}

// deallocationDone records DynamicResources' PostFilter, timed by its claim write: Unschedulable
// once the claim is deallocated (the pod still waits, as upstream's plugin reports), Error when the
// write failed. alone is set when no other PostFilter plugin ran in the cycle (no preemption),
// which then records the PostFilter point too.
func (c cycleRecorder) deallocationDone(err error, start int64, alone bool) {
	if c.r == nil {
		return
	}
	status := decide.StatusUnschedulable
	if err != nil {
		status = decide.StatusError
	}
	if c.timed {
		c.r.Plugin(dynamicResources, pointPostFilter, status, start)
	}
	if alone {
		c.r.Point(pointPostFilter, status, start)
	}
}

func errStatus(err error) string {
	if err != nil {
		return decide.StatusError
	}
	return decide.StatusSuccess
}

// postFilterDone records the PostFilter point, timed by DefaultPreemption's search: Success when
// preemption found a node, Unschedulable when it could not help. DynamicResources' PostFilter,
// proposed by the decision (decide.Result.PostFilter) and written in the pool, is recorded by
// deallocationDone.
func (c cycleRecorder) postFilterDone(found bool, start int64) {
	if c.r == nil {
		return
	}
	status := decide.StatusUnschedulable
	if found {
		status = decide.StatusSuccess
	}
	if c.timed {
		c.r.Plugin(defaultPreemption, pointPostFilter, status, start)
	}
	c.r.Point(pointPostFilter, status, start)
}
