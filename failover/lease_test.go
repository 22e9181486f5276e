package failover

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

const leaseNamespace = "kube-system"

// leaseState is one version of the Lease as the test saw it arrive.
type leaseState struct {
	at          time.Time // local time the test received it
	holder      string
	renewed     time.Time
	transitions int32
	durationSec int32
	deleted     bool
}

func (s leaseState) String() string {
	return fmt.Sprintf("%s holder=%q transitions=%d duration=%ds renewed=%s",
		s.at.Format("15:04:05.000"), s.holder, s.transitions, s.durationSec, s.renewed.Format("15:04:05.000000"))
}

// leaseRecorder watches one Lease from the test and keeps every version in arrival order. Its
// methods are safe for concurrent use.
type leaseRecorder struct {
	name string

	mu      sync.Mutex
	states  []leaseState
	changed chan struct{} // closed and replaced on every new state
	err     error         // why the watch stopped early, if it did
}

// recordLease starts watching kube-system/name; it stops when the test ends.
func recordLease(t *testing.T, name string) *leaseRecorder {
	t.Helper()
	l := &leaseRecorder{name: name, changed: make(chan struct{})}
	client := kubernetes.NewForConfigOrDie(cp.Admin).CoordinationV1().Leases(leaseNamespace)
	ctx, cancel := context.WithCancel(context.Background())
	list, err := client.List(ctx, l.selector())
	if err != nil {
		cancel()
		t.Fatalf("listing lease %s: %v", name, err)
	}
	for i := range list.Items {
		l.add(stateOf(&list.Items[i], false))
	}
	var wg sync.WaitGroup
	wg.Go(func() { l.follow(ctx, client, list.ResourceVersion) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l
}

func (l *leaseRecorder) selector() metav1.ListOptions {
	return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", l.name).String()}
}

// leaseWatcher is the part of the Lease API follow needs.
type leaseWatcher interface {
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// follow watches from resourceVersion rv until ctx ends, resuming after each closed watch.
func (l *leaseRecorder) follow(ctx context.Context, client leaseWatcher, rv string) {
	for ctx.Err() == nil {
		opts := l.selector()
		opts.ResourceVersion = rv
		w, err := client.Watch(ctx, opts)
		if err != nil {
			if ctx.Err() == nil {
				l.fail(fmt.Errorf("watching lease %s: %w", l.name, err))
			}
			return
		}
		for ev := range w.ResultChan() {
			lease, ok := ev.Object.(*coordinationv1.Lease)
			if !ok {
				w.Stop()
				l.fail(fmt.Errorf("watching lease %s: unexpected %s event %T", l.name, ev.Type, ev.Object))
				return
			}
			rv = lease.ResourceVersion
			l.add(stateOf(lease, ev.Type == watch.Deleted))
		}
		w.Stop()
	}
}

func stateOf(lease *coordinationv1.Lease, deleted bool) leaseState {
	s := leaseState{at: time.Now(), deleted: deleted}
	if h := lease.Spec.HolderIdentity; h != nil {
		s.holder = *h
	}
	if r := lease.Spec.RenewTime; r != nil {
		s.renewed = r.Time
	}
	if n := lease.Spec.LeaseTransitions; n != nil {
		s.transitions = *n
	}
	if d := lease.Spec.LeaseDurationSeconds; d != nil {
		s.durationSec = *d
	}
	return s
}

func (l *leaseRecorder) add(s leaseState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *leaseRecorder) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
	close(l.changed)
	l.changed = make(chan struct{})
}

// history returns every state seen so far.
func (l *leaseRecorder) history() []leaseState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]leaseState(nil), l.states...)
}

// last returns the latest state; ok is false if the Lease was never seen.
func (l *leaseRecorder) last() (s leaseState, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.states) == 0 {
		return leaseState{}, false
	}
	return l.states[len(l.states)-1], true
}

var errNotSeen = errors.New("not seen")

// await returns the first state received at or after since that satisfies cond, waiting up to
// timeout for it.
func (l *leaseRecorder) await(since time.Time, timeout time.Duration, cond func(leaseState) bool) (leaseState, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		l.mu.Lock()
		states, changed, err := l.states[seen:], l.changed, l.err
		seen = len(l.states)
		l.mu.Unlock()
		for _, s := range states {
			if !s.at.Before(since) && cond(s) {
				return s, nil
			}
		}
		if err != nil {
			return leaseState{}, err
		}
		select {
		case <-changed:
		case <-deadline.C:
			last, _ := l.last()
			return leaseState{}, fmt.Errorf("lease %s: %w within %s (last: %v)", l.name, errNotSeen, timeout, last)
		}
	}
}

// holderIn returns a condition true for a state held by one of ids.
func holderIn(ids ...string) func(leaseState) bool {
	return func(s leaseState) bool {
		for _, id := range ids {
			if s.holder == id && !s.deleted {
				return true
			}
		}
		return false
	}
}

// takenFrom returns a condition true for a state held by anyone but old (and not released).
func takenFrom(old string) func(leaseState) bool {
	return func(s leaseState) bool { return !s.deleted && s.holder != "" && s.holder != old }
}
