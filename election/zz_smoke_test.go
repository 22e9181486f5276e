//go:build smoke

package election

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/berth-scheduler/berth/testenv"
)

// killable blocks every call once killed, like a SIGKILLed process that never talks again.
type killable struct {
	coordinationv1client.LeasesGetter
	mu     sync.Mutex
	killed chan struct{}
}

func (k *killable) kill() { close(k.killed) }

type killLeases struct {
	coordinationv1client.LeaseInterface
	k *killable
}

func (k *killable) Leases(ns string) coordinationv1client.LeaseInterface {
	return &killLeases{k.LeasesGetter.Leases(ns), k}
}
func (l *killLeases) block(ctx context.Context) error {
	select {
	case <-l.k.killed:
		<-ctx.Done()
		return ctx.Err()
	default:
		return nil
	}
}
func (l *killLeases) Get(ctx context.Context, n string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	if err := l.block(ctx); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Get(ctx, n, o)
}
func (l *killLeases) Update(ctx context.Context, x *coordinationv1.Lease, o metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if err := l.block(ctx); err != nil {
		return nil, err
	}
	return l.LeaseInterface.Update(ctx, x, o)
}

func TestSmokeReal(t *testing.T) {
	ctx0, cancel0 := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel0()
	cp, err := testenv.Start(ctx0, testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	cs := kubernetes.NewForConfigOrDie(cp.Scheduler)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	type cand struct {
		e      *Elector
		k      *killable
		cancel context.CancelFunc
		done   chan error
	}
	leading := make(chan string, 10)
	mk := func(id string) *cand {
		k := &killable{LeasesGetter: cs.CoordinationV1(), killed: make(chan struct{})}
		e, err := New(Config{Client: k, Identity: id, LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second,
			RetryPeriod: time.Second, Logger: logger.With("who", id)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctx0)
		c := &cand{e: e, k: k, cancel: cancel, done: make(chan error, 1)}
		go func() {
			c.done <- e.Run(ctx, func(ctx context.Context) error { leading <- id; <-ctx.Done(); return nil })
		}()
		return c
	}
	wait := func() (string, time.Time) {
		select {
		case id := <-leading:
			return id, time.Now()
		case <-time.After(30 * time.Second):
			t.Fatal("no leader")
		}
		return "", time.Time{}
	}
	cands := map[string]*cand{"a": mk("a")}
	first, _ := wait()
	cands["b"], cands["c"] = mk("b"), mk("c")
	time.Sleep(2 * time.Second)

	// SIGTERM-like handover.
	t0 := time.Now()
	cands[first].cancel()
	next, at := wait()
	t.Logf("handover %s -> %s in %s", first, next, at.Sub(t0))
	<-cands[first].done

	// SIGKILL-like failover: the leader stops talking at once.
	time.Sleep(1500 * time.Millisecond)
	t1 := time.Now()
	cands[next].k.kill()
	third, at := wait()
	t.Logf("failover %s -> %s in %s (lease 4s)", next, third, at.Sub(t1))
	l, _ := cs.CoordinationV1().Leases("kube-system").Get(ctx0, "kube-scheduler", metav1.GetOptions{})
	t.Logf("lease spec: holder=%s dur=%d transitions=%d", *l.Spec.HolderIdentity, *l.Spec.LeaseDurationSeconds, *l.Spec.LeaseTransitions)
	for _, c := range cands {
		c.cancel()
	}
	for id, c := range cands {
		if id != first {
			select {
			case <-c.done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s did not return", id)
			}
		}
	}

	// Interop with client-go's elector, both directions.
	upLeading := make(chan struct{}, 1)
	runUpstream := func(ctx context.Context) {
		lock, _ := resourcelock.New(resourcelock.LeasesResourceLock, "kube-system", "kube-scheduler", cs.CoreV1(), cs.CoordinationV1(),
			resourcelock.ResourceLockConfig{Identity: "upstream"})
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{Lock: lock, LeaseDuration: 4 * time.Second,
			RenewDeadline: 3 * time.Second, RetryPeriod: time.Second, ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) { upLeading <- struct{}{} }, OnStoppedLeading: func() {}}})
	}
	upCtx, upCancel := context.WithCancel(ctx0)
	upDone := make(chan struct{})
	go func() { runUpstream(upCtx); close(upDone) }()
	select {
	case <-upLeading:
	case <-time.After(30 * time.Second):
		t.Fatal("upstream never led")
	}
	d := mk("d")
	time.Sleep(6 * time.Second) // d must not take a renewed upstream lease
	select {
	case id := <-leading:
		t.Fatalf("%s led while upstream held the lease", id)
	default:
	}
	t2 := time.Now()
	upCancel()
	<-upDone
	id, at := wait()
	t.Logf("upstream released -> %s in %s", id, at.Sub(t2))

	up2Ctx, up2Cancel := context.WithCancel(ctx0)
	defer up2Cancel()
	up2Done := make(chan struct{})
	go func() { runUpstream(up2Ctx); close(up2Done) }()
	time.Sleep(6 * time.Second)
	select {
	case <-upLeading:
		t.Fatal("upstream led while berth held the lease")
	default:
	}
	t3 := time.Now()
	d.cancel()
	<-d.done
	select {
	case <-upLeading:
		t.Logf("berth released -> upstream in %s (upstream polls every ~1s)", time.Since(t3))
	case <-time.After(10 * time.Second):
		t.Fatal("upstream did not take over")
	}
	up2Cancel()
	<-up2Done
}
