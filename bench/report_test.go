package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

func TestMedianAndPercentile(t *testing.T) {
	tests := []struct {
		name        string
		in          []float64
		median, p99 float64
	}{
		{"empty", nil, 0, 0},
		{"one", []float64{5}, 5, 5},
		{"odd", []float64{3, 1, 2}, 2, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5, 4},
		{"hundred", seq(100), 50.5, 99},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.median {
				t.Errorf("median = %v, want %v", got, tc.median)
			}
			if got := percentile(append([]float64(nil), tc.in...), 99); got != tc.p99 {
				t.Errorf("p99 = %v, want %v", got, tc.p99)
			}
		})
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(n - i) // reversed: the functions must sort
	}
	return out
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name        string
		workloads   string
		limits      []clientLimit
		rounds      int
		ceilingRuns int
		berthOnly   bool
		explainRPS  int
		obsCost     bool
		want        string
	}{
		{name: "one limit alternates", workloads: "basic,spread", limits: []clientLimit{5000}, rounds: 3, ceilingRuns: 1,
			want: "basic/ceiling/1 basic/berth@5000/1 basic/upstream@5000/1 basic/berth@5000/2 basic/upstream@5000/2 basic/berth@5000/3 basic/upstream@5000/3 " +
				"spread/ceiling/1 spread/berth@5000/1 spread/upstream@5000/1 spread/berth@5000/2 spread/upstream@5000/2 spread/berth@5000/3 spread/upstream@5000/3"},
		{name: "one ceiling serves both limits", workloads: "basic", limits: []clientLimit{5000, defaultFlags}, rounds: 2, ceilingRuns: 2,
			want: "basic/ceiling/1 basic/berth@5000/1 basic/upstream@5000/1 basic/berth@default/1 basic/upstream@default/1 " +
				"basic/ceiling/2 basic/berth@5000/2 basic/upstream@5000/2 basic/berth@default/2 basic/upstream@default/2"},
		{name: "limits in the order given", workloads: "basic", limits: []clientLimit{defaultFlags, 200}, rounds: 1, ceilingRuns: 1,
			want: "basic/ceiling/1 basic/berth@default/1 basic/upstream@default/1 basic/berth@200/1 basic/upstream@200/1"},
		{name: "berth only, no ceiling", workloads: "basic,spread", limits: []clientLimit{5000, defaultFlags}, rounds: 1, berthOnly: true,
			want: "basic/berth@5000/1 basic/berth@default/1 spread/berth@5000/1 spread/berth@default/1"},
		{name: "explain load after each berth run", workloads: "basic", limits: []clientLimit{5000}, rounds: 2, berthOnly: true, explainRPS: 50,
			want: "basic/berth@5000/1 basic/berth+explain@5000/1 basic/berth@5000/2 basic/berth+explain@5000/2"},
		{name: "bare run after each berth run", workloads: "basic", limits: []clientLimit{5000}, rounds: 2, obsCost: true,
			want: "basic/berth@5000/1 basic/berth+bare@5000/1 basic/upstream@5000/1 basic/berth@5000/2 basic/berth+bare@5000/2 basic/upstream@5000/2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := benchdata.Select(tc.workloads)
			if err != nil {
				t.Fatal(err)
			}
			cfg := config{workloads: ws, limits: tc.limits, rounds: tc.rounds, ceilingRuns: tc.ceilingRuns, berthOnly: tc.berthOnly, explainRPS: tc.explainRPS,
				observabilityCost: tc.obsCost}
			var got []string
			for _, r := range cfg.plan() {
				kind := r.kind
				if r.explain {
					kind += "+explain"
				}
				if r.bare {
					kind += "+bare"
				}
				if r.kind != kindCeiling {
					kind += "@" + r.limit.String()
				}
				got = append(got, fmt.Sprintf("%s/%s/%d", r.workload.Name, kind, r.round))
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(got, " "), tc.want)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(o options) string
	}{
		{name: "defaults", check: func(o options) string {
			c := o.cfg
			if c.size != (benchdata.Size{Nodes: 1000, Pods: 1000}) || c.rounds != 3 || c.ceilingRuns != 3 || c.clients != 16 ||
				len(c.workloads) != len(benchdata.All()) || o.mdPath != "BENCHMARKS.md" || fmt.Sprint(c.limits) != "[5000 default]" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "make bench-defaults", args: []string{"-nodes", "200", "-pods", "2000", "-client-limits", "default", "-pairs", "3"}, check: func(o options) string {
			if len(o.cfg.workloads) != len(benchdata.All()) || fmt.Sprint(o.cfg.limits) != "[default]" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "make bench-firstpass", args: []string{"-nodes", "100", "-pods", "20000", "-workloads", "firstpass", "-client-limits", "default", "-pairs", "1"},
			check: func(o options) string {
				c := o.cfg
				if len(c.workloads) != 1 || !c.workloads[0].FirstPass || c.size != (benchdata.Size{Nodes: 100, Pods: 20000}) || fmt.Sprint(c.limits) != "[default]" {
					return fmt.Sprintf("%+v", o)
				}
				return ""
			}},
		{name: "all leaves firstpass and preemption out", args: []string{"-workloads", "all"}, check: func(o options) string {
			for _, w := range o.cfg.workloads {
				if w.FirstPass || w.Preemption {
					return w.Name
				}
			}
			return ""
		}},
		{name: "make bench-preemption", args: []string{"-nodes", "1000", "-pods", "1000", "-workloads", "preemption", "-client-limits", "5000,default", "-pairs", "1"},
			check: func(o options) string {
				c := o.cfg
				if len(c.workloads) != 1 || !c.workloads[0].Preemption || fmt.Sprint(c.limits) != "[5000 default]" {
					return fmt.Sprintf("%+v", o)
				}
				return ""
			}},
		{name: "more preemptors than victims", args: []string{"-nodes", "10", "-pods", "101", "-workloads", "preemption"}, wantErr: "too many pods"},
		{name: "make bench-large", args: []string{"-large", "-pairs", "1", "-client-limits", "5000"}, check: func(o options) string {
			if fmt.Sprint(o.cfg.limits) != "[5000]" {
				return fmt.Sprint(o.cfg.limits)
			}
			return ""
		}},
		{name: "bad client limit", args: []string{"-client-limits", "5000,none"}, wantErr: `-client-limits "5000,none": entry "none"`},
		{name: "no client limit", args: []string{"-client-limits", ""}, wantErr: "-client-limits"},
		{name: "large preset", args: []string{"-large", "-nodes", "10"}, check: func(o options) string {
			if o.cfg.size != (benchdata.Size{Nodes: 5000, Pods: 10000}) {
				return fmt.Sprint(o.cfg.size)
			}
			return ""
		}},
		{name: "ceiling runs capped by pairs", args: []string{"-pairs", "1", "-ceiling-runs", "2"}, wantErr: "-ceiling-runs 2"},
		{name: "unknown workload", args: []string{"-workloads", "basic,nope"}, wantErr: "unknown workload"},
		{name: "too small for a workload", args: []string{"-nodes", "4"}, wantErr: "nodes 4"},
		{name: "no pairs", args: []string{"-pairs", "0"}, wantErr: "-pairs 0"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(o); msg != "" {
				t.Fatalf("unexpected options: %s", msg)
			}
		})
	}
}

// runs makes one run per figure of pps, rounds 1, 2, ... (limit "" for the ceiling).
func runs(workload, kind, limit string, pps ...float64) []RunResult {
	var out []RunResult
	for i, p := range pps {
		out = append(out, RunResult{Workload: workload, Scheduler: kind, ClientLimit: limit, Round: i + 1, Bound: 1000, Bindable: 1000,
			PodsPerSecond: p, SchedulerCPUSeconds: p / 100, PeakRSSBytes: int64(p) << 20, P50Ms: p, P99Ms: 2 * p})
	}
	return out
}

// twoLimits is a report at both default limits: basic measured at both, spread (no ceiling) at
// both, gated at neither.
func twoLimits() *Report {
	var rs []RunResult
	rs = append(rs, runs("basic", kindCeiling, "", 400, 420, 410)...)
	rs = append(rs, runs("basic", kindBerth, "5000", 380, 370, 360)...)
	rs = append(rs, runs("basic", kindUpstream, "5000", 300, 280, 290)...)
	rs = append(rs, runs("basic", kindBerth, "default", 45, 46, 47)...)
	rs = append(rs, runs("basic", kindUpstream, "default", 40, 41, 42)...)
	rs = append(rs, runs("spread", kindBerth, "5000", 150, 100, 190)...)
	rs = append(rs, runs("spread", kindUpstream, "5000", 200, 200, 200)...)
	rs = append(rs, runs("spread", kindBerth, "default", 30, 30, 30)...)
	rs = append(rs, runs("spread", kindUpstream, "default", 40, 40, 40)...)
	return &Report{Started: time.Now(), Runs: rs, Settings: Settings{Nodes: 1000,
		Workloads: []string{"basic", "spread", "gated"}, ClientLimits: []string{"5000", "default"}}}
}

func TestFinishSummarisesPerWorkloadAndLimit(t *testing.T) {
	type row struct {
		label                     string
		ceiling, upstream, berth  float64
		berthOverUp, berthOverCei float64
	}
	tests := []struct {
		name   string
		report func() *Report
		want   []row
	}{
		{name: "both limits", report: twoLimits, want: []row{
			{"basic", 410, 290, 370, 370.0 / 290, 370.0 / 410},
			{"basic (default flags)", 410, 41, 46, 46.0 / 41, 46.0 / 410},
			{"spread", 0, 200, 150, 0.75, 0},
			{"spread (default flags)", 0, 40, 30, 0.75, 0},
		}},
		{name: "default flags alone", report: func() *Report {
			r := twoLimits()
			r.Settings.ClientLimits = []string{"default"}
			return r
		}, want: []row{
			{"basic (default flags)", 410, 41, 46, 46.0 / 41, 46.0 / 410},
			{"spread (default flags)", 0, 40, 30, 0.75, 0},
		}},
		{name: "cut short after the ceiling", report: func() *Report {
			r := twoLimits()
			r.Runs = r.Runs[:1]
			return r
		}, want: []row{{"basic", 400, 0, 0, 0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := tc.report()
			rep.finish()
			var got []row
			for _, w := range rep.Workloads {
				got = append(got, row{w.label(), w.Ceiling.PodsPerSecond, w.Upstream.PodsPerSecond, w.Berth.PodsPerSecond,
					w.BerthOverUpstream, w.BerthOverCeiling})
			}
			if fmt.Sprintf("%.4v", got) != fmt.Sprintf("%.4v", tc.want) {
				t.Fatalf("summaries\n%.4v\nwant\n%.4v", got, tc.want)
			}
		})
	}
}

func TestGoals(t *testing.T) {
	tests := []struct {
		name   string
		report func() *Report
		want   map[string]string // goal: status, measured
	}{
		{name: "both limits", report: twoLimits, want: map[string]string{
			"basic: berth throughput vs the ceiling":                            "met, 0.90",
			"every workload at 5000 nodes: berth throughput vs the ceiling":     "not measured, lowest 0.90 (basic) at 1000 nodes",
			"no workload where berth is slower than upstream":                   "missed, lowest 0.75 (spread)",
			"berth CPU per scheduled pod vs upstream":                           "missed, highest 1.28 (basic)",
			"berth peak RSS vs upstream at 5000 nodes":                          "not measured, highest 1.28 (basic) at 1000 nodes",
			"default flags: berth/upstream throughput on every workload":        "missed, lowest 0.75 (spread)",
			"first pass over unschedulable pods: berth no slower than upstream": "not measured, ",
			"preemption: berth throughput vs upstream, tuned client limits":     "not measured, ",
			"volumes: berth throughput vs upstream, every client limit":         "not measured, ",
			"volumes: berth CPU per pod vs upstream, every client limit":        "not measured, ",
		}},
		{name: "every workload judged at 5000 nodes", report: func() *Report {
			r := twoLimits()
			r.Settings.Nodes = 5000
			r.Runs = append(r.Runs, runs("spread", kindCeiling, "", 200, 200, 200)...)
			return r
		}, want: map[string]string{
			"every workload at 5000 nodes: berth throughput vs the ceiling": "missed, lowest 0.75 (spread)",
			"basic: berth throughput vs the ceiling":                        "met, 0.90",
		}},
		{name: "tuned alone", report: func() *Report {
			r := twoLimits()
			r.Settings.ClientLimits = []string{"5000"}
			return r
		}, want: map[string]string{
			"basic: berth throughput vs the ceiling":                     "met, 0.90",
			"no workload where berth is slower than upstream":            "missed, lowest 0.75 (spread)",
			"default flags: berth/upstream throughput on every workload": "not measured, ",
		}},
		{name: "default flags alone", report: func() *Report {
			r := twoLimits()
			r.Settings.ClientLimits = []string{"default"}
			r.Settings.Workloads = []string{"basic"}
			return r
		}, want: map[string]string{
			"basic: berth throughput vs the ceiling":                     "not measured, ",
			"no workload where berth is slower than upstream":            "not measured, ",
			"default flags: berth/upstream throughput on every workload": "met, lowest 1.12 (basic)",
		}},
		{name: "a second explicit limit counts as tuned", report: func() *Report {
			r := twoLimits()
			r.Runs = append(r.Runs, runs("basic", kindBerth, "100", 90)...)
			r.Runs = append(r.Runs, runs("basic", kindUpstream, "100", 100)...)
			r.Settings.ClientLimits = []string{"5000", "100"}
			return r
		}, want: map[string]string{
			"basic: berth throughput vs the ceiling":                     "missed, 0.22 (basic (QPS/burst 100))",
			"no workload where berth is slower than upstream":            "missed, lowest 0.75 (spread)",
			"default flags: berth/upstream throughput on every workload": "not measured, ",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := tc.report()
			rep.finish()
			got := map[string]string{}
			for _, g := range rep.Goals {
				got[g.Goal] = g.Status + ", " + g.Measured
			}
			if len(rep.Goals) != 12 {
				t.Errorf("%d goals, want 12", len(rep.Goals))
			}
			for goal, want := range tc.want {
				if got[goal] != want {
					t.Errorf("goal %q: %q, want %q", goal, got[goal], want)
				}
			}
		})
	}
}

func TestFmtJudged(t *testing.T) {
	tests := []struct {
		name    string
		v       float64
		target  float64
		atLeast bool
		want    string
	}{
		{"clearly met", 1.61, 1, true, "1.61"},
		{"rounds onto the target but met", 1.0004, 1, true, "1.00"},
		{"rounds up onto the target", 0.9987, 1, true, "0.999"},
		{"rounds up past the target", 0.8951, 0.9, true, "0.895"},
		{"at most, rounds down onto the target", 0.5004, 0.5, false, "0.5004"},
		{"at most, met", 0.3104, 1.0 / 3, false, "0.31"},
		{"at most, rounds down past the target", 0.33334, 1.0 / 3, false, "0.33334"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmtJudged(tc.v, tc.target, tc.atLeast); got != tc.want {
				t.Errorf("fmtJudged(%v, %v, %v) = %q, want %q", tc.v, tc.target, tc.atLeast, got, tc.want)
			}
		})
	}
}

func TestMarkdownLabelsRowsByLimit(t *testing.T) {
	rep := twoLimits()
	rep.finish()
	var md bytes.Buffer
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"both schedulers with client QPS/burst 5000, and again with no client-limit setting, at their built-in QPS 50 / burst 100 (rows marked *default flags*);",
		"| basic | 410.0 | 290.0 | 370.0 | 1.28 | 0.90 | 0.71 |",
		"| basic (default flags) | 410.0 | 41.0 | 46.0 | 1.12 | 0.11 | 0.10 |",
		"| spread | – | 200.0 | 150.0 | 0.75 | – | – |",
		"| spread (default flags) | – | 40.0 | 30.0 | 0.75 | – | – |",
		"| basic (default flags) | 410 | 820 | 41 | 82 | 46 | 92 |",
		"| no workload where berth is slower than upstream | berth/upstream ≥ 1.00 everywhere | lowest 0.75 (spread) | missed |",
		"| default flags: berth/upstream throughput on every workload | ≥ 1.00 | lowest 0.75 (spread) | missed |",
		"| basic | ceiling | – | 1 | 1000/1000 |",
		"| basic | upstream | default | 3 | 1000/1000 |",
	} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("markdown lacks %q:\n%s", line, md.String())
		}
	}
}

