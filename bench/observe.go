package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// observer watches the benchmark namespace and notes when each pod is first seen bound. Every run
// kind (scheduler or ceiling) is timed by the same watch, so their figures compare.
type observer struct {
	mu       sync.Mutex
	bindable map[string]bool      // names of pods a scheduler must bind
	boundAt  map[string]time.Time // first time each pod was seen with a node
	wrong    []string             // must-stay-pending pods seen bound
	left     int                  // bindable pods not yet seen bound
	lastBind time.Time
	all      chan struct{} // closed when left reaches 0
}

func newObserver(bindable map[string]bool) *observer {
	o := &observer{bindable: bindable, boundAt: map[string]time.Time{}, left: len(bindable), all: make(chan struct{})}
	if o.left == 0 {
		close(o.all)
	}
	return o
}

// seen records pod as observed at now.
func (o *observer) seen(pod *v1.Pod, now time.Time) {
	if pod.Spec.NodeName == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.boundAt[pod.Name]; ok {
		return
	}
	o.boundAt[pod.Name] = now
	if !o.bindable[pod.Name] {
		o.wrong = append(o.wrong, pod.Name+" on "+pod.Spec.NodeName)
		return
	}
	o.lastBind = now
	o.left--
	if o.left == 0 {
		close(o.all)
	}
}

// progress returns how many bindable pods are bound and when the latest was seen.
func (o *observer) progress() (bound int, last time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.bindable) - o.left, o.lastBind
}

// snapshot returns a copy of the bind times and the wrongly bound pods.
func (o *observer) snapshot() (map[string]time.Time, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]time.Time, len(o.boundAt))
	for k, v := range o.boundAt {
		out[k] = v
	}
	return out, append([]string(nil), o.wrong...)
}

// watch runs a pod informer on namespace ns feeding o until ctx ends. It returns once the
// informer has synced; the informer's goroutines end with ctx, and stop waits for them.
func (o *observer) watch(ctx context.Context, c kubernetes.Interface, ns string) (stop func(), err error) {
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
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

// wait blocks until every bindable pod is bound. It fails when no pod was bound for stall (the
// scheduler is stuck or a pod cannot be placed), when dead reports the scheduler died, or when
// ctx ends.
func (o *observer) wait(ctx context.Context, stall time.Duration, dead func() bool) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastCount, lastChange := -1, time.Now()
	for {
		select {
		case <-o.all:
			return nil
		case <-ctx.Done():
			bound, _ := o.progress()
			return fmt.Errorf("waiting for bindings (%d of %d bound): %w", bound, len(o.bindable), ctx.Err())
		case <-tick.C:
		}
		bound, _ := o.progress()
		if dead != nil && dead() {
			return fmt.Errorf("scheduler exited with %d of %d pods bound", bound, len(o.bindable))
		}
		if bound != lastCount {
			lastCount, lastChange = bound, time.Now()
		} else if time.Since(lastChange) > stall {
			return fmt.Errorf("no pod bound for %s: %d of %d bound", stall, bound, len(o.bindable))
		}
	}
}
