// Command bench measures berth side by side with upstream kube-scheduler v1.37 and with the
// ceiling of the API server itself, and writes the result as BENCHMARKS.md and JSON.
//
// For each workload (see package scheduler/benchdata) and round it runs, each on a fresh etcd and
// kube-apiserver: the ceiling (no scheduler; the harness makes the scheduler's API writes
// itself), then berth and upstream at each client limit of -client-limits (by default QPS/burst
// 5000, then the schedulers' default flags, QPS 50 / burst 100). A run creates the nodes, starts
// the scheduler and waits for it to be ready, then creates the pods with 16 concurrent clients
// and measures until every pod that can be bound is bound: throughput, create-to-bind latency,
// scheduler CPU and peak RSS. A first-pass workload (firstpass, run only when named) binds nothing:
// its run lasts until every pod, none of which fits anywhere, carries PodScheduled=False, and
// measures how long the scheduler's first pass over them took. A preemption workload (preemption,
// run only when named) starts from nodes full of low-priority pods, created already bound before
// the scheduler starts; each of its pods fits only once the scheduler preempts one, and the run
// also counts the victims evicted. A volumes workload (volumes, run only when named) gives each pod
// its own WaitForFirstConsumer claim, created before the run with kube-controller-manager's PV
// binder and a test provisioner running: a pod is bound only once its claim has a volume on the
// pod's node, bound to it. A devices workload (devices, run only when named) gives each node 8
// devices in one ResourceSlice and each pod its own ResourceClaim for one of them, created before
// the run: a pod is bound only once its claim is allocated a device of the pod's node and reserved
// for it. Every placement is checked against the pods' hard constraints (and their
// volumes);
// a violation fails the benchmark. A run with no progress for -stall (or whose scheduler died) is
// reported as incomplete, with how far it came; the benchmark goes on and fails at its end.
//
//	go run ./bench                         # 1000 nodes, 1000 pods, all workloads, 3 rounds (make bench)
//	go run ./bench -large -client-limits 5000  # 5000 nodes, 10000 pods, tuned limit only
//	go run ./bench -client-limits default  # only the schedulers' default client limits
//	go run ./bench -nodes 100 -pods 300 -workloads basic,spread -pairs 1 -md /tmp/b.md
//	go run ./bench -nodes 20 -pods 600 -workloads firstpass -client-limits default -pairs 1 -md /tmp/f.md
//	go run ./bench -nodes 100 -pods 200 -workloads preemption -pairs 1 -md /tmp/p.md
//	go run ./bench -nodes 20 -pods 40 -workloads volumes -client-limits 5000 -pairs 1 -md /tmp/v.md
//	go run ./bench -nodes 20 -pods 80 -workloads devices -client-limits 5000 -pairs 1 -md /tmp/d.md
//	go run ./bench -workloads basic -berth-only -ceiling-runs 0 -explain-rps 50 -md /tmp/e.md
//
// Besides throughput (the default mode), -mode selects (see modes.go): latency, pods created open
// loop at -rate for -arrival with the create-to-bind percentiles and each scheduler's SLI p99
// (latency.go); xl, throughput at 15,000 nodes with every run cut off at -timebox (xl.go); and
// startup, each scheduler's cold start on a cluster of -bound-pods bound pods and a leader
// failover between two berth replicas (startup.go). Each mode presets its sizes, workloads and
// rounds; flags given explicitly win.
//
//	go run ./bench -mode latency -nodes 1000 -rate 50 -arrival 30s -md /tmp/l.md
//	go run ./bench -mode xl -timebox 10m -md /tmp/x.md
//	go run ./bench -mode startup -nodes 1000 -bound-pods 10000 -lease 4s -md /tmp/s.md
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// Default and preset sizes.
const (
	defaultNodes = 1000
	defaultPods  = 1000
	largeNodes   = 5000
	largePods    = 10000
)

