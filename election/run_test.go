package election

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

var errServer = apierrors.NewInternalError(errors.New("etcd is having a bad day"))

// wantRecord fails the test unless the stored Lease holds want.
func wantRecord(t *testing.T, api *apiServer, want record) {
	t.Helper()
	if got := api.record(t); !got.equal(want) {
		t.Errorf("lease record:\n got %+v\nwant %+v", got, want)
	}
}

func TestRunAcquiresAbsentLease(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	events := &eventLog{}
	cfg := testConfig(api, clock, "me")
	cfg.Events = events
	e := newTestElector(t, cfg)
	p := newProbe()
	start(t, e, p.lead)

	p.nextTerm(t)
	if !e.IsLeader() {
		t.Error("IsLeader = false while leading")
	}
	wantRecord(t, api, record{holder: "me", durationSec: 15, acquired: t0, renewed: t0, transitions: 0})
	if got, want := events.messages(), []string{"me became leader"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if got, want := events.kind[0], "coordination.k8s.io/v1/Lease kube-system/kube-scheduler"; got != want {
		t.Errorf("event subject = %q, want %q", got, want)
	}
}

func TestRunRenewsEveryRetryPeriod(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	e := newTestElector(t, testConfig(api, clock, "me"))
	p := newProbe()
	start(t, e, p.lead)
	term := p.nextTerm(t)
	gets := api.callCount("get")

	for i := 1; i <= 3; i++ {
		now := t0.Add(time.Duration(i) * retry2)
		awaitTimer(t, clock, now)
		clock.Advance(retry2)
		eventually(t, "renewal "+now.Sub(t0).String(), func() bool { return api.record(t).renewed.Equal(now) })
		// The renew deadline now counts from this renewal.
		awaitTimer(t, clock, now.Add(renew10))
	}
	wantRecord(t, api, record{holder: "me", durationSec: 15, acquired: t0, renewed: t0.Add(3 * retry2), transitions: 0})
	if got := api.callCount("get"); got != gets {
		t.Errorf("renewals read the lease %d times; want writes over our own copy only", got-gets)
	}
	if isDone(term) || !e.IsLeader() {
		t.Error("leadership ended while renewals succeeded")
	}
}

// TestRunRespectsAnotherHolder shows that another holder's lease expires LeaseDuration after we first
// saw its record, on our clock, whatever remote times the record carries.
func TestRunRespectsAnotherHolder(t *testing.T) {
	tests := []struct {
		name   string
		remote time.Time
	}{
		{name: "remote clock an hour behind", remote: t0.Add(-time.Hour)},
		{name: "remote clock an hour ahead", remote: t0.Add(time.Hour)},
		{name: "remote clock in step", remote: t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, clock := newAPIServer(), newFakeClock()
			api.put(t, record{holder: "other", durationSec: 15, acquired: tt.remote, renewed: tt.remote, transitions: 3})
			e := newTestElector(t, testConfig(api, clock, "me"))
			p := newProbe()
			start(t, e, p.lead)

			expiry := t0.Add(lease15)
			awaitTimer(t, clock, expiry) // first look taken at t0
			clock.Advance(lease15 - time.Millisecond)
			awaitTimer(t, clock, t0.Add(lease15-time.Millisecond+retry2)) // polled at expiry - 1ms
			p.noTerm(t)
			if e.IsLeader() || api.record(t).holder != "other" {
				t.Fatal("took over a live lease")
			}
			if got := e.Holder(); got != "other" {
				t.Errorf("standby's Holder() = %q, want %q", got, "other")
			}

			clock.Advance(time.Millisecond)
			p.nextTerm(t)
			if got := e.Holder(); got != "me" {
				t.Errorf("leader's Holder() = %q, want %q", got, "me")
			}
			wantRecord(t, api, record{holder: "me", durationSec: 15, acquired: expiry, renewed: expiry, transitions: 4})
		})
	}
}

func TestRunWaitsAgainWhenHolderRenews(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	api.put(t, record{holder: "other", durationSec: 15, acquired: t0, renewed: t0, transitions: 3})
	e := newTestElector(t, testConfig(api, clock, "me"))
	p := newProbe()
	start(t, e, p.lead)
	awaitTimer(t, clock, t0.Add(lease15))

	clock.Advance(10 * time.Second)
	api.put(t, record{holder: "other", durationSec: 15, acquired: t0, renewed: t0.Add(time.Hour), transitions: 3})
	awaitTimer(t, clock, t0.Add(10*time.Second+lease15)) // the watch made us look again at once
	clock.Advance(lease15 - time.Millisecond)
	p.noTerm(t)
	clock.Advance(time.Millisecond)
	p.nextTerm(t)
	wantRecord(t, api, record{holder: "me", durationSec: 15, acquired: t0.Add(25 * time.Second), renewed: t0.Add(25 * time.Second), transitions: 4})
}

