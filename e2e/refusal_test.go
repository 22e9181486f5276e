package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// TestRefusesWhatItCannotJudge creates, next to berth, pods that plugins reject: one requesting an
// extended resource a DeviceClass provides (refused before berth allocated such resources) on
// nodes that neither advertise it nor publish devices stays pending with DynamicResources'
// reason, scheduler_unschedulable_pods counts it by plugin, and a plain pod in the same namespace
// still binds at once. Pods needing node-declared features, refused before, now go only to the
// node that declares them. Pods with volumes are no longer refused: TestVolumes covers them.
func TestRefusesWhatItCannotJudge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	ns, err := testenv.CreateNamespace(ctx, admin, "refuse", nil)
	if err != nil {
		t.Fatal(err)
	}
	nodes := make([]string, 3)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("%s-n%d", ns, i)
		n := testenv.Node(testenv.NodeSpec{Name: nodes[i], CPU: "4", Memory: "8Gi", Labels: map[string]string{"refuse": ns}})
		if i == 0 {
			n.Status.DeclaredFeatures = []string{"RestartAllContainersOnContainerExits"}
		}
		if _, err := admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create := func(obj any) {
		t.Helper()
		var err error
		switch o := obj.(type) {
		case *v1.Pod:
			_, err = admin.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{})
		case *resourcev1.DeviceClass:
			_, err = admin.ResourceV1().DeviceClasses().Create(ctx, o, metav1.CreateOptions{})
			t.Cleanup(func() {
				_ = admin.ResourceV1().DeviceClasses().Delete(context.Background(), o.Name, metav1.DeleteOptions{})
			})
		default:
			t.Fatalf("create: unexpected %T", obj)
		}
		if err != nil {
			t.Fatalf("creating %T: %v", obj, err)
		}
	}
	// 1. A pod requesting an extended resource that a DeviceClass provides.
	resourceName := ns + ".example.com/gpu"
	create(&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: ns + "-gpu"},
		Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: &resourceName}})
	extended := testenv.Pod(ns, "extended", "100m", "64Mi")
	extended.Spec.Containers[0].Resources.Requests[v1.ResourceName(resourceName)] = resource.MustParse("1")
	extended.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceName(resourceName): resource.MustParse("1")}
	// Other tests' nodes share the cluster; some may be full, and a full node is one preemption
	// could help. Keeping the pod to this test's nodes makes every other node one it cannot help.
	extended.Spec.NodeSelector = map[string]string{"refuse": ns}
	create(extended)
	// 2. Pods needing a feature only n0 declares: NodeDeclaredFeatures judges them (no refusal).
	// feature-0 goes to n0; feature-1, kept off n0 by its node selector, stays pending.
	for i := range 2 {
		p := testenv.Pod(ns, fmt.Sprintf("feature-%d", i), "100m", "64Mi")
		never := v1.ContainerRestartPolicyNever
		p.Spec.Containers[0].RestartPolicy = &never
		p.Spec.Containers[0].RestartPolicyRules = []v1.ContainerRestartRule{{Action: v1.ContainerRestartRuleActionRestartAllContainers,
			ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: v1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}}}}
		if i == 1 {
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": nodes[1]}
		}
		create(p)
	}

	d := startBerth(t, "--leader-elect=false")

	// No node has the devices: DynamicResources' reason, then what preemption says of it.
	if c := scheduledFalse(waitPod(ctx, t, admin, ns, "extended", func(p *v1.Pod) bool { return scheduledFalse(p) != nil })); c.Reason != "Unschedulable" ||
		!strings.HasPrefix(c.Message, "0/") || !strings.Contains(c.Message, " cannot allocate all claims") ||
		!strings.HasSuffix(c.Message, " Preemption is not helpful for scheduling.") {
		t.Errorf("extended: PodScheduled=False %s %q, want Unschedulable, cannot allocate all claims, preemption not helpful", c.Reason, c.Message)
	}

	if p := waitPod(ctx, t, admin, ns, "feature-0", func(p *v1.Pod) bool { return p.Spec.NodeName != "" }); p.Spec.NodeName != nodes[0] {
		t.Errorf("feature-0 bound to %s, the only node declaring its feature is %s", p.Spec.NodeName, nodes[0])
	}
	f1 := scheduledFalse(waitPod(ctx, t, admin, ns, "feature-1", func(p *v1.Pod) bool { return scheduledFalse(p) != nil }))
	if !strings.Contains(f1.Message, " 1 node(s) didn't match Pod's required features") {
		t.Errorf("feature-1: message %q, want n1 rejected for its required features", f1.Message)
	}

	plain := testenv.Pod(ns, "plain", "100m", "64Mi")
	plain.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": nodes[1]}
	start := time.Now()
	create(plain)
	waitPod(ctx, t, admin, ns, "plain", func(p *v1.Pod) bool { return p.Spec.NodeName != "" })
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the plain pod took %s to bind", took)
	}

	if p, err := admin.CoreV1().Pods(ns).Get(ctx, "extended", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else if p.Spec.NodeName != "" {
		t.Errorf("extended was bound to %s", p.Spec.NodeName)
	}
	want := map[string]float64{"DynamicResources": 1, "NodeDeclaredFeatures": 1}
	got := unschedulableByPlugin(t, d.addr)
	for plugin, n := range want {
		if got[plugin] < n {
			t.Errorf("scheduler_unschedulable_pods{plugin=%q} = %v, want at least %v (all: %v)", plugin, got[plugin], n, got)
		}
	}
}

// scheduledFalse returns the pod's PodScheduled condition when it is False, else nil.
func scheduledFalse(p *v1.Pod) *v1.PodCondition {
	if c := podCondition(p, v1.PodScheduled); c != nil && c.Status == v1.ConditionFalse {
		return c
	}
	return nil
}

// unschedulableByPlugin scrapes berth's /metrics and sums scheduler_unschedulable_pods by plugin
// (other tests' pods of the default profile may add to the counts).
func unschedulableByPlugin(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(scrapeMetrics(t, addr)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "scheduler_unschedulable_pods{") {
			continue
		}
		_, rest, _ := strings.Cut(line, `plugin="`)
		plugin, _, _ := strings.Cut(rest, `"`)
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[plugin] += v
	}
	return out
}

// scrapeMetrics returns the text of berth's /metrics at addr, read as the admin.
func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	return scrape(t, addr, "/metrics")
}

// scrape returns the text berth serves at path on addr, read as the admin.
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
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