func TestViolatingRunsLeaveTheMedians(t *testing.T) {
	rs := runs("basic", kindBerth, "default", 100, 200, 900)
	rs[2].Violations = []string{"ns/p: bound to n, but it must stay pending"}
	rep := &Report{Started: time.Now(), Settings: Settings{Workloads: []string{"basic"}, ClientLimits: []string{"default"}}, Runs: rs}
	rep.finish()
	if got := rep.Workloads[0].Berth; got.Runs != 2 || got.PodsPerSecond != 150 {
		t.Fatalf("berth stats %+v, want 2 runs with median 150", got)
	}
	var md bytes.Buffer
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Violations") || !strings.Contains(md.String(), "basic (default flags)/berth round 3: ns/p") {
		t.Errorf("markdown does not list the violation:\n%s", md.String())
	}
}

// firstPassRuns makes one first-pass run per figure of seconds over pods pods, rounds 1, 2, ...
func firstPassRuns(kind, limit string, pods int, seconds ...float64) []RunResult {
	var out []RunResult
	for i, sec := range seconds {
		out = append(out, RunResult{Workload: "firstpass", Scheduler: kind, ClientLimit: limit, Round: i + 1, Pods: pods, Seconds: sec,
			FirstPass: &FirstPassResult{Pods: pods, Marked: pods, Seconds: sec, PodsPerSecond: float64(pods) / sec}})
	}
	return out
}

