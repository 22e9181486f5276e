package failover

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

// TestThreeReplicas runs three replicas on one Lease: exactly one leads; then, several times each,
// the leader is stopped with SIGTERM (handover: from the signal until the Lease names another
// holder) and killed with SIGKILL (failover: from the kill until another holder has written a
// fresh renew time), and a new replica replaces it. Upstream kube-scheduler is measured the same
// way for comparison; only berth's figures are asserted.
func TestThreeReplicas(t *testing.T) {
	runs := 3
	if s := os.Getenv("BERTH_FAILOVER_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BERTH_FAILOVER_RUNS=%q: want a positive integer", s)
		}
		runs = n
	}
	for _, k := range []kind{berth, upstream} {
		t.Run(string(k), func(t *testing.T) { threeReplicas(t, k, runs) })
	}
}

func threeReplicas(t *testing.T, k kind, runs int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lease := "three-" + string(k)
	rec := recordLease(t, lease)
	f := &fleet{}
	n := 0
	next := func() replicaSpec {
		n++
		return replicaSpec{kind: k, name: fmt.Sprintf("%s-%d", k, n), lease: lease}
	}
	join := func(rs ...*replica) {
		if k == berth {
			for _, r := range rs {
				r.learnIdentity(t)
			}
		}
		f.add(rs...)
	}
	join(startReplicas(t, next(), next(), next())...)

	leader := waitOneLeader(t, ctx, rec, f, 30*time.Second)
	if k == berth {
		acquired := 0
		for _, r := range f.all() {
			acquired += len(r.logs(`] "Successfully acquired lease"`))
		}
		if acquired != 1 {
			t.Errorf("%d acquisitions logged by three fresh replicas, want exactly 1", acquired)
		}
	}

	var handovers, loopStops, failovers []time.Duration
	for i := range runs {
		d, stop := sigtermHandover(t, rec, f, leader)
		handovers, loopStops = append(handovers, d), append(loopStops, stop)
		if k == berth {
			t.Logf("run %d: SIGTERM handover %s (old loop stopped after %s)", i+1, d.Round(time.Millisecond), stop.Round(time.Millisecond))
		} else {
			t.Logf("run %d: SIGTERM handover %s", i+1, d.Round(time.Millisecond))
		}
		join(startReplica(t, next()))
		leader = waitOneLeader(t, ctx, rec, f, 30*time.Second)

		d = sigkillFailover(t, rec, leader)
		failovers = append(failovers, d)
		t.Logf("run %d: SIGKILL failover %s", i+1, d.Round(time.Millisecond))
		join(startReplica(t, next()))
		leader = waitOneLeader(t, ctx, rec, f, 30*time.Second)
	}
	loop := ""
	if k == berth {
		loop = fmt.Sprintf(" (old loop stopped after median %s)", testenv.MedianDuration(loopStops))
	}
	t.Logf("%s, 3 replicas, lease %s / renew %s / retry %s: SIGTERM handover median %s %s%s; SIGKILL failover median %s %s",
		k, leaseDuration, renewDeadline, retryPeriod, testenv.MedianDuration(handovers), testenv.FormatDurations(handovers), loop,
		testenv.MedianDuration(failovers), testenv.FormatDurations(failovers))

	checkTransitions(t, rec.history())
	if k != berth {
		return
	}
	for _, d := range handovers {
		if d > 2*time.Second {
			t.Errorf("SIGTERM handover took %s, want at most 2s", d.Round(time.Millisecond))
		}
	}
	for _, d := range failovers {
		if d > leaseDuration+time.Second {
			t.Errorf("SIGKILL failover took %s, want at most lease duration + 1s = %s", d.Round(time.Millisecond), leaseDuration+time.Second)
		}
	}
}

// sigtermHandover stops leader with SIGTERM and returns the time until the Lease names another
// holder, and for berth the time until the old leader logged that its loop stopped (0 for
// upstream, which does not log it). The leader must exit 0; a berth leader must also stop its
// scheduling loop before it releases the lease, and its successor must start scheduling only
// after that.
func sigtermHandover(t *testing.T, rec *leaseRecorder, f *fleet, leader *replica) (handover, loopStop time.Duration) {
	t.Helper()
	old := leader.identity()
	start := time.Now()
	if err := leader.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	taken, err := rec.await(start, 15*time.Second, takenFrom(old))
	if err != nil {
		t.Fatalf("after SIGTERM to %s: %v", leader.name, err)
	}
	if code, err := leader.ExitCode(15 * time.Second); err != nil || code != 0 {
		t.Errorf("%s after SIGTERM: exit code %d (%v), want 0", leader.name, code, err)
	}
	if leader.kind == berth {
		checkCleanRelease(t, rec, f, leader, start, taken)
		if ls := leader.logs(`] "scheduling loop stopped"`); len(ls) > 0 {
			loopStop = ls[0].at.Sub(start)
		}
	}
	return taken.at.Sub(start), loopStop
}

