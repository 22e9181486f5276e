package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// TestSmoke runs the whole harness end to end at a tiny size — two workloads (basic and mixed,
// whose pods carry every kind of hard constraint), one round of the ceiling and of berth and
// upstream at both default client limits (5000 and the default flags), each on its own control
// plane — and checks that the report is complete and nothing was violated. It is the part of the
// benchmark that runs with the other tests (make bench-smoke runs it alone); its ten runs take
// about 40 s on 2 cores, the default-flags four of them about 15 s.
func TestSmoke(t *testing.T) {
	cfg := smokeConfig(t, modeThroughput, "basic,mixed", benchdata.Size{Nodes: 20, Pods: 60})
	cfg.limits, cfg.ceilingBinders, cfg.stall = []clientLimit{tunedLimit, defaultFlags}, 4, 30*time.Second
	rep, md, back := runModeSmoke(t, cfg)

	if len(rep.Runs) != 10 {
		t.Fatalf("%d runs, want 10 (2 workloads × ceiling, berth and upstream at 2 limits)", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		name := r.Workload + "/" + r.Scheduler + "@" + r.ClientLimit
		if (r.Scheduler == kindCeiling) != (r.ClientLimit == "") {
			t.Errorf("%s: client limit %q", name, r.ClientLimit)
		}
		if r.Bindable != 60 || r.Bound != r.Bindable || len(r.Violations) > 0 {
			t.Errorf("%s: bound %d of %d (want 60), violations %v", name, r.Bound, r.Bindable, r.Violations)
		}
		if r.PodsPerSecond <= 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms {
			t.Errorf("%s: %.1f pods/s, p50 %.1fms, p99 %.1fms", name, r.PodsPerSecond, r.P50Ms, r.P99Ms)
		}
		if scheduled := r.Scheduler != kindCeiling; scheduled != (r.SchedulerCPUSeconds+r.SchedulerStartCPUSeconds > 0 && r.PeakRSSBytes > 0) {
			t.Errorf("%s: scheduler cpu %.2fs (+%.2fs at start), rss %d", name, r.SchedulerCPUSeconds, r.SchedulerStartCPUSeconds, r.PeakRSSBytes)
		}
		if r.APIServerCPUSeconds <= 0 {
			t.Errorf("%s: kube-apiserver CPU not measured", name)
		}
	}
	if len(rep.Workloads) != 4 {
		t.Fatalf("%d summaries, want 4 (2 workloads × 2 limits): %+v", len(rep.Workloads), rep.Workloads)
	}
	for _, w := range rep.Workloads {
		if w.BerthOverUpstream <= 0 || w.BerthOverCeiling <= 0 || w.UpstreamOverCeiling <= 0 {
			t.Errorf("%s: summary incomplete: %+v", w.label(), w)
		}
	}
	wantInMarkdown(t, md, "## Throughput", "| basic |", "| mixed |", "| basic (default flags) |", "| mixed (default flags) |",
		"## Goals", "| default flags: berth/upstream", "berth `", "kube-scheduler `v1.37.2")
	if len(back.Runs) != 10 || fmt.Sprint(back.Settings.ClientLimits) != "[5000 default]" || back.Workloads[1].ClientLimit != "default" {
		t.Errorf("JSON report: %d runs, limits %v, summaries %+v", len(back.Runs), back.Settings.ClientLimits, back.Workloads)
	}
}

// TestSmokeOptInWorkloads runs each opt-in workload whose pods need more than a binding end to
// end at a tiny size: one round of the ceiling, berth and upstream at QPS/burst 5000. Every run
// must bind every pod without a violation (the checker's preemption, volume and device checks),
// and the report must have the workload's table and goals. Together about 70 s.
func TestSmokeOptInWorkloads(t *testing.T) {
	cases := []struct {
		name  string
		size  benchdata.Size
		stall time.Duration
		check func(t *testing.T, r RunResult) // one run, beyond every pod bound without a violation
		md    []string
	}{
		{
			// 8 nodes full of 80 victims, 24 preemptors: each bound by evicting victims, one per
			// pod for the ceiling. The stall time is above kube-scheduler's 10 s maximum
			// backoff: a preemptor whose nomination went stale (CI saw upstream evict 25 victims
			// for 24 pods) waits that long before its next try.
			name: "preemption", size: benchdata.Size{Nodes: 8, Pods: 24}, stall: 20 * time.Second,
			check: func(t *testing.T, r RunResult) {
				pr := r.Preemption
				if pr == nil || pr.Victims != 80 || pr.Evicted < r.Bound {
					t.Errorf("%s: preemption %+v for %d bound", r.Scheduler, pr, r.Bound)
				} else if r.Scheduler == kindCeiling && pr.Evicted != 24 {
					t.Errorf("ceiling evicted %d victims for 24 pods", pr.Evicted)
				}
			},
			md: []string{"## Preemption", "| preemption | ", "victims/pod", "| preemption: berth throughput vs upstream"},
		},
		{
			// 16 pods each with its own WaitForFirstConsumer claim; kube-controller-manager's PV
			// binder and the test provisioner run beside each scheduler.
			name: "volumes", size: benchdata.Size{Nodes: 8, Pods: 16}, stall: 20 * time.Second,
			check: func(t *testing.T, r RunResult) {
				if r.ControllerManagerCPUSeconds <= 0 {
					t.Errorf("%s: kube-controller-manager CPU not measured", r.Scheduler)
				}
			},
			md: []string{"## Volumes", "| volumes | ", "| volumes: berth throughput vs upstream, every client limit |",
				"| volumes: berth CPU per pod vs upstream, every client limit |"},
		},
		{
			// 8 nodes of 8 devices, 16 pods each with its own one-device ResourceClaim; no
			// controller runs.
			name: "devices", size: benchdata.Size{Nodes: 8, Pods: 16}, stall: 20 * time.Second,
			md: []string{"## Devices", "| devices | ", "| devices: berth throughput vs upstream, every client limit |",
				"| devices: berth CPU per pod vs upstream, every client limit |"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := smokeConfig(t, modeThroughput, c.name, c.size)
			cfg.ceilingBinders, cfg.stall = 4, c.stall
			rep, md, _ := runModeSmoke(t, cfg)
			if len(rep.Runs) != 3 {
				t.Fatalf("%d runs, want 3 (ceiling, berth, upstream)", len(rep.Runs))
			}
			for _, r := range rep.Runs {
				if r.Incomplete != "" || r.Bound != c.size.Pods || r.Bindable != c.size.Pods || len(r.Violations) > 0 || r.PodsPerSecond <= 0 {
					t.Errorf("%s: %s; bound %d of %d (want %d), %.1f pods/s, violations %v",
						r.Scheduler, r.Incomplete, r.Bound, r.Bindable, c.size.Pods, r.PodsPerSecond, r.Violations)
				}
				if c.check != nil {
					c.check(t, r)
				}
			}
			wantInMarkdown(t, md, c.md...)
		})
	}
}

// testLog writes the harness's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