// withFirstPass is twoLimits with firstpass measured at the default flags (berth 20% slower than
// upstream in the median) and, when tuned, at 5000 too (berth faster); when not, the report is
// of the default flags alone.
func withFirstPass(tuned bool) *Report {
	r := twoLimits()
	if !tuned {
		r.Settings.ClientLimits = []string{"default"}
	}
	r.Settings.Workloads = append(r.Settings.Workloads, "firstpass")
	r.Runs = append(r.Runs, firstPassRuns(kindCeiling, "", 600, 1.5, 2, 2.5)...)
	r.Runs = append(r.Runs, firstPassRuns(kindBerth, "default", 600, 13.2, 12.4, 40)...)
	r.Runs = append(r.Runs, firstPassRuns(kindUpstream, "default", 600, 11, 12, 10)...)
	if tuned {
		r.Runs = append(r.Runs, firstPassRuns(kindBerth, "5000", 600, 3)...)
		r.Runs = append(r.Runs, firstPassRuns(kindUpstream, "5000", 600, 6)...)
	}
	return r
}

func TestFirstPassSummaries(t *testing.T) {
	type row struct {
		label                                 string
		ceiling, upstream, berth, berthOverUp float64
		ceilingPPS, upstreamPPS, berthPPS     float64
	}
	tests := []struct {
		name     string
		report   func() *Report
		want     []row
		wantGoal string // status, measured
	}{
		{name: "not run", report: twoLimits, wantGoal: "not measured, "},
		{name: "default flags, berth slower", report: func() *Report { return withFirstPass(false) }, want: []row{
			{"firstpass (default flags)", 2, 11, 13.2, 1.2, 300, 600.0 / 11, 600 / 13.2},
		}, wantGoal: "missed, highest berth/upstream 1.20 (firstpass (default flags))"},
		{name: "both limits, the slowest judged", report: func() *Report { return withFirstPass(true) }, want: []row{
			{"firstpass", 2, 6, 3, 0.5, 300, 100, 200},
			{"firstpass (default flags)", 2, 11, 13.2, 1.2, 300, 600.0 / 11, 600 / 13.2},
		}, wantGoal: "missed, highest berth/upstream 1.20 (firstpass (default flags))"},
		{name: "berth faster", report: func() *Report {
			r := withFirstPass(true)
			r.Settings.ClientLimits = []string{"5000"}
			return r
		}, want: []row{{"firstpass", 2, 6, 3, 0.5, 300, 100, 200}}, wantGoal: "met, highest berth/upstream 0.50 (firstpass)"},
		{name: "ceiling alone", report: func() *Report {
			r := withFirstPass(false)
			r.Settings.Workloads = []string{"firstpass"}
			r.Runs = firstPassRuns(kindCeiling, "", 600, 2)
			return r
		}, want: []row{{"firstpass (default flags)", 2, 0, 0, 0, 300, 0, 0}}, wantGoal: "not measured, "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := tc.report()
			rep.finish()
			var got []row
			for _, f := range rep.FirstPass {
				got = append(got, row{f.label(), f.Ceiling.Seconds, f.Upstream.Seconds, f.Berth.Seconds, f.BerthOverUpstream,
					f.Ceiling.PodsPerSecond, f.Upstream.PodsPerSecond, f.Berth.PodsPerSecond})
			}
			if fmt.Sprintf("%.4v", got) != fmt.Sprintf("%.4v", tc.want) {
				t.Errorf("first-pass rows\n%.4v\nwant\n%.4v", got, tc.want)
			}
			for _, w := range rep.Workloads {
				if w.Workload == "firstpass" {
					t.Errorf("firstpass among the binding summaries: %+v", w)
				}
			}
			goal := goalNamed(rep, "first pass over unschedulable pods: berth no slower than upstream")
			if got := goal.Status + ", " + goal.Measured; goal.Target != "berth seconds ≤ upstream seconds × 1.0" || got != tc.wantGoal {
				t.Errorf("goal %+v, want %q", goal, tc.wantGoal)
			}
		})
	}
}