func TestRunTakesReleasedLeaseOnWatchEvent(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	api.put(t, record{holder: "other", durationSec: 15, acquired: t0, renewed: t0, transitions: 3})
	e := newTestElector(t, testConfig(api, clock, "me"))
	p := newProbe()
	start(t, e, p.lead)
	awaitTimer(t, clock, t0.Add(lease15))
	p.noTerm(t)

	// The other holder steps down as client-go does; no time passes, no poll is due.
	api.put(t, record{holder: "other", durationSec: 15, transitions: 3}.released(t0))
	p.nextTerm(t)
	wantRecord(t, api, record{holder: "me", durationSec: 15, acquired: t0, renewed: t0, transitions: 4})
}

func TestRunRetriesAfterConflict(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	api.put(t, record{transitions: 3}.released(t0))
	api.failOnce("update", apierrors.NewConflict(leasesGVR.GroupResource(), testName, errors.New("stale")))
	e := newTestElector(t, testConfig(api, clock, "me"))
	p := newProbe()
	r := start(t, e, p.lead)

	eventually(t, "the conflict to be returned", func() bool { return api.pendingFaults("update") == 0 })
	advanceUntilTerm(t, clock, p)
	if r.returned() {
		t.Fatal("Run returned after a conflict")
	}
	// Exactly one successful take, whether the retry came from a watch event or the poll.
	if got := api.record(t); got.holder != "me" || got.transitions != 4 {
		t.Errorf("lease record = %+v, want holder me after one transition", got)
	}
	if got := api.callCount("update"); got < 2 {
		t.Errorf("update called %d times, want a retry after the conflict", got)
	}
}

func TestRunRetriesAfterAPIErrors(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	api.failOnce("get", errServer, errServer, errServer)
	e := newTestElector(t, testConfig(api, clock, "me"))
	p := newProbe()
	r := start(t, e, p.lead)

	advanceUntilTerm(t, clock, p)
	if r.returned() {
		t.Fatal("Run returned after API errors")
	}
	if got := api.callCount("get"); got < 4 {
		t.Errorf("get called %d times, want three failures and a success", got)
	}
	if api.record(t).holder != "me" {
		t.Error("lease not acquired after the API recovered")
	}
}

// advanceUntilTerm steps the clock one RetryPeriod at a time until a term starts.
func advanceUntilTerm(t *testing.T, clock *fakeClock, p *probe) context.Context {
	t.Helper()
	for range 10 {
		select {
		case ctx := <-p.terms:
			return ctx
		default:
		}
		awaitTimer(t, clock, clock.Now().Add(retry2))
		clock.Advance(retry2)
		time.Sleep(time.Millisecond)
	}
	return p.nextTerm(t)
}

func TestRunLosesLeadershipAtRenewDeadline(t *testing.T) {
	tests := []struct {
		name  string
		fault func(api *apiServer) (repair func())
	}{
		{
			name: "renewals fail",
			fault: func(api *apiServer) func() {
				api.failAlways("update", errServer)
				api.failAlways("get", errServer)
				return func() { api.failAlways("update", nil); api.failAlways("get", nil) }
			},
		},
		{
			name: "renewals hang",
			fault: func(api *apiServer) func() {
				u, g := api.hangCalls("update"), api.hangCalls("get")
				return func() { u(); g() }
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, clock := newAPIServer(), newFakeClock()
			events := &eventLog{}
			cfg := testConfig(api, clock, "me")
			cfg.Events = events
			e := newTestElector(t, cfg)
			p := newProbe()
			r := start(t, e, p.lead)
			first := p.nextTerm(t)

			repair := tt.fault(api)
			t.Cleanup(repair)
			awaitTimer(t, clock, t0.Add(retry2))
			clock.Advance(retry2) // a renewal starts and fails or hangs
			awaitTimer(t, clock, t0.Add(2*retry2))
			clock.Advance(renew10 - retry2 - time.Millisecond)
			settle()
			if isDone(first) || !e.IsLeader() {
				t.Fatal("leadership lost before the renew deadline")
			}

			clock.Advance(time.Millisecond)
			eventually(t, "the lead context to be cancelled", func() bool { return isDone(first) })
			if e.IsLeader() {
				t.Error("IsLeader = true after the renew deadline")
			}

			// Once the API recovers we campaign again and, still named in the Lease, win.
			repair()
			advanceUntilTerm(t, clock, p)
			if r.returned() {
				t.Fatal("Run returned after losing leadership")
			}
			// Re-acquiring our own lease keeps its acquire time and counts no transition.
			if got := api.record(t); got.holder != "me" || !got.acquired.Equal(t0) || got.transitions != 0 {
				t.Errorf("lease record after re-acquiring = %+v, want holder me, acquired at t0, no transitions", got)
			}
			want := []string{"me became leader", "me stopped leading", "me became leader"}
			if got := events.messages(); !slices.Equal(got, want) {
				t.Errorf("events = %q, want %q", got, want)
			}
		})
	}
}

