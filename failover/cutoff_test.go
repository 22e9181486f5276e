package failover

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// kubeconfigVia writes a copy of the scheduler's kubeconfig whose server is the proxy at addr. The
// apiserver's serving certificate is valid for 127.0.0.1, so TLS still verifies through it.
func kubeconfigVia(t *testing.T, addr string) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(cp.SchedulerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + addr
	}
	path := filepath.Join(t.TempDir(), "via-proxy.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLeaderCutOffFromAPIServer partitions the leader from the API server: it must stop scheduling
// within its renew deadline, before a standby can take the lease; the standby then schedules the
// pods created meanwhile, each bound exactly once. When the network heals, the old leader stays up
// as a candidate (kube-scheduler would exit 1), binds nothing while another leads, and can lead
// again.
func TestLeaderCutOffFromAPIServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const lease = "cutoff"
	w := newWorkspace(t, ctx, "cutoff")
	rec := recordLease(t, lease)
	api, err := url.Parse(cp.URL)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, api.Host)

	// a reaches the API server through the proxy only; it starts first, so it leads. -v=4 makes it
	// log its reads of the Lease as a candidate.
	a := startReplica(t, replicaSpec{kind: berth, name: "berth-a", lease: lease,
		kubeconfig: kubeconfigVia(t, px.addr()), extra: []string{"-v=4"}})
	if _, err := rec.await(time.Time{}, 30*time.Second, holderIn(a.learnIdentity(t))); err != nil {
		t.Fatalf("berth-a never led: %v", err)
	}
	f := &fleet{}
	f.add(a)
	standbys := startReplicas(t,
		replicaSpec{kind: berth, name: "berth-b", lease: lease},
		replicaSpec{kind: berth, name: "berth-c", lease: lease})
	for _, r := range standbys {
		r.learnIdentity(t)
	}
	f.add(standbys...)
	if l := waitOneLeader(t, ctx, rec, f, 30*time.Second); l != a {
		t.Fatalf("%s leads, want berth-a", l.name)
	}
	a.waitLog(t, `] "scheduling loop started"`, 1, 10*time.Second)

	// Cut a off, then create pods only the others can see.
	cutAt := time.Now()
	px.cut()
	during := w.createPods(t, ctx, 10)

	lost := a.waitLog(t, `] "Failed to renew lease"`, 1, 10*time.Second)
	stopped := a.waitLog(t, `] "scheduling loop stopped"`, 1, 10*time.Second)
	taken, err := rec.await(cutAt, 15*time.Second, holderIn(standbys[0].identity(), standbys[1].identity()))
	if err != nil {
		t.Fatalf("no standby took over: %v", err)
	}
	next := f.byIdentity(taken.holder)
	started := next.waitLog(t, `] "scheduling loop started"`, 1, 10*time.Second)
	boundAt := w.waitBound(t, ctx, during, 20*time.Second)
	t.Logf("cut at %s; berth-a: lost leadership after %s (%q), loop stopped after %s; %s took the lease after %s, its loop started after %s; %d pods bound after %s",
		cutAt.Format("15:04:05.000"), lost.at.Sub(cutAt).Round(time.Millisecond), lost.text,
		stopped.at.Sub(cutAt).Round(time.Millisecond), next.name, taken.renewed.Sub(cutAt).Round(time.Millisecond),
		started.at.Sub(cutAt).Round(time.Millisecond), len(during), boundAt.Sub(cutAt).Round(time.Millisecond))

	// The deadline counts from a's last renewal, sent before the cut; allow a second for the loop
	// to wind down on a loaded machine. What matters is the next check: a stopped before anyone
	// could take the lease (the taker's renew time is its clock as it wrote the Lease).
	if !strings.Contains(lost.text, "renew deadline") {
		t.Errorf("berth-a lost leadership for another reason than the renew deadline: %s", lost.text)
	}
	if got := stopped.at.Sub(cutAt); got > renewDeadline+time.Second {
		t.Errorf("berth-a stopped scheduling %s after the cut, want within the renew deadline %s (+1s)", got.Round(time.Millisecond), renewDeadline)
	}
	if !stopped.at.Before(taken.renewed) {
		t.Errorf("berth-a stopped scheduling at %s, not before %s took the lease at %s",
			stopped.at.Format("15:04:05.000"), next.name, taken.renewed.Format("15:04:05.000000"))
	}
	if started.at.Before(stopped.at) {
		t.Errorf("%s started scheduling at %s, before berth-a stopped at %s", next.name,
			started.at.Format("15:04:05.000"), stopped.at.Format("15:04:05.000"))
	}
	if got := taken.at.Sub(cutAt); got > leaseDuration+retryPeriod+time.Second {
		t.Errorf("takeover %s after the cut, want at most lease + retry + 1s", got.Round(time.Millisecond))
	}
	checkBindings(t, ctx, f, map[*replica]int{next: len(during)})

	// Heal the network: a stays up as a candidate and binds nothing while next leads.
	healedAt := time.Now()
	px.restore()
	deadline := time.Now().Add(10 * time.Second)
	for !seenAfter(a, `] "Lease is held and has not yet expired"`, healedAt) {
		if time.Now().After(deadline) || !a.Alive() {
			t.Fatalf("berth-a did not read the lease as a candidate within 10s of the heal (alive: %v)", a.Alive())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(a.logs(`] "Attempting to acquire leader lease..."`)); n != 2 {
		t.Errorf("berth-a campaigned %d times, want 2 (at start, after losing the lease)", n)
	}
	after := w.createPods(t, ctx, 5)
	w.waitBound(t, ctx, after, 20*time.Second)
	if lead, err := a.isLeader(ctx); err != nil || lead {
		t.Errorf("berth-a leader gauge after the heal: leading=%v (%v), want false", lead, err)
	}
	if err := a.WaitHealthy(a.addr, 5*time.Second); err != nil {
		t.Errorf("berth-a unhealthy after the heal: %v", err)
	}
	checkBindings(t, ctx, f, map[*replica]int{next: len(during) + len(after)})

	// Stop the standbys, the leader last: a must take over and schedule again.
	for _, r := range standbys {
		if r != next {
			if code := r.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("%s exit code %d after SIGTERM, want 0", r.name, code)
			}
		}
	}
	handedAt := time.Now()
	if code := next.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("%s exit code %d after SIGTERM, want 0", next.name, code)
	}
	back, err := rec.await(handedAt, 5*time.Second, holderIn(a.identity()))
	if err != nil {
		t.Fatalf("berth-a did not lead again: %v", err)
	}
	t.Logf("berth-a led again %s after %s got SIGTERM", back.at.Sub(handedAt).Round(time.Millisecond), next.name)
	last := w.createPods(t, ctx, 3)
	w.waitBound(t, ctx, last, 20*time.Second)
	checkBindings(t, ctx, &fleet{replicas: []*replica{a}}, map[*replica]int{a: len(last)})
	checkTransitions(t, rec.history())
}