func TestMarkdownFirstPass(t *testing.T) {
	tests := []struct {
		name         string
		report       *Report
		want, absent []string
	}{
		{name: "not run", report: twoLimits(), absent: []string{"## First pass"}, want: []string{
			"## Throughput",
			"| first pass over unschedulable pods: berth no slower than upstream | berth seconds ≤ upstream seconds × 1.0 | – | not measured |",
		}},
		{name: "run at both limits", report: withFirstPass(true), want: []string{
			"## First pass over unschedulable pods",
			"| workload | ceiling s (pods/s) | upstream s (pods/s) | berth s (pods/s) | berth/upstream seconds |",
			"| firstpass | 2.0 (300.0) | 6.0 (100.0) | 3.0 (200.0) | 0.50 |",
			"| firstpass (default flags) | 2.0 (300.0) | 11.0 (54.5) | 13.2 (45.5) | 1.20 |",
			"| first pass over unschedulable pods: berth no slower than upstream | berth seconds ≤ upstream seconds × 1.0 | highest berth/upstream 1.20 (firstpass (default flags)) | missed |",
			"| firstpass | berth | default | 1 | 0/0 (600/600 marked) | 13.20 (0.00) |",
			"- **firstpass**: every pod fits nowhere",
		}, absent: []string{"| firstpass | – |", "| firstpass (default flags) | – |"}},
		{name: "alone: no binding tables", report: func() *Report {
			r := withFirstPass(false)
			r.Settings.Workloads = []string{"firstpass"}
			return r
		}(), want: []string{
			"Figures are medians over the rounds.\n\n## First pass over unschedulable pods\n",
			"| firstpass (default flags) | 2.0 (300.0) | 11.0 (54.5) | 13.2 (45.5) | 1.20 |",
		}, absent: []string{"## Throughput", "## Latency", "## Resources"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.report.finish()
			var md bytes.Buffer
			if err := tc.report.writeMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			for _, line := range tc.want {
				if !strings.Contains(md.String(), line) {
					t.Errorf("markdown lacks %q:\n%s", line, md.String())
				}
			}
			for _, line := range tc.absent {
				if strings.Contains(md.String(), line) {
					t.Errorf("markdown has %q:\n%s", line, md.String())
				}
			}
		})
	}
}

