// Command demo runs berth on a local control plane it starts itself: etcd and kube-apiserver on
// loopback, a few nodes and pending pods, and the berth binary built from this tree scheduling
// them. It prints where each pod lands, then keeps everything running (with a kubeconfig for
// kubectl) until Ctrl-C, which stops it all and removes the temporary files.
//
//	go run ./demo            (or: make demo)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("demo: starting etcd and kube-apiserver on loopback...")
	cp, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		return err
	}
	defer cp.Stop()
	admin, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	if err := createWorkload(ctx, admin); err != nil {
		return err
	}

	bin := filepath.Join(cp.Dir, "berth")
	fmt.Println("demo: building berth...")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building berth (run the demo from the repository root): %w", err)
	}
	logPath := filepath.Join(cp.Dir, "berth.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating berth log: %w", err)
	}
	defer logf.Close()
	berth := exec.Command(bin, "--kubeconfig", cp.SchedulerKubeconfig, "--secure-port", "0")
	berth.Stdout, berth.Stderr = logf, logf
	if err := berth.Start(); err != nil {
		return fmt.Errorf("starting berth: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- berth.Wait() }()
	defer func() {
		_ = berth.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = berth.Process.Kill()
			<-exited
		}
	}()
	fmt.Printf("demo: berth is running (log: %s)\n\n", logPath)

	report(ctx, admin, exited)

	fmt.Printf("\nThe cluster keeps running. Try:\n  kubectl --kubeconfig %s get pods -A -o wide\n", cp.AdminKubeconfig)
	fmt.Println("Press Ctrl-C to stop everything.")
	select {
	case <-ctx.Done():
	case err := <-exited:
		fmt.Printf("demo: berth exited: %v (log: %s)\n", err, logPath)
	}
	fmt.Println("\ndemo: stopping")
	return nil
}

// createWorkload makes four nodes in two zones (one tainted) and pods of several shapes.
func createWorkload(ctx context.Context, c kubernetes.Interface) error {
	nodes := []testenv.NodeSpec{
		{Name: "node-a", CPU: "2", Memory: "4Gi", Labels: map[string]string{"topology.kubernetes.io/zone": "zone-1"}},
		{Name: "node-b", CPU: "2", Memory: "4Gi", Labels: map[string]string{"topology.kubernetes.io/zone": "zone-1", "disk": "ssd"}},
		{Name: "node-c", CPU: "4", Memory: "8Gi", Labels: map[string]string{"topology.kubernetes.io/zone": "zone-2"}},
		{Name: "node-d", CPU: "4", Memory: "8Gi", Labels: map[string]string{"topology.kubernetes.io/zone": "zone-2"},
			Taints: []v1.Taint{{Key: "dedicated", Value: "batch", Effect: v1.TaintEffectNoSchedule}}},
	}
	for _, n := range nodes {
		if _, err := testenv.CreateNode(ctx, c, n); err != nil {
			return err
		}
	}
	const ns = "demo"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace: %w", err)
	}
	var pods []*v1.Pod
	for i := range 4 {
		p := testenv.Pod(ns, fmt.Sprintf("web-%d", i), "500m", "512Mi")
		p.Labels["app"] = "web"
		p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: v1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
		pods = append(pods, p)
	}
	ssd := testenv.Pod(ns, "db-0", "1", "1Gi")
	ssd.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	batch := testenv.Pod(ns, "batch-0", "2", "2Gi")
	batch.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "batch", Effect: v1.TaintEffectNoSchedule}}
	huge := testenv.Pod(ns, "too-big-0", "16", "1Gi")
	pods = append(pods, ssd, batch, huge)
	for _, p := range pods {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating pod %s: %w", p.Name, err)
		}
	}
	fmt.Printf("demo: created %d nodes and %d pending pods in namespace %q\n", len(nodes), len(pods), ns)
	return nil
}

// report prints placements as they happen for up to 20 s, then what is still pending and why.
func report(ctx context.Context, c kubernetes.Interface, exited <-chan error) {
	seen := map[string]bool{}
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		pods, err := c.CoreV1().Pods("demo").List(ctx, metav1.ListOptions{})
		if err == nil {
			pending := 0
			for _, p := range pods.Items {
				if p.Spec.NodeName == "" {
					pending++
					continue
				}
				if !seen[p.Name] {
					seen[p.Name] = true
					fmt.Printf("  %-12s -> %s\n", p.Name, p.Spec.NodeName)
				}
			}
			if pending <= 1 && len(seen) > 0 { // too-big-0 fits nowhere by design
				break wait
			}
		}
		select {
		case <-ctx.Done():
			return
		case err := <-exited:
			fmt.Printf("demo: berth exited early: %v\n", err)
			return
		case <-deadline:
			break wait
		case <-tick.C:
		}
	}
	pods, err := c.CoreV1().Pods("demo").List(ctx, metav1.ListOptions{})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			fmt.Println("demo: listing pods:", err)
		}
		return
	}
	var pending []string
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			continue
		}
		why := "no scheduling decision yet"
		for _, cond := range p.Status.Conditions {
			if cond.Type == v1.PodScheduled && cond.Status == v1.ConditionFalse {
				why = cond.Message
			}
		}
		pending = append(pending, fmt.Sprintf("  %-12s pending: %s", p.Name, why))
	}
	sort.Strings(pending)
	if len(pending) > 0 {
		fmt.Println(strings.Join(pending, "\n"))
	}
}
