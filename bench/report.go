package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of a benchmark: every run, the medians per workload and scheduler, the
// ratios, and the goals of the issue judged against them. It is written as JSON and as markdown.
type Report struct {
	Started   time.Time         `json:"started"`
	Duration  string            `json:"duration"`
	Machine   Machine           `json:"machine"`
	Versions  Versions          `json:"versions"`
	Settings  Settings          `json:"settings"`
	Workloads []WorkloadSummary `json:"workloads"`
	Goals     []Goal            `json:"goals"`
	Runs      []RunResult       `json:"runs"`
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
	CeilingBinders int      `json:"ceilingBinders"`
	ClientQPS      int      `json:"schedulerClientQps"`
	Workloads      []string `json:"workloads"`
	Args           []string `json:"args"`
}

func settingsOf(c config) Settings {
	s := Settings{Nodes: c.size.Nodes, Pods: c.size.Pods, Pairs: c.rounds, CeilingRuns: c.ceilingRuns,
		Clients: c.clients, CeilingEvents: c.ceilingEvents, CeilingBinders: c.ceilingBinders, ClientQPS: clientLimit, Args: c.args}
	for _, w := range c.workloads {
		s.Workloads = append(s.Workloads, w.Name)
	}
	return s
}

// Stats are the medians of one scheduler's runs on one workload.
type Stats struct {
	Runs          int     `json:"runs"`
	PodsPerSecond float64 `json:"podsPerSecond"`
	P50Ms         float64 `json:"p50Ms"`
	P99Ms         float64 `json:"p99Ms"`
	// CPUMsPerPod is scheduler CPU time in the measured window per bound pod.
	CPUMsPerPod  float64 `json:"cpuMsPerPod"`
	PeakRSSMiB   float64 `json:"peakRssMiB"`
	APIServerCPU float64 `json:"apiserverCpuSeconds"`
}

// WorkloadSummary compares the schedulers on one workload. Ratios are berth over the other, 0
// when a side has no runs.
type WorkloadSummary struct {
	Workload             string  `json:"workload"`
	Ceiling              Stats   `json:"ceiling"`
	Upstream             Stats   `json:"upstream"`
	Berth                Stats   `json:"berth"`
	BerthOverUpstream    float64 `json:"berthOverUpstream"`
	BerthOverCeiling     float64 `json:"berthOverCeiling"`
	UpstreamOverCeiling  float64 `json:"upstreamOverCeiling"`
	CPUBerthOverUpstream float64 `json:"cpuPerPodBerthOverUpstream"`
	RSSBerthOverUpstream float64 `json:"peakRssBerthOverUpstream"`
}

