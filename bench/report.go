package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// Report is the outcome of a benchmark: every run, the medians per workload, client limit and
// scheduler, the ratios, and the goals of the issue judged against them. It is written as JSON and as markdown.
type Report struct {
	Started   time.Time         `json:"started"`
	Duration  string            `json:"duration"`
	Machine   Machine           `json:"machine"`
	Versions  Versions          `json:"versions"`
	Settings  Settings          `json:"settings"`
	Workloads []WorkloadSummary `json:"workloads"`
	// FirstPass summarises the first-pass workloads, which Workloads leaves out (they bind nothing).
	FirstPass []FirstPassSummary `json:"firstPass,omitempty"`
	Goals     []Goal             `json:"goals"`
	// Explain compares berth with and without explain load (-explain-rps), per workload and
	// client limit that had such runs.
	Explain []ExplainSummary `json:"explain,omitempty"`
	// Observability compares berth with and without metrics and logs (-observability-cost).
	Observability []ObservabilitySummary `json:"observability,omitempty"`
	Runs          []RunResult            `json:"runs"`
	// Latency summarises the latency mode's runs (see latency.go); Startup is the startup
	// mode's whole outcome (see startup.go), which has no Runs.
	Latency []LatencySummary `json:"latency,omitempty"`
	Startup *StartupReport   `json:"startup,omitempty"`
}

// ExplainSummary is berth's throughput without and with explain load, from the same rounds.
type ExplainSummary struct {
	Workload    string `json:"workload"`
	ClientLimit string `json:"clientLimit"`
	RPS         int    `json:"rps"`
	// Runs counts the complete runs each way; the pods/s and latencies are their medians.
	Runs                 int     `json:"runs"`
	WithoutPodsPerSecond float64 `json:"withoutPodsPerSecond"`
	WithPodsPerSecond    float64 `json:"withPodsPerSecond"`
	Change               float64 `json:"change"` // with/without - 1
	// RoundChanges are each round's with/without - 1, in round order; PairedChange their median.
	RoundChanges       []float64 `json:"roundChanges,omitempty"`
	PairedChange       float64   `json:"pairedChange"`
	WithoutCPUMsPerPod float64   `json:"withoutCpuMsPerPod"`
	WithCPUMsPerPod    float64   `json:"withCpuMsPerPod"`
	Requests           int       `json:"requests"`
	Failed             int       `json:"failed"`
	ExplainP50Ms       float64   `json:"explainP50Ms"`
	ExplainP99Ms       float64   `json:"explainP99Ms"`
}

// Settings are the sizes and options of the benchmark.
type Settings struct {
	Nodes         int  `json:"nodes"`
	Pods          int  `json:"pods"`
	Pairs         int  `json:"pairs"`
	CeilingRuns   int  `json:"ceilingRuns"`
	Clients       int  `json:"clients"`
	CeilingEvents bool `json:"ceilingEvents"`
	// CeilingBinders is how many clients make the ceiling's writes (0: the creating clients).
	CeilingBinders int `json:"ceilingBinders"`
	// ClientLimits are the -client-limits entries in run order, spelled as RunResult.ClientLimit.
	ClientLimits []string `json:"clientLimits"`
	Workloads    []string `json:"workloads"`
	Args         []string `json:"args"`
	// Mode is the -mode (empty for throughput), and the settings of the other modes: the
	// latency mode's arrival, any time box, the startup mode's bound pods and failover lease.
	Mode           string  `json:"mode,omitempty"`
	RatePerSecond  float64 `json:"ratePerSecond,omitempty"`
	ArrivalSeconds float64 `json:"arrivalSeconds,omitempty"`
	TimeboxSeconds float64 `json:"timeboxSeconds,omitempty"`
	BoundPods      int     `json:"boundPods,omitempty"`
	LeaseSeconds   float64 `json:"leaseSeconds,omitempty"`
}

