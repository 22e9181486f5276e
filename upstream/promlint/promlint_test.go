// Package promlint checks that what berth serves on /metrics, /metrics/resources and
// /metrics/slis is valid Prometheus text exposition, by the reference parser, and passes
// promlint, the linter client_golang ships. Upstream kube-scheduler, given the same pods, is
// linted too, so that an exception can only be one upstream shares.
package promlint

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

var (
	cp        *testenv.ControlPlane
	berthPath string
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBerth(m, &cp, &berthPath)) }

// sharedProblems are promlint's complaints about berth's expositions that upstream
// kube-scheduler v1.37's have too, keyed "metric: text", each with the reason it stays: the
// names, units and help texts are upstream's, which dashboards and alerts rely on.
var sharedProblems = map[string]string{}

// TestExposition starts berth and upstream kube-scheduler, each with a profile of its own, gives
// both pods that bind and one that fits nowhere, then parses and lints every metrics path:
// berth's must parse, and lint clean but for sharedProblems, which upstream must share.
func TestExposition(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	berth := start(t, berthPath, "lint-berth")
	upstream := start(t, cp.Binaries.Scheduler, "lint-upstream")
	schedulePods(ctx, t, admin, "lint-berth", "lint-upstream")

	for _, path := range []string{"/metrics", "/metrics/resources", "/metrics/slis"} {
		t.Run(path, func(t *testing.T) {
			upstreamProblems := lint(t, "upstream", scrape(t, upstream, path))
			for _, p := range upstreamProblems {
				t.Logf("upstream kube-scheduler's %s: %s", path, p)
			}
			for _, p := range lint(t, "berth", scrape(t, berth, path)) {
				switch {
				case sharedProblems[p] == "":
					t.Errorf("promlint: %s", p)
				case !slices.Contains(upstreamProblems, p):
					t.Errorf("promlint: %s (in sharedProblems, but upstream has not this problem)", p)
				}
			}
		})
	}
}

// lint parses text with the reference parser (legacy metric names, as the 0.0.4 text format
// has them), failing the test on a parse error, and returns promlint's problems as
// "metric: text", sorted.
func lint(t *testing.T, who, text string) []string {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader([]byte(text)))
	if err != nil {
		t.Fatalf("parsing %s's exposition: %v", who, err)
	}
	if len(mfs) == 0 {
		t.Fatalf("%s's exposition holds no families:\n%s", who, text)
	}
	problems, err := promlint.NewWithMetricFamilies(slices.Collect(maps.Values(mfs))).Lint()
	if err != nil {
		t.Fatalf("linting %s's exposition: %v", who, err)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.Metric+": "+p.Text)
	}
	slices.Sort(out)
	return out
}

// start starts bin as the scheduler identity, with delegated authentication and authorization
// through its kubeconfig and one profile called profile, without leader election, and waits
// until /readyz answers; it returns the secure address.
func start(t *testing.T, bin, profile string) string {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), profile+".yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
leaderElection:
  leaderElect: false
profiles:
- schedulerName: %s
`, cp.SchedulerKubeconfig, profile)), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := testenv.StartProcess(bin, "--config", cfg,
		"--authentication-kubeconfig", cp.SchedulerKubeconfig,
		"--authorization-kubeconfig", cp.SchedulerKubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, testenv.Tail(p.Output(), 40))
		}
	})
	if err := p.WaitHealthy(addr, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return addr
}

// schedulePods gives each scheduler three pods that fit and one that fits nowhere, and waits
// until the first are bound and the last is marked unschedulable, so that the families counting
// both outcomes (and /metrics/resources' requests) have series.
func schedulePods(ctx context.Context, t *testing.T, admin kubernetes.Interface, schedulers ...string) {
	t.Helper()
	ns, err := testenv.CreateNamespace(ctx, admin, "promlint", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := testenv.CreateNode(ctx, admin, testenv.NodeSpec{Name: fmt.Sprintf("%s-n%d", ns, i), CPU: "4", Memory: "8Gi"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range schedulers {
		for i := range 4 {
			cpu := "100m"
			if i == 3 {
				cpu = "100" // fits nowhere
			}
			p := testenv.Pod(ns, fmt.Sprintf("%s-%d", s, i), cpu, "")
			p.Spec.SchedulerName = s
			if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for {
		pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" || unschedulable(p.Status.Conditions) {
				done++
			}
		}
		if done == len(pods.Items) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d pods placed or marked unschedulable", done, len(pods.Items))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// scrape returns the text served at path on addr, read as an admin (system:masters).
func scrape(t *testing.T, addr, path string) string {
	t.Helper()
	cert, err := cp.TLSClientCert("admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}}}
	resp, err := client.Get("https://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s from %s: %s\n%s", path, addr, resp.Status, body)
	}
	return string(body)
}

// unschedulable reports whether conditions hold PodScheduled=False.
func unschedulable(conditions []v1.PodCondition) bool {
	return slices.ContainsFunc(conditions, func(c v1.PodCondition) bool {
		return c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse
	})
}