// checkCleanRelease checks a berth leader's exit after SIGTERM: its loop stopped, then it released
// the lease (empty holder), then the successor took it and started its own loop.
func checkCleanRelease(t *testing.T, rec *leaseRecorder, f *fleet, old *replica, signalled time.Time, taken leaseState) {
	t.Helper()
	var released *leaseState
	for _, s := range rec.history() {
		if !s.at.Before(signalled) && !s.at.After(taken.at) && s.holder == "" {
			released = &s
			break
		}
	}
	if released == nil {
		t.Errorf("%s: no release (empty holder) seen between SIGTERM and the takeover", old.name)
		return
	}
	stopped, ok := checkReleasedAfterStop(t, old, *released)
	if !ok {
		return
	}
	if taken.renewed.Before(stopped) {
		t.Errorf("lease taken at %s, before %s stopped its loop (logged %s)",
			taken.renewed.Format("15:04:05.000000"), old.name, stopped.Format("15:04:05.000"))
	}
	if next := f.byIdentity(taken.holder); next != nil && next.kind == berth {
		started := next.waitLog(t, `] "scheduling loop started"`, 1, 10*time.Second)
		if started.at.Before(stopped) {
			t.Errorf("%s started scheduling at %s, before %s stopped at %s", next.name,
				started.at.Format("15:04:05.000"), old.name, stopped.Format("15:04:05.000"))
		}
	}
}

// checkReleasedAfterStop checks that berth replica old logged "scheduling loop stopped" before
// "released the lease", and wrote the release (its renew time is old's clock as it wrote) no
// earlier than the loop-stopped log time (the same clock, truncated to the millisecond). It returns
// that log time; ok is false if the log lines are missing.
func checkReleasedAfterStop(t *testing.T, old *replica, released leaseState) (stopped time.Time, ok bool) {
	t.Helper()
	out := old.Output()
	stopAt := strings.Index(out, `] "scheduling loop stopped"`)
	releaseAt := strings.Index(out, `] "released the lease"`)
	if stopAt < 0 || releaseAt < 0 || releaseAt < stopAt {
		t.Errorf("%s: want \"scheduling loop stopped\" then \"released the lease\" in its log (positions %d, %d)", old.name, stopAt, releaseAt)
		return time.Time{}, false
	}
	stopped = old.logs(`] "scheduling loop stopped"`)[0].at
	if released.renewed.Before(stopped) {
		t.Errorf("%s: lease released at %s, before its loop stopped (logged %s)", old.name,
			released.renewed.Format("15:04:05.000000"), stopped.Format("15:04:05.000"))
	}
	return stopped, true
}

// sigkillFailover kills leader and returns the time until another holder has written the Lease
// with a fresh renew time.
func sigkillFailover(t *testing.T, rec *leaseRecorder, leader *replica) time.Duration {
	t.Helper()
	old := leader.identity()
	start := time.Now()
	if err := leader.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fresh := func(s leaseState) bool {
		return takenFrom(old)(s) && s.at.Sub(s.renewed).Abs() < time.Second
	}
	taken, err := rec.await(start, 30*time.Second, fresh)
	if err != nil {
		t.Fatalf("after SIGKILL to %s: %v", leader.name, err)
	}
	<-leader.Done()
	return taken.at.Sub(start)
}

// checkTransitions checks the Lease's history: leaseTransitions never decreases, grows by exactly
// one whenever a new holder takes over (from another holder or from a release) and stays the same
// on renewals and releases.
func checkTransitions(t *testing.T, h []leaseState) {
	t.Helper()
	for i := 1; i < len(h); i++ {
		prev, cur := h[i-1], h[i]
		if prev.deleted || cur.deleted {
			t.Errorf("lease deleted during the test: %v", cur)
			continue
		}
		want := prev.transitions
		if cur.holder != "" && cur.holder != prev.holder {
			want++
		}
		if cur.transitions != want {
			t.Errorf("lease transitions went %d → %d on %q → %q, want %d\n  %v\n  %v",
				prev.transitions, cur.transitions, prev.holder, cur.holder, want, prev, cur)
		}
	}
}
