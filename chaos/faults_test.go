package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/testenv"
)

// apiErrors sizes TestAPIErrors.
type apiErrors struct {
	nodes, pods int
	unfit       int           // pods that fit no node, created before the stream
	inject      time.Duration // how long faults are injected, and the stream lasts
}

// faultRate is the share of berth's requests that get a fault while injecting.
const faultRate = 0.10

// maxGap is the longest berth may go without a binding while injecting, pods pending all along:
// a 3s slow answer after a 1s Retry-After, with room to spare.
const maxGap = 5 * time.Second

// TestAPIErrors puts a proxy between berth and the API server that, for a while, gives a tenth of
// berth's requests a fault: 429 or 503 with Retry-After, 500 (with or without the API server
// having acted on the request), a response slowed by 1-3s, or a watch stream cut mid-way. Pods
// stream in meanwhile. berth must keep binding throughout; once the injection stops every pod
// that fits must be bound exactly once, no node may be over capacity (every slot is taken in the
// end, so a cache that drifted from the cluster either overfills a node or strands a pod),
// berth's count of successful bindings must be the audit log's minus the answers the proxy
// swallowed, and berth's queue must settle on exactly the pods that fit nowhere
// (scheduler_pending_pods equal to the pods the API still shows pending).
func TestAPIErrors(t *testing.T) {
	sz := pick(
		apiErrors{nodes: 20, pods: 200, unfit: 5, inject: 15 * time.Second},
		apiErrors{nodes: 60, pods: 600, unfit: 10, inject: 60 * time.Second},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(t)
	ns := c.namespace(t, ctx, "faults")
	c.createNodes(t, ctx, "node", sz.nodes)
	for i := range sz.unfit {
		pod := testenv.Pod(ns, fmt.Sprintf("u%05d", i), "100", podMemory)
		if _, err := c.admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	proxy := startFaultProxy(t, c.cp, 1, "system:kube-scheduler", "chaos:via-proxy")
	kc, err := c.cp.Kubeconfig("berth-via-proxy", proxy.URL(), "system:kube-scheduler")
	if err != nil {
		t.Fatal(err)
	}
	b := c.startBerth(t, berthSpec{name: "berth", kubeconfig: kc, extra: []string{"-v=4"}})
	if err := poll(ctx, 100*time.Millisecond, 30*time.Second, func() (bool, error) {
		lease, err := c.admin.CoordinationV1().Leases("kube-system").Get(ctx, leaseName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "", err
	}); err != nil {
		t.Fatalf("berth did not take the lease: %v", err)
	}
	placed := c.watchPlacements(t, ns)

	began := time.Now()
	proxy.inject(faultRate)
	stream := c.startStream(t, ctx, ns, "p", sz.pods, float64(sz.pods)/sz.inject.Seconds())
	created := stream.wait(t)
	time.Sleep(time.Until(began.Add(sz.inject)))
	proxy.inject(0)
	stopped := time.Now()
	boundMeanwhile := placed.boundBefore(stopped)
	requests, faults, byKind := proxy.summary()
	t.Logf("%s of injection: %d of %d requests from berth got a fault (%s); %d of %d pods created meanwhile were bound by its end",
		stopped.Sub(began).Round(time.Millisecond), faults, requests, byKind, boundMeanwhile, created)
	if boundMeanwhile < created/2 {
		t.Errorf("only %d of %d pods bound while faults were injected: berth stalled", boundMeanwhile, created)
	}

	c.waitAllBound(t, ctx, ns, "p", sz.pods, 2*time.Minute)
	t.Logf("all %d pods bound %s after the injection stopped", sz.pods, time.Since(stopped).Round(time.Millisecond))
	names := make([]string, sz.pods)
	for i := range names {
		names[i] = fmt.Sprintf("p%05d", i)
	}
	tally := tallyBindings(readAudit(t, c.audit), ns)
	tally.checkOnce(t, names) // the unfit pods must have no binding either
	gap, gapAt := tally.longestGap(began.Add(time.Second), stopped)
	t.Logf("longest time without a binding while injecting: %s, from %s", gap.Round(time.Millisecond), gapAt.Format("15:04:05.000"))
	placed.check(t, sz.pods)
	bound := c.checkCapacity(t, ctx)

	lost := proxy.lost()
	ok := int(b.metric(t, ctx, c, "berth_bindings_total", `result="ok"`))
	failed := int(b.metric(t, ctx, c, "berth_bindings_total", `result="error"`))
	if want := tally.successes() - len(lost); ok != want {
		t.Errorf("berth_bindings_total{result=\"ok\"} = %d, want %d: %d successful bindings in the audit log, %d answers lost by the proxy",
			ok, want, tally.successes(), len(lost))
	}
	t.Logf("pods bound: %d on %d nodes (all slots full), %d unfit pods pending; bindings by answer: %s; berth_bindings_total ok=%d error=%d; binding answers lost: %d",
		bound, sz.nodes, sz.unfit, tally.codeSummary(), ok, failed, len(lost))

	// berth's queue must settle on exactly the pods the API shows pending.
	var pending float64
	settled := time.Now()
	err = poll(ctx, 250*time.Millisecond, time.Minute, func() (bool, error) {
		pending = b.metric(t, ctx, c, "scheduler_pending_pods")
		return int(pending) == sz.unfit, nil
	})
	list, lerr := c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if lerr != nil {
		t.Fatal(lerr)
	}
	apiPending := 0
	for _, p := range list.Items {
		if p.Spec.NodeName == "" {
			apiPending++
		}
	}
	if err != nil || apiPending != sz.unfit {
		text, _ := b.metrics(ctx, c)
		t.Errorf("scheduler_pending_pods sums to %v, the API shows %d pods pending (want %d): %v\n%s",
			pending, apiPending, sz.unfit, err, grepLines(text, "scheduler_pending_pods"))
	} else {
		t.Logf("berth's queue settled on the %d pending pods %s after all were bound", apiPending, time.Since(settled).Round(time.Millisecond))
	}
	if !b.Alive() {
		t.Errorf("berth exited")
	}
	if gap > maxGap {
		msg := fmt.Sprintf("berth bound nothing for %s from %s while faults were injected, want gaps of at most %s",
			gap.Round(time.Millisecond), gapAt.Format("15:04:05.000"), maxGap)
		end := gapAt.Add(gap)
		relist, found := b.podRelistIn(gapAt, end)
		if !found || end.Sub(relist) > 2*time.Second {
			t.Fatalf("%s, and not because berth's pod informer listed again late; its log:\n%s", msg, b.podInformerLog())
		}
		t.Logf("berth's pod informer listed again at %s, %s before the gap ended; its log (client-go's reflector, -v=4):\n%s",
			relist.Format("15:04:05.000"), end.Sub(relist).Round(time.Millisecond), b.podInformerLog())
		knownBug(t, msg, reflectorBackoff)
	}
}

// grepLines returns the lines of text that start with prefix.
func grepLines(text, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, prefix) {
			b.WriteString(line)
		}
	}
	return b.String()
}
