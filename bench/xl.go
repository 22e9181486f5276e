package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The xl mode is the throughput benchmark at 15,000 nodes and 30,000 pods (basic and spread),
// every placement checked as usual, each run cut off at a time box: a scheduler that cannot
// finish in it is reported with how far it came (as any incomplete run), and the benchmark goes
// on. Its goals compare berth with upstream on throughput and peak RSS.

// Goals of the xl mode.
const (
	goalXLThroughput = 1.5     // berth pods/s over upstream's, at least
	goalXLRSS        = 1.0 / 3 // berth peak RSS over upstream's, at most
)

// timeBoxed returns ctx cut off after box (ctx itself when box is 0) and unbox, which turns the
// error of work done under the returned context into errIncomplete, saying how far the run came
// (t), when the time box ended it rather than ctx. unbox releases the time box either way.
func timeBoxed(ctx context.Context, box time.Duration) (context.Context, func(err error, t tally) error) {
	if box <= 0 {
		return ctx, func(err error, _ tally) error { return err }
	}
	boxed, cancel := context.WithTimeout(ctx, box)
	return boxed, func(err error, t tally) error {
		defer cancel()
		if err != nil && ctx.Err() == nil && errors.Is(boxed.Err(), context.DeadlineExceeded) && !errors.Is(err, errIncomplete) {
			return fmt.Errorf("%w: time box of %s reached: %s", errIncomplete, box, t)
		}
		return err
	}
}

// xlGoals judges berth against upstream over the tuned rows of ws: throughput at least
// goalXLThroughput of upstream's and peak RSS at most goalXLRSS of it, naming the worst row. A
// row where upstream did not finish in the time box compares berth's throughput with how far
// upstream came (its incomplete run's pods/s); a row berth did not finish misses both.
func xlGoals(ws []WorkloadSummary, runs []RunResult) []Goal {
	tput := Goal{Goal: "15,000 nodes: berth throughput vs upstream", Target: fmt.Sprintf("≥ %.2f", goalXLThroughput), Status: "not measured"}
	rss := Goal{Goal: "15,000 nodes: berth peak RSS vs upstream", Target: fmt.Sprintf("≤ %.2f", goalXLRSS), Status: "not measured"}
	var rows []WorkloadSummary
	for _, w := range ws {
		if w.ClientLimit == defaultFlags.String() {
			continue
		}
		if w.Upstream.Runs == 0 && w.Upstream.Incomplete > 0 {
			// Upstream ran out of time: judge against what it managed.
			w.BerthOverUpstream = ratio(w.Berth.PodsPerSecond, incompleteMedian(runs, w.Workload, w.ClientLimit, func(r RunResult) float64 { return r.PodsPerSecond }))
			w.RSSBerthOverUpstream = ratio(w.Berth.PeakRSSMiB, incompleteMedian(runs, w.Workload, w.ClientLimit, func(r RunResult) float64 { return float64(r.PeakRSSBytes) / (1 << 20) }))
		}
		rows = append(rows, w)
	}
	if w := unfinished(rows); w != nil {
		tput.Measured, tput.Status = fmt.Sprintf("berth did not complete (%s)", w.label()), status(false)
		rss.Measured, rss.Status = tput.Measured, tput.Status
		return []Goal{tput, rss}
	}
	if w := worstBy(rows, func(w WorkloadSummary) float64 { return w.BerthOverUpstream }, false); w != nil {
		tput.Measured = fmt.Sprintf("lowest %s (%s)", fmtJudged(w.BerthOverUpstream, goalXLThroughput, true), w.label())
		tput.Status = status(w.BerthOverUpstream >= goalXLThroughput)
	}
	if w := worstBy(rows, func(w WorkloadSummary) float64 { return w.RSSBerthOverUpstream }, true); w != nil {
		rss.Measured = fmt.Sprintf("highest %s (%s)", fmtJudged(w.RSSBerthOverUpstream, goalXLRSS, false), w.label())
		rss.Status = status(w.RSSBerthOverUpstream <= goalXLRSS)
	}
	return []Goal{tput, rss}
}

// incompleteMedian returns the median of f over upstream's incomplete runs on workload at limit.
func incompleteMedian(runs []RunResult, workload, limit string, f func(RunResult) float64) float64 {
	_, unfinished := selectRuns(runs, workload, kindUpstream, limit)
	var v []float64
	for _, r := range unfinished {
		v = append(v, f(r))
	}
	return median(v)
}
