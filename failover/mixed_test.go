package failover

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestSharedWithKubeScheduler runs upstream kube-scheduler and two berth replicas on one Lease, as
// during a rollout. Leadership moves berth ← kube-scheduler on SIGKILL, then on SIGTERM of the
// berth leader to whichever candidate wins, then on SIGKILL of that winner to the last one. At
// every step exactly one process reports leading, pods are scheduled, every version of the Lease
// was written by a process that was alive, and the transition count is consistent.
func TestSharedWithKubeScheduler(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const lease = "mixed"
	w := newWorkspace(t, ctx, "mixed")
	rec := recordLease(t, lease)
	f := &fleet{}
	sampler, stopSampling := sampleLeaders(t, f)
	lives := newLifetimes()
	start := func(s replicaSpec) *replica {
		s.lease = lease
		begun := time.Now()
		r := startReplica(t, s)
		if r.kind == berth {
			r.learnIdentity(t)
		}
		lives.started(r, begun)
		f.add(r)
		return r
	}
	// schedule checks that leader schedules: pods created now are bound, by leader alone if it
	// is a berth replica (upstream's bindings are not counted).
	made := map[*replica]int{}
	schedule := func(leader *replica) {
		t.Helper()
		pods := w.createPods(t, ctx, 3)
		w.waitBound(t, ctx, pods, 20*time.Second)
		if leader.kind == berth {
			made[leader] += len(pods)
		}
		checkBindings(t, ctx, f, made)
	}

	ks1 := start(replicaSpec{kind: upstream, name: "kube-scheduler-1"})
	if l := waitOneLeader(t, ctx, rec, f, 30*time.Second); l != ks1 {
		t.Fatalf("%s leads, want kube-scheduler-1", l.name)
	}
	b1 := start(replicaSpec{kind: berth, name: "berth-1"})
	b2 := start(replicaSpec{kind: berth, name: "berth-2"})
	if l := waitOneLeader(t, ctx, rec, f, 30*time.Second); l != ks1 {
		t.Fatalf("%s leads after two berth replicas joined, want kube-scheduler-1 to keep the lease", l.name)
	}
	schedule(ks1)

	// kube-scheduler dies: a berth replica takes over its lease.
	killedAt := time.Now()
	ks1.stop(t, syscall.SIGKILL)
	lives.exited(ks1)
	taken, err := rec.await(killedAt, 15*time.Second, holderIn(b1.identity(), b2.identity()))
	if err != nil {
		t.Fatalf("no berth replica took over from kube-scheduler: %v", err)
	}
	if d := taken.at.Sub(killedAt); d > leaseDuration+time.Second {
		t.Errorf("berth took over %s after kube-scheduler was killed, want at most %s", d.Round(time.Millisecond), leaseDuration+time.Second)
	}
	leader := waitOneLeader(t, ctx, rec, f, 30*time.Second)
	t.Logf("%s took over from the killed kube-scheduler-1 after %s", leader.name, taken.at.Sub(killedAt).Round(time.Millisecond))
	schedule(leader)

	// A second kube-scheduler joins; the berth leader is stopped cleanly.
	ks2 := start(replicaSpec{kind: upstream, name: "kube-scheduler-2"})
	if code := leader.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("%s exit code %d after SIGTERM, want 0", leader.name, code)
	}
	lives.exited(leader)
	winner := waitOneLeader(t, ctx, rec, f, 30*time.Second)
	t.Logf("%s took over after %s got SIGTERM", winner.name, leader.name)
	schedule(winner)

	// The winner dies; the last replica, of whichever kind, takes over.
	killedAt = time.Now()
	winner.stop(t, syscall.SIGKILL)
	lives.exited(winner)
	last := f.live()
	if len(last) != 1 {
		t.Fatalf("%d replicas left, want 1", len(last))
	}
	if _, err := rec.await(killedAt, 15*time.Second, takenFrom(winner.identity())); err != nil {
		t.Fatalf("%s did not take over from the killed %s: %v", last[0].name, winner.name, err)
	}
	if l := waitOneLeader(t, ctx, rec, f, 30*time.Second); l != last[0] {
		t.Fatalf("%s leads, want %s", l.name, last[0].name)
	}
	schedule(last[0])
	if ks2.identity() == "" {
		t.Errorf("kube-scheduler-2 never led; want leadership to have passed through it")
	}

	stopSampling()
	rounds, violations := sampler.result()
	if rounds < 10 {
		t.Errorf("only %d rounds of leader sampling", rounds)
	}
	for _, v := range violations {
		t.Errorf("two replicas reported leading in consecutive rounds: %s", v)
	}
	h := rec.history()
	lives.check(t, f, h)
	checkTransitions(t, h)
	for _, s := range h {
		t.Logf("lease: %v (%s)", s, holderName(f, s.holder))
	}
}

func holderName(f *fleet, id string) string {
	if id == "" {
		return "released"
	}
	if r := f.byIdentity(id); r != nil {
		return r.name
	}
	return "unknown"
}

// lifetimes records when each replica started and when the test saw it exit.
type lifetimes struct {
	begin, end map[*replica]time.Time
}

func newLifetimes() *lifetimes {
	return &lifetimes{begin: map[*replica]time.Time{}, end: map[*replica]time.Time{}}
}

func (l *lifetimes) started(r *replica, at time.Time) { l.begin[r] = at }
func (l *lifetimes) exited(r *replica)                { l.end[r] = time.Now() }

// check fails the test unless every version of the Lease naming a holder was written while that
// holder was alive: received after it started and before its exit was seen, allowing a few hundred
// milliseconds of watch delay. Versions that only repeat the previous one's holder and renew time
// were not written by the holder (none occur today) and are skipped.
func (l *lifetimes) check(t *testing.T, f *fleet, h []leaseState) {
	t.Helper()
	const delay = 300 * time.Millisecond
	for i, s := range h {
		if s.holder == "" {
			continue
		}
		r := f.byIdentity(s.holder)
		if r == nil {
			t.Errorf("lease version %v names a holder that is none of the replicas", s)
			continue
		}
		written := i == 0 || h[i-1].holder != s.holder || !h[i-1].renewed.Equal(s.renewed)
		if !written {
			continue
		}
		if s.at.Before(l.begin[r]) {
			t.Errorf("lease version %v seen before %s started", s, r.name)
		}
		if end, ok := l.end[r]; ok && s.at.After(end.Add(delay)) {
			t.Errorf("lease version %v written by %s after it exited at %s", s, r.name, end.Format("15:04:05.000"))
		}
	}
}
