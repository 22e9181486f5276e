package decide

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// tape is a Recorder that writes down what it is told, with a clock that ticks once per reading.
type tape struct {
	mu        sync.Mutex
	clock     int64
	time      bool
	points    []string       // "point status"
	plugins   map[string]int // "plugin point status" -> calls timed
	evaluated map[string]int // "plugin point" -> calls counted
}

func newTape(timePlugins bool) *tape {
	return &tape{time: timePlugins, plugins: map[string]int{}, evaluated: map[string]int{}}
}

func (t *tape) Now() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clock++
	return t.clock
}
func (t *tape) TimePlugins() bool { return t.time }
func (t *tape) Point(point, status string, start int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if start <= 0 || start > t.clock {
		panic(fmt.Sprintf("point %s: start %d was never read from the clock", point, start))
	}
	t.points = append(t.points, point+" "+status)
}
func (t *tape) Plugin(plugin, point, status string, start int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if start <= 0 || start > t.clock {
		panic(fmt.Sprintf("plugin %s at %s: start %d was never read from the clock", plugin, point, start))
	}
	t.plugins[plugin+" "+point+" "+status]++
}
func (t *tape) Evaluated(plugin, point string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.evaluated[plugin+" "+point] += n
}

// plainScorer is scoreTable under another name, without a PreScore in kube-scheduler's sense.
type plainScorer struct{ scoreTable }

func (plainScorer) Name() string { return "Plain" }
func (plainScorer) NoPreScore()  {}

func TestRecorder(t *testing.T) {
	cpu := snapshot.Reject("Insufficient cpu")
	taint := snapshot.RejectUnresolvable("node(s) had untolerated taint(s)")
	tests := []struct {
		name        string
		snap        *snapshot.Snapshot
		filters     []FilterPlugin
		scorers     []WeightedScorer
		timePlugins bool
		wantPoints  []string
		wantEvals   map[string]int
		wantTimed   map[string]int // nil: nothing timed
	}{
		{
			name: "filters stop at the first rejection; two feasible nodes are scored",
			snap: nodes("a", "b", "c", "d"),
			filters: []FilterPlugin{
				byName{name: "Taints", reject: map[string]snapshot.Verdict{"a": taint}},
				byName{name: "Fit", reject: map[string]snapshot.Verdict{"b": cpu}},
			},
			scorers:    []WeightedScorer{{scoreTable{"c": 1}, 1}, {plainScorer{scoreTable{"d": 1}}, 1}},
			wantPoints: []string{"PreFilter Success", "Filter Success", "PreScore Success", "Score Success"},
			wantEvals: map[string]int{
				"Taints PreFilter": 1, "Fit PreFilter": 1,
				"Taints Filter": 4, "Fit Filter": 3, // Fit never sees a
				"table PreScore": 1, "table Score": 2, "Plain Score": 2, // Plain has no PreScore
			},
		},
		{
			// 17 nodes, all searched: the filter calls on n0000, n0008 and n0016 are timed, and
			// the score calls on the 1st and 9th of the 15 feasible nodes.
			name: "timed decision: the calls on one node in TimedNodeEvery timed, with their status",
			snap: manyNodes(2*TimedNodeEvery + 1),
			filters: []FilterPlugin{
				byName{name: "Fit", reject: map[string]snapshot.Verdict{"n0000": cpu, "n0008": taint}},
			},
			scorers:     []WeightedScorer{{scoreTable{}, 1}},
			timePlugins: true,
			wantPoints:  []string{"PreFilter Success", "Filter Success", "PreScore Success", "Score Success"},
			wantEvals:   map[string]int{"Fit PreFilter": 1, "Fit Filter": 17, "table PreScore": 1, "table Score": 15},
			wantTimed: map[string]int{
				"Fit PreFilter Success": 1, "Fit Filter Unschedulable": 1,
				"Fit Filter UnschedulableAndUnresolvable": 1, "Fit Filter Success": 1,
				"table PreScore Success": 1, "table Score Success": 2,
			},
		},
		{
			name: "a PreFilter rejection ends the decision before Filter",
			snap: nodes("a", "b"),
			filters: []FilterPlugin{
				byName{name: "Bad", preFilterErr: snapshot.RejectUnresolvable("bad spec")},
				byName{name: "Never"},
			},
			wantPoints: []string{"PreFilter UnschedulableAndUnresolvable"},
			wantEvals:  map[string]int{"Bad PreFilter": 1},
		},
		{
			name:       "a failing filter makes Filter an Error",
			snap:       nodes("a"),
			filters:    []FilterPlugin{byName{name: "Broken", reject: map[string]snapshot.Verdict{"a": snapshot.Fail(fmt.Errorf("boom"))}}},
			wantPoints: []string{"PreFilter Success", "Filter Error"},
			wantEvals:  map[string]int{"Broken PreFilter": 1, "Broken Filter": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters, Scorers: tc.scorers})
			if err != nil {
				t.Fatal(err)
			}
			rec := newTape(tc.timePlugins)
			d.SetRecorder(rec)
			d.Decide(pod, tc.snap)
			if !slices.Equal(rec.points, tc.wantPoints) {
				t.Errorf("points = %q, want %q", rec.points, tc.wantPoints)
			}
			if !maps.Equal(rec.evaluated, tc.wantEvals) {
				t.Errorf("evaluations = %v, want %v", rec.evaluated, tc.wantEvals)
			}
			if tc.wantTimed == nil {
				tc.wantTimed = map[string]int{}
			}
			if !maps.Equal(rec.plugins, tc.wantTimed) {
				t.Errorf("timed calls = %v, want %v", rec.plugins, tc.wantTimed)
			}
		})
	}
}

