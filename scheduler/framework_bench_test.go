package scheduler

import (
	"testing"

	"github.com/berth-scheduler/berth/metrics"
	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/scheduler/decide"
)

var decisionSink decide.Result

// BenchmarkDecideRecorded measures what kube-scheduler's framework metrics cost a decision: the
// default profile deciding pods of the basic and mixed workloads on 5000 nodes holding 5000 pods,
// once with no recorder (no framework metrics) and once with the recorder berth runs (every
// extension point timed, every plugin call timed in pluginSamplePercent of the cycles, filter and
// score evaluations counted). Compare the two ns/op.
//
//	go test -run '^$' -bench DecideRecorded -count 5 ./scheduler/
func BenchmarkDecideRecorded(b *testing.B) {
	for _, name := range []string{"basic", "mixed"} {
		w, ok := benchdata.Get(name)
		if !ok {
			b.Fatalf("no workload %s", name)
		}
		c, err := w.NewCluster("bench", benchdata.Size{Nodes: 5000, Pods: 10000}, DefaultSchedulerName)
		if err != nil {
			b.Fatal(err)
		}
		snap := c.Cache.UpdateSnapshot(nil)
		for _, mode := range []string{"metrics-off", "metrics-on"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				prof, err := DefaultProfile(DefaultSchedulerName, nil, 1)
				if err != nil {
					b.Fatal(err)
				}
				var rec *frameworkRecorder
				if mode == "metrics-on" {
					fm, err := newFrameworkMetrics(metrics.NewRegistry())
					if err != nil {
						b.Fatal(err)
					}
					rec = newFrameworkRecorder(fm, DefaultSchedulerName)
					prof.Decider.(recordedDecider).SetRecorder(rec)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					rec.newCycle() // as the loop starts each cycle (nil: nothing)
					decisionSink = prof.Decider.Decide(c.Pending[i%len(c.Pending)], snap)
					i++
				}
			})
		}
	}
}
