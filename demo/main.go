// Command demo runs berth on a local control plane it starts itself: etcd and kube-apiserver on
// loopback, a few nodes and pending pods, and the berth binary built from this tree scheduling
// them. It prints where each pod lands, then keeps everything running (with curl lines for the API
// server and berth's secure port, and a kubeconfig for kubectl) until Ctrl-C, SIGTERM or the
// terminal closing, which stops it all and removes the temporary files.
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
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

func main() {
	os.Exit(run())
}

// run is the demo; its exit code is 0 when it was stopped by a signal after a good start.
//
// Cleanup must hold however the demo is interrupted. In a terminal, Ctrl-C sends SIGINT to make,
// go run and the demo at once; closing the terminal sends SIGHUP; a supervisor sends SIGTERM.
// The demo catches all three (and every repeat while it cleans up, so a second Ctrl-C cannot cut
// the cleanup short), stops what it started, says so, and removes its directory. Its children
// run in their own process groups, so a signal meant for the terminal's jobs reaches only the
// demo, which stops them in order.
func run() int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// With the terminal gone, writing to it must fail quietly rather than kill the demo.
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	watcherDone := make(chan struct{})
	go func() { // ends with run; a repeated signal only finds ctx already cancelled
		defer close(watcherDone)
		for s := range sigs {
			cancel(signalError{s})
		}
	}()
	defer func() {
		signal.Stop(sigs)
		close(sigs)
		<-watcherDone
	}()

	err := demo(ctx)
	var sig signalError
	if errors.As(context.Cause(ctx), &sig) {
		say("demo: stopped after %v", sig.Signal)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	return 0
}

// signalError is the cause of the demo's context ending: a signal.
type signalError struct{ os.Signal }

func (e signalError) Error() string { return e.Signal.String() }

// say prints a line, ignoring a terminal that is gone.
func say(format string, args ...any) { _, _ = fmt.Printf(format+"\n", args...) }

// demo starts the control plane and berth, reports, and waits for ctx to end; every deferred
// stop prints what it stops.
func demo(ctx context.Context) error {
	say("demo: starting etcd and kube-apiserver on loopback...")
	cp, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		return err
	}
	defer func() {
		say("demo: stopping kube-apiserver and etcd, removing %s", cp.Dir)
		cp.Stop()
		if _, err := os.Stat(cp.Dir); err == nil {
			say("demo: could not remove %s (set BERTH_KEEP_TESTENV?)", cp.Dir)
		}
	}()
	admin, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	if err := createWorkload(ctx, admin); err != nil {
		return err
	}

	bin := filepath.Join(cp.Dir, "berth")
	say("demo: building berth...")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	build.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := build.Run(); err != nil {
		return fmt.Errorf("building berth (run the demo from the repository root): %w", err)
	}
	certFile, keyFile, err := writeAdminCert(cp)
	if err != nil {
		return err
	}
	port, err := testenv.FreePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(cp.Dir, "berth.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating berth log: %w", err)
	}
	defer logf.Close()
	berth := exec.Command(bin, "--kubeconfig", cp.SchedulerKubeconfig,
		"--authentication-kubeconfig", cp.SchedulerKubeconfig, "--authorization-kubeconfig", cp.SchedulerKubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port))
	berth.Stdout, berth.Stderr = logf, logf
	berth.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := berth.Start(); err != nil {
		return fmt.Errorf("starting berth: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- berth.Wait() }()
	defer func() {
		select {
		case <-exited:
			return
		default:
		}
		say("demo: stopping berth (pid %d)", berth.Process.Pid)
		_ = berth.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = berth.Process.Kill()
			<-exited
		}
	}()
	say("demo: berth is running (log: %s)\n", logPath)

	report(ctx, admin, exited)

	berthURL := "https://127.0.0.1:" + strconv.Itoa(port)
	say("\nThe cluster keeps running. With nothing but curl:")
	say("  the API server, as the admin:\n    curl --cacert %s --cert %s --key %s %s/api/v1/namespaces/demo/pods",
		cp.CAFile, certFile, keyFile, cp.URL)
	say("  berth's health (open to anyone):\n    curl -k %s/healthz", berthURL)
	say("  berth's metrics (needs an authorized identity, the admin here):\n    curl -k --cert %s --key %s %s/metrics", certFile, keyFile, berthURL)
	say("With kubectl, if you have it (optional; https://kubernetes.io/docs/tasks/tools/):\n    kubectl --kubeconfig %s get pods -A -o wide", cp.AdminKubeconfig)
	say("Press Ctrl-C to stop everything.")
	select {
	case <-ctx.Done():
		say("\ndemo: %v: stopping", context.Cause(ctx))
	case err := <-exited:
		say("demo: berth exited: %v (log: %s)", err, logPath)
	}
	return nil
}

// writeAdminCert writes the admin's client certificate and key next to the kubeconfigs, for curl.
func writeAdminCert(cp *testenv.ControlPlane) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(cp.Dir, "admin.crt"), filepath.Join(cp.Dir, "admin.key")
	if err := os.WriteFile(certFile, cp.Admin.CertData, 0o600); err != nil {
		return "", "", fmt.Errorf("writing the admin certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, cp.Admin.KeyData, 0o600); err != nil {
		return "", "", fmt.Errorf("writing the admin key: %w", err)
	}
	return certFile, keyFile, nil
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