// A search over many nodes stops early; the evaluations count the nodes it filtered, on either
// pass (one goroutine or several), and the decision is the one an unobserved Decider makes.
func TestRecorderCountsTheSearch(t *testing.T) {
	snap := manyNodes(2000)
	reject := map[string]snapshot.Verdict{}
	for i := 0; i < 2000; i += 3 {
		reject[fmt.Sprintf("n%04d", i)] = snapshot.Reject("Insufficient cpu")
	}
	profile := Profile{
		Filters: []FilterPlugin{byName{name: "Fit", reject: reject}, byName{name: "Ports"}},
		Scorers: []WeightedScorer{{scoreTable{}, 1}}, Seed: 7,
	}
	plain, _ := New(profile)
	observed, _ := New(profile)
	rec := newTape(true)
	observed.SetRecorder(rec)
	for range 3 {
		want, got := plain.Decide(pod, snap), observed.Decide(pod, snap)
		if got.Node != want.Node || got.Evaluated != want.Evaluated {
			t.Fatalf("observed decision %s over %d nodes, unobserved %s over %d", got.Node, got.Evaluated, want.Node, want.Evaluated)
		}
	}
	fit, ports := rec.evaluated["Fit Filter"], rec.evaluated["Ports Filter"]
	if fit == 0 || fit >= 3*2000 {
		t.Fatalf("Fit filtered %d nodes in 3 searches that stop early", fit)
	}
	// Each search times the calls on its nodes at offsets 0, TimedNodeEvery, ...: of the n it
	// filtered, ceil(n/TimedNodeEvery).
	if timed := rec.plugins["Fit Filter Success"] + rec.plugins["Fit Filter Unschedulable"]; timed < fit/TimedNodeEvery || timed > fit/TimedNodeEvery+3 {
		t.Errorf("Fit: %d calls timed, %d counted over 3 searches: want one in %d", timed, fit, TimedNodeEvery)
	}
	if passed, timedPorts := rec.plugins["Fit Filter Success"], rec.plugins["Ports Filter Success"]; timedPorts != passed || passed == 0 {
		t.Errorf("Ports timed %d times, want once per timed node Fit passed (%d)", timedPorts, passed)
	}
	if want := fit - (fit+2)/3; ports < want-3 || ports > want+3 { // Fit rejects every third node
		t.Errorf("Ports ran %d times over %d nodes filtered, want about %d", ports, fit, want)
	}
}

// TestDryRunsAreNotRecorded: Explain and DryPrepare run the decision without telling the
// recorder, so the framework metrics count real scheduling only.
func TestDryRunsAreNotRecorded(t *testing.T) {
	d, err := New(Profile{
		Filters: []FilterPlugin{byName{name: "F", reject: map[string]snapshot.Verdict{"b": snapshot.Reject("Insufficient cpu")}}},
		Scorers: []WeightedScorer{{scoreTable{"a": 1, "c": 2}, 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := newTape(true)
	d.SetRecorder(rec)
	snap := nodes("a", "b", "c")
	if res, _ := d.Explain(pod, snap); res.Node != "c" {
		t.Errorf("explain chose %q, want c", res.Node)
	}
	d.DryPrepare(pod, snap)
	if len(rec.points)+len(rec.plugins)+len(rec.evaluated) != 0 {
		t.Errorf("dry runs recorded points %v, plugins %v, evaluations %v", rec.points, rec.plugins, rec.evaluated)
	}
	d.Decide(pod, snap)
	if len(rec.points) == 0 {
		t.Error("Decide recorded nothing")
	}
}
