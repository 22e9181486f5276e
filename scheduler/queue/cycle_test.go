package queue

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestBackoffFor(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name     string
		attempts int
		initial  time.Duration
		max      time.Duration
		want     time.Duration
	}{
		{name: "never attempted owes nothing", attempts: 0, initial: s, max: 10 * s, want: 0},
		{name: "first failure waits initial", attempts: 1, initial: s, max: 10 * s, want: s},
		{name: "second doubles", attempts: 2, initial: s, max: 10 * s, want: 2 * s},
		{name: "fourth is eight times", attempts: 4, initial: s, max: 10 * s, want: 8 * s},
		{name: "fifth hits the cap", attempts: 5, initial: s, max: 10 * s, want: 10 * s},
		{name: "huge attempt count stays capped", attempts: 1 << 30, initial: s, max: 10 * s, want: 10 * s},
		{name: "initial equal to max", attempts: 3, initial: 5 * s, max: 5 * s, want: 5 * s},
		{name: "odd cap", attempts: 3, initial: 300 * time.Millisecond, max: time.Second, want: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoffFor(tc.attempts, tc.initial, tc.max); got != tc.want {
				t.Errorf("backoffFor(%d, %v, %v) = %v, want %v", tc.attempts, tc.initial, tc.max, got, tc.want)
			}
		})
	}
}

// TestRetryBackoffDoublesAndCaps fails one pod repeatedly and checks that each time it leaves
// backoff exactly when its doubled (then capped) backoff is over, measured from the failure.
func TestRetryBackoffDoublesAndCaps(t *testing.T) {
	q, clock := newTestQueue(t, Config{InitialBackoff: time.Second, MaxBackoff: 10 * time.Second})
	q.Add(makePod("p"))
	wants := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range wants {
		want := w * time.Second
		t.Run(want.String(), func(t *testing.T) {
			qp := popNow(t, q)
			if qp.Attempts != i+1 {
				t.Fatalf("Attempts = %d, want %d", qp.Attempts, i+1)
			}
			clock.Step(3 * time.Millisecond) // the cycle takes a while; backoff starts at failure
			failed := clock.Now()
			q.Retry(qp)
			if !qp.Enqueued.Equal(failed) {
				t.Errorf("Enqueued = %v, want failure time %v", qp.Enqueued, failed)
			}
			clock.Step(want - time.Nanosecond)
			q.Flush()
			assertLens(t, q, Lens{Backoff: 1})
			clock.Step(time.Nanosecond)
			q.Flush()
			assertLens(t, q, Lens{Active: 1})
		})
	}
}

func TestUnschedulableMovedByMatchingEvent(t *testing.T) {
	tests := []struct {
		name     string
		interest Events
		event    Events
		wait     time.Duration // clock step between failure and event
		want     Lens
	}{
		{name: "non-matching event leaves it parked", interest: NodeAdd | NodeChange, event: AssignedPodDelete, want: Lens{Unschedulable: 1}},
		{name: "matching event during backoff sends it to backoff", interest: NodeAdd | NodeChange, event: NodeChange, want: Lens{Backoff: 1}},
		{name: "matching event after backoff sends it to active", interest: AssignedPodDelete, event: AssignedPodDelete | NodeAdd, wait: time.Second, want: Lens{Active: 1}},
		{name: "AllEvents matches any interest", interest: NamespaceChange, event: AllEvents, want: Lens{Backoff: 1}},
		{name: "no interest is never matched", interest: 0, event: AllEvents, wait: time.Second, want: Lens{Unschedulable: 1}},
		{name: "unknown bits are ignored", interest: AllEvents, event: 1 << 30, want: Lens{Unschedulable: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{})
			q.Add(makePod("p"))
			q.Unschedulable(popNow(t, q), tc.interest)
			assertLens(t, q, Lens{Unschedulable: 1})
			clock.Step(tc.wait)
			q.OnEvent(tc.event)
			assertLens(t, q, tc.want)
		})
	}
}

