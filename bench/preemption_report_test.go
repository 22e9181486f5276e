package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// preemptionRuns makes one preemption run per figure of pps, with evicted victims per 1000 pods
// bound (rounds 1, 2, ...).
func preemptionRuns(kind, limit string, evicted int, pps ...float64) []RunResult {
	out := runs("preemption", kind, limit, pps...)
	for i := range out {
		out[i].Preemption = &PreemptionResult{Victims: 10000, Evicted: evicted, EvictedPerPod: float64(evicted) / 1000}
	}
	return out
}

// withPreemption is a report of the preemption workload alone at both default limits, berth
// measured as given (nil: berth never completed, bound 0 of 1000).
func withPreemption(berthTuned, berthDefault []float64) *Report {
	var rs []RunResult
	rs = append(rs, preemptionRuns(kindCeiling, "", 1000, 400)...)
	add := func(limit string, pps []float64) {
		if pps != nil {
			rs = append(rs, preemptionRuns(kindBerth, limit, 1000, pps...)...)
			return
		}
		r := preemptionRuns(kindBerth, limit, 0, 0)[0]
		r.Bound, r.Incomplete = 0, "no pod bound for 1m0s: 0 of 1000 bound"
		rs = append(rs, r)
	}
	add("5000", berthTuned)
	rs = append(rs, preemptionRuns(kindUpstream, "5000", 1020, 50)...)
	add("default", berthDefault)
	rs = append(rs, preemptionRuns(kindUpstream, "default", 1010, 10)...)
	return &Report{Started: time.Now(), Runs: rs, Settings: Settings{Nodes: 1000, Pods: 1000,
		Workloads: []string{"preemption"}, ClientLimits: []string{"5000", "default"}}}
}

func TestPreemptionSummariesAndGoal(t *testing.T) {
	const goal = "preemption: berth throughput vs upstream, tuned client limits"
	tests := []struct {
		name     string
		report   *Report
		want     string // per row: label berth pods/s (runs, incomplete) upstream pods/s, victims per pod
		wantGoal string
		wantSlow string // the default-flags goal
	}{
		{name: "berth incomplete", report: withPreemption(nil, nil),
			want:     "preemption: berth 0 (0+1) upstream 50 victims 0.00/1.02; preemption (default flags): berth 0 (0+1) upstream 10 victims 0.00/1.01",
			wantGoal: "missed, berth did not complete (preemption)", wantSlow: "missed, berth did not complete (preemption (default flags))"},
		{name: "berth 3x at the tuned limit", report: withPreemption([]float64{140, 160, 150}, []float64{20}),
			want:     "preemption: berth 150 (3+0) upstream 50 victims 1.00/1.02; preemption (default flags): berth 20 (1+0) upstream 10 victims 1.00/1.01",
			wantGoal: "met, lowest 3.00 (preemption)", wantSlow: "met, lowest 2.00 (preemption)"},
		{name: "berth faster but short of 3x", report: withPreemption([]float64{120}, []float64{20}),
			want:     "preemption: berth 120 (1+0) upstream 50 victims 1.00/1.02; preemption (default flags): berth 20 (1+0) upstream 10 victims 1.00/1.01",
			wantGoal: "missed, lowest 2.40 (preemption)", wantSlow: "met, lowest 2.00 (preemption)"},
		{name: "not run", report: twoLimits(), wantGoal: "not measured, ", wantSlow: "missed, lowest 0.75 (spread)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.report.finish()
			var got []string
			for _, w := range tc.report.preemptionRows() {
				got = append(got, fmt.Sprintf("%s: berth %.0f (%d+%d) upstream %.0f victims %.2f/%.2f", w.label(), w.Berth.PodsPerSecond,
					w.Berth.Runs, w.Berth.Incomplete, w.Upstream.PodsPerSecond, w.Berth.EvictedPerPod, w.Upstream.EvictedPerPod))
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("rows\n%s\nwant\n%s", strings.Join(got, "; "), tc.want)
			}
			if g := goalNamed(tc.report, goal); g.Status+", "+g.Measured != tc.wantGoal || g.Target != "≥ 3.00" {
				t.Errorf("goal %+v, want %q", g, tc.wantGoal)
			}
			if g := goalNamed(tc.report, "default flags: berth/upstream throughput on every workload"); g.Status+", "+g.Measured != tc.wantSlow {
				t.Errorf("default-flags goal %+v, want %q", g, tc.wantSlow)
			}
		})
	}
}

func TestMarkdownPreemption(t *testing.T) {
	tests := []struct {
		name         string
		report       *Report
		want, absent []string
	}{
		{name: "berth incomplete", report: withPreemption(nil, nil), want: []string{
			"## Preemption\n\nEach run starts with every node full: 10 low-priority pods (priority 100, 400m cpu each) per node, 10000 in all,",
			"| workload | ceiling pods/s | upstream pods/s | berth pods/s | berth/upstream | upstream victims/pod | berth victims/pod |",
			"| preemption | 400.0 | 50.0 | incomplete | – | 1.02 | incomplete |",
			"| preemption (default flags) | 400.0 | 10.0 | incomplete | – | 1.01 | incomplete |",
			"| preemption | 400.0 | 50.0 | incomplete | – | – | 0.12 |", // throughput
			"Figures are medians over the rounds of the runs that completed (see *Incomplete runs*).",
			"## Incomplete runs",
			"- preemption (default flags)/berth round 1: no pod bound for 1m0s: 0 of 1000 bound",
			"| preemption | berth | 5000 | 1 | 0/1000 (0 evicted) incomplete |",
			"| preemption | upstream | 5000 | 1 | 1000/1000 (1020 evicted) |",
			"| preemption: berth throughput vs upstream, tuned client limits | ≥ 3.00 | berth did not complete (preemption) | missed |",
		}},
		{name: "both complete", report: withPreemption([]float64{150}, []float64{20}), want: []string{
			"| preemption | 400.0 | 50.0 | 150.0 | 3.00 | 1.02 | 1.00 |",
			"| preemption: berth throughput vs upstream, tuned client limits | ≥ 3.00 | lowest 3.00 (preemption) | met |",
		}, absent: []string{"incomplete |", "## Incomplete runs", "runs that completed"}},
		{name: "not run", report: twoLimits(), absent: []string{"## Preemption", "incomplete |", "## Incomplete runs"}, want: []string{
			"| preemption: berth throughput vs upstream, tuned client limits | ≥ 3.00 | – | not measured |",
		}},
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

func TestIncompleteRunsLeaveTheMedians(t *testing.T) {
	rs := runs("basic", kindBerth, "default", 100, 200, 900)
	rs[2].Incomplete = "no pod bound for 1m0s: 10 of 1000 bound"
	rep := &Report{Started: time.Now(), Settings: Settings{Workloads: []string{"basic"}, ClientLimits: []string{"default"}}, Runs: rs}
	rep.finish()
	if got := rep.Workloads[0].Berth; got.Runs != 2 || got.Incomplete != 1 || got.PodsPerSecond != 150 {
		t.Fatalf("berth stats %+v, want 2 runs (1 incomplete) with median 150", got)
	}
}
