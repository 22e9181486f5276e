package election

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	k8stesting "k8s.io/client-go/testing"
)

// t0 is the fake clock's starting time: an arbitrary instant with no monotonic reading.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	testNS   = "kube-system"
	testName = "kube-scheduler"
	lease15  = 15 * time.Second
	renew10  = 10 * time.Second
	retry2   = 2 * time.Second
)

// fakeClock is a Clock whose time moves only when the test calls Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer // pending, in creation order
}

type fakeTimer struct {
	clock *fakeClock
	at    time.Time
	c     chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, t)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	return true
}

// Advance moves time forward by d and fires every timer that has come due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.at.After(c.now) {
			return false
		}
		t.c <- t.at
		return true
	})
}

// hasTimerAt reports whether a pending timer is due at exactly at.
func (c *fakeClock) hasTimerAt(at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.timers, func(t *fakeTimer) bool { return t.at.Equal(at) })
}

// awaitTimer waits until some goroutine has armed a timer due at at: the sign that it has finished
// reacting to the previous event and it is safe to Advance.
func awaitTimer(t *testing.T, c *fakeClock, at time.Time) {
	t.Helper()
	eventually(t, "a timer due at "+at.Sub(t0).String(), func() bool { return c.hasTimerAt(at) })
}

// eventually polls cond every millisecond for up to five seconds of real time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle gives running goroutines a few milliseconds to do something they should not.
func settle() { time.Sleep(20 * time.Millisecond) }

// apiServer is a fake Lease API: client-go's fake clientset plus resourceVersion checks (which the fake
// tracker does not do) and injectable failures and hangs. Injected behaviour applies only to calls made
// through Leases, that is by electors; the test's own calls go straight to cs.
type apiServer struct {
	cs *fake.Clientset

	mu     sync.Mutex
	rv     int
	once   map[string][]error       // verb: errors for the next calls, in order
	always map[string]error         // verb: error for every call until cleared
	hang   map[string]chan struct{} // verb: calls block until closed, or their ctx is done
	calls  map[string]int
	before func(verb string) // if set, called at the start of every call
}

var leasesGVR = coordinationv1.SchemeGroupVersion.WithResource("leases")

func newAPIServer() *apiServer {
	a := &apiServer{
		cs:     fake.NewSimpleClientset(),
		once:   map[string][]error{},
		always: map[string]error{},
		hang:   map[string]chan struct{}{},
		calls:  map[string]int{},
	}
	tracker := a.cs.Tracker()
	a.cs.PrependReactor("create", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		obj.ResourceVersion = a.nextRV()
		if err := tracker.Create(leasesGVR, obj, obj.Namespace); err != nil {
			return true, nil, err
		}
		return true, obj.DeepCopy(), nil
	})
	a.cs.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj := action.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		cur, err := tracker.Get(leasesGVR, obj.Namespace, obj.Name)
		if err != nil {
			return true, nil, err
		}
		if cur.(*coordinationv1.Lease).ResourceVersion != obj.ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesGVR.GroupResource(), obj.Name, nil)
		}
		obj.ResourceVersion = a.nextRV()
		if err := tracker.Update(leasesGVR, obj, obj.Namespace); err != nil {
			return true, nil, err
		}
		return true, obj.DeepCopy(), nil
	})
	return a
}

func (a *apiServer) nextRV() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rv++
	return strconv.Itoa(a.rv)
}

// client-go's typed Lease client satisfies LeaseClient, as kubeclient's does (main uses it).
var _ LeaseClient = coordinationv1client.LeaseInterface(nil)

// Leases returns the elector's LeaseClient for ns: the fake clientset's, with injected faults.
func (a *apiServer) Leases(ns string) coordinationv1client.LeaseInterface {
	return &faultyLeases{LeaseInterface: a.cs.CoordinationV1().Leases(ns), api: a}
}

func (a *apiServer) failOnce(verb string, errs ...error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.once[verb] = append(a.once[verb], errs...)
}

func (a *apiServer) failAlways(verb string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		delete(a.always, verb)
		return
	}
	a.always[verb] = err
}

// hangCalls makes calls of verb block until the returned function is called or their ctx is done.
func (a *apiServer) hangCalls(verb string) (release func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{})
	a.hang[verb] = ch
	return sync.OnceFunc(func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.hang, verb)
		close(ch)
	})
}

func (a *apiServer) pendingFaults(verb string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.once[verb])
}

func (a *apiServer) callCount(verb string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[verb]
}