// Goal is one target of the issue and whether this benchmark met it.
type Goal struct {
	Goal     string `json:"goal"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	// Status is "met", "missed" or "not measured" (workload or size not part of this run).
	Status string `json:"status"`
}

// finish computes the summaries and goals from the runs.
func (r *Report) finish() {
	r.Machine.LoadEnd = loadAverage()
	r.Duration = time.Since(r.Started).Round(time.Second).String()
	r.Workloads = nil
	for _, name := range r.Settings.Workloads {
		s := WorkloadSummary{Workload: name,
			Ceiling:  stats(r.Runs, name, kindCeiling),
			Upstream: stats(r.Runs, name, kindUpstream),
			Berth:    stats(r.Runs, name, kindBerth),
		}
		if s.Berth.Runs == 0 && s.Upstream.Runs == 0 && s.Ceiling.Runs == 0 {
			continue
		}
		s.BerthOverUpstream = ratio(s.Berth.PodsPerSecond, s.Upstream.PodsPerSecond)
		s.BerthOverCeiling = ratio(s.Berth.PodsPerSecond, s.Ceiling.PodsPerSecond)
		s.UpstreamOverCeiling = ratio(s.Upstream.PodsPerSecond, s.Ceiling.PodsPerSecond)
		s.CPUBerthOverUpstream = ratio(s.Berth.CPUMsPerPod, s.Upstream.CPUMsPerPod)
		s.RSSBerthOverUpstream = ratio(s.Berth.PeakRSSMiB, s.Upstream.PeakRSSMiB)
		r.Workloads = append(r.Workloads, s)
	}
	r.Goals = goals(r.Workloads, r.Settings.Nodes)
}

// stats returns the medians of the runs of kind on workload.
func stats(runs []RunResult, workload, kind string) Stats {
	var tput, p50, p99, cpu, rss, api []float64
	for _, r := range runs {
		if r.Workload != workload || r.Scheduler != kind || len(r.Violations) > 0 {
			continue
		}
		tput = append(tput, r.PodsPerSecond)
		p50 = append(p50, r.P50Ms)
		p99 = append(p99, r.P99Ms)
		if r.Bound > 0 {
			cpu = append(cpu, 1000*r.SchedulerCPUSeconds/float64(r.Bound))
		}
		rss = append(rss, float64(r.PeakRSSBytes)/(1<<20))
		api = append(api, r.APIServerCPUSeconds)
	}
	return Stats{Runs: len(tput), PodsPerSecond: median(tput), P50Ms: median(p50), P99Ms: median(p99),
		CPUMsPerPod: median(cpu), PeakRSSMiB: median(rss), APIServerCPU: median(api)}
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
	goalCPUShare       = 1.0 / 3
	goalRSSShare       = 0.5
	goalRSSNodes       = 5000
)

func goals(ws []WorkloadSummary, nodes int) []Goal {
	var out []Goal
	basic := Goal{Goal: "basic: berth throughput vs the ceiling", Target: fmt.Sprintf("≥ %.2f", goalBasicOfCeiling), Status: "not measured"}
	for _, w := range ws {
		if w.Workload == "basic" && w.BerthOverCeiling > 0 {
			basic.Measured = fmt.Sprintf("%.2f", w.BerthOverCeiling)
			basic.Status = status(w.BerthOverCeiling >= goalBasicOfCeiling)
		}
	}
	out = append(out, basic)

	slower := Goal{Goal: "no workload where berth is slower than upstream", Target: "berth/upstream ≥ 1.00 everywhere", Status: "not measured"}
	worst := worstBy(ws, func(w WorkloadSummary) float64 { return w.BerthOverUpstream }, false)
	if worst != nil {
		slower.Measured = fmt.Sprintf("lowest %.2f (%s)", worst.BerthOverUpstream, worst.Workload)
		slower.Status = status(worst.BerthOverUpstream >= 1)
	}
	out = append(out, slower)

	cpu := Goal{Goal: "berth CPU per scheduled pod vs upstream", Target: fmt.Sprintf("≤ %.2f everywhere", goalCPUShare), Status: "not measured"}
	if w := worstBy(ws, func(w WorkloadSummary) float64 { return w.CPUBerthOverUpstream }, true); w != nil {
		cpu.Measured = fmt.Sprintf("highest %.2f (%s)", w.CPUBerthOverUpstream, w.Workload)
		cpu.Status = status(w.CPUBerthOverUpstream <= goalCPUShare)
	}
	out = append(out, cpu)

	rss := Goal{Goal: fmt.Sprintf("berth peak RSS vs upstream at %d nodes", goalRSSNodes), Target: fmt.Sprintf("≤ %.2f", goalRSSShare), Status: "not measured"}
	if w := worstBy(ws, func(w WorkloadSummary) float64 { return w.RSSBerthOverUpstream }, true); w != nil {
		rss.Measured = fmt.Sprintf("highest %.2f (%s)", w.RSSBerthOverUpstream, w.Workload)
		if nodes >= goalRSSNodes {
			rss.Status = status(w.RSSBerthOverUpstream <= goalRSSShare)
		} else {
			rss.Measured += fmt.Sprintf(" at %d nodes", nodes)
		}
	}
	out = append(out, rss)
	return out
}

// worstBy returns the workload with the highest (or lowest) positive value of f, or nil.
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
			out = append(out, fmt.Sprintf("%s/%s round %d: %s", run.Workload, run.Scheduler, run.Round, v))
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