func TestOnEventIfAsksTheHint(t *testing.T) {
	tests := []struct {
		name      string
		interest  Events
		helps     bool
		wantAsked bool
		want      Lens
	}{
		{name: "hint says the event helps", interest: NodeAdd, helps: true, wantAsked: true, want: Lens{Backoff: 1}},
		{name: "hint says it does not", interest: NodeAdd, helps: false, wantAsked: true, want: Lens{Unschedulable: 1}},
		{name: "no interest: the hint is not asked", interest: AssignedPodDelete, helps: true, want: Lens{Unschedulable: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{})
			q.Add(makePod("p"))
			qp := popNow(t, q)
			qp.RejectedBy = []string{"NodeResourcesFit"}
			q.Unschedulable(qp, tc.interest)
			var asked []string
			q.OnEventIf(NodeAdd, func(pod *v1.Pod, rejectedBy []string) bool {
				asked = append(asked, pod.Name+":"+strings.Join(rejectedBy, ","))
				return tc.helps
			})
			if got := len(asked) > 0; got != tc.wantAsked {
				t.Errorf("hint asked: %v (%v), want %v", got, asked, tc.wantAsked)
			}
			if tc.wantAsked && asked[0] != "p:NodeResourcesFit" {
				t.Errorf("hint asked about %q, want the pod and its rejecting plugins", asked[0])
			}
			assertLens(t, q, tc.want)
		})
	}
}

func TestEventDuringFlight(t *testing.T) {
	tests := []struct {
		name     string
		before   Events // event reported before Pop
		during   Events // event reported while in flight
		update   bool   // the pod itself changes labels while in flight
		interest Events
		want     Lens
	}{
		{name: "no event parks it", interest: NodeAdd, want: Lens{Unschedulable: 1}},
		{name: "matching event sends it to backoff", during: NodeAdd, interest: NodeAdd | NodeChange, want: Lens{Backoff: 1}},
		{name: "non-matching event parks it", during: AssignedPodAdd, interest: NodeAdd, want: Lens{Unschedulable: 1}},
		{name: "event before pop does not count", before: NodeAdd, interest: NodeAdd, want: Lens{Unschedulable: 1}},
		{name: "own update counts when interested", update: true, interest: PodChange, want: Lens{Backoff: 1}},
		{name: "own update ignored when not interested", update: true, interest: NodeAdd, want: Lens{Unschedulable: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{})
			p := makePod("p", withResourceVersion("1"))
			q.Add(p)
			q.Add(makePod("bystander"))
			q.OnEvent(tc.before)
			qp := popName(t, q, "p")
			other := popName(t, q, "bystander")
			q.OnEvent(tc.during)
			if tc.update {
				q.Update(p, modified(p, withLabel("app", "x"), withResourceVersion("2")))
			}
			q.Done(other) // another pod finishing must not lose the events
			q.Unschedulable(qp, tc.interest)
			assertLens(t, q, tc.want)
		})
	}
}

func TestRequeueUsesLatestVersion(t *testing.T) {
	for _, report := range []string{"Unschedulable", "Retry"} {
		t.Run(report, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{})
			p := makePod("p", withResourceVersion("1"))
			q.Add(p)
			qp := popNow(t, q)
			newer := modified(p, withLabel("v", "2"), withResourceVersion("2"))
			q.Update(p, newer)
			if qp.Pod != p {
				t.Fatal("Update changed the pod of an in-flight QueuedPod")
			}
			if report == "Retry" {
				q.Retry(qp)
			} else {
				q.Unschedulable(qp, PodChange)
			}
			clock.Step(time.Second)
			q.Flush()
			if got := popNow(t, q); got.Pod != newer {
				t.Errorf("requeued version %s, want %s", got.Pod.ResourceVersion, newer.ResourceVersion)
			}
		})
	}
}

