package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// TestDaemonSchedules runs the binary with its defaults (leader election on) and checks the
// operator-visible results: placements, the Scheduled event, and for a pod that fits nowhere the
// PodScheduled=False condition with kube-scheduler's message shape.
func TestDaemonSchedules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	ns, err := testenv.CreateNamespace(ctx, admin, "sched", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := testenv.CreateNode(ctx, admin, testenv.NodeSpec{Name: fmt.Sprintf("%s-n%d", ns, i), CPU: "2", Memory: "4Gi"}); err != nil {
			t.Fatal(err)
		}
	}
	berth := startBerth(t)
	var names []string
	for i := range 3 {
		p := testenv.Pod(ns, fmt.Sprintf("fits-%d", i), "500m", "256Mi")
		p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": fmt.Sprintf("%s-n%d", ns, i%2)}
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name)
	}
	big := testenv.Pod(ns, "too-big", "64", "1Gi")
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, big, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, name := range names {
		pod := waitPod(ctx, t, admin, ns, name, func(p *v1.Pod) bool { return p.Spec.NodeName != "" })
		if want := pod.Spec.NodeSelector["kubernetes.io/hostname"]; pod.Spec.NodeName != want {
			t.Errorf("%s bound to %s, its node selector asks for %s", name, pod.Spec.NodeName, want)
		}
	}
	pod := waitPod(ctx, t, admin, ns, "too-big", func(p *v1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
				return true
			}
		}
		return false
	})
	var msg string
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled {
			if c.Reason != "Unschedulable" {
				t.Errorf("condition reason %q, want Unschedulable", c.Reason)
			}
			msg = c.Message
		}
	}
	if want := "0/"; !strings.HasPrefix(msg, want) || !strings.Contains(msg, "Insufficient cpu") {
		t.Errorf("condition message %q, want kube-scheduler's shape with Insufficient cpu", msg)
	}

	// Events are written off the binding path: wait for them, up to a few seconds.
	var scheduled, failed int
	for deadline := time.Now().Add(10 * time.Second); ; {
		scheduled, failed = countEvents(ctx, t, admin, ns)
		if (scheduled == len(names) && failed > 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if scheduled != len(names) || failed == 0 {
		t.Errorf("%d Scheduled and %d FailedScheduling events, want %d and at least 1", scheduled, failed, len(names))
	}

	// kube-scheduler's /metrics/resources: each pod's requests, bound or not.
	res := scrape(t, berth.addr, "/metrics/resources")
	for _, want := range []string{
		fmt.Sprintf(`kube_pod_resource_request{namespace=%q,node=%q,pod="fits-0",priority="0",resource="cpu",scheduler="default-scheduler",unit="cores"} 0.5`, ns, ns+"-n0"),
		fmt.Sprintf(`kube_pod_resource_request{namespace=%q,node="",pod="too-big",priority="0",resource="memory",scheduler="default-scheduler",unit="bytes"} 1073741824`, ns),
	} {
		if !strings.Contains(res, want) {
			t.Errorf("/metrics/resources lacks %s", want)
		}
	}

	// kube-scheduler's framework metrics: each extension point of the 3 bound pods' cycles and
	// of the big pod's, and the plugins' evaluations (every filter ran on every node for the
	// pods that fit: 2 nodes, and the node selector's NodeAffinity rejects one of them).
	text := scrapeMetrics(t, berth.addr)
	for _, m := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"scheduler_framework_extension_point_duration_seconds_count", []string{`extension_point="PreFilter"`, `profile="default-scheduler"`, `status="Success"`}, 3},
		{"scheduler_framework_extension_point_duration_seconds_count", []string{`extension_point="Filter"`, `status="Success"`}, 4},
		{"scheduler_framework_extension_point_duration_seconds_count", []string{`extension_point="Bind"`, `status="Success"`}, 3},
		{"scheduler_framework_extension_point_duration_seconds_count", []string{`extension_point="Reserve"`}, 3},
		{"scheduler_framework_extension_point_duration_seconds_count", []string{`extension_point="PreBind"`}, 3},
		{"scheduler_framework_extension_point_duration_seconds_count", []string{`extension_point="PostFilter"`, `status="Unschedulable"`}, 1},
		{"scheduler_plugin_evaluation_total", []string{`extension_point="PreFilter"`, `plugin="NodeResourcesFit"`}, 4},
		{"scheduler_plugin_evaluation_total", []string{`extension_point="Filter"`, `plugin="NodeAffinity"`}, 6},
		{"scheduler_plugin_evaluation_total", []string{`extension_point="Filter"`, `plugin="NodeResourcesFit"`}, 5},
	} {
		if v, _, err := testenv.MetricSum(text, m.name, m.labels...); err != nil || v < m.min {
			t.Errorf("%s%v = %v (%v), want at least %v", m.name, m.labels, v, err, m.min)
		}
	}
}

