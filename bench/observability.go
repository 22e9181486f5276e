package main

import (
	"fmt"
	"strings"
)

// The cost of berth's observability (-observability-cost): berth at -v=2 with every metric, as
// an operator runs it, against berth with its logs at -v=0 and the metric families it counts per
// API request or per plugin call disabled with --disabled-metrics, which makes them count nothing
// (berth then reads no clock for them either). The families counted once per pod stay: they
// are kube-scheduler's oldest, and no operator turns them off.

// observedArgs are berth's extra flags on the runs with metrics and logs.
var observedArgs = []string{"-v=2"}

// bareFamilies are the metric families the bare runs disable.
var bareFamilies = []string{
	"scheduler_framework_extension_point_duration_seconds",
	"scheduler_plugin_execution_duration_seconds",
	"scheduler_plugin_evaluation_total",
	"scheduler_scheduling_algorithm_duration_seconds",
	"scheduler_pod_scheduling_attempts",
	"scheduler_pod_scheduling_sli_duration_seconds",
	"rest_client_requests_total",
	"rest_client_request_duration_seconds",
	"rest_client_request_size_bytes",
	"rest_client_response_size_bytes",
	"rest_client_rate_limiter_duration_seconds",
}

// bareArgs are berth's extra flags on the runs without metrics and logs.
func bareArgs() []string {
	return []string{"-v=0", "--disabled-metrics=" + strings.Join(bareFamilies, ",")}
}

// goalObservability is the bound on what metrics and logs may cost: berth's CPU per pod
// with them at most this much above its CPU per pod without them.
const goalObservability = 0.05

// ObservabilitySummary is berth's CPU per pod and throughput with and without metrics and logs,
// from the same rounds.
type ObservabilitySummary struct {
	Workload    string `json:"workload"`
	ClientLimit string `json:"clientLimit"`
	// Runs counts the complete runs each way; the figures are their medians, and CPUChange is
	// the median over the rounds of with/without - 1 (a round's two runs are neighbours in time).
	Runs                 int       `json:"runs"`
	WithCPUMsPerPod      float64   `json:"withCpuMsPerPod"`
	WithoutCPUMsPerPod   float64   `json:"withoutCpuMsPerPod"`
	CPUChange            float64   `json:"cpuChange"`
	RoundCPUChanges      []float64 `json:"roundCpuChanges"`
	WithPodsPerSecond    float64   `json:"withPodsPerSecond"`
	WithoutPodsPerSecond float64   `json:"withoutPodsPerSecond"`
}

// observabilitySummaries pairs, per workload and client limit, berth's complete runs with
// metrics and logs and the bare ones of the same round.
func observabilitySummaries(runs []RunResult) []ObservabilitySummary {
	type key struct{ workload, limit string }
	type sides struct{ with, without *RunResult }
	var order []key
	rounds := map[key]map[int]*sides{}
	for i := range runs {
		r := &runs[i]
		if r.Scheduler != kindBerth || r.Incomplete != "" || len(r.Violations) > 0 || r.Bound == 0 || r.Explain != nil {
			continue
		}
		k := key{r.Workload, r.ClientLimit}
		if rounds[k] == nil {
			rounds[k] = map[int]*sides{}
			order = append(order, k)
		}
		s := rounds[k][r.Round]
		if s == nil {
			s = &sides{}
			rounds[k][r.Round] = s
		}
		if r.Bare {
			s.without = r
		} else {
			s.with = r
		}
	}
	cpu := func(r *RunResult) float64 { return 1000 * r.SchedulerCPUSeconds / float64(r.Bound) }
	var out []ObservabilitySummary
	for _, k := range order {
		var withCPU, withoutCPU, withTput, withoutTput, changes []float64
		for round := 1; round <= len(runs); round++ {
			s := rounds[k][round]
			if s == nil || s.with == nil || s.without == nil {
				continue
			}
			withCPU, withoutCPU = append(withCPU, cpu(s.with)), append(withoutCPU, cpu(s.without))
			withTput, withoutTput = append(withTput, s.with.PodsPerSecond), append(withoutTput, s.without.PodsPerSecond)
			changes = append(changes, ratio(cpu(s.with), cpu(s.without))-1)
		}
		if len(changes) == 0 {
			continue
		}
		out = append(out, ObservabilitySummary{Workload: k.workload, ClientLimit: k.limit, Runs: len(changes),
			WithCPUMsPerPod: median(withCPU), WithoutCPUMsPerPod: median(withoutCPU),
			CPUChange: median(changes), RoundCPUChanges: changes,
			WithPodsPerSecond: median(withTput), WithoutPodsPerSecond: median(withoutTput)})
	}
	return out
}

// observabilityGoal judges the highest median CPU change; nil when nothing was compared.
func observabilityGoal(ss []ObservabilitySummary) *Goal {
	if len(ss) == 0 {
		return nil
	}
	g := Goal{Goal: "metrics and logs (-v=2): berth CPU per pod with them vs without", Target: fmt.Sprintf("≤ +%.0f%%", 100*goalObservability)}
	worst := ss[0]
	for _, s := range ss[1:] {
		if s.CPUChange > worst.CPUChange {
			worst = s
		}
	}
	g.Measured = fmt.Sprintf("%+.1f%% (%s, median of %d rounds)", 100*worst.CPUChange, limitLabel(worst.Workload, worst.ClientLimit), worst.Runs)
	g.Status = status(worst.CPUChange <= goalObservability)
	return &g
}

// writeObservabilityTable writes the comparison, when there is one.
func (r *Report) writeObservabilityTable(p func(format string, args ...any)) {
	if len(r.Observability) == 0 {
		return
	}
	p("\n## Cost of metrics and logs\n\nberth at -v=2 with every metric, then berth at -v=0 with --disabled-metrics=%s, alternating within each round; "+
		"CPU per pod is the scheduler's user + system time over the bound pods; medians of the rounds where both runs completed.\n\n",
		strings.Join(bareFamilies, ","))
	p("| workload | rounds | CPU ms/pod with | without | change (median) | per round | pods/s with | without |\n|---|---:|---:|---:|---:|---|---:|---:|\n")
	for _, s := range r.Observability {
		per := make([]string, len(s.RoundCPUChanges))
		for i, c := range s.RoundCPUChanges {
			per[i] = fmt.Sprintf("%+.1f%%", 100*c)
		}
		p("| %s | %d | %.3f | %.3f | %+.1f%% | %s | %.1f | %.1f |\n", limitLabel(s.Workload, s.ClientLimit), s.Runs,
			s.WithCPUMsPerPod, s.WithoutCPUMsPerPod, 100*s.CPUChange, strings.Join(per, ", "), s.WithPodsPerSecond, s.WithoutPodsPerSecond)
	}
}