func TestMaxInUnschedulableFlush(t *testing.T) {
	const maxIn = 5 * time.Minute
	tests := []struct {
		name      string
		parkedFor time.Duration
		attempts  int // attempts before parking
		backoff   time.Duration
		want      Lens
	}{
		{name: "not yet", parkedFor: maxIn - time.Second, attempts: 1, want: Lens{Unschedulable: 1}},
		{name: "exactly the limit stays", parkedFor: maxIn, attempts: 1, want: Lens{Unschedulable: 1}},
		{name: "past the limit goes to active", parkedFor: maxIn + time.Nanosecond, attempts: 1, want: Lens{Active: 1}},
		{name: "past the limit but still backing off goes to backoff", parkedFor: maxIn + time.Second,
			attempts: 1, backoff: 10 * time.Minute, want: Lens{Backoff: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{MaxInUnschedulable: maxIn}
			if tc.backoff > 0 {
				cfg.InitialBackoff, cfg.MaxBackoff = tc.backoff, tc.backoff
			}
			q, clock := newTestQueue(t, cfg)
			q.Add(makePod("p"))
			q.Unschedulable(popNow(t, q), NodeAdd)
			clock.Step(tc.parkedFor)
			q.Flush()
			assertLens(t, q, tc.want)
		})
	}
}

// TestFlushedMark: a pod the periodic flush moved is marked Flushed until its next failure; a
// pod an event moved is not.
func TestFlushedMark(t *testing.T) {
	const maxIn = time.Minute
	tests := []struct {
		name        string
		moveByEvent bool
		failAgain   bool
		want        bool
	}{
		{name: "flushed", want: true},
		{name: "moved by an event", moveByEvent: true, want: false},
		{name: "flushed, then failed again", failAgain: true, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{MaxInUnschedulable: maxIn, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
			q.Add(makePod("p"))
			q.Unschedulable(popNow(t, q), NodeAdd)
			clock.Step(maxIn + time.Second)
			if tc.moveByEvent {
				q.OnEvent(NodeAdd)
			}
			q.Flush()
			qp := popNow(t, q)
			if tc.failAgain {
				q.Unschedulable(qp, NodeAdd)
				q.OnEvent(NodeAdd)
				clock.Step(time.Second)
				q.Flush()
				qp = popNow(t, q)
			}
			if qp.Flushed != tc.want {
				t.Errorf("Flushed = %v, want %v", qp.Flushed, tc.want)
			}
		})
	}
}

func TestUpdateUnschedulablePod(t *testing.T) {
	base := makePod("p", withResourceVersion("1"))
	tests := []struct {
		name     string
		interest Events
		newPod   func() *v1.Pod
		wait     time.Duration
		want     Lens
		wantNew  bool // the queue holds the new version
	}{
		{name: "label change with interest moves to backoff", interest: PodChange,
			newPod: func() *v1.Pod { return modified(base, withLabel("a", "b"), withResourceVersion("2")) },
			want:   Lens{Backoff: 1}, wantNew: true},
		{name: "spec change after backoff moves to active", interest: PodChange | NodeAdd, wait: time.Second,
			newPod: func() *v1.Pod { return modified(base, withPriority(3), withResourceVersion("2")) },
			want:   Lens{Active: 1}, wantNew: true},
		{name: "change without interest stays but is updated", interest: NodeAdd,
			newPod: func() *v1.Pod { return modified(base, withLabel("a", "b"), withResourceVersion("2")) },
			want:   Lens{Unschedulable: 1}, wantNew: true},
		{name: "status-only change stays", interest: PodChange,
			newPod: func() *v1.Pod {
				np := modified(base, withResourceVersion("2"))
				np.Status.Message = "still pending"
				return np
			},
			want: Lens{Unschedulable: 1}, wantNew: true},
		{name: "a generated resource claim named in the status moves to backoff", interest: PodChange,
			newPod: func() *v1.Pod {
				np := modified(base, withResourceVersion("2"))
				np.Status.ResourceClaimStatuses = []v1.PodResourceClaimStatus{{Name: "gpu", ResourceClaimName: new("p-gpu-x7k2")}}
				return np
			},
			want: Lens{Backoff: 1}, wantNew: true},
		{name: "resync with the same resource version is ignored", interest: PodChange,
			newPod: func() *v1.Pod { return modified(base, withLabel("a", "b")) },
			want:   Lens{Unschedulable: 1}},
		{name: "gates added sends it to gated", interest: PodChange,
			newPod: func() *v1.Pod { return modified(base, withGates("g"), withResourceVersion("2")) },
			want:   Lens{Gated: 1}, wantNew: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{})
			q.Add(base)
			q.Unschedulable(popNow(t, q), tc.interest)
			clock.Step(tc.wait)
			newPod := tc.newPod()
			q.Update(base, newPod)
			assertLens(t, q, tc.want)

			q.mu.Lock()
			held := q.pods[podKey(base)].Pod
			q.mu.Unlock()
			if got := held == newPod; got != tc.wantNew {
				t.Errorf("queue holds the new version: %v, want %v", got, tc.wantNew)
			}
		})
	}
}