// waitPod polls the pod until cond holds or ctx ends.
func waitPod(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name string, cond func(*v1.Pod) bool) *v1.Pod {
	t.Helper()
	var last v1.PodStatus // of the last pod read: a Get cut short by ctx returns an empty pod
	for {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			if cond(p) {
				return p
			}
			last = p.Status
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod %s/%s: condition not reached: last %+v, err %v", ns, name, last, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestNodeThatCannotHelpDoesNotRetry checks berth's queueing hints for node events against the
// real informers: a pod that fits nowhere for lack of cpu is not tried again when nodes too small
// for it are added (kube-scheduler's NodeResourcesFit hint), and is tried and bound when a node
// large enough arrives.
func TestNodeThatCannotHelpDoesNotRetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	ns, err := testenv.CreateNamespace(ctx, admin, "hint", nil)
	if err != nil {
		t.Fatal(err)
	}
	addNode := func(name, cpu string) {
		t.Helper()
		if _, err := testenv.CreateNode(ctx, admin, testenv.NodeSpec{Name: name, CPU: cpu, Memory: "4Gi"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	}
	// A node from the start, so that NodeResourcesFit rejects the pod (with no node at all no
	// plugin rejects it, and any node event may help, in kube-scheduler too).
	addNode(ns+"-small", "2")
	startBerth(t)
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, testenv.Pod(ns, "huge", "900", "1Gi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	attempts := func() int {
		t.Helper()
		evs, err := admin.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs.Items {
			if e.Reason != "FailedScheduling" || e.Regarding.Name != "huge" {
				continue
			}
			n++
			if e.Series != nil {
				n += int(e.Series.Count) - 1
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for attempts() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no FailedScheduling event for the pod within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Only NodeResourcesFit may reject the pod, or other plugins' hints rightly requeue it on
	// node adds: nodes other tests left behind (tainted, cordoned) would spoil the check.
	rejected := waitPod(ctx, t, admin, ns, "huge", func(p *v1.Pod) bool { return scheduledFalse(p) != nil })
	filters, _, _ := strings.Cut(scheduledFalse(rejected).Message, " preemption:")
	if !strings.HasSuffix(filters, " Insufficient cpu.") || strings.Contains(filters, ",") {
		t.Fatalf("the pod is rejected for more than cpu (%q): nodes of other tests are still there", filters)
	}
	before := attempts()
	for i := range 2 {
		addNode(fmt.Sprintf("%s-small-%d", ns, i), "2")
	}
	time.Sleep(3 * time.Second) // well past the pod's 1s backoff, had the node adds requeued it
	if after := attempts(); after != before {
		t.Errorf("adding two nodes too small for the pod made %d more attempts, want none", after-before)
	}
	big := fmt.Sprintf("%s-big", ns)
	addNode(big, "1000")
	pod := waitPod(ctx, t, admin, ns, "huge", func(p *v1.Pod) bool { return p.Spec.NodeName != "" })
	if pod.Spec.NodeName != big {
		t.Errorf("pod bound to %s, want %s", pod.Spec.NodeName, big)
	}
}

// countEvents counts the Scheduled and FailedScheduling events in ns, checking their shape.
func countEvents(ctx context.Context, t *testing.T, admin kubernetes.Interface, ns string) (scheduled, failed int) {
	t.Helper()
	evs, err := admin.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		switch e.Reason {
		case "Scheduled":
			if !strings.HasPrefix(e.Note, "Successfully assigned "+ns+"/") || e.ReportingController != "default-scheduler" {
				t.Errorf("Scheduled event note %q by %q", e.Note, e.ReportingController)
			}
			scheduled++
		case "FailedScheduling":
			if e.Regarding.Name != "too-big" || e.Type != v1.EventTypeWarning {
				t.Errorf("FailedScheduling event about %s of type %s", e.Regarding.Name, e.Type)
			}
			failed++
		}
	}
	return scheduled, failed
}
