package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// upstreamOnlyFamilies are the /metrics families upstream kube-scheduler v1.37 exposes and berth
// does not, each with the reason; a name ending in "*" covers every family starting with the rest.
// Every other upstream family must be in berth's /metrics, with the same type.
var upstreamOnlyFamilies = map[string]string{
	// Scheduler internals berth does not have, or does not count yet.
	"scheduler_batch_attempts_total":                    "opportunistic batching: berth decides each pod on its own",
	"scheduler_batch_cache_flushed_total":               "opportunistic batching: berth decides each pod on its own",
	"scheduler_get_node_hint_duration_seconds":          "opportunistic batching's node hints: berth has none",
	"scheduler_store_schedule_results_duration_seconds": "opportunistic batching's result store: berth has none",
	"scheduler_queue_incoming_entities_total":           "pod-group (workload) entities: berth's queue holds pods only; scheduler_queue_incoming_pods_total is there",
	"scheduler_queued_entities":                         "pod-group (workload) entities: berth's queue holds pods only; scheduler_pending_pods is there",
	"scheduler_inflight_events":                         "upstream's queue tracks in-flight events for its queueing hints; berth's queue does not keep them",

	// client-go and component-base instrumentation berth's own packages do not offer (yet).
	"workqueue_*": "client-go workqueues: berth's only queues are its scheduling queue (scheduler_pending_pods) and the event writer",

	// Go runtime/metrics families client_golang's Go collector adds as component-base configures
	// it; berth exposes the classic go_* and go_memstats_* set.
	"go_cgo_*":                        "Go runtime/metrics family (berth has no cgo)",
	"go_cpu_classes_*":                "Go runtime/metrics family",
	"go_gc_cleanups_*":                "Go runtime/metrics family",
	"go_gc_cycles_*":                  "Go runtime/metrics family",
	"go_gc_finalizers_*":              "Go runtime/metrics family",
	"go_gc_gogc_percent":              "Go runtime/metrics family",
	"go_gc_gomemlimit_bytes":          "Go runtime/metrics family",
	"go_gc_heap_*":                    "Go runtime/metrics family",
	"go_gc_limiter_*":                 "Go runtime/metrics family",
	"go_gc_pauses_seconds":            "Go runtime/metrics family (go_gc_duration_seconds is there)",
	"go_gc_scan_*":                    "Go runtime/metrics family",
	"go_gc_stack_starting_size_bytes": "Go runtime/metrics family",
	"go_godebug_*":                    "Go runtime/metrics family (one per GODEBUG setting)",
	"go_memory_classes_*":             "Go runtime/metrics family (go_memstats_* are there)",
	"go_sched_*":                      "Go runtime/metrics family (go_goroutines and go_threads are there)",
	"go_sync_*":                       "Go runtime/metrics family",

	// API-server machinery kube-scheduler links in without using.
	"aggregator_discovery_aggregation_count_total": "API server aggregation: not part of a scheduler",
	"apiserver_audit_*":                            "API server auditing: not part of a scheduler",
	"apiserver_envelope_encryption_*":              "API server storage encryption: not part of a scheduler",
	"apiserver_storage_*":                          "API server storage: not part of a scheduler",
	"apiserver_validation_*":                       "API server declarative validation: not part of a scheduler",
	"apiserver_webhooks_x509_*":                    "API server webhooks: not part of a scheduler",
}

// sampledFamilies are observed in a random sample of scheduling cycles, by berth as by upstream:
// after a handful of pods either side may have no series yet, so neither presence is required.
var sampledFamilies = map[string]bool{"scheduler_plugin_execution_duration_seconds": true}

// allowedReason returns the reason name is in allowed, exactly or by a prefix entry, or "".
func allowedReason(allowed map[string]string, name string) string {
	if r := allowed[name]; r != "" {
		return r
	}
	for k, r := range allowed {
		if prefix, ok := strings.CutSuffix(k, "*"); ok && strings.HasPrefix(name, prefix) {
			return r
		}
	}
	return ""
}