func (a *apiServer) intercept(ctx context.Context, verb string) error {
	a.mu.Lock()
	before := a.before
	a.mu.Unlock()
	if before != nil {
		before(verb)
	}
	a.mu.Lock()
	a.calls[verb]++
	if q := a.once[verb]; len(q) > 0 {
		a.once[verb] = q[1:]
		a.mu.Unlock()
		return q[0]
	}
	err, hang := a.always[verb], a.hang[verb]
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if hang != nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-hang:
		}
	}
	return nil
}

// lease returns the stored Lease, or nil if there is none.
func (a *apiServer) lease(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	l, err := a.cs.CoordinationV1().Leases(testNS).Get(context.Background(), testName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading lease: %v", err)
	}
	return l
}

// record returns the stored Lease's record; the Lease must exist.
func (a *apiServer) record(t *testing.T) record {
	t.Helper()
	l := a.lease(t)
	if l == nil {
		t.Fatal("lease does not exist")
	}
	return recordOf(l.Spec)
}

// put writes rec as another process would: creating the Lease or updating it in place.
func (a *apiServer) put(t *testing.T, rec record) {
	t.Helper()
	leases := a.cs.CoordinationV1().Leases(testNS)
	cur := a.lease(t)
	var err error
	if cur == nil {
		_, err = leases.Create(context.Background(), &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testName}, Spec: rec.spec(),
		}, metav1.CreateOptions{})
	} else {
		cur.Spec = rec.spec()
		_, err = leases.Update(context.Background(), cur, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("writing lease: %v", err)
	}
}

// faultyLeases passes calls through to the fake clientset after applying injected behaviour.
type faultyLeases struct {
	coordinationv1client.LeaseInterface
	api *apiServer
}

func (l *faultyLeases) Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error) {
	if err := l.api.intercept(ctx, "get"); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Get(ctx, name, opts)
}

func (l *faultyLeases) Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error) {
	if err := l.api.intercept(ctx, "create"); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Create(ctx, lease, opts)
}

func (l *faultyLeases) Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if err := l.api.intercept(ctx, "update"); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Update(ctx, lease, opts)
}

// eventLog is an EventSink that remembers what it was told.
type eventLog struct {
	mu   sync.Mutex
	msgs []string
	kind []string
}

func (l *eventLog) LeaderElection(lease *coordinationv1.Lease, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, message)
	l.kind = append(l.kind, lease.APIVersion+"/"+lease.Kind+" "+lease.Namespace+"/"+lease.Name)
}

func (l *eventLog) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// testConfig is a valid Config for identity id on api and clock, with the kube-scheduler defaults.
func testConfig(api *apiServer, clock Clock, id string) Config {
	return Config{
		Client:        api.Leases(testNS),
		Namespace:     testNS,
		Name:          testName,
		Identity:      id,
		LeaseDuration: lease15,
		RenewDeadline: renew10,
		RetryPeriod:   retry2,
		Clock:         clock,
		Logger:        slog.New(slog.DiscardHandler),
	}
}

func newTestElector(t *testing.T, cfg Config) *Elector {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// probe is a lead function that reports each term's context and then behaves as told.
type probe struct {
	terms chan context.Context
	// onDone, if set, runs after the term's context is done; its result is lead's result.
	onDone func(ctx context.Context) error
}

func newProbe() *probe { return &probe{terms: make(chan context.Context, 10)} }

func (p *probe) lead(ctx context.Context) error {
	p.terms <- ctx
	<-ctx.Done()
	if p.onDone != nil {
		return p.onDone(ctx)
	}
	return ctx.Err()
}

// nextTerm waits for the next term to start and returns its context.
func (p *probe) nextTerm(t *testing.T) context.Context {
	t.Helper()
	select {
	case ctx := <-p.terms:
		return ctx
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a term to start")
		return nil
	}
}

// noTerm checks that no new term starts within a few milliseconds.
func (p *probe) noTerm(t *testing.T) {
	t.Helper()
	select {
	case <-p.terms:
		t.Fatal("a term started unexpectedly")
	case <-time.After(20 * time.Millisecond):
	}
}

// running is an Elector's Run in progress.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// start runs e.Run(lead) on its own goroutine; the test's cleanup stops it and waits for it.
func start(t *testing.T, e *Elector, lead func(context.Context) error) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ctx, lead) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return r
}

// wait waits for Run to return and returns its error.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // keep it for the cleanup
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// returned reports whether Run has returned.
func (r *running) returned() bool {
	select {
	case err := <-r.done:
		r.done <- err
		return true
	default:
		return false
	}
}

func isDone(ctx context.Context) bool { return ctx.Err() != nil }
