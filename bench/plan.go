package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/testenv"
)

// config is one benchmark invocation.
type config struct {
	size      benchdata.Size
	workloads []benchdata.Workload
	// rounds is how many berth/upstream pairs run per workload; ceilingRuns how many of those
	// rounds also measure the ceiling (0..rounds).
	rounds, ceilingRuns int
	// limits are the client limits every workload runs at in every round (at least one).
	limits []clientLimit
	// berthOnly skips the upstream runs (for profiling berth; the report then has no ratios).
	berthOnly     bool
	clients       int
	ceilingEvents bool
	// ceilingBinders is how many clients make the ceiling's binds and events (0: the creating
	// clients themselves, one pod after another).
	ceilingBinders int
	// berthBin and upstreamBin are prebuilt binaries; empty builds berth from this tree and
	// uses the upstream kube-scheduler of the test control plane.
	berthBin, upstreamBin string
	stall                 time.Duration
	// profileDir, when set, receives CPU profiles of every scheduler run over profileFor.
	profileDir string
	profileFor time.Duration
	// explainRPS, when positive, adds after each berth run one more berth run with that many
	// /debug/explain requests per second (see ExplainLoad).
	explainRPS int
	// observabilityCost runs berth at -v=2 with every metric, and adds after each such run one
	// more at -v=0 with the per-call metric families disabled (see bareArgs).
	observabilityCost bool
	// progress receives one line per run (and any upstream build output).
	progress io.Writer
	// args is the command line, recorded in the report.
	args []string
	// mode is what is measured (see modes.go): modeThroughput (the default, also ""),
	// modeLatency, modeXL or modeStartup; modeOptions are the settings of the other modes.
	mode string
	modeOptions
}

func (c config) validate() error {
	if c.rounds < 1 {
		return fmt.Errorf("-pairs %d: need at least 1", c.rounds)
	}
	if c.ceilingRuns < 0 || c.ceilingRuns > c.rounds {
		return fmt.Errorf("-ceiling-runs %d: must be between 0 and -pairs (%d)", c.ceilingRuns, c.rounds)
	}
	if c.ceilingBinders < 0 {
		return fmt.Errorf("-ceiling-binders %d: must not be negative", c.ceilingBinders)
	}
	if c.clients < 1 {
		return fmt.Errorf("-clients %d: need at least 1", c.clients)
	}
	if len(c.workloads) == 0 {
		return errors.New("-workloads: none selected")
	}
	if err := validateClientLimits(c.limits); err != nil {
		return err
	}
	for _, w := range c.workloads {
		if err := w.Validate(c.size); err != nil {
			return err
		}
	}
	if c.profileDir != "" && c.profileFor < time.Second {
		return fmt.Errorf("-cpuprofile-for %s: must be at least 1s", c.profileFor)
	}
	if c.explainRPS < 0 || c.explainRPS > 1000 {
		return fmt.Errorf("-explain-rps %d: must be between 0 and 1000", c.explainRPS)
	}
	if c.observabilityCost && c.explainRPS > 0 {
		return errors.New("-observability-cost and -explain-rps: choose one comparison per benchmark")
	}
	if c.stall <= 0 {
		return fmt.Errorf("-stall %s: must be positive", c.stall)
	}
	return c.validateMode()
}

// plannedRun is one entry of the run order.
type plannedRun struct {
	workload benchdata.Workload
	kind     string
	limit    clientLimit // unused for the ceiling
	round    int
	explain  bool // berth under explain load (config.explainRPS)
	bare     bool // berth without metrics and logs (config.observabilityCost)
}

// String names the run in progress lines and errors, e.g. "basic, upstream at default, round 2".
func (r plannedRun) String() string {
	if r.kind == kindCeiling {
		return fmt.Sprintf("%s, %s, round %d", r.workload.Name, r.kind, r.round)
	}
	kind := r.kind
	if r.explain {
		kind += " under explain load"
	}
	if r.bare {
		kind += " without metrics and logs"
	}
	return fmt.Sprintf("%s, %s at %s, round %d", r.workload.Name, kind, r.limit, r.round)
}