// TestZPages runs berth and upstream kube-scheduler side by side, each with its own profile,
// gives both some pods to place (and one that fits nowhere), then compares what their secure
// endpoints answer: status codes by path, method, caller and Accept header; the shape of /flagz
// and /statusz (text header and lines, structured keys, flag names, listed paths); that
// berth's /metrics and /metrics/slis families include upstream's, but for upstreamOnlyFamilies;
// and their klog text lines, for the pods and the lease, and when both lose their lease.
func TestZPages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	pair := startSideBySide(ctx, t, admin, "zp", "-v=2")
	berth, upstream := pair.berth, pair.upstream
	for _, d := range []*daemon{berth, upstream} {
		deadline := time.Now().Add(30 * time.Second)
		for code, _, _ := zget(t, d.addr, http.MethodGet, "/readyz", "", nil); code != http.StatusOK; code, _, _ = zget(t, d.addr, http.MethodGet, "/readyz", "", nil) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never became ready", d.Cmd.Path)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	scheduleSomePods(ctx, t, admin, pair.berthProfile, pair.upstreamProfile)
	monitor := monitoringCert(ctx, t, admin)

	t.Run("status codes", func(t *testing.T) { compareStatusCodes(t, berth.addr, upstream.addr, monitor) })
	t.Run("flagz", func(t *testing.T) { compareFlagz(t, berth.addr, upstream.addr) })
	t.Run("statusz", func(t *testing.T) { compareStatusz(t, berth.addr, upstream.addr) })
	t.Run("metrics families", func(t *testing.T) {
		compareFamilies(t, scrape(t, berth.addr, "/metrics"), scrape(t, upstream.addr, "/metrics"), upstreamOnlyFamilies)
	})
	t.Run("metrics labels", func(t *testing.T) {
		compareLabels(t, scrape(t, berth.addr, "/metrics"), scrape(t, upstream.addr, "/metrics"), labelExceptions)
	})
	t.Run("logs", func(t *testing.T) { compareLogs(t, pair) })
	t.Run("slis families", func(t *testing.T) {
		b, u := scrape(t, berth.addr, "/metrics/slis"), scrape(t, upstream.addr, "/metrics/slis")
		compareFamilies(t, b, u, nil)
		for _, s := range []string{`kubernetes_healthcheck{name="ping",type="livez"} 1`, `kubernetes_healthchecks_total{name="ping",status="success",type="livez"}`} {
			if !strings.Contains(b, s) {
				t.Errorf("berth's /metrics/slis lacks %s:\n%s", s, b)
			}
		}
	})
	// Last: upstream exits.
	t.Run("leader loss", func(t *testing.T) {
		compareLeaderLoss(ctx, t, admin, pair)
	})
}

// sideBySide is berth and upstream kube-scheduler, started by startSideBySide.
type sideBySide struct {
	berth, upstream               *daemon
	berthProfile, upstreamProfile string // their scheduler names
	berthLease, upstreamLease     string // the namespaces of their kube-scheduler Leases
}

// startSideBySide starts berth and upstream kube-scheduler with flags, each with a profile of its
// own (prefix-berth, prefix-upstream) and electing itself on a Lease of its own, with the
// shortLease timing.
func startSideBySide(ctx context.Context, t *testing.T, admin kubernetes.Interface, prefix string, flags ...string) *sideBySide {
	t.Helper()
	p := &sideBySide{berthProfile: prefix + "-berth", upstreamProfile: prefix + "-upstream"}
	berthCfg, berthLease := zpageSchedulerConfig(ctx, t, admin, p.berthProfile, shortLease...)
	upstreamCfg, upstreamLease := zpageSchedulerConfig(ctx, t, admin, p.upstreamProfile, shortLease...)
	p.berthLease, p.upstreamLease = berthLease, upstreamLease
	p.berth = startScheduler(t, berthPath, append([]string{"--config", berthCfg}, flags...)...)
	p.upstream = startScheduler(t, cp.Binaries.Scheduler, append([]string{"--config", upstreamCfg}, flags...)...)
	return p
}

