package failover

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMWhileLeading stops a lone berth leader with SIGTERM: it exits 0, and the Lease is left
// released (no holder, a one-second duration), written only after the scheduling loop stopped.
func TestSIGTERMWhileLeading(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const lease = "sigterm"
	w := newWorkspace(t, ctx, "sigterm")
	rec := recordLease(t, lease)
	r := startReplica(t, replicaSpec{kind: berth, name: "berth", lease: lease})
	if _, err := rec.await(time.Time{}, 30*time.Second, holderIn(r.learnIdentity(t))); err != nil {
		t.Fatalf("berth never led: %v", err)
	}
	pods := w.createPods(t, ctx, 2)
	w.waitBound(t, ctx, pods, 20*time.Second)

	signalled := time.Now()
	if code := r.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	exited := time.Now()
	released, err := rec.await(signalled, 5*time.Second, func(s leaseState) bool { return s.holder == "" })
	if err != nil {
		t.Fatalf("lease not released: %v", err)
	}
	// A -race binary sleeps a second at exit (GORACE atexit_sleep_ms) before it ends.
	t.Logf("exited %s after SIGTERM; release seen after %s", exited.Sub(signalled).Round(time.Millisecond),
		released.at.Sub(signalled).Round(time.Millisecond))
	if released.durationSec != 1 {
		t.Errorf("released lease has leaseDurationSeconds %d, want 1", released.durationSec)
	}
	checkReleasedAfterStop(t, r, released)
	if last, _ := rec.last(); last.holder != "" || last.deleted {
		t.Errorf("lease after exit: %v, want released", last)
	}
	checkTransitions(t, rec.history())
}
