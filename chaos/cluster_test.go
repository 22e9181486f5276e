package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/testenv"
)

// cluster is one test's own control plane, with the API server's audit log on, and the admin
// client that drives it.
type cluster struct {
	cp    *testenv.ControlPlane
	admin kubernetes.Interface
	audit string // the audit log's path
}

// startCluster starts etcd and kube-apiserver for t, auditing bindings and Lease writes (see
// auditPolicy). Everything stops when t ends; the control plane's logs are printed if t failed.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	audit := filepath.Join(dir, "audit.log")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := testenv.Start(ctx, testenv.Options{
		Dir: filepath.Join(dir, "cp"),
		APIServerArgs: []string{
			"--audit-policy-file=" + policy, "--audit-log-path=" + audit,
			"--audit-log-format=json", "--audit-log-mode=blocking", "--audit-log-maxbackup=0",
			"--audit-log-maxsize=0",
		},
	})
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("control plane logs:\n%s", cp.Logs())
		}
		cp.Stop()
	})
	// The driver's client gives up on a dead API server quickly, so that it notices the restart.
	cfg := rest.CopyConfig(cp.Admin)
	cfg.Timeout = 10 * time.Second
	return &cluster{cp: cp, admin: kubernetes.NewForConfigOrDie(cfg), audit: audit}
}

// Every node fits exactly slotsPerNode stream pods by CPU and by pod count (and nearly by
// memory): a scheduler whose cache drifts from the cluster either leaves the last pods pending
// or overfills a node, and the checks see both.
const (
	slotsPerNode = 10
	podCPU       = "100m"
	podMemory    = "500Mi"
)

var nodeShape = testenv.NodeSpec{CPU: "1", Memory: "5Gi", Pods: slotsPerNode}

// createNodes creates n nodes of nodeShape named prefix-0 ... prefix-(n-1).
func (c *cluster) createNodes(t *testing.T, ctx context.Context, prefix string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s := nodeShape
			s.Name = fmt.Sprintf("%s-%d", prefix, i)
			if _, err := testenv.CreateNode(ctx, c.admin, s); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// streamPod is the pod of a stream: it fits one slot of a nodeShape node.
func streamPod(ns, name string) *v1.Pod { return testenv.Pod(ns, name, podCPU, podMemory) }

// podStream creates pods in the background at a steady rate, retrying each until the API server
// takes it (it may be down): a pod whose create succeeded but whose answer was lost is found by
// AlreadyExists. Methods are safe for concurrent use.
type podStream struct {
	done    chan struct{}
	mu      sync.Mutex
	created int
	err     error
}

// startStream creates n pods named prefix00000... in ns, perSecond of them a second, until all
// are created or ctx ends. The test's end waits for it: the caller cancels ctx first.
func (c *cluster) startStream(t *testing.T, ctx context.Context, ns, prefix string, n int, perSecond float64) *podStream {
	s := &podStream{done: make(chan struct{})}
	t.Cleanup(func() { <-s.done })
	go func() {
		defer close(s.done)
		tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		defer tick.Stop()
		for i := range n {
			select {
			case <-ctx.Done():
				s.fail(ctx.Err())
				return
			case <-tick.C:
			}
			if err := c.createRetrying(ctx, streamPod(ns, fmt.Sprintf("%s%05d", prefix, i))); err != nil {
				s.fail(err)
				return
			}
			s.mu.Lock()
			s.created++
			s.mu.Unlock()
		}
	}()
	return s
}

// createRetrying creates pod, retrying every 100ms while the API server cannot be reached or
// answers with an error, until ctx ends.
func (c *cluster) createRetrying(ctx context.Context, pod *v1.Pod) error {
	for {
		_, err := c.admin.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return fmt.Errorf("creating pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("creating pod %s/%s: %w (last error: %v)", pod.Namespace, pod.Name, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *podStream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// wait waits for the stream to end and returns how many pods it created.
func (s *podStream) wait(t *testing.T) int {
	t.Helper()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		t.Fatalf("pod stream: %v (after %d pods)", s.err, s.created)
	}
	return s.created
}

// waitAllBound waits until every pod in ns whose name starts with prefix is bound, and returns
// how many there are. It fails the test with the pending ones after timeout.
func (c *cluster) waitAllBound(t *testing.T, ctx context.Context, ns, prefix string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("listing pods in %s: %v", ns, err)
		}
		var pending []string
		total := 0
		for _, p := range list.Items {
			if !strings.HasPrefix(p.Name, prefix) {
				continue
			}
			total++
			if p.Spec.NodeName == "" {
				pending = append(pending, p.Name)
			}
		}
		if total == want && len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(pending)
			if len(pending) > 20 {
				pending = append(pending[:20], "...")
			}
			t.Fatalf("%d of %d pods %s* in %s still pending after %s (want %d pods): %v",
				len(pending), total, prefix, ns, timeout, want, pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkCapacity fails the test for every node whose bound pods request more CPU, memory or pods
// than it has, and returns how many pods are bound in the cluster.
func (c *cluster) checkCapacity(t *testing.T, ctx context.Context) int {
	t.Helper()
	nodes, err := c.admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.admin.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type use struct {
		cpu, mem resource.Quantity
		pods     int64
	}
	used := map[string]*use{}
	bound := 0
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" {
			continue
		}
		bound++
		u := used[p.Spec.NodeName]
		if u == nil {
			u = &use{}
			used[p.Spec.NodeName] = u
		}
		u.pods++
		for _, ctr := range p.Spec.Containers {
			u.cpu.Add(ctr.Resources.Requests[v1.ResourceCPU])
			u.mem.Add(ctr.Resources.Requests[v1.ResourceMemory])
		}
	}
	for _, n := range nodes.Items {
		u := used[n.Name]
		if u == nil {
			continue
		}
		alloc := n.Status.Allocatable
		if u.cpu.Cmp(alloc[v1.ResourceCPU]) > 0 || u.mem.Cmp(alloc[v1.ResourceMemory]) > 0 || u.pods > alloc.Pods().Value() {
			t.Errorf("node %s over capacity: %d pods, cpu %s, memory %s; allocatable %s pods, cpu %s, memory %s",
				n.Name, u.pods, u.cpu.String(), u.mem.String(), alloc.Pods(), alloc.Cpu(), alloc.Memory())
		}
	}
	return bound
}

// namespace creates a namespace for t.
func (c *cluster) namespace(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	ns, err := testenv.CreateNamespace(ctx, c.admin, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

var errTimeout = errors.New("timed out")

// poll calls cond every interval until it returns true or an error, or timeout passes.
func poll(ctx context.Context, interval, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, errTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
