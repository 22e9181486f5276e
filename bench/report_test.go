package main

import (
	"bytes"
	"fmt"
	"io"
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

func TestPlanAlternates(t *testing.T) {
	ws, err := benchdata.Select("basic,spread")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{workloads: ws, rounds: 3, ceilingRuns: 1}
	var got []string
	for _, r := range cfg.plan() {
		got = append(got, fmt.Sprintf("%s/%s/%d", r.workload.Name, r.kind, r.round))
	}
	want := "basic/ceiling/1 basic/berth/1 basic/upstream/1 basic/berth/2 basic/upstream/2 basic/berth/3 basic/upstream/3 " +
		"spread/ceiling/1 spread/berth/1 spread/upstream/1 spread/berth/2 spread/upstream/2 spread/berth/3 spread/upstream/3"
	if strings.Join(got, " ") != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(got, " "), want)
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
				len(c.workloads) != len(benchdata.All()) || o.mdPath != "BENCHMARKS.md" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
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

func run3(workload, kind string, pps ...float64) []RunResult {
	var out []RunResult
	for i, p := range pps {
		out = append(out, RunResult{Workload: workload, Scheduler: kind, Round: i + 1, Bound: 1000, Bindable: 1000,
			PodsPerSecond: p, SchedulerCPUSeconds: p / 100, PeakRSSBytes: int64(p) << 20, P50Ms: p, P99Ms: 2 * p})
	}
	return out
}

func TestFinishComputesRatiosAndGoals(t *testing.T) {
	var runs []RunResult
	runs = append(runs, run3("basic", kindCeiling, 400, 420, 410)...)
	runs = append(runs, run3("basic", kindUpstream, 300, 280, 290)...)
	runs = append(runs, run3("basic", kindBerth, 380, 370, 360)...)
	runs = append(runs, run3("spread", kindUpstream, 200, 200, 200)...)
	runs = append(runs, run3("spread", kindBerth, 150, 100, 190)...)
	rep := &Report{Started: time.Now(), Settings: Settings{Nodes: 1000, Workloads: []string{"basic", "spread", "gated"}}, Runs: runs}
	rep.finish()

	if len(rep.Workloads) != 2 {
		t.Fatalf("%d workload summaries, want 2 (gated had no runs)", len(rep.Workloads))
	}
	b := rep.Workloads[0]
	if b.Ceiling.PodsPerSecond != 410 || b.Upstream.PodsPerSecond != 290 || b.Berth.PodsPerSecond != 370 {
		t.Errorf("medians %v/%v/%v, want 410/290/370", b.Ceiling.PodsPerSecond, b.Upstream.PodsPerSecond, b.Berth.PodsPerSecond)
	}
	if got := b.BerthOverCeiling; got < 0.902 || got > 0.903 {
		t.Errorf("berth/ceiling = %v, want 370/410", got)
	}
	if got := b.CPUBerthOverUpstream; got < 1.27 || got > 1.28 {
		t.Errorf("cpu ratio = %v, want 3.7/2.9", got)
	}
	want := map[string]string{
		"basic: berth throughput vs the ceiling":          "met",
		"no workload where berth is slower than upstream": "missed",
		"berth CPU per scheduled pod vs upstream":         "missed",
		"berth peak RSS vs upstream at 5000 nodes":        "not measured",
	}
	for _, g := range rep.Goals {
		if want[g.Goal] != g.Status {
			t.Errorf("goal %q: %s (%s), want %s", g.Goal, g.Status, g.Measured, want[g.Goal])
		}
	}
	if !strings.Contains(rep.Goals[1].Measured, "0.75 (spread)") {
		t.Errorf("slowest workload reported as %q, want 0.75 (spread)", rep.Goals[1].Measured)
	}

	var md bytes.Buffer
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| basic | 410.0 | 290.0 | 370.0 | 1.28 | 0.90 | 0.71 |",
		"| spread | – | 200.0 | 150.0 | 0.75 | – | – |",
		"| no workload where berth is slower than upstream | berth/upstream ≥ 1.00 everywhere | lowest 0.75 (spread) | missed |",
	} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("markdown lacks %q:\n%s", line, md.String())
		}
	}
}

func TestViolatingRunsLeaveTheMedians(t *testing.T) {
	runs := run3("basic", kindBerth, 100, 200, 900)
	runs[2].Violations = []string{"ns/p: bound to n, but it must stay pending"}
	rep := &Report{Started: time.Now(), Settings: Settings{Workloads: []string{"basic"}}, Runs: runs}
	rep.finish()
	if got := rep.Workloads[0].Berth; got.Runs != 2 || got.PodsPerSecond != 150 {
		t.Fatalf("berth stats %+v, want 2 runs with median 150", got)
	}
	var md bytes.Buffer
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Violations") || !strings.Contains(md.String(), "basic/berth round 3: ns/p") {
		t.Errorf("markdown does not list the violation:\n%s", md.String())
	}
}