// zpageSchedulerConfig writes a configuration with one profile called name, electing itself
// leader on a lease of its own, so that both schedulers place their own pods at once: the
// kube-scheduler lease of a namespace made for it (the scheduler's RBAC role may update no lease
// of another name). leaderElection are more lines of that section ("renewDeadline: 4s"). It
// returns the file's path and the Lease's namespace.
func zpageSchedulerConfig(ctx context.Context, t *testing.T, admin kubernetes.Interface, name string, leaderElection ...string) (path, leaseNS string) {
	t.Helper()
	leaseNS, err := testenv.CreateNamespace(ctx, admin, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), name+".yaml")
	cfg := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
leaderElection:
  leaderElect: true
  resourceNamespace: %s
`, cp.SchedulerKubeconfig, leaseNS)
	for _, l := range leaderElection {
		cfg += "  " + l + "\n"
	}
	cfg += fmt.Sprintf("profiles:\n- schedulerName: %s\n", name)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, leaseNS
}

// scheduleSomePods gives each scheduler three pods that fit and one that fits nowhere, and
// waits until the first are bound and the last is marked unschedulable: upstream creates many
// metric families only when it first uses them.
func scheduleSomePods(ctx context.Context, t *testing.T, admin kubernetes.Interface, schedulers ...string) {
	t.Helper()
	ns, err := testenv.CreateNamespace(ctx, admin, "zpages", nil)
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
			if p.Spec.NodeName != "" || scheduledFalse(&p) != nil {
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

// zget sends one request as cert's user, or anonymously when cert is nil, with the Accept
// header and body given (if not empty), and returns the status code, headers and body.
func zget(t *testing.T, addr, method, path, accept string, cert *tls.Certificate, body ...string) (int, http.Header, string) {
	t.Helper()
	tc := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	req, err := http.NewRequest(method, "https://"+addr+path, strings.NewReader(strings.Join(body, "")))
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// monitoringCert returns a client certificate for a user bound to the built-in
// system:monitoring ClusterRole, which grants GET on the z-pages and /metrics/slis.
func monitoringCert(ctx context.Context, t *testing.T, admin kubernetes.Interface) *tls.Certificate {
	t.Helper()
	const user = "zpages-monitor"
	_, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:monitoring"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: user, APIGroup: rbacv1.GroupName}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cert, err := cp.TLSClientCert(user)
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}

// caller is who sends a request in compareStatusCodes.
type caller int

const (
	asAdmin     caller = iota // system:masters: allowed everything without a review
	asAnonymous               // no credentials
	asMonitor                 // bound to system:monitoring: every request is a SubjectAccessReview
)

func compareStatusCodes(t *testing.T, berth, upstream string, monitor *tls.Certificate) {
	certs := map[caller]*tls.Certificate{asAdmin: adminCert(t), asAnonymous: nil, asMonitor: monitor}
	const (
		flagzJSON   = "application/json;as=Flagz;v=v1beta1;g=config.k8s.io"
		statuszJSON = "application/json;as=Statusz;v=v1beta1;g=config.k8s.io"
	)
	tests := []struct {
		method, path, accept, body string
		as                         caller
	}{
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/livez"},
		{method: "GET", path: "/readyz"},
		{method: "GET", path: "/livez/ping"},
		{method: "GET", path: "/readyz/shutdown"},
		{method: "GET", path: "/flagz"},
		{method: "GET", path: "/statusz"},
		{method: "GET", path: "/metrics"},
		{method: "GET", path: "/metrics/slis"},
		{method: "GET", path: "/configz"},
		{method: "GET", path: "/no/such/path"},
		{method: "PUT", path: "/debug/flags/v", body: "0"},
		{method: "PUT", path: "/debug/flags/v", body: "zero"},
		{method: "GET", path: "/debug/flags/v"},
		{method: "GET", path: "/debug/flags/"},
		{method: "GET", path: "/healthz", as: asAnonymous},
		{method: "GET", path: "/livez/ping", as: asAnonymous},
		{method: "GET", path: "/flagz", as: asAnonymous},
		{method: "GET", path: "/statusz", as: asAnonymous},
		{method: "GET", path: "/metrics/slis", as: asAnonymous},
		{method: "PUT", path: "/debug/flags/v", body: "0", as: asAnonymous},
		{method: "GET", path: "/flagz", as: asMonitor},
		{method: "GET", path: "/statusz", as: asMonitor},
		{method: "GET", path: "/metrics/slis", as: asMonitor},
		{method: "DELETE", path: "/metrics/slis", as: asMonitor},
		{method: "GET", path: "/configz", as: asMonitor},
		{method: "PUT", path: "/debug/flags/v", body: "0", as: asMonitor},
		{method: "GET", path: "/flagz", accept: "text/plain"},
		{method: "GET", path: "/flagz", accept: "*/*"},
		{method: "GET", path: "/flagz", accept: flagzJSON},
		{method: "GET", path: "/flagz", accept: "application/json;as=Flagz;v=v1alpha1;g=config.k8s.io"},
		{method: "GET", path: "/flagz", accept: "application/yaml;as=Flagz;v=v1beta1;g=config.k8s.io"},
		{method: "GET", path: "/flagz", accept: "application/json"},
		{method: "GET", path: "/flagz", accept: statuszJSON},
		{method: "GET", path: "/flagz", accept: "application/xml"},
		{method: "GET", path: "/statusz", accept: statuszJSON},
		{method: "GET", path: "/statusz", accept: "application/json"},
		{method: "GET", path: "/statusz", accept: "text/plain;as=Statusz;v=v1beta1;g=config.k8s.io"},
		{method: "GET", path: "/statusz", accept: "application/json, text/plain;q=0.5"},
	}
	for _, tc := range tests {
		name := tc.method + " " + tc.path
		if tc.accept != "" {
			name += " accept " + tc.accept
		}
		if tc.body != "" {
			name += " body " + tc.body
		}
		name += [...]string{asAdmin: " as admin", asAnonymous: " anonymous", asMonitor: " as monitor"}[tc.as]
		t.Run(name, func(t *testing.T) {
			cert := certs[tc.as]
			got, gh, gb := zget(t, berth, tc.method, tc.path, tc.accept, cert, tc.body)
			want, wh, wb := zget(t, upstream, tc.method, tc.path, tc.accept, cert, tc.body)
			if got != want {
				t.Errorf("berth answered %d, upstream kube-scheduler %d\nberth: %s\nupstream: %s", got, want, gb, wb)
			}
			if gt, wt := mediaType(gh), mediaType(wh); want == http.StatusOK && gt != wt {
				t.Errorf("berth's content type %q, upstream's %q", gh.Get("Content-Type"), wh.Get("Content-Type"))
			}
			if (gh.Get("Warning") == "") != (wh.Get("Warning") == "") {
				t.Errorf("berth's Warning header %q, upstream's %q", gh.Get("Warning"), wh.Get("Warning"))
			}
			if tc.method == http.MethodPut && want != http.StatusForbidden && gb != wb {
				t.Errorf("berth's answer %q, upstream's %q", gb, wb)
			}
		})
	}
}

// mediaType is the Content-Type without charset and version parameters, but with the kind.
func mediaType(h http.Header) string {
	ct := strings.ReplaceAll(h.Get("Content-Type"), " ", "")
	var keep []string
	for i, part := range strings.Split(ct, ";") {
		if i == 0 || strings.HasPrefix(part, "as=") || strings.HasPrefix(part, "g=") || strings.HasPrefix(part, "v=v") {
			keep = append(keep, part)
		}
	}
	slices.Sort(keep[1:])
	return strings.Join(keep, ";")
}

// zpageLine is one "name<separator>value" line of a text z-page.
var zpageLine = regexp.MustCompile(`^([^:= ]+(?: [a-z]+)?)(:|: |=| )(.*)$`)

// textZPage splits a text z-page into its header (the lines up to the warning) and the
// remaining lines, as name -> value.
func textZPage(t *testing.T, body string) (header []string, fields map[string]string) {
	t.Helper()
	lines := strings.Split(body, "\n")
	if len(lines) < 3 {
		t.Fatalf("text z-page too short:\n%s", body)
	}
	header, fields = lines[:3], map[string]string{}
	for _, l := range lines[3:] {
		if l == "" {
			continue
		}
		m := zpageLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q is not name<separator>value", l)
			continue
		}
		fields[m[1]] = strings.TrimLeft(m[3], " ")
	}
	return header, fields
}

func compareFlagz(t *testing.T, berth, upstream string) {
	cert := adminCert(t)
	_, _, gb := zget(t, berth, http.MethodGet, "/flagz", "", cert)
	_, _, wb := zget(t, upstream, http.MethodGet, "/flagz", "", cert)
	gh, gf := textZPage(t, gb)
	wh, wf := textZPage(t, wb)
	if !slices.Equal(gh, wh) {
		t.Errorf("berth's header %q, upstream's %q", gh, wh)
	}
	if missing, extra := keyDiff(gf, wf); len(missing)+len(extra) > 0 {
		t.Errorf("flags only upstream lists: %v; only berth lists: %v", missing, extra)
	}
	accept := "application/json;as=Flagz;v=v1beta1;g=config.k8s.io"
	compareJSONShape(t, berth, upstream, "/flagz", accept)
}

func compareStatusz(t *testing.T, berth, upstream string) {
	cert := adminCert(t)
	_, _, gb := zget(t, berth, http.MethodGet, "/statusz", "", cert)
	_, _, wb := zget(t, upstream, http.MethodGet, "/statusz", "", cert)
	gh, gf := textZPage(t, gb)
	wh, wf := textZPage(t, wb)
	if !slices.Equal(gh, wh) {
		t.Errorf("berth's header %q, upstream's %q", gh, wh)
	}
	if missing, extra := keyDiff(gf, wf); len(missing)+len(extra) > 0 {
		t.Errorf("lines only upstream has: %v; only berth has: %v\nberth:\n%s\nupstream:\n%s", missing, extra, gb, wb)
	}
	for _, same := range []string{"Paths", "Emulation version"} {
		if gf[same] != wf[same] {
			t.Errorf("%s: berth %q, upstream %q", same, gf[same], wf[same])
		}
	}
	accept := "application/json;as=Statusz;v=v1beta1;g=config.k8s.io"
	g, w := compareJSONShape(t, berth, upstream, "/statusz", accept)
	if fmt.Sprint(g["paths"]) != fmt.Sprint(w["paths"]) {
		t.Errorf("paths: berth %v, upstream %v", g["paths"], w["paths"])
	}
}

// compareJSONShape fetches path as JSON from both and checks they have the same keys, at the
// top level and in metadata, and the same kind, apiVersion and metadata.name.
func compareJSONShape(t *testing.T, berth, upstream, path, accept string) (got, want map[string]any) {
	t.Helper()
	cert := adminCert(t)
	decode := func(addr string) map[string]any {
		code, _, body := zget(t, addr, http.MethodGet, path, accept, cert)
		var out map[string]any
		if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil {
			t.Fatalf("GET %s from %s as JSON: %d %v\n%s", path, addr, code, err, body)
		}
		return out
	}
	got, want = decode(berth), decode(upstream)
	if missing, extra := keyDiff(got, want); len(missing)+len(extra) > 0 {
		t.Errorf("%s JSON keys only upstream has: %v; only berth has: %v", path, missing, extra)
	}
	gm, _ := got["metadata"].(map[string]any)
	wm, _ := want["metadata"].(map[string]any)
	if missing, extra := keyDiff(gm, wm); len(missing)+len(extra) > 0 {
		t.Errorf("%s metadata keys only upstream has: %v; only berth has: %v", path, missing, extra)
	}
	for _, k := range []string{"kind", "apiVersion"} {
		if got[k] != want[k] {
			t.Errorf("%s %s: berth %v, upstream %v", path, k, got[k], want[k])
		}
	}
	if gm["name"] != wm["name"] {
		t.Errorf("%s metadata.name: berth %v, upstream %v", path, gm["name"], wm["name"])
	}
	return got, want
}

// keyDiff returns the keys only want has and those only got has, sorted.
func keyDiff[V any](got, want map[string]V) (missing, extra []string) {
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// families reads the "# TYPE name type" lines of a Prometheus text exposition.
func families(text string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	return out
}

// compareFamilies checks that berth exposes every family upstream does, but for those in
// allowed, with the same type; and that allowed names no family berth has or upstream lacks, so
// the list shrinks as families are added.
func compareFamilies(t *testing.T, berth, upstream string, allowed map[string]string) {
	t.Helper()
	got, want := families(berth), families(upstream)
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		typ, ok := got[name]
		switch {
		case !ok && allowedReason(allowed, name) == "" && !sampledFamilies[name]:
			missing = append(missing, name)
		case ok && typ != want[name]:
			t.Errorf("%s: berth's type %s, upstream's %s", name, typ, want[name])
		}
	}
	if len(missing) > 0 {
		t.Errorf("berth lacks %d of upstream's families (add them, or to the allowlist with a reason):\n%s", len(missing), strings.Join(missing, "\n"))
	}
	for _, name := range slices.Sorted(maps.Keys(allowed)) {
		if _, ok := got[name]; ok {
			t.Errorf("%s is in the allowlist (%s) but berth exposes it now: remove it from the list", name, allowed[name])
		}
	}
}

// labelExceptions are label names upstream kube-scheduler v1.37 puts on a family that berth's
// family of the same name does not have, keyed "family/label", each with the reason.
var labelExceptions = map[string]string{}

// sampleLabels reads the sample lines of a Prometheus text exposition and returns, by family
// (as named by the "# TYPE" lines), the label names its samples carry, but le and quantile: the
// bucket and quantile labels every histogram and summary has.
func sampleLabels(t *testing.T, text string) map[string]map[string]bool {
	t.Helper()
	types := families(text)
	out := map[string]map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, err := parseSample(line)
		if err != nil {
			t.Errorf("sample %q: %v", line, err)
			continue
		}
		fam := name
		if _, ok := types[fam]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && types[base] != "" {
					fam = base
					break
				}
			}
		}
		if out[fam] == nil {
			out[fam] = map[string]bool{}
		}
		for _, l := range labels {
			if l != "le" && l != "quantile" {
				out[fam][l] = true
			}
		}
	}
	return out
}

// parseSample splits one sample line, `name{a="x",b="y"} value`, into its metric name and
// label names.
func parseSample(line string) (name string, labels []string, err error) {
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return "", nil, fmt.Errorf("no value")
	}
	name, rest := line[:i], line[i:]
	if rest[0] != '{' {
		return name, nil, nil
	}
	rest = rest[1:]
	for {
		if strings.HasPrefix(rest, "}") {
			return name, labels, nil
		}
		eq := strings.Index(rest, `="`)
		if eq < 0 {
			return "", nil, fmt.Errorf("label without a value at %q", rest)
		}
		labels = append(labels, strings.TrimSpace(rest[:eq]))
		rest = rest[eq+2:]
		end := 0
		for end < len(rest) && rest[end] != '"' {
			if rest[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(rest) {
			return "", nil, fmt.Errorf("unterminated label value")
		}
		rest = strings.TrimPrefix(rest[end+1:], ",")
	}
}

