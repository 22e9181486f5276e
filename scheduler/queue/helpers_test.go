package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeClock is a manually advanced Clock with After, so Run can be driven without sleeping.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Step advances the clock and fires every timer that is due.
func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	pending := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			pending = append(pending, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = pending
}

func (c *fakeClock) pendingTimers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// waitForTimers blocks until at least n timers are pending, failing the test after a while.
func (c *fakeClock) waitForTimers(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.pendingTimers() < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d pending timers, have %d", n, c.pendingTimers())
		}
		time.Sleep(time.Millisecond)
	}
}

func newTestQueue(t testing.TB, cfg Config) (*Queue, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	q, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return q, clock
}

type podOption func(*v1.Pod)

func withPriority(p int32) podOption {
	return func(pod *v1.Pod) { pod.Spec.Priority = &p }
}

func withGates(names ...string) podOption {
	return func(pod *v1.Pod) {
		for _, n := range names {
			pod.Spec.SchedulingGates = append(pod.Spec.SchedulingGates, v1.PodSchedulingGate{Name: n})
		}
	}
}

func withUID(uid string) podOption {
	return func(pod *v1.Pod) { pod.UID = types.UID(uid) }
}

func withLabel(k, v string) podOption {
	return func(pod *v1.Pod) {
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels[k] = v
	}
}

func withResourceVersion(rv string) podOption {
	return func(pod *v1.Pod) { pod.ResourceVersion = rv }
}

func makePod(name string, opts ...podOption) *v1.Pod {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace: "default", Name: name, UID: types.UID(name + "-uid"),
	}}
	for _, o := range opts {
		o(pod)
	}
	return pod
}

// modified returns a copy of pod with opts applied.
func modified(pod *v1.Pod, opts ...podOption) *v1.Pod {
	pod = pod.DeepCopy()
	for _, o := range opts {
		o(pod)
	}
	return pod
}

// withoutGates clears scheduling gates.
func withoutGates() podOption {
	return func(pod *v1.Pod) { pod.Spec.SchedulingGates = nil }
}

// popNow pops without blocking: it fails the test if no pod is active.
func popNow(t *testing.T, q *Queue) *QueuedPod {
	t.Helper()
	if n := q.Lens().Active; n == 0 {
		t.Fatalf("popNow: active queue is empty (lens %+v)", q.Lens())
	}
	qp, err := q.Pop(context.Background())
	if err != nil {
		t.Fatalf("Pop: %v", err)
	}
	return qp
}

// popName pops a pod and checks its name.
func popName(t *testing.T, q *Queue, want string) *QueuedPod {
	t.Helper()
	qp := popNow(t, q)
	if qp.Pod.Name != want {
		t.Fatalf("popped %q, want %q", qp.Pod.Name, want)
	}
	return qp
}

// popAll pops every active pod and returns their names in order.
func popAll(t *testing.T, q *Queue) []string {
	t.Helper()
	var names []string
	for q.Lens().Active > 0 {
		names = append(names, popNow(t, q).Pod.Name)
	}
	return names
}

func assertLens(t *testing.T, q *Queue, want Lens) {
	t.Helper()
	if got := q.Lens(); got != want {
		t.Fatalf("Lens() = %+v, want %+v", got, want)
	}
}

// incomingRecorder collects OnIncoming calls.
type incomingRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *incomingRecorder) record(queue, event string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, queue+"/"+event)
}

func (r *incomingRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}