// seenAfter reports whether r logged a line containing substr at or after since (log times are
// truncated to the millisecond).
func seenAfter(r *replica, substr string, since time.Time) bool {
	for _, l := range r.logs(substr) {
		if !l.at.Before(since.Truncate(time.Millisecond)) {
			return true
		}
	}
	return false
}

// checkBindings checks every live berth replica in f against want: successful bindings as listed
// (0 for those not listed) and no failed binding (a second binding of a bound pod would fail with
// a conflict), so every pod was bound exactly once and only by a leader.
func checkBindings(t *testing.T, ctx context.Context, f *fleet, want map[*replica]int) {
	t.Helper()
	for _, r := range f.live() {
		if r.kind != berth {
			continue
		}
		// The test sees a pod bound (through its watch) before the replica's binding call has
		// returned and been counted, so the counter may lag for a moment; it never runs ahead.
		got := r.bindings(t, ctx, "ok")
		for deadline := time.Now().Add(5 * time.Second); got < want[r] && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			got = r.bindings(t, ctx, "ok")
		}
		if got != want[r] {
			t.Errorf("%s made %d bindings, want %d", r.name, got, want[r])
		}
		if got := r.bindings(t, ctx, "error"); got != 0 {
			t.Errorf("%s had %d failed bindings, want none", r.name, got)
		}
		if ls := r.logs(`] "binding failed"`); len(ls) > 0 {
			t.Errorf("%s: %s", r.name, ls[0].text)
		}
	}
}