// compareLabels checks that for every family both expose, berth's samples carry every label
// name upstream's do, but for those in allowed ("family/label"); and that allowed names no pair
// berth has now or upstream lacks, so the list shrinks as labels are added.
func compareLabels(t *testing.T, berth, upstream string, allowed map[string]string) {
	t.Helper()
	got, want := sampleLabels(t, berth), sampleLabels(t, upstream)
	if l := want["scheduler_schedule_attempts_total"]; !l["profile"] || !l["result"] {
		t.Fatalf("upstream's scheduler_schedule_attempts_total parsed with labels %v, not profile and result", l)
	}
	var missing []string
	for _, fam := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[fam]
		if !ok {
			continue // compareFamilies judges absent families
		}
		for _, l := range slices.Sorted(maps.Keys(want[fam])) {
			if !g[l] && allowed[fam+"/"+l] == "" {
				missing = append(missing, fmt.Sprintf("%s/%s (berth: %v)", fam, l, slices.Sorted(maps.Keys(g))))
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("berth lacks %d of upstream's labels (add them, or to labelExceptions with a reason):\n%s", len(missing), strings.Join(missing, "\n"))
	}
	for _, k := range slices.Sorted(maps.Keys(allowed)) {
		fam, l, _ := strings.Cut(k, "/")
		if got[fam][l] || !want[fam][l] {
			t.Errorf("%s is in labelExceptions (%s) but berth has the label now, or upstream has not: remove it from the list", k, allowed[k])
		}
	}
}
