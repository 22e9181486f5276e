package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/scheduler/explain"
	"github.com/berth-scheduler/berth/testenv"
)

// TestExplain checks /debug/explain and /debug/pending on the real control plane: a pod that
// fits nowhere for mixed reasons (with the hints that would make it fit), a bound pod (its
// decision recomputed), a gated pod, a pod of another scheduler and a missing pod (404), a
// caller without the RBAC (403), one with it (200), and a standby (503 naming the leader).
// With -v it logs the answers, which the README quotes.
func TestExplain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	ns, err := testenv.CreateNamespace(ctx, admin, "explain", nil)
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]string{"explain-test": ns} // keeps the pods off other tests' nodes
	for _, s := range []testenv.NodeSpec{
		{Name: ns + "-n0", CPU: "2", Memory: "4Gi", Labels: mine},
		{Name: ns + "-n1", CPU: "8", Memory: "16Gi", Labels: mine, Taints: []v1.Taint{{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}}},
		{Name: ns + "-n2", CPU: "8", Memory: "16Gi", Labels: mine, Unschedulable: true},
	} {
		if _, err := testenv.CreateNode(ctx, admin, s); err != nil {
			t.Fatal(err)
		}
		// Nodes are cluster-wide: a tainted or cordoned one left behind would reject, and so
		// requeue on node events, other tests' pods.
		t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(context.Background(), s.Name, metav1.DeleteOptions{}) })
	}
	leader := startBerth(t)
	create := func(p *v1.Pod) {
		t.Helper()
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	filler := testenv.Pod(ns, "filler", "1800m", "1Gi")
	filler.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": ns + "-n0"}
	create(filler)
	waitPod(ctx, t, admin, ns, "filler", func(p *v1.Pod) bool { return p.Spec.NodeName != "" })
	stuck := testenv.Pod(ns, "stuck", "500m", "256Mi")
	stuck.Spec.NodeSelector = mine
	create(stuck)
	waitPod(ctx, t, admin, ns, "stuck", func(p *v1.Pod) bool { return scheduledFalse(p) != nil })
	gated := testenv.Pod(ns, "gated", "100m", "64Mi")
	gated.Spec.NodeSelector = mine
	gated.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "example.com/wait"}}
	create(gated)
	theirs := testenv.Pod(ns, "theirs", "100m", "64Mi")
	theirs.Spec.SchedulerName = "other-scheduler"
	create(theirs)

	// Unschedulable, mixed reasons: n0 lacks 300m cpu, n1 has a taint, n2 is cordoned.
	var rep explain.Report
	code, body := getDebug(t, leader.addr, "/debug/explain/"+ns+"/stuck", adminCert(t), "")
	if code != http.StatusOK {
		t.Fatalf("explain stuck: %d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Decision.Node != "" || rep.Queue == nil || (rep.Queue.State != "unschedulable" && rep.Queue.State != "backoff") || rep.Queue.Attempts < 1 ||
		!strings.Contains(rep.Queue.LastMessage, "Insufficient cpu") {
		t.Errorf("stuck: decision %q, queue %+v", rep.Decision.Node, rep.Queue)
	}
	wantHints := []string{
		"1 node lacks only 300m cpu (" + ns + "-n0)",
		"1 node would fit if the taint dedicated=gpu:NoSchedule were tolerated (" + ns + "-n1)",
		"1 node would fit if it were uncordoned (" + ns + "-n2)",
	}
	// Then, when other tests' nodes are up, a hint that they lack the label explain-test.
	if len(rep.Summary.Hints) < len(wantHints) || !slices.Equal(rep.Summary.Hints[:len(wantHints)], wantHints) {
		t.Errorf("hints = %q, want them to begin with %q", rep.Summary.Hints, wantHints)
	}
	_, text := getDebug(t, leader.addr, "/debug/explain/"+ns+"/stuck?nodes="+ns+"-n0,"+ns+"-n1,"+ns+"-n2", adminCert(t), "text/plain")
	for _, want := range []string{"attempt(s)", "NodeResourcesFit", "cpu: requests 500m, free 200m", "TaintToleration", "NodeUnschedulable"} {
		if !strings.Contains(text, want) {
			t.Errorf("text answer lacks %q:\n%s", want, text)
		}
	}
	t.Logf("GET /debug/explain/%s/stuck?nodes=... (text/plain):\n%s", ns, text)
	_, body = getDebug(t, leader.addr, "/debug/explain/"+ns+"/stuck?nodes="+ns+"-n0&pretty=true", adminCert(t), "")
	t.Logf("GET /debug/explain/%s/stuck?nodes=%s-n0&pretty=true (JSON):\n%s", ns, ns, body)

	// Bound: why there, recomputed without the pod.
	code, body = getDebug(t, leader.addr, "/debug/explain/"+ns+"/filler", adminCert(t), "")
	rep = explain.Report{}
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil {
		t.Fatalf("explain filler: %d %v %s", code, err, body)
	}
	if !rep.Recomputed || rep.BoundTo != ns+"-n0" || rep.Decision.Node != ns+"-n0" || rep.Queue != nil {
		t.Errorf("filler: recomputed %v, bound to %q, decision %q, queue %+v", rep.Recomputed, rep.BoundTo, rep.Decision.Node, rep.Queue)
	}
	_, text = getDebug(t, leader.addr, "/debug/explain/"+ns+"/filler?nodes="+ns+"-n0", adminCert(t), "text/plain")
	t.Logf("GET /debug/explain/%s/filler?nodes=%s-n0 (text/plain):\n%s", ns, ns, text)

	// Gated: never tried; the answer says so.
	code, body = getDebug(t, leader.addr, "/debug/explain/"+ns+"/gated", adminCert(t), "")
	rep = explain.Report{}
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil {
		t.Fatalf("explain gated: %d %v %s", code, err, body)
	}
	if rep.Queue == nil || rep.Queue.State != "gated" || rep.Queue.Attempts != 0 || len(rep.Gates) != 1 {
		t.Errorf("gated: queue %+v, gates %v", rep.Queue, rep.Gates)
	}

	_, pending := getDebug(t, leader.addr, "/debug/pending", adminCert(t), "text/plain")
	if !strings.Contains(pending, "stuck") || !strings.Contains(pending, "gated") || strings.Contains(pending, "filler") {
		t.Errorf("/debug/pending:\n%s", pending)
	}
	t.Logf("GET /debug/pending (text/plain):\n%s", pending)

	for _, tc := range []struct {
		name, path string
		cert       *tls.Certificate
		wantCode   int
		wantBody   string
	}{
		{"another scheduler's pod", "/debug/explain/" + ns + "/theirs", adminCert(t), 404, `schedulerName \"other-scheduler\"`},
		{"missing pod", "/debug/explain/" + ns + "/nope", adminCert(t), 404, "pod not found"},
		{"no credentials", "/debug/pending", nil, 403, ""},
		{"a user without the role", "/debug/explain/" + ns + "/stuck", userCert(t, "nobody"), 403, ""},
		{"a user with the ClusterRole", "/debug/explain/" + ns + "/stuck", explainerCert(ctx, t, admin, ns), 200, `"name":"stuck"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := getDebug(t, leader.addr, tc.path, tc.cert, "")
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Errorf("GET %s = %d %s, want %d with %s", tc.path, code, body, tc.wantCode, tc.wantBody)
			}
			t.Logf("GET %s: %d %s", tc.path, code, body)
		})
	}

	// A standby names the leader.
	holder := leaseHolder(ctx, t, admin)
	standby := startBerth(t)
	code, body = getDebug(t, standby.addr, "/debug/explain/"+ns+"/stuck", adminCert(t), "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, fmt.Sprintf("%q", holder)) {
		t.Errorf("standby: %d %s, want 503 naming %q", code, body, holder)
	}
	t.Logf("GET /debug/explain on a standby:\n%s", body)
}

// leaseHolder waits until berth holds the scheduler Lease (an earlier test's killed berth may
// hold it until it expires) and returns the holder.
func leaseHolder(ctx context.Context, t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	for {
		l, err := c.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
		if err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
			return *l.Spec.HolderIdentity
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no Lease holder: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func adminCert(t *testing.T) *tls.Certificate { return userCert(t, "admin", "system:masters") }

func userCert(t *testing.T, user string, groups ...string) *tls.Certificate {
	t.Helper()
	cert, err := cp.TLSClientCert(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}

// explainerCert returns the certificate of a user bound to the ClusterRole the README shows.
func explainerCert(ctx context.Context, t *testing.T, c kubernetes.Interface, ns string) *tls.Certificate {
	t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-scheduler-explain"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/debug/explain/*", "/debug/pending"}, Verbs: []string{"get"}}},
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: ns + "-explainer", APIGroup: rbacv1.GroupName}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return userCert(t, ns+"-explainer")
}

// getDebug GETs path on berth at addr with cert (nil: none) and Accept accept (when not empty),
// and returns the status and body. It retries, for up to 45 seconds, while a standby finds the
// Lease without a holder.
func getDebug(t *testing.T, addr, path string, cert *tls.Certificate, accept string) (int, string) {
	t.Helper()
	tc := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	deadline := time.Now().Add(45 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "no holder") || time.Now().After(deadline) {
			return resp.StatusCode, string(body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