func settingsOf(c config) Settings {
	s := Settings{Nodes: c.size.Nodes, Pods: c.size.Pods, Pairs: c.rounds, CeilingRuns: c.ceilingRuns,
		Clients: c.clients, CeilingEvents: c.ceilingEvents, CeilingBinders: c.ceilingBinders, Args: c.args}
	for _, w := range c.workloads {
		s.Workloads = append(s.Workloads, w.Name)
	}
	for _, l := range c.limits {
		s.ClientLimits = append(s.ClientLimits, l.String())
	}
	if c.mode != "" && c.mode != modeThroughput {
		s.Mode = c.mode
	}
	s.TimeboxSeconds = c.timebox.Seconds()
	switch c.mode {
	case modeLatency:
		s.RatePerSecond, s.ArrivalSeconds = c.rate, c.arrival.Seconds()
	case modeStartup:
		s.BoundPods = c.boundPods
		if c.failover {
			s.LeaseSeconds = c.lease.Seconds()
		}
	}
	return s
}

// Stats are the medians of one scheduler's complete runs on one workload at one client limit.
type Stats struct {
	Runs int `json:"runs"`
	// Incomplete counts the runs that did not complete (RunResult.Incomplete), left out of Runs
	// and of every median.
	Incomplete    int     `json:"incomplete,omitempty"`
	PodsPerSecond float64 `json:"podsPerSecond"`
	P50Ms         float64 `json:"p50Ms"`
	P99Ms         float64 `json:"p99Ms"`
	// CPUMsPerPod is scheduler CPU time in the measured window per bound pod.
	CPUMsPerPod  float64 `json:"cpuMsPerPod"`
	PeakRSSMiB   float64 `json:"peakRssMiB"`
	APIServerCPU float64 `json:"apiserverCpuSeconds"`
	// EvictedPerPod is, on a preemption workload, victims evicted per pod bound (1 is the ideal).
	EvictedPerPod float64 `json:"evictedPerPod,omitempty"`
	// ControllerManagerCPU is, on a volumes workload, kube-controller-manager's CPU seconds in the
	// measured window (its PV binder binds every claim).
	ControllerManagerCPU float64 `json:"controllerManagerCpuSeconds,omitempty"`
}

// ran reports whether the scheduler ran at all, completing or not.
func (s Stats) ran() bool { return s.Runs > 0 || s.Incomplete > 0 }

// num formats one of s's figures with the given decimals: "–" when the scheduler did not run,
// "incomplete" when none of its runs completed.
func (s Stats) num(v float64, decimals int) string {
	if s.Runs == 0 && s.Incomplete > 0 {
		return "incomplete"
	}
	return fmtNum(v, decimals, s.Runs)
}

// WorkloadSummary compares the schedulers on one workload at one client limit. The ceiling is
// the same for every limit of a workload (it runs no scheduler). Ratios are berth over the
// other, 0 when a side has no runs.
type WorkloadSummary struct {
	Workload string `json:"workload"`
	// ClientLimit is the limit berth and upstream ran at, spelled as RunResult.ClientLimit.
	ClientLimit          string  `json:"clientLimit"`
	Ceiling              Stats   `json:"ceiling"`
	Upstream             Stats   `json:"upstream"`
	Berth                Stats   `json:"berth"`
	BerthOverUpstream    float64 `json:"berthOverUpstream"`
	BerthOverCeiling     float64 `json:"berthOverCeiling"`
	UpstreamOverCeiling  float64 `json:"upstreamOverCeiling"`
	CPUBerthOverUpstream float64 `json:"cpuPerPodBerthOverUpstream"`
	RSSBerthOverUpstream float64 `json:"peakRssBerthOverUpstream"`
}

// FirstPassStats are the medians of one scheduler's complete first passes on one workload at one
// client limit (see FirstPassResult); Incomplete counts the others.
type FirstPassStats struct {
	Runs          int     `json:"runs"`
	Incomplete    int     `json:"incomplete,omitempty"`
	Seconds       float64 `json:"seconds"`
	PodsPerSecond float64 `json:"podsPerSecond"`
}

// ran reports whether the scheduler ran at all, completing or not.
func (s FirstPassStats) ran() bool { return s.Runs > 0 || s.Incomplete > 0 }

