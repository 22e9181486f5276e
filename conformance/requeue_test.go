package conformance

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/testenv"
)

// TestRequeueOnClusterEvent: a pod rejected by each filter is placed soon after the cluster
// change that lets it fit (upstream's run shows the change does requeue it there too).
func TestRequeueOnClusterEvent(t *testing.T) {
	const limit = 3 * time.Second
	zero := int64(0)
	bindTo := func(e *queueEnv, name, node string, edit func(*v1.Pod)) {
		e.t.Helper()
		p := newPod(e.ns, name, map[string]string{})
		p.Spec.NodeName = e.ns + "-" + node
		p.Spec.Containers = []v1.Container{container("c", nil)}
		if edit != nil {
			edit(p)
		}
		if _, err := admin.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
			e.t.Fatalf("creating bound pod %s: %v", name, err)
		}
	}
	del := func(e *queueEnv, name string) {
		e.t.Helper()
		if err := admin.CoreV1().Pods(e.ns).Delete(e.ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			e.t.Fatal(err)
		}
	}
	patchNode := func(e *queueEnv, name, patch string, sub ...string) {
		e.t.Helper()
		_, err := admin.CoreV1().Nodes().Patch(e.ctx, e.ns+"-"+name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, sub...)
		if err != nil {
			e.t.Fatalf("patching node %s: %v", name, err)
		}
	}
	webLabel := func(p *v1.Pod) { p.Labels[labelApp] = "web" }
	noSched := []v1.Taint{{Key: taintDedicated, Value: "a", Effect: v1.TaintEffectNoSchedule}}
	tests := []struct {
		name   string
		setUp  func(e *queueEnv) func(*v1.Pod) // creates nodes and bound pods; returns the pending pod's edit
		change func(e *queueEnv)
		// berthOnly marks a change upstream does not react to: its InterPodAffinity registers no
		// namespace event, so the pod waits for the 5-minute flush of unschedulable pods.
		berthOnly bool
	}{
		{name: "node uncordoned",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.Unschedulable = true })
				return nil
			},
			change: func(e *queueEnv) { patchNode(e, "n", `{"spec":{"unschedulable":false}}`) }},
		{name: "taint removed",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.Taints = noSched })
				return nil
			},
			change: func(e *queueEnv) { patchNode(e, "n", `{"spec":{"taints":null}}`) }},
		{name: "node label added",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", nil)
				return func(p *v1.Pod) { p.Spec.NodeSelector[labelDisk] = "ssd" }
			},
			change: func(e *queueEnv) { patchNode(e, "n", `{"metadata":{"labels":{"`+labelDisk+`":"ssd"}}}`) }},
		{name: "node allocatable grows",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.CPU = "1" })
				return func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests = requests("cpu", "2") }
			},
			change: func(e *queueEnv) {
				patchNode(e, "n", `{"status":{"allocatable":{"cpu":"4"},"capacity":{"cpu":"4"}}}`, "status")
			}},
		{name: "host port freed",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", nil)
				bindTo(e, "holder", "n", withPorts(port(9000, "")))
				return withPorts(port(9000, ""))
			},
			change: func(e *queueEnv) { del(e, "holder") }},
		{name: "cpu freed",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.CPU = "1" })
				bindTo(e, "holder", "n", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests = requests("cpu", "900m") })
				return func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests = requests("cpu", "500m") }
			},
			change: func(e *queueEnv) { del(e, "holder") }},
		{name: "affinity partner added",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", nil)
				return podTermOpt(false, labelHostname, map[string]string{labelApp: "db"})
			},
			change: func(e *queueEnv) { bindTo(e, "partner", "n", func(p *v1.Pod) { p.Labels[labelApp] = "db" }) }},
		{name: "anti-affinity partner deleted",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", nil)
				bindTo(e, "partner", "n", webLabel)
				return podTermOpt(true, labelHostname, map[string]string{labelApp: "web"})
			},
			change: func(e *queueEnv) { del(e, "partner") }},
		{name: "namespace labelled into a namespaceSelector",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", nil)
				bindTo(e, "partner", "n", func(p *v1.Pod) { p.Labels[labelApp] = "db" })
				return podTermOpt(false, labelHostname, map[string]string{labelApp: "db"}, func(t *v1.PodAffinityTerm) {
					t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{labelTeam: "late"}}
				})
			},
			change: func(e *queueEnv) {
				patch := []byte(`{"metadata":{"labels":{"` + labelTeam + `":"late"}}}`)
				if _, err := admin.CoreV1().Namespaces().Patch(e.ctx, e.ns, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
					e.t.Fatal(err)
				}
			},
			berthOnly: true},
		{name: "spread minimum rises",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("a", func(s *testenv.NodeSpec) { s.Labels[labelZone] = "z1" })
				e.node("b", func(s *testenv.NodeSpec) { s.Labels[labelZone] = "z2"; s.Taints = noSched })
				bindTo(e, "web1", "a", webLabel)
				bindTo(e, "web2", "a", webLabel)
				return func(p *v1.Pod) { webLabel(p); spread(labelZone, 1, appSel("web"))(p) }
			},
			change: func(e *queueEnv) { bindTo(e, "web3", "b", webLabel); bindTo(e, "web4", "b", webLabel) }},
		{name: "pod updated with a toleration",
			setUp: func(e *queueEnv) func(*v1.Pod) {
				e.node("n", func(s *testenv.NodeSpec) { s.Taints = noSched })
				return nil
			},
			change: func(e *queueEnv) {
				p, err := admin.CoreV1().Pods(e.ns).Get(e.ctx, "pending", metav1.GetOptions{})
				if err != nil {
					e.t.Fatal(err)
				}
				p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: taintDedicated, Operator: v1.TolerationOpExists})
				if _, err := admin.CoreV1().Pods(e.ns).Update(e.ctx, p, metav1.UpdateOptions{}); err != nil {
					e.t.Fatal(err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachScheduler(t, func(t *testing.T, sched string) {
				if tc.berthOnly && sched != berthName {
					t.Skip("upstream v1.37 does not requeue on this change")
				}
				e := newQueueEnv(t, "requeue")
				edit := tc.setUp(e)
				e.pod("pending", sched, edit)
				e.wait("pending", 10*time.Second, "marked unschedulable", markedUnschedulable)
				start := time.Now()
				tc.change(e)
				e.wait("pending", 20*time.Second, "bound after the change", bound)
				took := time.Since(start)
				t.Logf("%s placed the pod %s after the change", sched, took.Round(time.Millisecond))
				if sched == berthName && took > limit {
					t.Errorf("berth took %s to place the pod after the change, want at most %s", took, limit)
				}
			})
		})
	}
}
