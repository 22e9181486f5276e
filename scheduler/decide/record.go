package decide

import "github.com/berth-scheduler/berth/scheduler/snapshot"

// Extension points of a decision, named as kube-scheduler's metrics label them.
const (
	PointPreFilter = "PreFilter"
	PointFilter    = "Filter"
	PointPreScore  = "PreScore"
	PointScore     = "Score"
	// PointNormalize is a score plugin's normalisation (kube-scheduler's NormalizeScore), timed
	// per plugin only.
	PointNormalize = "ScoreExtensionNormalize"
)

// Statuses of an extension point or plugin call, named as kube-scheduler's status codes.
const (
	StatusSuccess                      = "Success"
	StatusError                        = "Error"
	StatusUnschedulable                = "Unschedulable"
	StatusUnschedulableAndUnresolvable = "UnschedulableAndUnresolvable"
)

// Recorder observes decisions for kube-scheduler's framework metrics (how long each extension
// point and plugin takes, how often each plugin runs). It never changes a decision, and a
// decision never reads the clock but through it. Decide calls it from the caller's goroutine,
// except Plugin, which filter and score workers call concurrently.
type Recorder interface {
	// Now is a monotonic clock reading in nanoseconds: the start a later Point or Plugin gets.
	Now() int64
	// TimePlugins is asked once per decision: whether it times plugin calls (kube-scheduler
	// times a sample of its scheduling cycles). A timed decision times the PreFilter, PreScore
	// and Normalize calls, and the Filter and Score calls on one node in TimedNodeEvery.
	TimePlugins() bool
	// Point records one extension point of a decision done, with all its plugins.
	Point(point, status string, start int64)
	// Plugin records one plugin call at point done (in decisions that time plugins).
	Plugin(plugin, point, status string, start int64)
	// Evaluated counts n calls of plugin at point.
	Evaluated(plugin, point string, n int)
}

// TimedNodeEvery is how sparsely a decision that times plugins times the per-node calls (Filter
// and Score): those on the nodes at offsets 0, TimedNodeEvery, 2×TimedNodeEvery, ... of its
// search, and of its feasible nodes. Each observation is still one call's duration, so the
// histogram's quantiles are kube-scheduler's; its count is about 1/TimedNodeEvery of theirs.
// Timing every call would cost more than the decision itself: a clock read and a histogram
// update are as slow as most filters.
const TimedNodeEvery = 8

// NoPreScore is implemented by a score plugin that prepares nothing per pod in kube-scheduler
// (ImageLocality has no PreScore there): its PreScore calls are not counted as evaluations.
type NoPreScore interface {
	NoPreScore()
}

// SetRecorder makes the Decider report its decisions to r (nil: to nothing). It must not be
// called while Decide runs. Dry runs (Explain, DryPrepare) are never reported.
func (d *Decider) SetRecorder(r Recorder) { d.rec = r }

// statusOf names the status kube-scheduler would give verdict v.
func statusOf(v snapshot.Verdict) string {
	switch {
	case v.Fits():
		return StatusSuccess
	case v.Failed:
		return StatusError
	case v.Unresolvable:
		return StatusUnschedulableAndUnresolvable
	default:
		return StatusUnschedulable
	}
}

// countFilterEvaluations reports how often each filter of p ran in the search over the first
// processed nodes: every filter on a node that passed, the filters up to the rejecting one on the
// others (filters stop at the first rejection, as kube-scheduler's do).
func (st *state) countFilterEvaluations(rec Recorder, p *Prepared, processed int) {
	stoppedAt := st.evals[:0] // per filter: the nodes it rejected
	for range p.checks {
		stoppedAt = append(stoppedAt, 0)
	}
	st.evals = stoppedAt
	passed := 0
	for off := range processed {
		if st.passed[off] {
			passed++
		} else {
			stoppedAt[st.rejectedBy[off]]++
		}
	}
	ran := passed
	for i := len(p.checks) - 1; i >= 0; i-- {
		ran += stoppedAt[i]
		if ran > 0 {
			rec.Evaluated(p.names[i], PointFilter, ran)
		}
	}
}

// countNominatedEvaluations reports the filters run on the pod's nominated node: up to
// rejectedBy, the first rejecting filter's index (-1: every filter, the node passed).
func countNominatedEvaluations(rec Recorder, p *Prepared, rejectedBy int) {
	last := len(p.checks) - 1
	if rejectedBy >= 0 {
		last = rejectedBy
	}
	for i := 0; i <= last; i++ {
		rec.Evaluated(p.names[i], PointFilter, 1)
	}
}

// pointDone records an extension point done, when there is a recorder.
func pointDone(rec Recorder, point, status string, start int64) {
	if rec != nil {
		rec.Point(point, status, start)
	}
}
