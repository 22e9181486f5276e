package chaos

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/testenv"
)

// Election timing of every replica in TestLeaderKills.
const (
	leaseName     = "kube-scheduler"
	leaseDuration = 4 * time.Second
	renewDeadline = 3 * time.Second
	retryPeriod   = time.Second
	// maxFailover bounds the time from a leader's SIGKILL to another replica's acquisition of
	// the Lease, and to the next binding.
	maxFailover = leaseDuration + time.Second
	// groupPrefix starts the certificate group (O=) that tells replicas apart in the audit log:
	// they share the user system:kube-scheduler (and so its RBAC rights) and the user agent
	// "berth/<version>", but each has a client certificate of its own, whose groups the API
	// server records with every request.
	groupPrefix = "chaos:replica-"
)

// leaderKills sizes TestLeaderKills.
type leaderKills struct {
	nodes, pods int
	perSecond   float64
	kills       int
	every       time.Duration
}

// replica is one berth process of TestLeaderKills.
type replica struct {
	*berthProc
	group string // its certificate group, as the audit log shows it
	id    string // its Lease identity
}

// TestLeaderKills runs three berth replicas with leader election (lease 4s, renew 3s, retry 1s)
// under a continuous pod stream, and SIGKILLs the Lease holder every few seconds, each time
// starting a new replica so that three keep running. Every pod must be bound exactly once, every
// binding must come from the replica holding the Lease at that moment (the audit log shows who
// wrote the Lease and who sent each binding, by certificate group), each failover (kill to the
// next holder's acquisition, and to the next binding) must take at most lease duration + 1s, no
// pod may be lost, no node overfilled, and each surviving replica's own count of bindings must
// match the audit log's.
func TestLeaderKills(t *testing.T) {
	sz := pick(
		leaderKills{nodes: 40, pods: 400, perSecond: 16, kills: 2, every: 8 * time.Second},
		leaderKills{nodes: 200, pods: 2000, perSecond: 40, kills: 5, every: 8 * time.Second},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(t)
	ns := c.namespace(t, ctx, "leaders")
	c.createNodes(t, ctx, "node", sz.nodes)
	lease := c.pollLease(t, leaseName)

	var replicas []*replica
	start := func(n int) *replica {
		group := fmt.Sprintf("%s%d", groupPrefix, n)
		kc, err := c.cp.Kubeconfig(fmt.Sprintf("replica-%d", n), "", "system:kube-scheduler", group)
		if err != nil {
			t.Fatal(err)
		}
		b := c.startBerth(t, berthSpec{name: fmt.Sprintf("berth-%d", n), kubeconfig: kc, extra: []string{
			"--leader-elect-lease-duration", leaseDuration.String(),
			"--leader-elect-renew-deadline", renewDeadline.String(),
			"--leader-elect-retry-period", retryPeriod.String(),
		}})
		r := &replica{berthProc: b, group: group}
		r.id = b.identity(t)
		replicas = append(replicas, r)
		return r
	}
	byID := func(id string) *replica {
		for _, r := range replicas {
			if r.id == id {
				return r
			}
		}
		return nil
	}
	for n := 1; n <= 3; n++ {
		start(n)
	}
	if _, err := lease.await(time.Time{}, 30*time.Second, func(s leaseObs) bool { return byID(s.holder) != nil }); err != nil {
		t.Fatalf("no replica took the lease: %v", err)
	}

	placed := c.watchPlacements(t, ns)
	began := time.Now()
	stream := c.startStream(t, ctx, ns, "p", sz.pods, sz.perSecond)
	type kill struct {
		victim *replica
		at     time.Time
		seen   time.Duration // until the test saw another holder in the Lease
	}
	var kills []kill
	for k := 1; k <= sz.kills; k++ {
		time.Sleep(time.Until(began.Add(time.Duration(k) * sz.every)))
		cur, _ := lease.last()
		victim := byID(cur.holder)
		if victim == nil || !victim.Alive() {
			t.Fatalf("kill %d: the lease holder %q is not a running replica", k, cur.holder)
		}
		at := time.Now()
		if err := victim.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-victim.Done()
		taken, err := lease.await(at, 30*time.Second, func(s leaseObs) bool {
			return s.holder != "" && s.holder != victim.id && s.at.Sub(s.renewed).Abs() < time.Second
		})
		if err != nil {
			t.Fatalf("kill %d of %s: %v", k, victim.name, err)
		}
		kills = append(kills, kill{victim: victim, at: at, seen: taken.at.Sub(at)})
		start(len(replicas) + 1)
	}
	created := stream.wait(t)
	c.waitAllBound(t, ctx, ns, "p", sz.pods, 2*time.Minute)
	t.Logf("%d pods created in %s while the leader was killed %d times", created, time.Since(began).Round(time.Millisecond), len(kills))

	names := make([]string, sz.pods)
	for i := range names {
		names[i] = fmt.Sprintf("p%05d", i)
	}
	events := readAudit(t, c.audit)
	tally := tallyBindings(events, ns)
	tally.checkOnce(t, names)
	placed.check(t, sz.pods)
	bound := c.checkCapacity(t, ctx)
	checkHolders(t, events, ns)

	var acquisitions, firsts []time.Duration
	for i, k := range kills {
		acq, ok := firstLeaseWrite(events, k.at, k.victim.group)
		if !ok {
			t.Errorf("kill %d: no other replica wrote the lease afterwards", i+1)
			continue
		}
		first, ok := tally.firstAfter(k.at, k.victim.group)
		if !ok {
			t.Errorf("kill %d: no binding afterwards", i+1)
			continue
		}
		dAcq, dFirst := acq.Completed.Sub(k.at), first.Completed.Sub(k.at)
		acquisitions, firsts = append(acquisitions, dAcq), append(firsts, dFirst)
		t.Logf("kill %d of %s (%s): lease taken by %s after %s (the test's poll saw it after %s), its first binding after %s",
			i+1, k.victim.name, k.victim.group, acq.group(groupPrefix), dAcq.Round(time.Millisecond),
			k.seen.Round(time.Millisecond), dFirst.Round(time.Millisecond))
		if dAcq > maxFailover || dFirst > maxFailover {
			t.Errorf("kill %d: failover took %s to the acquisition and %s to the first binding, want at most %s",
				i+1, dAcq.Round(time.Millisecond), dFirst.Round(time.Millisecond), maxFailover)
		}
	}
	t.Logf("failover (kill → acquisition): median %s %s; kill → next binding: median %s %s",
		testenv.MedianDuration(acquisitions), testenv.FormatDurations(acquisitions), testenv.MedianDuration(firsts), testenv.FormatDurations(firsts))

	perGroup := map[string]int{}
	for _, es := range tally.ok {
		for _, e := range es {
			perGroup[e.group(groupPrefix)]++
		}
	}
	for _, r := range replicas {
		if !r.Alive() {
			continue
		}
		if ok := int(r.metric(t, ctx, c, "berth_bindings_total", `result="ok"`)); ok != perGroup[r.group] {
			t.Errorf("%s: berth_bindings_total{result=\"ok\"} = %d, the audit log shows %d bindings from %s",
				r.name, ok, perGroup[r.group], r.group)
		}
	}
	t.Logf("pods bound: %d on %d nodes (all slots full); bindings by answer: %s; by replica: %v",
		bound, sz.nodes, tally.codeSummary(), perGroup)
}

// checkHolders fails the test for every successful binding in ns whose sender is not the replica
// that last wrote the Lease (acquired or renewed it) before the binding arrived. Both times are
// the API server's: a Lease write completes before its writer hears of it, so a new leader's
// bindings always arrive after its acquisition completed.
func checkHolders(t *testing.T, events []auditEvent, ns string) {
	t.Helper()
	type write struct {
		at    time.Time
		group string
	}
	var writes []write
	for _, e := range events {
		if e.isLeaseWrite(leaseName) {
			writes = append(writes, write{e.Completed, e.group(groupPrefix)})
		}
	}
	slices.SortFunc(writes, func(a, b write) int { return a.at.Compare(b.at) })
	wrong := 0
	for _, e := range events {
		if !e.isBinding() || e.code() != 201 || e.ObjectRef.Namespace != ns {
			continue
		}
		i, _ := slices.BinarySearchFunc(writes, e.Received, func(w write, at time.Time) int { return w.at.Compare(at) })
		holder := ""
		if i > 0 {
			holder = writes[i-1].group
		}
		if by := e.group(groupPrefix); by != holder {
			wrong++
			if wrong <= 10 {
				t.Errorf("pod %s bound by %s at %s while %q held the lease", e.ObjectRef.Name, by,
					e.Received.Format("15:04:05.000000"), holder)
			}
		}
	}
	if wrong > 10 {
		t.Errorf("... %d bindings in all by a replica that did not hold the lease", wrong)
	}
}

// firstLeaseWrite returns the first successful Lease write completed after since by a sender not
// in group.
func firstLeaseWrite(events []auditEvent, since time.Time, group string) (auditEvent, bool) {
	var first auditEvent
	found := false
	for _, e := range events {
		if e.isLeaseWrite(leaseName) && e.Completed.After(since) && e.group(groupPrefix) != group &&
			(!found || e.Completed.Before(first.Completed)) {
			first, found = e, true
		}
	}
	return first, found
}

// leaseObs is one version of the Lease as the test's poll saw it.
type leaseObs struct {
	at      time.Time // when the poll received it
	holder  string
	renewed time.Time
}

// leasePoll reads one Lease every 50ms and keeps every version it saw. Methods are safe for
// concurrent use.
type leasePoll struct {
	mu     sync.Mutex
	states []leaseObs
}

// pollLease starts polling kube-system/name until t ends.
func (c *cluster) pollLease(t *testing.T, name string) *leasePoll {
	t.Helper()
	l := &leasePoll{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		leases := c.admin.CoordinationV1().Leases("kube-system")
		for ctx.Err() == nil {
			if lease, err := leases.Get(ctx, name, metav1.GetOptions{}); err == nil {
				s := leaseObs{at: time.Now()}
				if h := lease.Spec.HolderIdentity; h != nil {
					s.holder = *h
				}
				if r := lease.Spec.RenewTime; r != nil {
					s.renewed = r.Time
				}
				l.add(s)
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l
}

// add records s if the holder or renew time changed.
func (l *leasePoll) add(s leaseObs) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.states); n > 0 && l.states[n-1].holder == s.holder && l.states[n-1].renewed.Equal(s.renewed) {
		return
	}
	l.states = append(l.states, s)
}

// last returns the latest version seen.
func (l *leasePoll) last() (leaseObs, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.states) == 0 {
		return leaseObs{}, false
	}
	return l.states[len(l.states)-1], true
}

// await returns the first version seen at or after since that satisfies cond, waiting up to
// timeout.
func (l *leasePoll) await(since time.Time, timeout time.Duration, cond func(leaseObs) bool) (leaseObs, error) {
	var found leaseObs
	err := poll(context.Background(), 20*time.Millisecond, timeout, func() (bool, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, s := range l.states {
			if !s.at.Before(since) && cond(s) {
				found = s
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		last, _ := l.last()
		return leaseObs{}, fmt.Errorf("lease: %w (last seen: holder %q renewed %s)", err, last.holder, last.renewed.Format("15:04:05.000"))
	}
	return found, nil
}
