package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// ExplainLoad is what an explain-load run's side traffic did: -explain-rps requests per second
// to berth's /debug/explain for the run's pods, in creation order, round-robin, while the pods
// are scheduled. A pod not created yet is a 404; every answer counts as answered.
type ExplainLoad struct {
	RPS      int `json:"rps"`
	Requests int `json:"requests"`
	OK       int `json:"ok"`     // 200
	Failed   int `json:"failed"` // a transport error or a status other than 200 and 404
	// P50Ms and P99Ms are the latencies of the 200 answers.
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
}

// explainLoader sends the explain requests of one run. Its requests start on their own
// goroutines, so that a slow answer does not lower the rate; stop waits for them.
type explainLoader struct {
	addr  string
	names []string
	rps   int

	client *http.Client
	wg     sync.WaitGroup
	mu     sync.Mutex
	res    ExplainLoad
	ok     []float64
}

func newExplainLoader(addr string, names []string, rps int) *explainLoader {
	c := insecureClient(10 * time.Second)
	// Keep a connection per request in flight: with net/http's default of 2 idle connections
	// most requests would pay a new TLS handshake, which is not what explain costs.
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 4 * rps
	return &explainLoader{addr: addr, names: names, rps: rps, client: c, res: ExplainLoad{RPS: rps}}
}

// run sends requests until ctx ends.
func (l *explainLoader) run(ctx context.Context, namespace string) {
	tick := time.NewTicker(time.Second / time.Duration(l.rps))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		path := fmt.Sprintf("/debug/explain/%s/%s", namespace, l.names[i%len(l.names)])
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.one(ctx, path)
		}()
	}
}

func (l *explainLoader) one(ctx context.Context, path string) {
	began := time.Now()
	code := 0
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+l.addr+path, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = l.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
	}
	if ctx.Err() != nil {
		return // cut short by the end of the run: not counted
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Requests++
	switch {
	case code == http.StatusOK:
		l.res.OK++
		l.ok = append(l.ok, float64(time.Since(began).Microseconds())/1000)
	case code == http.StatusNotFound:
	default:
		l.res.Failed++
	}
}

// result waits for the requests under way and returns the load's figures.
func (l *explainLoader) result() ExplainLoad {
	l.wg.Wait()
	l.client.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.res
	r.P50Ms, r.P99Ms = percentile(l.ok, 50), percentile(l.ok, 99)
	return r
}

// explainSummaries compares, per workload and client limit with explain-load runs, berth's
// complete runs without load and with it.
func explainSummaries(runs []RunResult) []ExplainSummary {
	type key struct{ workload, limit string }
	var order []key
	type pair struct {
		without, with     []float64 // pods/s
		cpuOff, cpuOn     []float64 // ms per pod
		p50, p99          []float64
		rps, reqs, failed int
		// byRound are the pods/s of each round's runs: [0] alone, [1] under load.
		byRound map[int]*[2]float64
	}
	by := map[key]*pair{}
	for _, r := range runs {
		if r.Scheduler != kindBerth || r.Incomplete != "" || len(r.Violations) > 0 || r.Bound == 0 || r.Bare {
			continue
		}
		k := key{r.Workload, r.ClientLimit}
		p := by[k]
		if p == nil {
			p = &pair{byRound: map[int]*[2]float64{}}
			by[k] = p
			order = append(order, k)
		}
		if p.byRound[r.Round] == nil {
			p.byRound[r.Round] = &[2]float64{}
		}
		cpu := 1000 * r.SchedulerCPUSeconds / float64(r.Bound)
		if r.Explain != nil {
			p.byRound[r.Round][1] = r.PodsPerSecond
		} else {
			p.byRound[r.Round][0] = r.PodsPerSecond
		}
		if el := r.Explain; el != nil {
			p.with, p.cpuOn = append(p.with, r.PodsPerSecond), append(p.cpuOn, cpu)
			p.p50, p.p99 = append(p.p50, el.P50Ms), append(p.p99, el.P99Ms)
			p.rps, p.reqs, p.failed = el.RPS, p.reqs+el.Requests, p.failed+el.Failed
		} else {
			p.without, p.cpuOff = append(p.without, r.PodsPerSecond), append(p.cpuOff, cpu)
		}
	}
	var out []ExplainSummary
	for _, k := range order {
		p := by[k]
		if len(p.with) == 0 {
			continue
		}
		s := ExplainSummary{Workload: k.workload, ClientLimit: k.limit, RPS: p.rps, Runs: min(len(p.with), len(p.without)),
			WithoutPodsPerSecond: median(p.without), WithPodsPerSecond: median(p.with),
			WithoutCPUMsPerPod: median(p.cpuOff), WithCPUMsPerPod: median(p.cpuOn),
			Requests: p.reqs, Failed: p.failed, ExplainP50Ms: median(p.p50), ExplainP99Ms: median(p.p99)}
		if s.WithoutPodsPerSecond > 0 {
			s.Change = s.WithPodsPerSecond/s.WithoutPodsPerSecond - 1
		}
		rounds := make([]int, 0, len(p.byRound))
		for round := range p.byRound {
			rounds = append(rounds, round)
		}
		slices.Sort(rounds)
		for _, round := range rounds {
			if pp := p.byRound[round]; pp[0] > 0 && pp[1] > 0 {
				s.RoundChanges = append(s.RoundChanges, pp[1]/pp[0]-1)
			}
		}
		s.PairedChange = median(s.RoundChanges)
		out = append(out, s)
	}
	return out
}