// plan orders the runs: per workload and round, the ceiling (in the first ceilingRuns rounds;
// it runs no scheduler, so one serves every client limit), then per client limit berth, then
// upstream, so that berth and upstream alternate A B A B and any drift of the machine over time
// touches both alike.
func (c config) plan() []plannedRun {
	var out []plannedRun
	for _, w := range c.workloads {
		for r := 1; r <= c.rounds; r++ {
			if r <= c.ceilingRuns {
				out = append(out, plannedRun{workload: w, kind: kindCeiling, round: r})
			}
			for _, l := range c.limits {
				out = append(out, plannedRun{workload: w, kind: kindBerth, limit: l, round: r})
				if c.explainRPS > 0 {
					out = append(out, plannedRun{workload: w, kind: kindBerth, limit: l, round: r, explain: true})
				}
				if c.observabilityCost {
					out = append(out, plannedRun{workload: w, kind: kindBerth, limit: l, round: r, bare: true})
				}
				if !c.berthOnly {
					out = append(out, plannedRun{workload: w, kind: kindUpstream, limit: l, round: r})
				}
			}
		}
	}
	return out
}

// runAll runs the whole benchmark and returns its report. It stops at the first failed run (a
// constraint violation included) and returns the report so far with the error. A run that does
// not complete (see errIncomplete) is reported as such and the benchmark goes on; the report then
// comes with an error naming every such run.
func runAll(ctx context.Context, cfg config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC(), Machine: readMachine(), Settings: settingsOf(cfg)}
	bins, err := testenv.EnsureBinaries(ctx, cfg.progress)
	if err != nil {
		return nil, fmt.Errorf("getting the upstream binaries: %w", err)
	}
	upstream := cfg.upstreamBin
	if upstream == "" {
		upstream = bins.Scheduler
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the profile dir: %w", err)
		}
	}
	berth := cfg.berthBin
	if berth == "" {
		dir, err := os.MkdirTemp("", "berth-bench-")
		if err != nil {
			return nil, fmt.Errorf("creating a build dir: %w", err)
		}
		defer os.RemoveAll(dir)
		fmt.Fprintln(cfg.progress, "bench: building berth (no race detector)...")
		if berth, err = buildBerth(ctx, dir); err != nil {
			return nil, err
		}
	}
	rep.Versions = readVersions(ctx, berth, upstream, cfg.upstreamBin == "")
	if cfg.mode == modeStartup {
		return runStartup(ctx, cfg, rep, berth, upstream)
	}

	// Each run tears down in the background while the next one sets up; the next measurement
	// starts only once the previous control plane is gone.
	tornDown := make(chan struct{})
	close(tornDown)
	defer func() { <-tornDown }()
	runs := cfg.plan()
	var incomplete []string
	for i, r := range runs {
		res, err := runOne(ctx, cfg, r, berth, upstream, &tornDown)
		goOn := errors.Is(err, errIncomplete) && len(res.Violations) == 0
		if err != nil && !goOn {
			if len(res.Violations) > 0 {
				rep.Runs = append(rep.Runs, res)
			}
			rep.finish()
			return rep, fmt.Errorf("run %d of %d (%s): %w", i+1, len(runs), r, err)
		}
		rep.Runs = append(rep.Runs, res)
		fmt.Fprintln(cfg.progress, progressLine(i+1, len(runs), r, res))
		if err != nil {
			fmt.Fprintf(cfg.progress, "bench: run %d of %d did not complete: %v\n", i+1, len(runs), err)
			incomplete = append(incomplete, fmt.Sprintf("%s: %s", r, res.Incomplete))
		}
	}
	rep.finish()
	if len(incomplete) > 0 {
		return rep, fmt.Errorf("%d of %d runs %w: %s", len(incomplete), len(runs), errIncomplete, strings.Join(incomplete, "; "))
	}
	return rep, nil
}

