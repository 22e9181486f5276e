package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// observer watches the run's pods in the benchmark namespace (not the victims a preemption run
// starts with) and notes when each is first seen bound and, for
// the pods whose first pass is measured, when each is first seen marked unschedulable. Every run
// kind (scheduler or ceiling) is timed by the same watch, so their figures compare. Its methods
// are safe for concurrent use.
type observer struct {
	mu       sync.Mutex
	bindable map[string]bool      // names of pods a scheduler must bind
	toMark   map[string]bool      // names of pods it must mark unschedulable (a first pass)
	boundAt  map[string]time.Time // first time each pod was seen with a node
	markedAt map[string]time.Time // first time each pod of toMark was seen marked unschedulable
	wrong    []string             // must-stay-pending pods seen bound
	bound    int                  // pods of bindable seen bound
	lastBind time.Time
	lastMark time.Time
	all      chan struct{} // closed once every pod of bindable is bound and of toMark marked
}

// newObserver returns an observer that is complete once every pod of bindable is bound and every
// pod of toMark is marked unschedulable (either may be nil).
func newObserver(bindable, toMark map[string]bool) *observer {
	o := &observer{bindable: bindable, toMark: toMark, boundAt: map[string]time.Time{}, markedAt: map[string]time.Time{},
		all: make(chan struct{})}
	o.closeWhenComplete()
	return o
}

// seen records pod as observed at now.
func (o *observer) seen(pod *v1.Pod, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.markedAt[pod.Name]; !ok && o.toMark[pod.Name] && markedUnschedulable(pod) {
		o.markedAt[pod.Name] = now
		o.lastMark = now
		o.closeWhenComplete()
	}
	if pod.Spec.NodeName == "" {
		return
	}
	if _, ok := o.boundAt[pod.Name]; ok {
		return
	}
	o.boundAt[pod.Name] = now
	if !o.bindable[pod.Name] {
		o.wrong = append(o.wrong, pod.Name+" on "+pod.Spec.NodeName)
		return
	}
	o.lastBind = now
	o.bound++
	o.closeWhenComplete()
}

// closeWhenComplete closes o.all when the last awaited pod has just arrived; o.mu is held (or o
// not yet shared).
func (o *observer) closeWhenComplete() {
	if o.bound == len(o.bindable) && len(o.markedAt) == len(o.toMark) {
		close(o.all)
	}
}

// markedUnschedulable reports whether pod carries the condition a scheduler sets on a pod that
// fits nowhere: PodScheduled=False with reason Unschedulable.
func markedUnschedulable(pod *v1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable
		}
	}
	return false
}

// tally is how far a run has come: pods seen bound and marked unschedulable, of those awaited,
// and when the latest of each was seen (zero when none).
type tally struct {
	bound, bindable    int
	marked, toMark     int
	lastBind, lastMark time.Time
}

// arrived is how many awaited pods have arrived; stall detection watches it.
func (t tally) arrived() int { return t.bound + t.marked }

// last is when the latest awaited pod arrived: the end of the measured window.
func (t tally) last() time.Time {
	if t.lastMark.After(t.lastBind) {
		return t.lastMark
	}
	return t.lastBind
}

// String says how far the run has come, e.g. "12 of 60 bound", "5 of 20 marked unschedulable"
// (when no bindings but marks are awaited), or both.
func (t tally) String() string {
	bound := fmt.Sprintf("%d of %d bound", t.bound, t.bindable)
	marked := fmt.Sprintf("%d of %d marked unschedulable", t.marked, t.toMark)
	switch {
	case t.toMark == 0:
		return bound
	case t.bindable == 0:
		return marked
	default:
		return bound + ", " + marked
	}
}

// progress returns how far the run has come.
func (o *observer) progress() tally {
	o.mu.Lock()
	defer o.mu.Unlock()
	return tally{bound: o.bound, bindable: len(o.bindable), marked: len(o.markedAt), toMark: len(o.toMark),
		lastBind: o.lastBind, lastMark: o.lastMark}
}

// snapshot returns a copy of the bind times and the wrongly bound pods.
func (o *observer) snapshot() (map[string]time.Time, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.boundAt), append([]string(nil), o.wrong...)
}

// runPods selects the pods a run creates: every pod of the namespace but the victims a
// preemption run is set up with (bound before the run, they would look like wrong bindings).
var runPods = benchdata.ShapeLabel + "!=" + string(benchdata.Victim)

// watch runs an informer on the run's pods in namespace ns feeding o until ctx ends. It returns
// once the informer has synced; the informer's goroutines end with ctx, and stop waits for them.
func (o *observer) watch(ctx context.Context, c kubernetes.Interface, ns string) (stop func(), err error) {
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = runPods }))
	inf := f.Core().V1().Pods().Informer()
	record := func(obj any) {
		if p, ok := obj.(*v1.Pod); ok {
			o.seen(p, time.Now())
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    record,
		UpdateFunc: func(_, obj any) { record(obj) },
	}); err != nil {
		return nil, fmt.Errorf("adding the pod watch handler: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	f.Start(wctx.Done())
	stop = func() { cancel(); f.Shutdown() }
	if !cache.WaitForCacheSync(wctx.Done(), inf.HasSynced) {
		stop()
		return nil, fmt.Errorf("pod watch on namespace %s did not sync: %w", ns, ctx.Err())
	}
	return stop, nil
}

// errIncomplete marks a run that ended without every awaited pod arriving: no progress for the
// stall time, or the scheduler died. Such a run is reported with how far it came, and the
// benchmark goes on with the next run.
var errIncomplete = errors.New("incomplete")

// wait blocks until every awaited pod has arrived: each bindable pod bound, each pod of a first
// pass marked unschedulable. It fails with errIncomplete when no awaited pod arrived for stall
// (the scheduler is stuck or a pod cannot be placed) or when dead reports the scheduler died,
// and with ctx's error when ctx ends.
func (o *observer) wait(ctx context.Context, stall time.Duration, dead func() bool) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastCount, lastChange := -1, time.Now()
	for {
		select {
		case <-o.all:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("waiting for the run to complete (%s): %w", o.progress(), ctx.Err())
		case <-tick.C:
		}
		t := o.progress()
		if dead != nil && dead() {
			return fmt.Errorf("%w: scheduler exited with %s", errIncomplete, t)
		}
		if n := t.arrived(); n != lastCount {
			lastCount, lastChange = n, time.Now()
		} else if time.Since(lastChange) > stall {
			what := "bound"
			if t.toMark > 0 {
				what = "bound or marked unschedulable"
			}
			return fmt.Errorf("%w: no pod %s for %s: %s", errIncomplete, what, stall, t)
		}
	}
}