func TestDoneForgetsPod(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	p := makePod("p")
	q.Add(p)
	qp := popNow(t, q)
	q.Done(qp)
	q.Done(qp) // a second report is ignored
	q.Retry(qp)
	q.Unschedulable(qp, AllEvents)
	assertLens(t, q, Lens{})
	// After Done the queue no longer knows the pod: an update adds it as new.
	q.Update(nil, p)
	if qp := popNow(t, q); qp.Attempts != 1 {
		t.Errorf("re-added pod has %d attempts, want a fresh 1", qp.Attempts)
	}
}

func TestPopContextAndClose(t *testing.T) {
	tests := []struct {
		name    string
		stop    func(q *Queue, cancel context.CancelFunc)
		wantErr func(error) bool
	}{
		{name: "context cancelled", stop: func(_ *Queue, cancel context.CancelFunc) { cancel() },
			wantErr: func(err error) bool { return errors.Is(err, context.Canceled) }},
		{name: "queue closed", stop: func(q *Queue, _ context.CancelFunc) { q.Close() },
			wantErr: func(err error) bool { return errors.Is(err, ErrClosed) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				_, err := q.Pop(ctx)
				errc <- err
			}()
			select {
			case err := <-errc:
				t.Fatalf("Pop on an empty queue returned early: %v", err)
			case <-time.After(10 * time.Millisecond):
			}
			tc.stop(q, cancel)
			select {
			case err := <-errc:
				if !tc.wantErr(err) {
					t.Errorf("Pop error = %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Pop did not return after stop")
			}
			// A later Pop fails at once, even with a pod to hand out.
			q.Add(makePod("p"))
			if _, err := q.Pop(ctx); !tc.wantErr(err) {
				t.Errorf("later Pop error = %v", err)
			}
		})
	}
}

