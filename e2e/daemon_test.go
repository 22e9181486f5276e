package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

func TestBadFlagExitsOne(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--no-such-flag"}, "--no-such-flag"},
		{"bad value", []string{"--kube-api-qps", "abc"}, "--kube-api-qps"},
		{"inconsistent election timing", []string{"--leader-elect-renew-deadline", "20s"}, "--leader-elect-renew-deadline"},
		{"unsupported lock", []string{"--leader-elect-resource-lock", "endpoints"}, "--leader-elect-resource-lock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := testenv.StartProcess(berthPath, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			code, err := p.ExitCode(10 * time.Second)
			if err != nil {
				p.Kill()
				t.Fatal(err)
			}
			out := strings.TrimSpace(p.Output())
			if code != 1 || !strings.Contains(out, tc.want) || strings.Count(out, "\n") != 0 {
				t.Errorf("exit %d, output %q: want exit 1 and one line naming %s", code, out, tc.want)
			}
		})
	}
}

func TestSIGTERMExitsCleanlyWithinTwoSeconds(t *testing.T) {
	d := startBerth(t, "--leader-elect=false")
	start := time.Now()
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := d.ExitCode(2 * time.Second)
	if err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, d.Output())
	}
	t.Logf("exited %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// TestSecureEndpoint checks health and metrics access as an operator's monitoring sees it, and
// that berth answers exactly as upstream kube-scheduler does for each kind of caller.
func TestSecureEndpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	ns, err := testenv.CreateNamespace(ctx, admin, "metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A ClusterRole allowing GET /metrics, bound to one ServiceAccount and one certificate user.
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics", "/livez/*", "/readyz/*", "/healthz/*"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ns + "-metrics-reader"},
		Subjects: []rbacv1.Subject{
			{Kind: "ServiceAccount", Name: "allowed", Namespace: ns},
			{Kind: "User", Name: "cert-reader", APIGroup: rbacv1.GroupName},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	allowedToken, deniedToken := token("allowed"), token("denied")
	readerCert, err := cp.TLSClientCert("cert-reader")
	if err != nil {
		t.Fatal(err)
	}
	strangerCA, err := testenv.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	kp, err := strangerCA.ClientCert("cert-reader")
	if err != nil {
		t.Fatal(err)
	}
	strangerCert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}

	type caller struct {
		token string
		cert  *tls.Certificate
	}
	get := func(addr, path string, c caller) int {
		tc := &tls.Config{InsecureSkipVerify: true}
		if c.cert != nil {
			tc.Certificates = []tls.Certificate{*c.cert}
		}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	tests := []struct {
		name   string
		path   string
		caller caller
		want   int
	}{
		{"healthz without credentials", "/healthz", caller{}, 200},
		{"readyz without credentials", "/readyz", caller{}, 200},
		// A single check is not on the always-allowed list: it needs a caller allowed its path.
		{"livez/ping without credentials", "/livez/ping", caller{}, 403},
		{"livez/ping", "/livez/ping", caller{token: allowedToken}, 200},
		{"healthz/ping (no leader election: no other check)", "/healthz/ping", caller{token: allowedToken}, 200},
		{"readyz/shutdown", "/readyz/shutdown", caller{token: allowedToken}, 200},
		{"readyz/sched-handler-sync", "/readyz/sched-handler-sync", caller{token: allowedToken}, 200},
		{"livez has no sched-handler-sync", "/livez/sched-handler-sync", caller{token: allowedToken}, 404},
		{"metrics without credentials", "/metrics", caller{}, 403},
		{"metrics with a token of a service account without rights", "/metrics", caller{token: deniedToken}, 403},
		{"metrics with a token bound to a role allowing it", "/metrics", caller{token: allowedToken}, 200},
		{"metrics with an invalid token", "/metrics", caller{token: "not-a-token"}, 401},
		{"metrics with a client cert from --client-ca-file", "/metrics", caller{cert: &readerCert}, 200},
		{"metrics with a client cert from an unknown CA", "/metrics", caller{cert: &strangerCert}, 401},
	}
	berth := startBerth(t, "--leader-elect=false")
	upstream := startScheduler(t, cp.Binaries.Scheduler, "--leader-elect=false")
	// Both report ready once their informers synced; compare only then.
	for _, d := range []*daemon{berth, upstream} {
		deadline := time.Now().Add(30 * time.Second)
		for get(d.addr, "/readyz", caller{}) != 200 {
			if time.Now().After(deadline) {
				t.Fatalf("%s never became ready", d.Cmd.Path)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := get(berth.addr, tc.path, tc.caller)
			ref := get(upstream.addr, tc.path, tc.caller)
			if ref != tc.want {
				t.Errorf("upstream kube-scheduler answered %d, the test expects %d: fix the test", ref, tc.want)
			}
			if got != ref {
				t.Errorf("berth answered %d, upstream kube-scheduler %d", got, ref)
			}
		})
	}
}
