package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// outage sizes TestAPIServerKilled.
type outage struct {
	nodes, pods int
	perSecond   float64       // pods created per second
	killAfter   time.Duration // from the stream's start to the SIGKILL
	down        time.Duration // from the SIGKILL to the restart
}

// reflectorBackoff explains why berth misses maxStall, and maxGap in TestAPIErrors (upstream
// kube-scheduler v1.37.2 behaves the same): the tests log the pod informer's lines that show it.
const reflectorBackoff = "a dropped watch makes client-go's reflector list again after its " +
	"default backoff (0.8s doubling up to 30s, times 1 to 2 for jitter, reset only after 2 minutes " +
	"without a failure), which berth cannot set; berth keeps failed connections from that backoff " +
	"(kubeclient untilReachable), but not watches the server ends"

// maxStall is how long after the restarted API server is ready berth may take to bind again.
const maxStall = 2 * time.Second

// TestAPIServerKilled SIGKILLs kube-apiserver in the middle of a pod stream, starts it again on
// the same port over the same etcd a few seconds later, and keeps creating pods. Every pod must
// be bound exactly once (the audit log holds one successful binding per pod, and no pod's node
// ever changes), no node may be over its capacity, berth's own count of successful bindings
// must agree with the audit log, and binding must resume within maxStall of /readyz answering
// ok. The compaction variant also compacts etcd to its current revision while the API server is
// down, so that every watch resumes from a compacted revision and must list again.
func TestAPIServerKilled(t *testing.T) {
	t.Run("restart", func(t *testing.T) { apiServerKilled(t, false) })
	t.Run("compaction", func(t *testing.T) { apiServerKilled(t, true) })
}

func apiServerKilled(t *testing.T, compact bool) {
	sz := pick(
		outage{nodes: 40, pods: 400, perSecond: 40, killAfter: 3 * time.Second, down: 5 * time.Second},
		outage{nodes: 200, pods: 2000, perSecond: 40, killAfter: 10 * time.Second, down: 15 * time.Second},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(t)
	ns := c.namespace(t, ctx, "outage")
	c.createNodes(t, ctx, "node", sz.nodes)
	b := c.startBerth(t, berthSpec{name: "berth", extra: []string{"--leader-elect=false", "-v=4"}})
	placed := c.watchPlacements(t, ns)

	start := time.Now()
	stream := c.startStream(t, ctx, ns, "p", sz.pods, sz.perSecond)
	time.Sleep(time.Until(start.Add(sz.killAfter)))
	killed := time.Now()
	if err := c.cp.KillAPIServer(); err != nil {
		t.Fatal(err)
	}
	if compact {
		rev, err := c.cp.CompactEtcd(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("etcd compacted to revision %d while the API server was down", rev)
	}
	time.Sleep(time.Until(killed.Add(sz.down)))
	restarted := time.Now()
	ready, err := c.cp.RestartAPIServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("API server SIGKILLed %s into the stream, down %s, ready %s after its restart",
		sz.killAfter, restarted.Sub(killed).Round(time.Millisecond), ready.Sub(restarted).Round(time.Millisecond))

	created := stream.wait(t)
	streamEnd := time.Now()
	c.waitAllBound(t, ctx, ns, "p", sz.pods, 2*time.Minute)
	t.Logf("%d pods created in %s; the last bound %s after the stream ended",
		created, streamEnd.Sub(start).Round(time.Millisecond), time.Since(streamEnd).Round(time.Millisecond))
	if !b.Alive() {
		t.Errorf("berth exited: %v", b.Output())
	}

	names := make([]string, sz.pods)
	for i := range names {
		names[i] = fmt.Sprintf("p%05d", i)
	}
	tally := tallyBindings(readAudit(t, c.audit), ns)
	boundUnanswered := tally.checkOnce(t, names)
	placed.check(t, sz.pods)
	bound := c.checkCapacity(t, ctx)
	ok := int(b.metric(t, ctx, c, "berth_bindings_total", `result="ok"`))
	failed := int(b.metric(t, ctx, c, "berth_bindings_total", `result="error"`))
	// berth counts a binding whose answer the kill cut off as an error, though it may have
	// been applied; it can never count as ok one that was not.
	if succeeded := tally.successes() + boundUnanswered; ok > succeeded || succeeded > ok+failed {
		t.Errorf("berth_bindings_total ok=%d error=%d, audit log: %d successful bindings; want ok <= %d <= ok+error",
			ok, failed, succeeded, succeeded)
	}
	t.Logf("pods bound: %d on %d nodes (all slots full); bindings by answer: %s; berth_bindings_total ok=%d error=%d",
		bound, sz.nodes, tally.codeSummary(), ok, failed)

	first, found := tally.firstAfter(killed, "")
	if !found {
		t.Fatal("no binding after the API server was killed")
	}
	stall := first.Completed.Sub(ready)
	seen, _ := placed.firstSeenAfter(ready)
	t.Logf("stall after the restart: first binding %s after /readyz ok (pod %s, bound at %s); the test's own watch saw a new binding %s after ready",
		stall.Round(time.Millisecond), first.ObjectRef.Name, first.Completed.Format("15:04:05.000"),
		seen.Sub(ready).Round(time.Millisecond))
	if stall > maxStall {
		t.Errorf("binding resumed %s after the API server was ready again, want at most %s; berth's pod informer log:\n%s",
			stall.Round(time.Millisecond), maxStall, b.podInformerLog())
	}
}