// goalNamed returns the report's goal called name (the zero Goal when there is none).
func goalNamed(r *Report, name string) Goal {
	for _, g := range r.Goals {
		if g.Goal == name {
			return g
		}
	}
	return Goal{}
}

func TestExplainSummaries(t *testing.T) {
	run := func(round int, pps float64, load *ExplainLoad) RunResult {
		return RunResult{Workload: "basic", Scheduler: kindBerth, ClientLimit: "5000", Round: round, Bound: 1000, PodsPerSecond: pps,
			SchedulerCPUSeconds: 2, Explain: load}
	}
	load := &ExplainLoad{RPS: 50, Requests: 200, OK: 150, P50Ms: 12, P99Ms: 40}
	// Rounds change by -5%, -3% and -10%: the medians (210 alone, 190 under load) by -9.5%.
	runs := []RunResult{run(1, 200, nil), run(1, 190, load), run(2, 220, nil), run(2, 213.4, load), run(3, 210, nil), run(3, 189, load),
		{Workload: "basic", Scheduler: kindUpstream, ClientLimit: "5000", Bound: 1000, PodsPerSecond: 100}}
	got := explainSummaries(runs)
	if len(got) != 1 {
		t.Fatalf("summaries = %+v, want one", got)
	}
	s := got[0]
	if s.Runs != 3 || s.WithoutPodsPerSecond != 210 || s.WithPodsPerSecond != 190 || s.Requests != 600 || s.ExplainP99Ms != 40 {
		t.Errorf("summary = %+v", s)
	}
	if want := 190.0/210 - 1; math.Abs(s.Change-want) > 1e-9 {
		t.Errorf("change = %v, want %v", s.Change, want)
	}
	wantRounds := []float64{-0.05, -0.03, -0.10}
	if len(s.RoundChanges) != len(wantRounds) {
		t.Fatalf("round changes = %v, want %v", s.RoundChanges, wantRounds)
	}
	for i, w := range wantRounds {
		if math.Abs(s.RoundChanges[i]-w) > 1e-9 {
			t.Errorf("round %d change = %v, want %v", i+1, s.RoundChanges[i], w)
		}
	}
	if math.Abs(s.PairedChange-(-0.05)) > 1e-9 {
		t.Errorf("paired change = %v, want the median round's -0.05", s.PairedChange)
	}
	// The goal is < 5% lost: -5.0% misses it, -4.9% meets it.
	if g := explainGoal(got); g == nil || g.Status != status(false) {
		t.Errorf("goal at a paired -5%% = %+v, want missed", g)
	}
	s.PairedChange = -0.049
	if g := explainGoal([]ExplainSummary{s}); g == nil || g.Status != status(true) || !strings.Contains(g.Measured, "-4.9%") {
		t.Errorf("goal at a paired -4.9%% = %+v, want met", g)
	}
	if g := explainGoal(nil); g != nil {
		t.Errorf("goal with no explain runs = %+v, want none", g)
	}
	// The loaded runs stay out of berth's own medians.
	if c, _ := selectRuns(runs, "basic", kindBerth, "5000"); len(c) != 3 {
		t.Errorf("berth's runs = %d, want the 3 without load", len(c))
	}
}