// FirstPassSummary compares the schedulers' first pass over pods that fit nowhere, on one
// first-pass workload at one client limit; the ceiling is the same for every limit.
type FirstPassSummary struct {
	Workload    string         `json:"workload"`
	ClientLimit string         `json:"clientLimit"`
	Ceiling     FirstPassStats `json:"ceiling"`
	Upstream    FirstPassStats `json:"upstream"`
	Berth       FirstPassStats `json:"berth"`
	// BerthOverUpstream is berth's seconds over upstream's (at most 1: berth no slower), 0 when
	// a side has no runs.
	BerthOverUpstream float64 `json:"berthOverUpstreamSeconds"`
}

// label names the summary's row in the markdown table (see limitLabel).
func (f FirstPassSummary) label() string { return limitLabel(f.Workload, f.ClientLimit) }

// Goal is one target of the issue and whether this benchmark met it.
type Goal struct {
	Goal     string `json:"goal"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	// Status is "met", "missed" or "not measured" (workload or size not part of this run).
	Status string `json:"status"`
}

// label names the summary's row in the markdown tables (see limitLabel).
func (w WorkloadSummary) label() string { return limitLabel(w.Workload, w.ClientLimit) }

// finish computes the summaries and goals from the runs: one summary per workload and client
// limit, in the order of the settings, leaving out limits with no berth or upstream run (the
// first limit stays when the ceiling alone ran, as in a report cut short). First-pass workloads
// bind nothing: they go to FirstPass, not Workloads.
func (r *Report) finish() {
	r.Machine.LoadEnd = loadAverage()
	r.Duration = time.Since(r.Started).Round(time.Second).String()
	r.summarize()
}

// summarize is finish without the machine's end state: the summaries and goals from the runs
// alone, so that -from-json can judge recorded runs again with the current code.
func (r *Report) summarize() {
	if r.Settings.Mode == modeStartup {
		r.finishStartup()
		return
	}
	r.Workloads, r.FirstPass = []WorkloadSummary{}, nil // an empty list, not null, in the JSON
	r.Explain = explainSummaries(r.Runs)
	r.Observability = observabilitySummaries(r.Runs)
	for _, name := range r.Settings.Workloads {
		if w, ok := benchdata.Get(name); ok && w.FirstPass {
			r.FirstPass = append(r.FirstPass, firstPassSummaries(r.Runs, name, r.Settings.ClientLimits)...)
			continue
		}
		ceiling := stats(r.Runs, name, kindCeiling, "")
		for i, limit := range r.Settings.ClientLimits {
			s := WorkloadSummary{Workload: name, ClientLimit: limit, Ceiling: ceiling,
				Upstream: stats(r.Runs, name, kindUpstream, limit),
				Berth:    stats(r.Runs, name, kindBerth, limit),
			}
			if !s.Berth.ran() && !s.Upstream.ran() && (!s.Ceiling.ran() || i > 0) {
				continue
			}
			s.BerthOverUpstream = ratio(s.Berth.PodsPerSecond, s.Upstream.PodsPerSecond)
			s.BerthOverCeiling = ratio(s.Berth.PodsPerSecond, s.Ceiling.PodsPerSecond)
			s.UpstreamOverCeiling = ratio(s.Upstream.PodsPerSecond, s.Ceiling.PodsPerSecond)
			s.CPUBerthOverUpstream = ratio(s.Berth.CPUMsPerPod, s.Upstream.CPUMsPerPod)
			s.RSSBerthOverUpstream = ratio(s.Berth.PeakRSSMiB, s.Upstream.PeakRSSMiB)
			r.Workloads = append(r.Workloads, s)
		}
	}
	r.Goals = append(goals(r.Workloads, r.Settings.Nodes), firstPassGoal(r.FirstPass), preemptionGoal(r.Workloads))
	r.Goals = append(r.Goals, volumesGoals(r.Workloads)...)
	r.Goals = append(r.Goals, devicesGoals(r.Workloads)...)
	if g := observabilityGoal(r.Observability); g != nil {
		r.Goals = append(r.Goals, *g)
	}
	if g := explainGoal(r.Explain); g != nil {
		r.Goals = append(r.Goals, *g)
	}
	switch r.Settings.Mode {
	case modeLatency:
		r.finishLatency()
	case modeXL:
		r.Goals = append(xlGoals(r.Workloads, r.Runs), r.Goals...)
	}
}

// firstPassSummaries returns the rows of a first-pass workload, one per client limit in the
// order given, leaving out limits with no berth or upstream run as finish does.
func firstPassSummaries(runs []RunResult, workload string, limits []string) []FirstPassSummary {
	var out []FirstPassSummary
	ceiling := firstPassStats(runs, workload, kindCeiling, "")
	for i, limit := range limits {
		f := FirstPassSummary{Workload: workload, ClientLimit: limit, Ceiling: ceiling,
			Upstream: firstPassStats(runs, workload, kindUpstream, limit),
			Berth:    firstPassStats(runs, workload, kindBerth, limit),
		}
		if !f.Berth.ran() && !f.Upstream.ran() && (!f.Ceiling.ran() || i > 0) {
			continue
		}
		f.BerthOverUpstream = ratio(f.Berth.Seconds, f.Upstream.Seconds)
		out = append(out, f)
	}
	return out
}

// firstPassStats returns the medians of the first passes of kind on workload at limit (any limit
// for the ceiling).
func firstPassStats(runs []RunResult, workload, kind, limit string) FirstPassStats {
	var secs, pps []float64
	complete, unfinished := selectRuns(runs, workload, kind, limit)
	incomplete := 0
	for _, r := range unfinished {
		if r.FirstPass != nil {
			incomplete++
		}
	}
	for _, r := range complete {
		if r.FirstPass == nil {
			continue
		}
		secs = append(secs, r.FirstPass.Seconds)
		pps = append(pps, r.FirstPass.PodsPerSecond)
	}
	return FirstPassStats{Runs: len(secs), Incomplete: incomplete, Seconds: median(secs), PodsPerSecond: median(pps)}
}

// stats returns the medians of the complete runs of kind on workload at limit (any limit for the
// ceiling), with a count of the incomplete ones.
func stats(runs []RunResult, workload, kind, limit string) Stats {
	var tput, p50, p99, cpu, rss, api, evicted, kcm []float64
	complete, unfinished := selectRuns(runs, workload, kind, limit)
	incomplete := len(unfinished)
	for _, r := range complete {
		if r.Preemption != nil {
			evicted = append(evicted, r.Preemption.EvictedPerPod)
		}
		tput = append(tput, r.PodsPerSecond)
		p50 = append(p50, r.P50Ms)
		p99 = append(p99, r.P99Ms)
		if r.Bound > 0 {
			cpu = append(cpu, 1000*r.SchedulerCPUSeconds/float64(r.Bound))
		}
		rss = append(rss, float64(r.PeakRSSBytes)/(1<<20))
		api = append(api, r.APIServerCPUSeconds)
		if r.ControllerManagerCPUSeconds > 0 {
			kcm = append(kcm, r.ControllerManagerCPUSeconds)
		}
	}
	return Stats{Runs: len(tput), Incomplete: incomplete, PodsPerSecond: median(tput), P50Ms: median(p50), P99Ms: median(p99),
		CPUMsPerPod: median(cpu), PeakRSSMiB: median(rss), APIServerCPU: median(api), EvictedPerPod: median(evicted),
		ControllerManagerCPU: median(kcm)}
}

// selectRuns returns the runs of kind on workload at limit (any limit for the ceiling) without
// violations, split into the complete and the incomplete ones.
func selectRuns(runs []RunResult, workload, kind, limit string) (complete, incomplete []RunResult) {
	for _, r := range runs {
		if r.Workload != workload || r.Scheduler != kind || len(r.Violations) > 0 || r.Explain != nil || r.Bare {
			continue
		}
		if kind != kindCeiling && r.ClientLimit != limit {
			continue
		}
		if r.Incomplete != "" {
			incomplete = append(incomplete, r)
			continue
		}
		complete = append(complete, r)
	}
	return complete, incomplete
}

// median returns the median of v (the mean of the middle two for an even count), 0 when empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratio returns a/b, or 0 when either is not positive.
func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}

// Targets of the issue.
const (
	goalBasicOfCeiling = 0.9
	// goalEveryOfCeiling is issue 20's first goal: every workload at goalRSSNodes nodes reaches
	// this share of the ceiling (median of the rounds).
	goalEveryOfCeiling = 0.85
	goalCPUShare       = 1.0 / 3
	goalRSSShare       = 0.5
	goalRSSNodes       = 5000
	// goalFirstPass bounds berth's first-pass seconds over upstream's.
	goalFirstPass = 1.0
	// goalPreemption is berth's throughput over upstream's on a preemption workload, at the tuned
	// client limits (at the default flags both are bound by the same 50 requests a second).
	goalPreemption = 3.0
	// goalVolumes is berth's throughput over upstream's on a volumes or devices workload, and
	// goalCPUShare bounds its CPU per pod over upstream's there too, at every client limit.
	goalVolumes = 1.0
)

// goals judges the summaries: the first goals over the rows at an explicit client limit
// (the tuned rows), and berth against upstream once more over the rows at the default flags.
func goals(ws []WorkloadSummary, nodes int) []Goal {
	var tuned, defaults []WorkloadSummary
	for _, w := range ws {
		if w.ClientLimit == defaultFlags.String() {
			defaults = append(defaults, w)
		} else {
			tuned = append(tuned, w)
		}
	}
	var out []Goal
	basic := Goal{Goal: "basic: berth throughput vs the ceiling", Target: fmt.Sprintf("≥ %.2f", goalBasicOfCeiling), Status: "not measured"}
	var basicRows []WorkloadSummary
	for _, w := range tuned {
		if w.Workload == "basic" {
			basicRows = append(basicRows, w)
		}
	}
	if w := worstBy(basicRows, func(w WorkloadSummary) float64 { return w.BerthOverCeiling }, false); w != nil {
		basic.Measured = fmtJudged(w.BerthOverCeiling, goalBasicOfCeiling, true)
		if w.label() != w.Workload {
			basic.Measured += " (" + w.label() + ")"
		}
		basic.Status = status(w.BerthOverCeiling >= goalBasicOfCeiling)
	}
	out = append(out, basic)

	every := Goal{Goal: fmt.Sprintf("every workload at %d nodes: berth throughput vs the ceiling", goalRSSNodes),
		Target: fmt.Sprintf("≥ %.2f", goalEveryOfCeiling), Status: "not measured"}
	if w := worstBy(tuned, func(w WorkloadSummary) float64 { return w.BerthOverCeiling }, false); w != nil {
		every.Measured = fmt.Sprintf("lowest %s (%s)", fmtJudged(w.BerthOverCeiling, goalEveryOfCeiling, true), w.label())
		if nodes >= goalRSSNodes {
			every.Status = status(w.BerthOverCeiling >= goalEveryOfCeiling)
		}
		if nodes != goalRSSNodes {
			every.Measured += fmt.Sprintf(" at %d nodes", nodes)
		}
	}
	out = append(out, every)

	out = append(out, notSlower(tuned, "no workload where berth is slower than upstream", "berth/upstream ≥ 1.00 everywhere"))

	cpu := Goal{Goal: "berth CPU per scheduled pod vs upstream", Target: fmt.Sprintf("≤ %.2f everywhere", goalCPUShare), Status: "not measured"}
	if w := worstBy(tuned, func(w WorkloadSummary) float64 { return w.CPUBerthOverUpstream }, true); w != nil {
		cpu.Measured = fmt.Sprintf("highest %s (%s)", fmtJudged(w.CPUBerthOverUpstream, goalCPUShare, false), w.label())
		cpu.Status = status(w.CPUBerthOverUpstream <= goalCPUShare)
	}
	out = append(out, cpu)

	rss := Goal{Goal: fmt.Sprintf("berth peak RSS vs upstream at %d nodes", goalRSSNodes), Target: fmt.Sprintf("≤ %.2f", goalRSSShare), Status: "not measured"}
	if w := worstBy(tuned, func(w WorkloadSummary) float64 { return w.RSSBerthOverUpstream }, true); w != nil {
		rss.Measured = fmt.Sprintf("highest %s (%s)", fmtJudged(w.RSSBerthOverUpstream, goalRSSShare, false), w.label())
		if nodes >= goalRSSNodes {
			rss.Status = status(w.RSSBerthOverUpstream <= goalRSSShare)
		}
		if nodes != goalRSSNodes {
			rss.Measured += fmt.Sprintf(" at %d nodes", nodes)
		}
	}
	out = append(out, rss)

	out = append(out, notSlower(defaults, "default flags: berth/upstream throughput on every workload", "≥ 1.00"))
	return out
}

// firstPassGoal judges berth's first pass against upstream's over the rows fs (every client
// limit), naming the slowest.
func firstPassGoal(fs []FirstPassSummary) Goal {
	g := Goal{Goal: "first pass over unschedulable pods: berth no slower than upstream",
		Target: fmt.Sprintf("berth seconds ≤ upstream seconds × %.1f", goalFirstPass), Status: "not measured"}
	var worst *FirstPassSummary
	for i := range fs {
		if v := fs[i].BerthOverUpstream; v > 0 && (worst == nil || v > worst.BerthOverUpstream) {
			worst = &fs[i]
		}
	}
	if worst != nil {
		g.Measured = fmt.Sprintf("highest berth/upstream %s (%s)", fmtJudged(worst.BerthOverUpstream, goalFirstPass, false), worst.label())
		g.Status = status(worst.BerthOverUpstream <= goalFirstPass)
	}
	return g
}

// preemptionGoal judges berth's throughput against upstream's over the preemption rows of ws at
// the tuned client limits, naming the slowest (a row berth never completed misses the goal).
func preemptionGoal(ws []WorkloadSummary) Goal {
	g := Goal{Goal: "preemption: berth throughput vs upstream, tuned client limits", Target: fmt.Sprintf("≥ %.2f", goalPreemption), Status: "not measured"}
	var rows []WorkloadSummary
	for _, w := range ws {
		if wl, ok := benchdata.Get(w.Workload); ok && wl.Preemption && w.ClientLimit != defaultFlags.String() {
			rows = append(rows, w)
		}
	}
	if w := unfinished(rows); w != nil {
		g.Measured, g.Status = fmt.Sprintf("berth did not complete (%s)", w.label()), status(false)
		return g
	}
	if w := worstBy(rows, func(w WorkloadSummary) float64 { return w.BerthOverUpstream }, false); w != nil {
		g.Measured = fmt.Sprintf("lowest %s (%s)", fmtJudged(w.BerthOverUpstream, goalPreemption, true), w.label())
		g.Status = status(w.BerthOverUpstream >= goalPreemption)
	}
	return g
}

// volumesGoals judges berth against upstream over the volumes rows of ws, at every client limit
// (the goal for the workload: not slower than upstream, with at most a third of its CPU
// per pod), naming the worst row; a row berth never completed misses both.
func volumesGoals(ws []WorkloadSummary) []Goal {
	return claimGoals(ws, "volumes", func(w benchdata.Workload) bool { return w.Volumes })
}

// devicesGoals judges berth against upstream over the devices rows of ws as volumesGoals does
// the volumes rows (issue 17's goal: not slower than upstream, at most a third of its CPU per pod).
func devicesGoals(ws []WorkloadSummary) []Goal {
	return claimGoals(ws, "devices", func(w benchdata.Workload) bool { return w.Devices })
}

// claimGoals judges berth against upstream over the rows of ws whose workload is of kind (named
// in the goals), at every client limit: throughput at least upstream's and CPU per pod at most
// goalCPUShare of it, naming the worst row; a row berth never completed misses both.
func claimGoals(ws []WorkloadSummary, kind string, of func(benchdata.Workload) bool) []Goal {
	tput := Goal{Goal: kind + ": berth throughput vs upstream, every client limit", Target: fmt.Sprintf("≥ %.2f", goalVolumes), Status: "not measured"}
	cpu := Goal{Goal: kind + ": berth CPU per pod vs upstream, every client limit", Target: fmt.Sprintf("≤ %.2f", goalCPUShare), Status: "not measured"}
	var rows []WorkloadSummary
	for _, w := range ws {
		if wl, ok := benchdata.Get(w.Workload); ok && of(wl) {
			rows = append(rows, w)
		}
	}
	if w := unfinished(rows); w != nil {
		tput.Measured, tput.Status = fmt.Sprintf("berth did not complete (%s)", w.label()), status(false)
		cpu.Measured, cpu.Status = tput.Measured, tput.Status
		return []Goal{tput, cpu}
	}
	if w := worstBy(rows, func(w WorkloadSummary) float64 { return w.BerthOverUpstream }, false); w != nil {
		tput.Measured = fmt.Sprintf("lowest %s (%s)", fmtJudged(w.BerthOverUpstream, goalVolumes, true), w.label())
		tput.Status = status(w.BerthOverUpstream >= goalVolumes)
	}
	if w := worstBy(rows, func(w WorkloadSummary) float64 { return w.CPUBerthOverUpstream }, true); w != nil {
		cpu.Measured = fmt.Sprintf("highest %s (%s)", fmtJudged(w.CPUBerthOverUpstream, goalCPUShare, false), w.label())
		cpu.Status = status(w.CPUBerthOverUpstream <= goalCPUShare)
	}
	return []Goal{tput, cpu}
}

// unfinished returns the first row of ws where berth ran but never completed, or nil.
func unfinished(ws []WorkloadSummary) *WorkloadSummary {
	for i := range ws {
		if ws[i].Berth.Runs == 0 && ws[i].Berth.Incomplete > 0 {
			return &ws[i]
		}
	}
	return nil
}

// notSlower judges berth/upstream throughput ≥ 1 over the rows ws. It names the slowest row by
// its label, or by its workload alone at the default flags (whose goal says so already); a row
// berth never completed misses the goal.
func notSlower(ws []WorkloadSummary, goal, target string) Goal {
	g := Goal{Goal: goal, Target: target, Status: "not measured"}
	if w := unfinished(ws); w != nil {
		g.Measured, g.Status = fmt.Sprintf("berth did not complete (%s)", w.label()), status(false)
		return g
	}
	if w := worstBy(ws, func(w WorkloadSummary) float64 { return w.BerthOverUpstream }, false); w != nil {
		name := w.label()
		if w.ClientLimit == defaultFlags.String() {
			name = w.Workload
		}
		g.Measured = fmt.Sprintf("lowest %s (%s)", fmtJudged(w.BerthOverUpstream, 1, true), name)
		g.Status = status(w.BerthOverUpstream >= 1)
	}
	return g
}

// worstBy returns the row with the highest (or lowest) positive value of f, or nil.
func worstBy(ws []WorkloadSummary, f func(WorkloadSummary) float64, highest bool) *WorkloadSummary {
	var worst *WorkloadSummary
	for i := range ws {
		v := f(ws[i])
		if v <= 0 {
			continue
		}
		if worst == nil || (highest && v > f(*worst)) || (!highest && v < f(*worst)) {
			worst = &ws[i]
		}
	}
	return worst
}

// fmtJudged formats a measured ratio judged against target (met at or above it when atLeast, at
// or below otherwise) with two decimals, or with as many more as it takes for the figure shown to
// be judged as the ratio was: 0.9987 against ≥ 1 shows as 0.999, not as a missed 1.00.
func fmtJudged(v, target float64, atLeast bool) string {
	met := func(x float64) bool { return (atLeast && x >= target) || (!atLeast && x <= target) }
	for d := 2; ; d++ {
		s := strconv.FormatFloat(v, 'f', d, 64)
		if shown, _ := strconv.ParseFloat(s, 64); met(shown) == met(v) || d >= 6 {
			return s
		}
	}
}

func status(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

// violations returns every violation of every run, prefixed by the run.
func (r *Report) violations() []string {
	var out []string
	for _, run := range r.Runs {
		for _, v := range run.Violations {
			out = append(out, fmt.Sprintf("%s/%s round %d: %s", limitLabel(run.Workload, run.ClientLimit), run.Scheduler, run.Round, v))
		}
	}
	return out
}

// fmtRatio formats a ratio, "–" when unknown.
func fmtRatio(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

// fmtNum formats a figure with the given decimals, "–" when there were no runs.
func fmtNum(v float64, decimals int, runs int) string {
	if runs == 0 {
		return "–"
	}
	return strings.TrimSpace(fmt.Sprintf("%.*f", decimals, v))
}