func TestPopWakesOnActivation(t *testing.T) {
	tests := []struct {
		name     string
		activate func(q *Queue, clock *fakeClock)
	}{
		{name: "add", activate: func(q *Queue, _ *fakeClock) { q.Add(makePod("p")) }},
		{name: "event", activate: func(q *Queue, _ *fakeClock) { q.OnEvent(NodeAdd) }},
		{name: "backoff flush", activate: func(q *Queue, clock *fakeClock) { clock.Step(time.Minute); q.Flush() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, clock := newTestQueue(t, Config{})
			if tc.name != "add" {
				q.Add(makePod("p"))
				qp := popNow(t, q)
				if tc.name == "event" {
					q.Unschedulable(qp, NodeAdd)
					clock.Step(time.Minute) // backoff over: the event sends it straight to active
				} else {
					q.Retry(qp)
				}
			}
			got := make(chan *QueuedPod, 1)
			go func() {
				qp, err := q.Pop(context.Background())
				if err != nil {
					t.Errorf("Pop: %v", err)
				}
				got <- qp
			}()
			select {
			case <-got:
				t.Fatal("Pop returned before any pod was active")
			case <-time.After(10 * time.Millisecond):
			}
			tc.activate(q, clock)
			select {
			case qp := <-got:
				if qp == nil || qp.Pod.Name != "p" {
					t.Errorf("Pop returned %v, want pod p", qp)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Pop did not wake")
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	q, clock := newTestQueue(t, Config{})
	const n = 200
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		q.Run(ctx)
	}()
	go func() {
		for i := range n {
			q.Add(makePod("p" + string(rune('a'+i%26)) + string(rune('a'+i/26))))
		}
	}()
	go func() {
		for range n {
			q.OnEvent(NodeAdd)
			_ = q.Lens()
		}
	}()
	var names []string
	for len(names) < n {
		popCtx, popCancel := context.WithTimeout(ctx, 5*time.Millisecond)
		qp, err := q.Pop(popCtx)
		popCancel()
		if errors.Is(err, context.DeadlineExceeded) {
			// Everything left is parked: let time pass so the timeout flush releases it.
			clock.Step(time.Minute)
			q.Flush()
			continue
		}
		if err != nil {
			t.Fatalf("Pop: %v", err)
		}
		switch qp.Attempts {
		case 1:
			q.Unschedulable(qp, NodeAdd) // back via an event or the timeout flush
		default:
			names = append(names, qp.Pod.Name)
			q.Done(qp)
		}
	}
	cancel()
	<-runDone
	slices.Sort(names)
	if len(slices.Compact(names)) != n {
		t.Errorf("scheduled %d distinct pods, want %d", len(names), n)
	}
	assertLens(t, q, Lens{})
}

func TestUnschedulablePluginsReportsThePool(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	q.Add(makePod("a"))
	q.Add(makePod("b"))
	q.Add(makePod("c"))
	a, b := popNow(t, q), popNow(t, q)
	a.RejectedBy = []string{"NodeResourcesFit", "TaintToleration"}
	q.Unschedulable(a, NodeAdd)
	b.RejectedBy = []string{"VolumeBinding"}
	q.Unschedulable(b, PodChange)
	q.OnEvent(NodeAdd) // a leaves the pool: only b is counted
	got := map[string][]string{}
	q.UnschedulablePlugins(func(pod *v1.Pod, rejectedBy []string) { got[pod.Name] = rejectedBy })
	if len(got) != 1 || len(got["b"]) != 1 || got["b"][0] != "VolumeBinding" {
		t.Fatalf("UnschedulablePlugins = %v, want only b rejected by VolumeBinding", got)
	}
}

// TestHold checks a pod held back before its attempt (kube-scheduler's PreEnqueue): the pop does
// not count, it waits among the gated pods without backoff, an event of interest sends it
// straight to active, and other events leave it.
func TestHold(t *testing.T) {
	tests := []struct {
		name string
		then func(q *Queue)
		want Lens
	}{
		{name: "held: gated, not unschedulable", then: func(*Queue) {}, want: Lens{Gated: 1}},
		{name: "an event of interest: active at once, no backoff", then: func(q *Queue) { q.OnEvent(ResourceClaimAdd) }, want: Lens{Active: 1}},
		{name: "another event: still held", then: func(q *Queue) { q.OnEvent(NodeAdd) }, want: Lens{Gated: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{})
			q.Add(makePod("p"))
			qp := popNow(t, q)
			q.Hold(qp, ResourceClaimAdd|PodChange)
			tc.then(q)
			assertLens(t, q, tc.want)
			if qp.Attempts != 0 {
				t.Errorf("attempts %d: a held pop must not count", qp.Attempts)
			}
			if tc.want.Gated == 1 && !qp.InitialAttempt.IsZero() { // the SLI starts when it is active again
				t.Errorf("initial attempt %v while held, want none", qp.InitialAttempt)
			}
			n := 0
			q.UnschedulablePlugins(func(*v1.Pod, []string) { n++ })
			if n != 0 {
				t.Errorf("a held pod is reported as rejected by plugins")
			}
		})
	}
	t.Run("an event while in flight: active at once", func(t *testing.T) {
		q, _ := newTestQueue(t, Config{})
		q.Add(makePod("p"))
		qp := popNow(t, q)
		q.OnEvent(ResourceClaimAdd)
		q.Hold(qp, ResourceClaimAdd)
		assertLens(t, q, Lens{Active: 1})
	})
}
