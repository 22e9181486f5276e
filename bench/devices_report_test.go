package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// deviceRuns makes one devices run per figure of pps, with cpu ms of scheduler CPU per pod
// (rounds 1, 2, ...).
func deviceRuns(kind, limit string, cpu float64, pps ...float64) []RunResult {
	out := runs("devices", kind, limit, pps...)
	for i := range out {
		out[i].SchedulerCPUSeconds = cpu * float64(out[i].Bound) / 1000
	}
	return out
}

// withDevices is a report of the devices workload alone at both default limits: upstream at 200
// pods/s and 3 ms per pod (tuned), 17 pods/s and 4 ms (default flags); berth as given (nil: berth
// never completed).
func withDevices(berthTuned, berthDefault []float64, berthCPU float64) *Report {
	var rs []RunResult
	rs = append(rs, deviceRuns(kindCeiling, "", 0, 300)...)
	add := func(limit string, pps []float64) {
		if pps != nil {
			rs = append(rs, deviceRuns(kindBerth, limit, berthCPU, pps...)...)
			return
		}
		r := deviceRuns(kindBerth, limit, 0, 0)[0]
		r.Bound, r.Incomplete = 0, "no pod bound for 1m0s: 0 of 1000 bound"
		rs = append(rs, r)
	}
	add("5000", berthTuned)
	rs = append(rs, deviceRuns(kindUpstream, "5000", 3, 200)...)
	add("default", berthDefault)
	rs = append(rs, deviceRuns(kindUpstream, "default", 4, 17)...)
	return &Report{Started: time.Now(), Runs: rs, Settings: Settings{Nodes: 500, Pods: 1000,
		Workloads: []string{"devices"}, ClientLimits: []string{"5000", "default"}}}
}

func TestDevicesGoalsAndMarkdown(t *testing.T) {
	const (
		tputGoal = "devices: berth throughput vs upstream, every client limit"
		cpuGoal  = "devices: berth CPU per pod vs upstream, every client limit"
	)
	tests := []struct {
		name              string
		report            *Report
		wantTput, wantCPU string
		want, absent      []string
	}{
		{name: "berth incomplete", report: withDevices(nil, nil, 1),
			wantTput: "missed, berth did not complete (devices)", wantCPU: "missed, berth did not complete (devices)",
			want: []string{"## Devices\n\nEach node publishes one ResourceSlice of 8 devices of driver `gpu.bench.berth`",
				"| devices | 300.0 | 200.0 | incomplete | – |"}},
		{name: "faster, a third of the CPU", report: withDevices([]float64{250, 260, 240}, []float64{18}, 1),
			wantTput: "met, lowest 1.06 (devices (default flags))", wantCPU: "met, highest 0.33 (devices)",
			want: []string{"| devices | 300.0 | 200.0 | 250.0 | 1.25 |", "| devices (default flags) | 300.0 | 17.0 | 18.0 | 1.06 |",
				"| devices: berth CPU per pod vs upstream, every client limit | ≤ 0.33 | highest 0.33 (devices) | met |"},
			absent: []string{"## Volumes"}},
		{name: "slower, too much CPU", report: withDevices([]float64{150}, []float64{17}, 2),
			wantTput: "missed, lowest 0.75 (devices)", wantCPU: "missed, highest 0.67 (devices)"},
		{name: "not run", report: twoLimits(), wantTput: "not measured, ", wantCPU: "not measured, ", absent: []string{"## Devices"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.report.finish()
			if g := goalNamed(tc.report, tputGoal); g.Status+", "+g.Measured != tc.wantTput || g.Target != "≥ 1.00" {
				t.Errorf("throughput goal %+v, want %q", g, tc.wantTput)
			}
			if g := goalNamed(tc.report, cpuGoal); g.Status+", "+g.Measured != tc.wantCPU || g.Target != "≤ 0.33" {
				t.Errorf("CPU goal %+v, want %q", g, tc.wantCPU)
			}
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
					t.Errorf("markdown has %q", line)
				}
			}
		})
	}
}