// writeExplainTable writes the explain-load comparison, when there is one.
func (r *Report) writeExplainTable(p func(format string, args ...any)) {
	if len(r.Explain) == 0 {
		return
	}
	p("\n## Explain under load\n\nberth alone, then berth while GET /debug/explain requests arrive at a steady rate (pods in creation order; " +
		"pods not created yet answer 404), alternating within each round; medians of the complete runs.\n\n")
	p("*change* compares the medians; *paired change* is the median of each round's change (its run under load against its run alone, back to back), which cancels drift between rounds; the rounds' changes follow it.\n\n")
	p("| workload | explain req/s | berth pods/s | under load | change | paired change (rounds) | CPU ms/pod | under load | requests (failed) | explain p50 / p99 ms |\n|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n")
	for _, s := range r.Explain {
		rounds := make([]string, len(s.RoundChanges))
		for i, c := range s.RoundChanges {
			rounds[i] = fmt.Sprintf("%+.1f", 100*c)
		}
		p("| %s | %d | %.1f | %.1f | %+.1f%% | %+.1f%% (%s) | %.2f | %.2f | %d (%d) | %.0f / %.0f |\n", limitLabel(s.Workload, s.ClientLimit), s.RPS,
			s.WithoutPodsPerSecond, s.WithPodsPerSecond, 100*s.Change, 100*s.PairedChange, strings.Join(rounds, ", "),
			s.WithoutCPUMsPerPod, s.WithCPUMsPerPod, s.Requests, s.Failed, s.ExplainP50Ms, s.ExplainP99Ms)
	}
}

// goalExplain bounds how much explain requests may lower berth's throughput (issue 19: < 5%).
const goalExplain = 0.05

// explainGoal judges the largest paired throughput loss under explain load; nil when no run had
// explain load.
func explainGoal(ss []ExplainSummary) *Goal {
	if len(ss) == 0 {
		return nil
	}
	worst := ss[0]
	for _, s := range ss[1:] {
		if s.PairedChange < worst.PairedChange {
			worst = s
		}
	}
	g := Goal{Goal: fmt.Sprintf("explain: %d requests/s change berth's throughput by", worst.RPS), Target: fmt.Sprintf("< %.0f%%", 100*goalExplain),
		Measured: fmt.Sprintf("%+.1f%% (%s, median of %d paired rounds; the medians' ratio %+.1f%%)", 100*worst.PairedChange,
			limitLabel(worst.Workload, worst.ClientLimit), len(worst.RoundChanges), 100*worst.Change),
		Status: status(len(worst.RoundChanges) > 0 && worst.PairedChange > -goalExplain)}
	return &g
}