// progressLine is the line runAll prints once run r, the i-th of n, measured res.
func progressLine(i, n int, r plannedRun, res RunResult) string {
	head := fmt.Sprintf("bench: [%d/%d] %-13s %-8s %-7s round %d: ", i, n, r.workload.Name, r.kind, res.ClientLimit, r.round)
	tail := fmt.Sprintf(", cpu %5.2fs, rss %4.0fMiB; setup %.1fs", res.SchedulerCPUSeconds, float64(res.PeakRSSBytes)/(1<<20), res.SetupSeconds)
	if res.Bare {
		head += "[no metrics, -v=0] "
	}
	if pr := res.Preemption; pr != nil {
		tail = fmt.Sprintf(", %d victims evicted (%.2f per pod)", pr.Evicted, pr.EvictedPerPod) + tail
	}
	if el := res.Explain; el != nil {
		head += fmt.Sprintf("[explain %d/s: %d answered, %d failed, p50 %.0fms p99 %.0fms] ", el.RPS, el.Requests, el.Failed, el.P50Ms, el.P99Ms)
	}
	if res.Incomplete != "" {
		tail += "; INCOMPLETE: " + res.Incomplete
	}
	if fp := res.FirstPass; fp != nil {
		return head + fmt.Sprintf("first pass over %5d pods in %6.2fs (created in %5.2fs) = %7.1f pods/s",
			fp.Marked, fp.Seconds, res.CreateSeconds, fp.PodsPerSecond) + tail
	}
	return head + fmt.Sprintf("%5d pods in %6.2fs (created in %5.2fs) = %7.1f pods/s, p50 %6.0fms p99 %6.0fms",
		res.Bound, res.Seconds, res.CreateSeconds, res.PodsPerSecond, res.P50Ms, res.P99Ms) + tail
}

// runOne sets up and measures one run. It waits for *tornDown (the previous run's teardown)
// before measuring, and replaces it with the channel its own background teardown closes.
func runOne(ctx context.Context, cfg config, r plannedRun, berth, upstream string, tornDown *chan struct{}) (RunResult, error) {
	spec := runSpec{workload: r.workload, kind: r.kind, limit: r.limit, round: r.round, size: cfg.size, clients: cfg.clients,
		ceilingEvents: cfg.ceilingEvents, ceilingBinders: cfg.ceilingBinders, stall: cfg.stall, progress: cfg.progress,
		profileDir: cfg.profileDir, profileFor: cfg.profileFor, timebox: cfg.timebox}
	if r.explain {
		spec.explainRPS = cfg.explainRPS
	}
	if cfg.observabilityCost && r.kind == kindBerth {
		spec.berthArgs, spec.bare = observedArgs, false
		if r.bare {
			spec.berthArgs, spec.bare = bareArgs(), true
		}
	}
	if cfg.mode == modeLatency {
		spec.rate = cfg.rate
	}
	switch r.kind {
	case kindBerth:
		spec.bin = berth
	case kindUpstream:
		spec.bin = upstream
	}
	e, err := setUp(ctx, spec)
	<-*tornDown
	if err != nil {
		return RunResult{}, err
	}
	res, err := e.measure(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.close()
	}()
	*tornDown = done
	return res, err
}

// buildBerth builds berth from this source tree, without the race detector, into dir.
func buildBerth(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "berth")
	version := gitDescribe(ctx, root)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-X main.version="+version+" -X main.commit="+gitCommit(ctx, root), "-o", out, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building berth in %s: %w\n%s", root, err, b)
	}
	return out, nil
}

// moduleRoot finds the berth source tree by walking up from the working directory to the
// go.mod of module github.com/berth-scheduler/berth.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getting the working dir: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/berth-scheduler/berth\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the berth source tree: no go.mod of github.com/berth-scheduler/berth above the working directory (or pass -berth)")
		}
		dir = parent
	}
}

// gitCommit returns the short commit of the source tree, or "unknown".
func gitCommit(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// gitDescribe names the source tree's revision, or "dev" outside a git checkout.
func gitDescribe(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return "dev"
	}
	return strings.TrimSpace(string(b))
}