func TestObservabilitySummaries(t *testing.T) {
	run := func(round int, cpu float64, bare bool) RunResult {
		return RunResult{Workload: "basic", Scheduler: kindBerth, ClientLimit: "5000", Round: round, Bound: 1000,
			PodsPerSecond: 300, SchedulerCPUSeconds: cpu, Bare: bare}
	}
	tests := []struct {
		name       string
		runs       []RunResult
		wantRounds int
		wantChange float64
		wantStatus string
	}{
		{name: "median of the rounds' changes",
			runs:       []RunResult{run(1, 2.09, false), run(1, 2, true), run(2, 2.06, false), run(2, 2, true), run(3, 3, false), run(3, 2, true)},
			wantRounds: 3, wantChange: 0.045, wantStatus: "met"},
		{name: "a round without its bare run does not count",
			runs:       []RunResult{run(1, 2.2, false), run(1, 2, true), run(2, 1, false)},
			wantRounds: 1, wantChange: 0.1, wantStatus: "missed"},
		{name: "an incomplete run does not count",
			runs: []RunResult{run(1, 2.2, false), func() RunResult { r := run(1, 2, true); r.Incomplete = "stalled"; return r }(),
				run(2, 2.02, false), run(2, 2, true)},
			wantRounds: 1, wantChange: 0.01, wantStatus: "met"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := observabilitySummaries(tc.runs)
			if len(got) != 1 {
				t.Fatalf("summaries = %+v, want one", got)
			}
			if got[0].Runs != tc.wantRounds || math.Abs(got[0].CPUChange-tc.wantChange) > 1e-9 {
				t.Errorf("rounds %d, change %v; want %d, %v", got[0].Runs, got[0].CPUChange, tc.wantRounds, tc.wantChange)
			}
			if g := observabilityGoal(got); g == nil || g.Status != tc.wantStatus {
				t.Errorf("goal = %+v, want status %q", g, tc.wantStatus)
			}
			// The bare runs stay out of berth's own medians.
			for _, r := range selectRunsOnly(tc.runs) {
				if r.Bare {
					t.Error("a bare run was counted among berth's runs")
				}
			}
		})
	}
	if observabilityGoal(nil) != nil {
		t.Error("a goal without any comparison")
	}
}

func selectRunsOnly(runs []RunResult) []RunResult {
	c, inc := selectRuns(runs, "basic", kindBerth, "5000")
	return append(c, inc...)
}
