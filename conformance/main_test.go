package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// The two schedulers' names: pods pick one with spec.schedulerName.
const (
	upstreamName = "upstream"
	berthName    = "default-scheduler"
	// The schedulers' second profile, for cases that need NodeResourcesFit to score extended
	// resources backed by DRA (see scoredProfile).
	upstreamScoredName = "upstream-gpu-scored"
	berthScoredName    = "berth-gpu-scored"
)

// scoredProfile is the second profile of both schedulers: NodeResourcesFit scores MostAllocated
// over cpu, memory and the GPUs of TestDRAExtendedResourceScoring's cases. Those are extended
// resources qualified per case and copy (draCopy.qualifyResource), so each is listed here.
func scoredProfile(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `- schedulerName: %s
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - {name: cpu, weight: 1}
        - {name: memory, weight: 1}
`, name)
	for i := range scoredCases {
		for _, c := range []string{"u", "b"} {
			fmt.Fprintf(&b, "        - {name: %s%d-%s-%s, weight: %d}\n", scoredPrefix, i, c, extGPU, scoredGPUWeight)
		}
	}
	return b.String()
}

var (
	cp    *testenv.ControlPlane
	admin kubernetes.Interface
	// procs are the scheduler processes, by scheduler name.
	procs = map[string]*testenv.Process{}
)

func TestMain(m *testing.M) {
	os.Exit(testenv.RunPackage(m, true, setup))
}

// setup starts both schedulers on the package's control plane; the teardown prints their output
// when a test failed and stops them before the control plane goes.
func setup(h *testenv.Harness) (func(), error) {
	cp = h.CP
	var err error
	if admin, err = kubernetes.NewForConfig(cp.Admin); err != nil {
		return nil, err
	}
	stop, err := startSchedulers(h.Berth)
	return func() {
		if h.Failed {
			for name, p := range procs {
				fmt.Fprintf(os.Stderr, "----- scheduler %q output (tail) -----\n%s\n", name, testenv.Tail(p.Output(), 6000))
			}
		}
		stop()
	}, err
}

// startSchedulers creates the RuntimeClasses the scenarios use, starts upstream kube-scheduler and
// berth, and waits until each has bound a probe pod. stop kills whatever was started.
func startSchedulers(berthPath string) (stop func(), err error) {
	stop = func() {
		for _, p := range procs {
			p.Kill()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := createRuntimeClasses(ctx); err != nil {
		return stop, err
	}
	cfg := filepath.Join(cp.Dir, "upstream-scheduler.yaml")
	config := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 1000
  burst: 1000
leaderElection:
  leaderElect: false
profiles:
- schedulerName: %s
%s`
	upConfig := fmt.Sprintf(config, cp.SchedulerKubeconfig, upstreamName, scoredProfile(upstreamScoredName))
	if err := os.WriteFile(cfg, []byte(upConfig), 0o600); err != nil {
		return stop, fmt.Errorf("writing the upstream scheduler config: %w", err)
	}
	berthCfg := filepath.Join(cp.Dir, "berth-scheduler.yaml")
	if err := os.WriteFile(berthCfg, []byte(fmt.Sprintf(config, cp.SchedulerKubeconfig, berthName, scoredProfile(berthScoredName))), 0o600); err != nil {
		return stop, fmt.Errorf("writing the berth config: %w", err)
	}
	up, err := testenv.StartProcess(cp.Binaries.Scheduler, "--config", cfg, "--secure-port", "0")
	if err != nil {
		return stop, err
	}
	procs[upstreamName] = up
	port, err := testenv.FreePort()
	if err != nil {
		return stop, err
	}
	b, err := testenv.StartProcess(berthPath, "--config", berthCfg,
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--authentication-skip-lookup")
	if err != nil {
		return stop, err
	}
	procs[berthName] = b
	if err := b.WaitHealthy("127.0.0.1:"+strconv.Itoa(port), time.Minute); err != nil {
		return stop, fmt.Errorf("berth: %w", err)
	}
	// A probe pod each on a fresh node proves both are watching and binding.
	node := testenv.Node(testenv.NodeSpec{Name: "conformance-ready", Labels: map[string]string{labelScenario: "ready"}})
	if _, err := admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return stop, fmt.Errorf("creating the readiness node: %w", err)
	}
	defer func() {
		if derr := admin.CoreV1().Nodes().Delete(context.Background(), node.Name, metav1.DeleteOptions{}); derr != nil && err == nil {
			err = fmt.Errorf("deleting the readiness node: %w", derr)
		}
	}()
	if err := probe(ctx, metav1.NamespaceDefault, "ready", node.Name, 2*time.Minute); err != nil {
		return stop, fmt.Errorf("schedulers not ready: %w", err)
	}
	return stop, nil
}

func createRuntimeClasses(ctx context.Context) error {
	classes := []*nodev1.RuntimeClass{
		{ObjectMeta: metav1.ObjectMeta{Name: rcOverhead}, Handler: "runc",
			Overhead: &nodev1.Overhead{PodFixed: v1.ResourceList{v1.ResourceCPU: rcOverheadCPU, v1.ResourceMemory: rcOverheadMem}}},
		{ObjectMeta: metav1.ObjectMeta{Name: rcPinned}, Handler: "runc",
			Overhead:   &nodev1.Overhead{PodFixed: v1.ResourceList{v1.ResourceCPU: rcPinnedCPU, v1.ResourceMemory: rcPinnedMem}},
			Scheduling: &nodev1.Scheduling{NodeSelector: rcPinnedSelector, Tolerations: []v1.Toleration{rcPinnedToleration}}},
	}
	for _, rc := range classes {
		if _, err := admin.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating RuntimeClass %s: %w", rc.Name, err)
		}
	}
	return nil
}

// probe creates one probe pod per scheduler in ns, pinned to node and tolerating everything, waits
// until both are bound and deletes them. A scheduler that binds its probe has seen node and every
// pod created before the probe (the pod watch is ordered).
func probe(ctx context.Context, ns, id, node string, timeout time.Duration) error {
	zero := int64(0)
	var names []string
	for _, sched := range []string{upstreamName, berthName} {
		p := newPod(ns, fmt.Sprintf("probe-%s-%s", id, sched), map[string]string{labelScenario: id, labelKind: "probe"})
		p.Spec.SchedulerName = sched
		p.Spec.NodeSelector = map[string]string{labelHostname: node}
		p.Spec.Tolerations = []v1.Toleration{{Operator: v1.TolerationOpExists}}
		p.Spec.Containers = []v1.Container{container("probe", nil)}
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating probe pod: %w", err)
		}
		names = append(names, p.Name)
	}
	defer func() {
		for _, n := range names {
			_ = admin.CoreV1().Pods(ns).Delete(context.Background(), n, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}
	}()
	deadline := time.Now().Add(timeout)
	for _, n := range names {
		for {
			p, err := admin.CoreV1().Pods(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading probe pod %s: %w", n, err)
			}
			if p.Spec.NodeName != "" {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("probe pod %s not bound to %s after %s; conditions %v", n, node, timeout, p.Status.Conditions)
			}
			if err := sleep(ctx, 20*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// schedulerAlive returns an error with the process output when a scheduler has exited.
func schedulerAlive() error {
	var errs []error
	for name, p := range procs {
		select {
		case <-p.Done():
			errs = append(errs, fmt.Errorf("scheduler %q exited:\n%s", name, testenv.Tail(p.Output(), 4000)))
		default:
		}
	}
	return errors.Join(errs...)
}
