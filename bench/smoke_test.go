package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ws, err := benchdata.Select("basic,mixed")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := options{mdPath: filepath.Join(dir, "BENCHMARKS.md"), jsonPath: filepath.Join(dir, "bench.json"), cfg: config{
		size: benchdata.Size{Nodes: 20, Pods: 60}, workloads: ws, limits: []clientLimit{tunedLimit, defaultFlags}, rounds: 1, ceilingRuns: 1, clients: 16,
		ceilingEvents: true, ceilingBinders: 4, stall: 30 * time.Second, progress: testLog{t}, args: []string{"(smoke test)"},
	}}
	rep, err := runAll(ctx, o.cfg)
	if rep != nil {
		if werr := o.write(rep); werr != nil {
			t.Fatal(werr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}

	if len(rep.Runs) != 10 {
		t.Fatalf("%d runs, want 10 (2 workloads × ceiling, berth and upstream at 2 limits)", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		name := r.Workload + "/" + r.Scheduler + "@" + r.ClientLimit
		if (r.Scheduler == kindCeiling) != (r.ClientLimit == "") {
			t.Errorf("%s: client limit %q", name, r.ClientLimit)
		}
		wantBindable := map[string]int{"basic": 60, "mixed": 60}[r.Workload]
		if r.Bindable != wantBindable || r.Bound != r.Bindable || len(r.Violations) > 0 {
			t.Errorf("%s: bound %d of %d (want %d), violations %v", name, r.Bound, r.Bindable, wantBindable, r.Violations)
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

	md, err := os.ReadFile(o.mdPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Throughput", "| basic |", "| mixed |", "| basic (default flags) |", "| mixed (default flags) |",
		"## Goals", "| default flags: berth/upstream", "berth `", "kube-scheduler `v1.37.2"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	var back Report
	b, err := os.ReadFile(o.jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Runs) != 10 || fmt.Sprint(back.Settings.ClientLimits) != "[5000 default]" ||
		back.Workloads[1].ClientLimit != "default" {
		t.Errorf("JSON report: %v, %d runs, limits %v", err, len(back.Runs), back.Settings.ClientLimits)
	}
}

// testLog writes the harness's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestSmokePreemption runs the preemption workload end to end at a tiny size (8 nodes full of
// 80 victims, 24 preemptors), one round of the ceiling, berth and upstream at QPS/burst 5000, and
// checks that every complete run bound every preemptor by evicting victims (one per pod for the
// ceiling) without a violation. It adds about 20 s to the tests.
func TestSmokePreemption(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ws, err := benchdata.Select("preemption")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := options{mdPath: filepath.Join(dir, "BENCHMARKS.md"), cfg: config{
		size: benchdata.Size{Nodes: 8, Pods: 24}, workloads: ws, limits: []clientLimit{tunedLimit}, rounds: 1, ceilingRuns: 1, clients: 16,
		ceilingEvents: true, ceilingBinders: 4, stall: 6 * time.Second, progress: testLog{t}, args: []string{"(smoke test)"},
	}}
	rep, err := runAll(ctx, o.cfg)
	if rep != nil {
		if werr := o.write(rep); werr != nil {
			t.Fatal(werr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 3 {
		t.Fatalf("%d runs, want 3 (ceiling, berth, upstream)", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		pr := r.Preemption
		if pr == nil || pr.Victims != 80 || len(r.Violations) > 0 {
			t.Errorf("%s: preemption %+v, violations %v", r.Scheduler, pr, r.Violations)
			continue
		}
		if r.Incomplete != "" || r.Bound != 24 || pr.Evicted < r.Bound || r.PodsPerSecond <= 0 {
			t.Errorf("%s: %s; bound %d of 24, %d victims evicted, %.1f pods/s", r.Scheduler, r.Incomplete, r.Bound, pr.Evicted, r.PodsPerSecond)
		}
		if r.Scheduler == kindCeiling && pr.Evicted != 24 {
			t.Errorf("ceiling evicted %d victims for 24 pods", pr.Evicted)
		}
	}
	md, err := os.ReadFile(o.mdPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Preemption", "| preemption | ", "victims/pod", "| preemption: berth throughput vs upstream"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
}

// TestSmokeVolumes runs the volumes workload end to end at a tiny size (8 nodes, 16 pods each with
// its own WaitForFirstConsumer claim, kube-controller-manager's PV binder and the test provisioner
// running), one round of the ceiling, berth and upstream at QPS/burst 5000, and checks that every
// run bound every pod, each on the node of its claim's volume (the checker's volume checks), and
// that the report has the volumes table and goals. It adds about 30 s to the tests (each run
// starts its own kube-controller-manager).
func TestSmokeVolumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ws, err := benchdata.Select("volumes")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := options{mdPath: filepath.Join(dir, "BENCHMARKS.md"), cfg: config{
		size: benchdata.Size{Nodes: 8, Pods: 16}, workloads: ws, limits: []clientLimit{tunedLimit}, rounds: 1, ceilingRuns: 1, clients: 16,
		ceilingEvents: true, ceilingBinders: 4, stall: 20 * time.Second, progress: testLog{t}, args: []string{"(smoke test)"},
	}}
	rep, err := runAll(ctx, o.cfg)
	if rep != nil {
		if werr := o.write(rep); werr != nil {
			t.Fatal(werr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 3 {
		t.Fatalf("%d runs, want 3 (ceiling, berth, upstream)", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		if r.Incomplete != "" || r.Bound != 16 || r.Bindable != 16 || len(r.Violations) > 0 || r.PodsPerSecond <= 0 {
			t.Errorf("%s: %s; bound %d of %d, %.1f pods/s, violations %v", r.Scheduler, r.Incomplete, r.Bound, r.Bindable, r.PodsPerSecond, r.Violations)
		}
		if r.ControllerManagerCPUSeconds <= 0 {
			t.Errorf("%s: kube-controller-manager CPU not measured", r.Scheduler)
		}
	}
	md, err := os.ReadFile(o.mdPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Volumes", "| volumes | ", "| volumes: berth throughput vs upstream, every client limit |",
		"| volumes: berth CPU per pod vs upstream, every client limit |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
}

// TestSmokeDevices runs the devices workload end to end at a tiny size (8 nodes of 8 devices, 16
// pods each with its own one-device ResourceClaim), one round of the ceiling, berth and upstream at
// QPS/burst 5000, and checks that every run bound every pod with its claim allocated a device of
// the pod's node and reserved for it (the checker's device checks), and that the report has the
// devices table and goals. No controller runs: it adds about 20 s to the tests.
func TestSmokeDevices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ws, err := benchdata.Select("devices")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := options{mdPath: filepath.Join(dir, "BENCHMARKS.md"), cfg: config{
		size: benchdata.Size{Nodes: 8, Pods: 16}, workloads: ws, limits: []clientLimit{tunedLimit}, rounds: 1, ceilingRuns: 1, clients: 16,
		ceilingEvents: true, ceilingBinders: 4, stall: 20 * time.Second, progress: testLog{t}, args: []string{"(smoke test)"},
	}}
	rep, err := runAll(ctx, o.cfg)
	if rep != nil {
		if werr := o.write(rep); werr != nil {
			t.Fatal(werr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 3 {
		t.Fatalf("%d runs, want 3 (ceiling, berth, upstream)", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		if r.Incomplete != "" || r.Bound != 16 || r.Bindable != 16 || len(r.Violations) > 0 || r.PodsPerSecond <= 0 {
			t.Errorf("%s: %s; bound %d of %d, %.1f pods/s, violations %v", r.Scheduler, r.Incomplete, r.Bound, r.Bindable, r.PodsPerSecond, r.Violations)
		}
	}
	md, err := os.ReadFile(o.mdPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Devices", "| devices | ", "| devices: berth throughput vs upstream, every client limit |",
		"| devices: berth CPU per pod vs upstream, every client limit |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
}
