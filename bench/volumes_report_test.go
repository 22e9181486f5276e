package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// volumeRuns makes one volumes run per figure of pps, with cpu ms of scheduler CPU per pod and
// kcm seconds of kube-controller-manager CPU (rounds 1, 2, ...).
func volumeRuns(kind, limit string, cpu, kcm float64, pps ...float64) []RunResult {
	out := runs("volumes", kind, limit, pps...)
	for i := range out {
		out[i].SchedulerCPUSeconds = cpu * float64(out[i].Bound) / 1000
		out[i].ControllerManagerCPUSeconds = kcm
	}
	return out
}

// withVolumes is a report of the volumes workload alone at both default limits: upstream at 40
// pods/s and 3 ms per pod (tuned), 12 pods/s and 4 ms (default flags); berth as given (nil:
// berth never completed, bound 0 of 1000).
func withVolumes(berthTuned, berthDefault []float64, berthCPU float64) *Report {
	var rs []RunResult
	rs = append(rs, volumeRuns(kindCeiling, "", 0, 5, 60)...)
	add := func(limit string, pps []float64) {
		if pps != nil {
			rs = append(rs, volumeRuns(kindBerth, limit, berthCPU, 4, pps...)...)
			return
		}
		r := volumeRuns(kindBerth, limit, 0, 1, 0)[0]
		r.Bound, r.Incomplete = 0, "no pod bound for 1m0s: 0 of 1000 bound"
		rs = append(rs, r)
	}
	add("5000", berthTuned)
	rs = append(rs, volumeRuns(kindUpstream, "5000", 3, 6, 40)...)
	add("default", berthDefault)
	rs = append(rs, volumeRuns(kindUpstream, "default", 4, 7, 12)...)
	return &Report{Started: time.Now(), Runs: rs, Settings: Settings{Nodes: 500, Pods: 1000,
		Workloads: []string{"volumes"}, ClientLimits: []string{"5000", "default"}}}
}

func TestVolumesSummariesAndGoals(t *testing.T) {
	const (
		tputGoal = "volumes: berth throughput vs upstream, every client limit"
		cpuGoal  = "volumes: berth CPU per pod vs upstream, every client limit"
	)
	tests := []struct {
		name              string
		report            *Report
		want              string // per row: label, berth pods/s (runs+incomplete), upstream pods/s, cpu ms/pod berth/upstream, kcm s
		wantTput, wantCPU string
	}{
		{name: "berth incomplete", report: withVolumes(nil, nil, 1),
			want:     "volumes: berth 0 (0+1) upstream 40 cpu 0.00/3.00 kcm 0/6; volumes (default flags): berth 0 (0+1) upstream 12 cpu 0.00/4.00 kcm 0/7",
			wantTput: "missed, berth did not complete (volumes)", wantCPU: "missed, berth did not complete (volumes)"},
		{name: "faster, a third of the CPU", report: withVolumes([]float64{50, 55, 45}, []float64{16}, 1),
			want:     "volumes: berth 50 (3+0) upstream 40 cpu 1.00/3.00 kcm 4/6; volumes (default flags): berth 16 (1+0) upstream 12 cpu 1.00/4.00 kcm 4/7",
			wantTput: "met, lowest 1.25 (volumes)", wantCPU: "met, highest 0.33 (volumes)"},
		{name: "slower at the default flags, too much CPU", report: withVolumes([]float64{50}, []float64{11}, 1.5),
			want:     "volumes: berth 50 (1+0) upstream 40 cpu 1.50/3.00 kcm 4/6; volumes (default flags): berth 11 (1+0) upstream 12 cpu 1.50/4.00 kcm 4/7",
			wantTput: "missed, lowest 0.92 (volumes (default flags))", wantCPU: "missed, highest 0.50 (volumes)"},
		{name: "not run", report: twoLimits(), wantTput: "not measured, ", wantCPU: "not measured, "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.report.finish()
			var got []string
			for _, w := range tc.report.volumesRows() {
				got = append(got, fmt.Sprintf("%s: berth %.0f (%d+%d) upstream %.0f cpu %.2f/%.2f kcm %.0f/%.0f", w.label(), w.Berth.PodsPerSecond,
					w.Berth.Runs, w.Berth.Incomplete, w.Upstream.PodsPerSecond, w.Berth.CPUMsPerPod, w.Upstream.CPUMsPerPod,
					w.Berth.ControllerManagerCPU, w.Upstream.ControllerManagerCPU))
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("rows\n%s\nwant\n%s", strings.Join(got, "; "), tc.want)
			}
			if g := goalNamed(tc.report, tputGoal); g.Status+", "+g.Measured != tc.wantTput || g.Target != "≥ 1.00" {
				t.Errorf("throughput goal %+v, want %q", g, tc.wantTput)
			}
			if g := goalNamed(tc.report, cpuGoal); g.Status+", "+g.Measured != tc.wantCPU || g.Target != "≤ 0.33" {
				t.Errorf("CPU goal %+v, want %q", g, tc.wantCPU)
			}
		})
	}
}

func TestMarkdownVolumes(t *testing.T) {
	tests := []struct {
		name         string
		report       *Report
		want, absent []string
	}{
		{name: "berth incomplete", report: withVolumes(nil, nil, 1), want: []string{
			"## Volumes\n\nEach pod mounts its own claim (1Gi) of a WaitForFirstConsumer StorageClass.",
			"kube-controller-manager runs with the PV binder alone (client QPS/burst 5000,",
			"| workload | ceiling pods/s | upstream pods/s | berth pods/s | berth/upstream | upstream CPU ms/pod | berth CPU ms/pod | berth/upstream CPU | kube-controller-manager CPU s: ceiling / upstream / berth |",
			"| volumes | 60.0 | 40.0 | incomplete | – | 3.00 | incomplete | – | 5.0 / 6.0 / incomplete |",
			"| volumes (default flags) | 60.0 | 12.0 | incomplete | – | 4.00 | incomplete | – | 5.0 / 7.0 / incomplete |",
			"- volumes (default flags)/berth round 1: no pod bound for 1m0s: 0 of 1000 bound",
			"| volumes: berth throughput vs upstream, every client limit | ≥ 1.00 | berth did not complete (volumes) | missed |",
			"| volumes: berth CPU per pod vs upstream, every client limit | ≤ 0.33 | berth did not complete (volumes) | missed |",
			"for a pod with a claim, first the claim's selected-node annotation",
		}},
		{name: "both complete", report: withVolumes([]float64{50}, []float64{15}, 1), want: []string{
			"| volumes | 60.0 | 40.0 | 50.0 | 1.25 | 3.00 | 1.00 | 0.33 | 5.0 / 6.0 / 4.0 |",
			"| volumes (default flags) | 60.0 | 12.0 | 15.0 | 1.25 | 4.00 | 1.00 | 0.25 | 5.0 / 7.0 / 4.0 |",
			"| volumes: berth throughput vs upstream, every client limit | ≥ 1.00 | lowest 1.25 (volumes) | met |",
			"| volumes: berth CPU per pod vs upstream, every client limit | ≤ 0.33 | highest 0.33 (volumes) | met |",
		}, absent: []string{"incomplete |", "## Incomplete runs", "## Preemption"}},
		{name: "not run", report: twoLimits(), absent: []string{"## Volumes"}, want: []string{
			"| volumes: berth throughput vs upstream, every client limit | ≥ 1.00 | – | not measured |",
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
