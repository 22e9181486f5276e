// Package promlint checks that what berth serves on /metrics, /metrics/resources and
// /metrics/slis is valid Prometheus text exposition, by the reference parser, and passes
// promlint, the linter client_golang ships. Upstream kube-scheduler, given the same pods, is
// linted too, so that an exception can only be one upstream shares.
package promlint

import (
	"bytes"
	"cmp"
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
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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
var sharedProblems = map[string]string{
	"authenticated_user_requests: counter metrics should have \"_total\" suffix":                                             "k8s.io/apiserver's name",
	"authentication_attempts: counter metrics should have \"_total\" suffix":                                                 "k8s.io/apiserver's name",
	"authentication_token_cache_active_fetch_count: non-histogram and non-summary metrics should not have \"_count\" suffix": "k8s.io/apiserver's name",
}

// TestExposition starts berth and upstream kube-scheduler, each with a profile of its own, gives
// both pods that bind and one that fits nowhere, then parses and lints every metrics path:
// berth's must parse, and lint clean but for sharedProblems, which upstream must share.
func TestExposition(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	berth := start(ctx, t, admin, berthPath, "lint-berth")
	upstream := start(ctx, t, admin, cp.Binaries.Scheduler, "lint-upstream")
	schedulePods(ctx, t, admin, "lint-berth", "lint-upstream")
	// Strangers make each use its token cache and send a SubjectAccessReview, whose families are
	// only exposed once used.
	askAsStrangers(t, berth)
	askAsStrangers(t, upstream)

	scrapes := map[string]string{}
	for _, path := range []string{"/metrics", "/metrics/resources", "/metrics/slis"} {
		scrapes[path] = scrape(t, berth, path)
		t.Run(path, func(t *testing.T) {
			upstreamProblems := lint(t, "upstream", scrape(t, upstream, path))
			for _, p := range upstreamProblems {
				t.Logf("upstream kube-scheduler's %s: %s", path, p)
			}
			for _, p := range lint(t, "berth", scrapes[path]) {
				switch {
				case sharedProblems[p] == "":
					t.Errorf("promlint: %s", p)
				case !slices.Contains(upstreamProblems, p):
					t.Errorf("promlint: %s (in sharedProblems, but upstream has not this problem)", p)
				}
			}
		})
	}
	t.Run("README", func(t *testing.T) {
		table, err := metricsTable(scrapes)
		if err != nil {
			t.Fatal(err)
		}
		checkREADME(t, table)
	})
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
// through its kubeconfig and one profile called profile, electing itself leader on a lease of its
// own (the kube-scheduler lease of a namespace made for it: the scheduler's RBAC role may update
// no lease of another name), and waits until /healthz answers; it returns the secure address.
func start(ctx context.Context, t *testing.T, admin kubernetes.Interface, bin, profile string) string {
	t.Helper()
	leaseNS, err := testenv.CreateNamespace(ctx, admin, profile, nil)
	if err != nil {
		t.Fatal(err)
	}
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
  leaderElect: true
  resourceNamespace: %s
profiles:
- schedulerName: %s
`, cp.SchedulerKubeconfig, leaseNS, profile)), 0o600); err != nil {
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

// schedulePods gives each scheduler three pods that fit (one with a limit) and one that fits nowhere, and waits
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
			if i == 0 { // a limit, for kube_pod_resource_limit
				p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("200m")}
			}
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

// askAsStrangers sends addr two requests for /metrics without a client certificate: one with a
// bearer token that authenticates no one (a TokenReview, then 401) and one anonymous (a
// SubjectAccessReview, then 403). It only fails if no answer comes.
func askAsStrangers(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, auth := range []string{"Bearer not-a-token", ""} {
		req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// unschedulable reports whether conditions hold PodScheduled=False.
func unschedulable(conditions []v1.PodCondition) bool {
	return slices.ContainsFunc(conditions, func(c v1.PodCondition) bool {
		return c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse
	})
}

// The README's metrics table sits between these lines; TestExposition checks it lists what
// berth's scrape holds, and rewrites it when $BERTH_UPDATE_README is set.
const (
	tableStart = "<!-- metrics table: generated from a scrape by upstream/promlint (BERTH_UPDATE_README=1 go test) -->"
	tableEnd   = "<!-- end of metrics table -->"
)

// metricsTable renders the families of each path's scrape as a Markdown table of name, type,
// label names (but le and quantile) and path, sorted by path then name.
func metricsTable(scrapes map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("| family | type | labels | path |\n| --- | --- | --- | --- |\n")
	for _, path := range slices.Sorted(maps.Keys(scrapes)) {
		parser := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := parser.TextToMetricFamilies(strings.NewReader(scrapes[path]))
		if err != nil {
			return "", fmt.Errorf("parsing %s: %w", path, err)
		}
		for _, name := range slices.Sorted(maps.Keys(mfs)) {
			labels := map[string]bool{}
			for _, m := range mfs[name].GetMetric() {
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = true
				}
			}
			var ls []string
			for _, l := range slices.Sorted(maps.Keys(labels)) {
				ls = append(ls, "`"+l+"`")
			}
			typ := strings.ToLower(mfs[name].GetType().String())
			fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` |\n", name, typ, strings.Join(ls, ", "), path)
		}
	}
	return b.String(), nil
}

// checkREADME checks that every row of table is in the README's metrics table: a family that
// has no series yet is not in a scrape (berth, as upstream, writes only families with series), so
// rows the scrape lacks may stay. With $BERTH_UPDATE_README set it adds table's rows instead,
// replacing the rows of the same family and path; rows of families berth dropped are removed by hand.
func checkREADME(t *testing.T, table string) {
	t.Helper()
	const readme = "../../README.md"
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(text), tableStart+"\n")
	old, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md has no metrics table between %q and %q", tableStart, tableEnd)
	}
	key := func(row string) string { // family and path
		f := strings.Split(row, "|")
		if len(f) < 5 {
			return row
		}
		return f[1] + f[4]
	}
	rows := map[string]string{}
	for _, row := range strings.Split(strings.TrimSpace(old), "\n")[min(2, strings.Count(old, "\n")):] {
		rows[key(row)] = row
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	header, scraped := lines[:2], lines[2:]
	if os.Getenv("BERTH_UPDATE_README") != "" {
		for _, row := range scraped {
			rows[key(row)] = row
		}
		sorted := slices.SortedFunc(maps.Values(rows), func(a, b string) int {
			fa, fb := strings.Split(a, "|"), strings.Split(b, "|")
			cell := func(f []string, i int) string { return strings.Trim(f[i], " `") }
			return cmp.Or(strings.Compare(cell(fa, 4), cell(fb, 4)), strings.Compare(cell(fa, 1), cell(fb, 1)))
		})
		table = strings.Join(append(header, sorted...), "\n") + "\n"
		if err := os.WriteFile(readme, []byte(before+tableStart+"\n"+table+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, row := range scraped {
		if rows[key(row)] != row {
			t.Errorf("README.md's metrics table lacks this row, or has it otherwise (BERTH_UPDATE_README=1 go test ./... in upstream/promlint adds it):\n%s\nREADME: %s", row, rows[key(row)])
		}
	}
}