func TestRunStepsDownWhenAnotherHolderAppears(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	e := newTestElector(t, testConfig(api, clock, "me"))
	p := newProbe()
	r := start(t, e, p.lead)
	term := p.nextTerm(t)

	taken := record{holder: "other", durationSec: 15, acquired: t0, renewed: t0, transitions: 1}
	api.put(t, taken)
	awaitTimer(t, clock, t0.Add(retry2))
	clock.Advance(retry2)
	eventually(t, "the lead context to be cancelled", func() bool { return isDone(term) })
	if e.IsLeader() {
		t.Error("IsLeader = true after another holder took the lease")
	}
	p.noTerm(t)

	r.cancel()
	if err := r.wait(t); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	wantRecord(t, api, taken) // not released: it was not ours
}

func TestRunReleasesOnlyAfterLeadReturns(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	events := &eventLog{}
	cfg := testConfig(api, clock, "me")
	cfg.Events = events
	e := newTestElector(t, cfg)
	proceed := make(chan struct{})
	p := newProbe()
	p.onDone = func(context.Context) error { <-proceed; return nil }
	r := start(t, e, p.lead)
	term := p.nextTerm(t)

	r.cancel()
	eventually(t, "the lead context to be cancelled", func() bool { return isDone(term) })
	settle()
	if r.returned() {
		t.Fatal("Run returned before lead did")
	}
	// Still ours, and still renewed, while lead winds down.
	awaitTimer(t, clock, t0.Add(retry2))
	clock.Advance(retry2)
	eventually(t, "a renewal after cancellation", func() bool { return api.record(t).renewed.Equal(t0.Add(retry2)) })
	if !e.IsLeader() {
		t.Error("IsLeader = false while still holding the lease for a running lead")
	}

	close(proceed)
	if err := r.wait(t); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	now := t0.Add(retry2)
	wantRecord(t, api, record{durationSec: 1, acquired: now, renewed: now, transitions: 0})
	if e.IsLeader() {
		t.Error("IsLeader = true after Run returned")
	}
	if got, want := events.messages(), []string{"me became leader", "me stopped leading"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestRunWhenLeadReturns(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		lead    func(context.Context) error
		wantErr error
	}{
		{name: "lead fails", lead: func(context.Context) error { return errBoom }, wantErr: errBoom},
		{name: "lead finishes", lead: func(context.Context) error { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, clock := newAPIServer(), newFakeClock()
			e := newTestElector(t, testConfig(api, clock, "me"))
			r := start(t, e, tt.lead)
			if err := r.wait(t); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Run = %v, want %v", err, tt.wantErr)
			}
			wantRecord(t, api, record{durationSec: 1, acquired: t0, renewed: t0, transitions: 0})
		})
	}
}

func TestRunLeadFailsAfterLosingLeadership(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	e := newTestElector(t, testConfig(api, clock, "me"))
	errBoom := errors.New("could not flush")
	p := newProbe()
	p.onDone = func(context.Context) error { return errBoom }
	r := start(t, e, p.lead)
	p.nextTerm(t)

	taken := record{holder: "other", durationSec: 15, acquired: t0, renewed: t0, transitions: 1}
	api.put(t, taken)
	awaitTimer(t, clock, t0.Add(retry2))
	clock.Advance(retry2)
	if err := r.wait(t); !errors.Is(err, errBoom) {
		t.Errorf("Run = %v, want %v", err, errBoom)
	}
	wantRecord(t, api, taken)
}

func TestRunHandsOverOnCancel(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	a := newTestElector(t, testConfig(api, clock, "a"))
	b := newTestElector(t, testConfig(api, clock, "b"))
	pa, pb := newProbe(), newProbe()
	ra := start(t, a, pa.lead)
	pa.nextTerm(t)
	start(t, b, pb.lead)
	awaitTimer(t, clock, t0.Add(lease15)) // b waits for a's lease to expire
	pb.noTerm(t)

	ra.cancel()
	if err := ra.wait(t); err != nil {
		t.Errorf("a: Run = %v, want nil", err)
	}
	pb.nextTerm(t) // at once: no time has passed
	wantRecord(t, api, record{holder: "b", durationSec: 15, acquired: t0, renewed: t0, transitions: 1})
	if a.IsLeader() || !b.IsLeader() {
		t.Errorf("IsLeader: a=%v b=%v, want false, true", a.IsLeader(), b.IsLeader())
	}
}

func TestRunCandidateCancelled(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	held := record{holder: "other", durationSec: 15, acquired: t0, renewed: t0, transitions: 2}
	api.put(t, held)
	e := newTestElector(t, testConfig(api, clock, "me"))
	p := newProbe()
	r := start(t, e, p.lead)
	awaitTimer(t, clock, t0.Add(lease15))

	r.cancel()
	if err := r.wait(t); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	p.noTerm(t)
	wantRecord(t, api, held)
}

func TestRunWonAsCancelledDoesNotLead(t *testing.T) {
	api, clock := newAPIServer(), newFakeClock()
	e := newTestElector(t, testConfig(api, clock, "me"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api.before = func(verb string) {
		if verb == "create" {
			cancel() // the create itself still succeeds
		}
	}
	led := false
	err := e.Run(ctx, func(context.Context) error { led = true; return nil })
	if err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if led {
		t.Error("lead was called although ctx was done before the term began")
	}
	wantRecord(t, api, record{durationSec: 1, acquired: t0, renewed: t0, transitions: 0})
}
