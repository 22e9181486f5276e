package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// TestMain removes the berth binary the mode smoke tests share (see smokeBerth).
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBerth.dir != "" {
		os.RemoveAll(sharedBerth.dir)
	}
	os.Exit(code)
}

// sharedBerth is one build of berth for the mode smoke tests, made by the first that needs it.
var sharedBerth struct {
	once      sync.Once
	dir, path string
	err       error
}

// smokeBerth returns the shared berth binary, building it on first use.
func smokeBerth(t *testing.T) string {
	t.Helper()
	sharedBerth.once.Do(func() {
		if sharedBerth.dir, sharedBerth.err = os.MkdirTemp("", "berth-bench-smoke-"); sharedBerth.err == nil {
			sharedBerth.path, sharedBerth.err = buildBerth(context.Background(), sharedBerth.dir)
		}
	})
	if sharedBerth.err != nil {
		t.Fatal(sharedBerth.err)
	}
	return sharedBerth.path
}

// runModeSmoke runs cfg end to end into a temporary markdown and JSON report and returns the
// report, the markdown and the JSON read back (from which -from-json must rewrite the same
// markdown).
func runModeSmoke(t *testing.T, cfg config) (*Report, string, Report) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cfg.progress, cfg.args = testLog{t}, []string{"(smoke test)"}
	o := options{mdPath: filepath.Join(dir, "BENCHMARKS.md"), jsonPath: filepath.Join(dir, "bench.json"), cfg: cfg}
	rep, err := runAll(ctx, o.cfg)
	if rep != nil {
		if werr := o.write(rep); werr != nil {
			t.Fatal(werr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(o.mdPath)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	b, err := os.ReadFile(o.jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	again := filepath.Join(dir, "again.md")
	if err := rewriteMarkdown(o.jsonPath, again); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(again); err != nil || string(b) != string(md) {
		t.Errorf("the markdown rewritten from the JSON report differs (err %v):\n%s", err, b)
	}
	return rep, string(md), back
}

func smokeConfig(t *testing.T, mode, workloads string, size benchdata.Size) config {
	t.Helper()
	ws, err := benchdata.Select(workloads)
	if err != nil {
		t.Fatal(err)
	}
	return config{size: size, workloads: ws, limits: []clientLimit{tunedLimit}, rounds: 1, ceilingRuns: 1, clients: 16,
		ceilingEvents: true, stall: 20 * time.Second, mode: mode, berthBin: smokeBerth(t)}
}

func wantInMarkdown(t *testing.T, md string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestSmokeLatency runs the latency mode at a tiny size: mixed pods arriving open loop at 30/s
// for 2 s on 20 nodes, the ceiling, berth and upstream once each, and checks every run's
// percentiles, both schedulers' SLI and the report's goal columns. About 15 s.
func TestSmokeLatency(t *testing.T) {
	cfg := smokeConfig(t, modeLatency, "mixed", benchdata.Size{Nodes: 20, Pods: 60})
	cfg.rate, cfg.arrival = 30, 2*time.Second
	rep, md, back := runModeSmoke(t, cfg)
	if len(rep.Runs) != 3 {
		t.Fatalf("%d runs, want 3", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		l := r.Latency
		if l == nil || r.Bound != r.Bindable || l.P50Ms <= 0 || l.P99Ms < l.P50Ms || l.P999Ms < l.P99Ms || l.ArrivalSeconds < 1.5 {
			t.Errorf("%s: bound %d of %d, latency %+v", r.Scheduler, r.Bound, r.Bindable, l)
			continue
		}
		if hasSLI := l.SLICount > 0 && l.SLIP99Ms > 0; hasSLI != (r.Scheduler != kindCeiling) {
			t.Errorf("%s: SLI p99 %.1fms over %.0f observations (%s)", r.Scheduler, l.SLIP99Ms, l.SLICount, l.SLIError)
		}
	}
	if len(back.Latency) != 1 || back.Latency[0].VsCeiling == "–" || back.Latency[0].VsUpstream == "–" || back.Settings.RatePerSecond != 30 {
		t.Errorf("JSON latency summary %+v, settings %+v", back.Latency, back.Settings)
	}
	wantInMarkdown(t, md, "## Latency", "| mixed | ", "berth p99 ≤ upstream/4", "## Goals", "latency: berth p99 vs the ceiling's p99", "## Every run")
}

// TestSmokeXL runs the xl mode at a tiny size (spread, 20 nodes, 100 pods; berth and upstream, no
// ceiling) and checks throughput, peak RSS and the xl goals; then a run whose time box is too
// short to finish, which must be reported incomplete with how far it came. About 20 s.
func TestSmokeXL(t *testing.T) {
	cfg := smokeConfig(t, modeXL, "spread", benchdata.Size{Nodes: 20, Pods: 100})
	cfg.timebox, cfg.ceilingRuns = time.Minute, 0
	rep, md, _ := runModeSmoke(t, cfg)
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		if r.Incomplete != "" || r.Bound != 100 || r.PodsPerSecond <= 0 || r.PeakRSSBytes <= 0 {
			t.Errorf("%s: %s; bound %d, %.1f pods/s, rss %d", r.Scheduler, r.Incomplete, r.Bound, r.PodsPerSecond, r.PeakRSSBytes)
		}
	}
	wantInMarkdown(t, md, "| 15,000 nodes: berth throughput vs upstream |", "| 15,000 nodes: berth peak RSS vs upstream |", "| spread |")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg = smokeConfig(t, modeXL, "basic", benchdata.Size{Nodes: 100, Pods: 2000})
	cfg.timebox, cfg.berthOnly, cfg.ceilingRuns, cfg.progress = 300*time.Millisecond, true, 0, testLog{t}
	rep, err := runAll(ctx, cfg)
	if err == nil || rep == nil || len(rep.Runs) != 1 {
		t.Fatalf("time-boxed run: err %v, report %+v", err, rep)
	}
	if r := rep.Runs[0]; !strings.Contains(r.Incomplete, "time box of 300ms reached") || len(r.Violations) > 0 {
		t.Errorf("time-boxed run: incomplete %q, violations %v", r.Incomplete, r.Violations)
	}
}

// TestSmokeStartup runs the startup mode at a tiny size (20 nodes, 200 bound pods): berth's and
// upstream's cold starts and a failover between two berth replicas with a 2 s lease. About 20 s.
func TestSmokeStartup(t *testing.T) {
	cfg := smokeConfig(t, modeStartup, "basic", benchdata.Size{Nodes: 20, Pods: 1})
	cfg.boundPods, cfg.failover, cfg.lease = 200, true, 2*time.Second
	rep, md, back := runModeSmoke(t, cfg)
	sr := rep.Startup
	if sr == nil || len(sr.Runs) != 2 || len(sr.Failovers) != 1 {
		t.Fatalf("startup report %+v", sr)
	}
	for _, r := range sr.Runs {
		if r.Incomplete != "" || r.ReadySeconds <= 0 || r.FirstBindSeconds < r.ReadySeconds || r.PeakRSSBytes <= 0 || r.CPUSeconds <= 0 {
			t.Errorf("%s: %+v", r.Scheduler, r)
		}
	}
	if f := sr.Failovers[0]; f.Incomplete != "" || f.Seconds <= 0 || f.Seconds > 3*f.LeaseSeconds+5 {
		t.Errorf("failover %+v", f)
	}
	if back.Startup == nil || back.Startup.Berth.Runs != 1 || back.Settings.BoundPods != 200 || len(back.Goals) != 3 {
		t.Errorf("JSON startup %+v, settings %+v, goals %+v", back.Startup, back.Settings, back.Goals)
	}
	wantInMarkdown(t, md, "## Cold start", "## Leader failover", "| failover: leader SIGKILL → first bind by the new leader |", "| berth/upstream |")
}
