package scheduler

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-scheduler/berth/metrics"
	"github.com/berth-scheduler/berth/testenv"
)

func TestFrameworkRecorder(t *testing.T) {
	reg := metrics.NewRegistry()
	fm, err := newFrameworkMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rec := newFrameworkRecorder(fm, "p1")
	const cycles = 20000
	timed := 0
	for range cycles {
		c := rec.newCycle()
		if c.timed != rec.TimePlugins() {
			t.Fatal("the cycle and the decision disagree on timing plugins")
		}
		if c.timed {
			timed++
		}
		start := c.start()
		c.plugin(defaultBinder, pointBind, nil, start)
		c.point(pointBind, nil, start)
	}
	// 10% of cycles, as kube-scheduler samples: 2000 expected, far outside 1700..2300 by chance
	// only with a probability below 1e-12.
	if timed < 1700 || timed > 2300 {
		t.Errorf("%d of %d cycles timed their plugins, want about %d%%", timed, cycles, pluginSamplePercent)
	}
	var failed cycleRecorder = cycleRecorder{r: rec, timed: true}
	s := failed.start()
	failed.plugin(defaultBinder, pointBind, errors.New("conflict"), s)
	failed.point(pointBind, errors.New("conflict"), s)
	failed.postFilterDone(false, failed.start())
	failed.deallocationDone(nil, failed.start(), true)                     // the only PostFilter
	failed.deallocationDone(errors.New("conflict"), failed.start(), false) // after preemption's
	rec.Evaluated("NodeAffinity", "Filter", 7)

	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"every cycle's bind point", "scheduler_framework_extension_point_duration_seconds_count",
			[]string{`extension_point="Bind"`, `profile="p1"`, `status="Success"`}, cycles},
		{"a failed bind is an Error", "scheduler_framework_extension_point_duration_seconds_count",
			[]string{`extension_point="Bind"`, `status="Error"`}, 1},
		{"only timed cycles time the binder", "scheduler_plugin_execution_duration_seconds_count",
			[]string{`extension_point="Bind"`, `plugin="DefaultBinder"`, `status="Success"`}, float64(timed)},
		{"preemption that cannot help, and a deallocation alone", "scheduler_framework_extension_point_duration_seconds_count",
			[]string{`extension_point="PostFilter"`, `status="Unschedulable"`}, 2},
		{"a deallocation timed as its plugin", "scheduler_plugin_execution_duration_seconds_count",
			[]string{`extension_point="PostFilter"`, `plugin="DynamicResources"`, `status="Unschedulable"`}, 1},
		{"a failed deallocation", "scheduler_plugin_execution_duration_seconds_count",
			[]string{`extension_point="PostFilter"`, `plugin="DynamicResources"`, `status="Error"`}, 1},
		{"preemption timed as its plugin", "scheduler_plugin_execution_duration_seconds_count",
			[]string{`extension_point="PostFilter"`, `plugin="DefaultPreemption"`, `status="Unschedulable"`}, 1},
		{"evaluations add up", "scheduler_plugin_evaluation_total",
			[]string{`extension_point="Filter"`, `plugin="NodeAffinity"`, `profile="p1"`}, 7},
	}
	if strings.Contains(text, `extension_point="PostFilter",profile="p1",status="Error"`) {
		t.Error("a deallocation after preemption's PostFilter recorded a second PostFilter point")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := testenv.MetricSum(text, tc.metric, tc.labels...)
			if err != nil || !found || got != tc.want {
				t.Errorf("%s%v = %v (found %v, %v), want %v", tc.metric, tc.labels, got, found, err, tc.want)
			}
		})
	}
}

// Without a registry nothing is recorded, and nothing fails.
func TestFrameworkRecorderNil(t *testing.T) {
	rec := newFrameworkRecorder(nil, "p")
	c := rec.newCycle()
	c.point(pointBind, nil, c.start())
	c.plugin(defaultBinder, pointBind, nil, c.start())
	c.postFilterDone(true, c.start())
}

// TestFrameworkRecorderDisabled checks --disabled-metrics on the framework families: with all
// three off there is no recorder (no clock read in the decision), and with the per-plugin
// family off no cycle times its plugin calls.
func TestFrameworkRecorderDisabled(t *testing.T) {
	const (
		points  = "scheduler_framework_extension_point_duration_seconds"
		plugins = "scheduler_plugin_execution_duration_seconds"
		evals   = "scheduler_plugin_evaluation_total"
	)
	tests := []struct {
		name         string
		disabled     []string
		wantRecorder bool
		wantTimed    bool
	}{
		{"none disabled", nil, true, true},
		{"all three disabled", []string{points, plugins, evals}, false, false},
		{"plugin durations disabled", []string{plugins}, true, false},
		{"others disabled", []string{points, evals}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			reg.Configure(tc.disabled, nil)
			fm, err := newFrameworkMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			rec := newFrameworkRecorder(fm, "p")
			if (rec != nil) != tc.wantRecorder {
				t.Fatalf("recorder = %v, want one: %v", rec, tc.wantRecorder)
			}
			timed := false
			for range 1000 { // 10% sampled: untimed 1000 times by chance with p = 0.9^1000
				timed = timed || rec.newCycle().timed
			}
			if timed != tc.wantTimed {
				t.Errorf("some cycle timed its plugins: %v, want %v", timed, tc.wantTimed)
			}
		})
	}
}