// options are the command line: where to write, plus the benchmark's config.
type options struct {
	cfg      config
	mdPath   string
	jsonPath string
	// fromJSON, when set, names a JSON report to rewrite the markdown report from, running nothing.
	fromJSON string
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", defaultNodes, "nodes per run")
	pods := fs.Int("pods", defaultPods, "pods per run")
	large := fs.Bool("large", false, fmt.Sprintf("preset: %d nodes, %d pods (overrides -nodes and -pods)", largeNodes, largePods))
	workloads := fs.String("workloads", "all", "comma-separated workloads, or all: "+fmt.Sprint(benchdata.Names())+
		"; run only when named: "+fmt.Sprint(benchdata.OptInNames()))
	pairs := fs.Int("pairs", 3, "rounds per workload; each round runs berth then upstream (A B A B ...) at each client limit")
	limits := fs.String("client-limits", defaultClientLimits, "comma-separated client limits both schedulers run at: each a positive integer N (QPS = burst = N) or default (no setting: their built-in QPS 50, burst 100)")
	ceilingRuns := fs.Int("ceiling-runs", -1, "how many rounds also run the ceiling (default: all)")
	berthOnly := fs.Bool("berth-only", false, "skip the upstream runs (to profile berth; no berth/upstream ratios)")
	clients := fs.Int("clients", 16, "concurrent clients creating pods (and nodes)")
	ceilingEvents := fs.Bool("ceiling-events", true, "the ceiling writes the Scheduled events a scheduler writes")
	ceilingBinders := fs.Int("ceiling-binders", 32, "clients binding for the ceiling, fed by the creating clients (0: each creating client binds its own pod)")
	berth := fs.String("berth", "", "prebuilt berth binary (default: build this tree without -race)")
	upstream := fs.String("kube-scheduler", "", "kube-scheduler binary (default: the test control plane's v1.37.2)")
	stall := fs.Duration("stall", 60*time.Second, "end a run as incomplete when no pod was bound (nor, in a first pass, marked unschedulable) for this long")
	profileDir := fs.String("cpuprofile", "", "directory for CPU profiles of each scheduler run (costs a few percent of throughput) and heap profiles taken at its end")
	profileFor := fs.Duration("cpuprofile-for", 5*time.Second, "how long each CPU profile records, from the first create (-mode startup: from the exec, with a heap profile at the first bind)")
	md := fs.String("md", "BENCHMARKS.md", "markdown report path (empty: none)")
	js := fs.String("json", "", "JSON report path (empty: none)")
	explainRPS := fs.Int("explain-rps", 0, "also run berth, after each berth run, with this many GET /debug/explain requests per second during the run (0: no such runs); the report compares the two")
	obsCost := fs.Bool("observability-cost", false, "run berth at -v=2 with all its metrics and, after each such run, once more at -v=0 with the metric families counted per request or per plugin call disabled; the report compares their CPU per pod")
	mode := fs.String("mode", modeThroughput, "what to measure: "+modesHelp)
	fromJSON := fs.String("from-json", "", "run nothing: rewrite the -md report from this JSON report (of any mode), its summaries and goals judged again from its runs")
	var mo modeOptions
	mo.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if err := applyModePreset(fs, *mode, &mo); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	size := benchdata.Size{Nodes: *nodes, Pods: *pods}
	if *large {
		size = benchdata.Size{Nodes: largeNodes, Pods: largePods}
	}
	ws, err := benchdata.Select(*workloads)
	if err != nil {
		return options{}, fmt.Errorf("-workloads: %w", err)
	}
	ls, err := parseClientLimits(*limits)
	if err != nil {
		return options{}, fmt.Errorf("-client-limits %q: %w", *limits, err)
	}
	if *ceilingRuns < 0 {
		*ceilingRuns = *pairs
	}
	o := options{mdPath: *md, jsonPath: *js, fromJSON: *fromJSON, cfg: config{
		size: size, workloads: ws, limits: ls, rounds: *pairs, ceilingRuns: *ceilingRuns, berthOnly: *berthOnly, clients: *clients,
		ceilingEvents: *ceilingEvents, ceilingBinders: *ceilingBinders, berthBin: *berth, upstreamBin: *upstream, stall: *stall,
		profileDir: *profileDir, profileFor: *profileFor, explainRPS: *explainRPS, observabilityCost: *obsCost,
		progress: stderr, args: args, mode: *mode, modeOptions: mo,
	}}
	return o, o.cfg.validate()
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if o.fromJSON != "" {
		if err := rewriteMarkdown(o.fromJSON, o.mdPath); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		return 0
	}
	rep, err := runAll(ctx, o.cfg)
	if rep != nil {
		if werr := o.write(rep); werr != nil {
			fmt.Fprintln(stderr, "bench:", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench: FAILED:", err)
		return 1
	}
	fmt.Fprintf(stderr, "bench: done in %s; report in %s\n", rep.Duration, o.mdPath)
	return 0
}

// write writes the report where the options say.
func (o options) write(rep *Report) error {
	if o.mdPath != "" {
		if err := writeFile(o.mdPath, rep.writeMarkdown); err != nil {
			return err
		}
	}
	if o.jsonPath != "" {
		err := writeFile(o.jsonPath, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rewriteMarkdown writes the markdown report mdPath from the JSON report jsonPath.
func rewriteMarkdown(jsonPath, mdPath string) error {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return fmt.Errorf("reading the JSON report: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("parsing the JSON report %s: %w", jsonPath, err)
	}
	rep.summarize()
	return writeFile(mdPath, rep.writeMarkdown)
}

// writeFile writes path through a temporary file renamed into place.
func writeFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
