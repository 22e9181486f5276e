package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// groupLabel keeps each preemption case on its own nodes: the package's other tests leave theirs.
const groupLabel = "e2e.berth.test/group"

// preemptionCase is one case's namespace and nodes, with helpers to fill them.
type preemptionCase struct {
	t     *testing.T
	ctx   context.Context
	admin kubernetes.Interface
	ns    string
}

func newPreemptionCase(ctx context.Context, t *testing.T, admin kubernetes.Interface, nodes int, cpu string) *preemptionCase {
	t.Helper()
	ns, err := testenv.CreateNamespace(ctx, admin, "preempt", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		if _, err := testenv.CreateNode(ctx, admin, testenv.NodeSpec{Name: fmt.Sprintf("%s-n%d", ns, i), CPU: cpu, Memory: "8Gi",
			Labels: map[string]string{groupLabel: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	return &preemptionCase{t: t, ctx: ctx, admin: admin, ns: ns}
}

func (c *preemptionCase) node(i int) string { return fmt.Sprintf("%s-n%d", c.ns, i) }

// pod creates a pod of the priority class and cpu request: bound to node when node is not
// empty (as if it were running there), else pending on the case's nodes.
func (c *preemptionCase) pod(name, class, cpu, node string, edit ...func(*v1.Pod)) *v1.Pod {
	c.t.Helper()
	p := testenv.Pod(c.ns, name, cpu, "64Mi")
	p.Spec.PriorityClassName = class
	if node != "" {
		p.Spec.NodeName = node
	} else {
		p.Spec.NodeSelector = map[string]string{groupLabel: c.ns}
	}
	for _, e := range edit {
		e(p)
	}
	created, err := c.admin.CoreV1().Pods(c.ns).Create(c.ctx, p, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("creating pod %s: %v", name, err)
	}
	return created
}

func (c *preemptionCase) wait(name string, cond func(*v1.Pod) bool) *v1.Pod {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	return waitPod(ctx, c.t, c.admin, c.ns, name, cond)
}

func (c *preemptionCase) boundTo(name, node string) {
	c.t.Helper()
	p := c.wait(name, func(p *v1.Pod) bool { return p.Spec.NodeName != "" })
	if node != "" && p.Spec.NodeName != node {
		c.t.Errorf("%s bound to %s, want %s", name, p.Spec.NodeName, node)
	}
}

func (c *preemptionCase) gone(name string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := c.admin.CoreV1().Pods(c.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("pod %s still exists (err %v)", name, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *preemptionCase) alive(name string) {
	c.t.Helper()
	p, err := c.admin.CoreV1().Pods(c.ns).Get(c.ctx, name, metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		c.t.Errorf("pod %s was preempted (err %v), want it left alone", name, err)
	}
}

// forceDelete removes a terminating pod at once, as its kubelet would once it stopped.
func (c *preemptionCase) forceDelete(name string) {
	c.t.Helper()
	zero := int64(0)
	if err := c.admin.CoreV1().Pods(c.ns).Delete(c.ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
		c.t.Fatal(err)
	}
}

// events returns the notes of the events with reason about the pod called name.
func (c *preemptionCase) events(name, reason string) []string {
	c.t.Helper()
	list, err := c.admin.EventsV1().Events(c.ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

func gracePeriod(s int64) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.TerminationGracePeriodSeconds = &s }
}

// TestPreemption runs berth's preemption on the real control plane, in the cases upstream's own
// e2e specs (test/e2e/scheduling/preemption.go) and the issue name.
func TestPreemption(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	never := v1.PreemptNever
	for _, pc := range []schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "e2e-low"}, Value: 10},
		{ObjectMeta: metav1.ObjectMeta{Name: "e2e-mid"}, Value: 100},
		{ObjectMeta: metav1.ObjectMeta{Name: "e2e-high"}, Value: 1000},
		{ObjectMeta: metav1.ObjectMeta{Name: "e2e-polite"}, Value: 2000, PreemptionPolicy: &never},
	} {
		_, err := admin.SchedulingV1().PriorityClasses().Create(ctx, &pc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	d := startBerth(t)

	t.Run("a critical pod evicts two low-priority pods on a full cluster", func(t *testing.T) {
		c := newPreemptionCase(ctx, t, admin, 2, "2")
		c.pod("low-a", "e2e-low", "1", c.node(0))
		c.pod("low-b", "e2e-low", "1", c.node(0))
		c.pod("mid-a", "e2e-mid", "1", c.node(1))
		c.pod("mid-b", "e2e-mid", "1", c.node(1))
		c.pod("critical", "system-node-critical", "2", "")
		c.boundTo("critical", c.node(0))
		c.gone("low-a")
		c.gone("low-b")
		c.alive("mid-a")
		c.alive("mid-b")
		uid := c.wait("critical", func(p *v1.Pod) bool { return true }).UID
		for _, victim := range []string{"low-a", "low-b"} {
			want := fmt.Sprintf("Preempted by pod %s on node %s", uid, c.node(0))
			if notes := c.events(victim, "Preempted"); len(notes) != 1 || notes[0] != want {
				t.Errorf("Preempted events of %s: %q, want [%q]", victim, notes, want)
			}
		}
		failed := c.events("critical", "FailedScheduling")
		wantMsg := fmt.Sprintf("preemption: found a potential placement for pod on node %s, preempting 2 victims", c.node(0))
		if len(failed) == 0 || !strings.Contains(failed[0], "2 Insufficient cpu") || !strings.HasSuffix(failed[0], wantMsg) {
			t.Errorf("FailedScheduling of the preemptor: %q, want one ending in %q", failed, wantMsg)
		}
	})

	t.Run("a PodDisruptionBudget is respected when another node allows a preemption without it", func(t *testing.T) {
		c := newPreemptionCase(ctx, t, admin, 2, "1")
		// Without the budget, n0 would be chosen: its victim has the lower priority.
		c.pod("protected", "", "1", c.node(0), func(p *v1.Pod) { p.Labels["app"] = "protected" })
		c.pod("free", "e2e-low", "1", c.node(1))
		one := intstr.FromInt32(1)
		if _, err := admin.PolicyV1().PodDisruptionBudgets(c.ns).Create(ctx, &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: "protect"},
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "protected"}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// No disruption controller runs: the budget's status allows no disruption, as it would.
		time.Sleep(500 * time.Millisecond) // let berth's informer see the budget
		c.pod("preemptor", "e2e-high", "1", "")
		c.boundTo("preemptor", c.node(1))
		c.gone("free")
		c.alive("protected")
	})

	t.Run("a lower-priority pod does not take the room a preemption freed", func(t *testing.T) {
		c := newPreemptionCase(ctx, t, admin, 1, "2")
		// The victim stays terminating (no kubelet) until the test deletes it.
		c.pod("victim", "e2e-low", "2", c.node(0), gracePeriod(30))
		c.pod("preemptor", "e2e-high", "2", "")
		c.wait("preemptor", func(p *v1.Pod) bool { return p.Status.NominatedNodeName == c.node(0) })
		v := c.wait("victim", func(p *v1.Pod) bool { return p.DeletionTimestamp != nil })
		if cond := podCondition(v, v1.DisruptionTarget); cond == nil || cond.Status != v1.ConditionTrue || cond.Reason != v1.PodReasonPreemptionByScheduler {
			t.Errorf("victim's DisruptionTarget condition: %+v", cond)
		}
		c.pod("thief", "e2e-mid", "2", "")
		thief := c.wait("thief", func(p *v1.Pod) bool {
			return scheduledFalse(p) != nil
		})
		// Without the victim the node has room for the thief, but not with the preemptor counted.
		_, preemption, _ := strings.Cut(podCondition(thief, v1.PodScheduled).Message, "preemption: ")
		if !strings.HasPrefix(preemption, "0/") || !strings.Contains(preemption, "1 Insufficient cpu, ") || thief.Status.NominatedNodeName != "" {
			t.Errorf("thief: nominated %q, preemption message %q; want none, and 1 Insufficient cpu", thief.Status.NominatedNodeName, preemption)
		}
		c.forceDelete("victim")
		c.boundTo("preemptor", c.node(0))
		time.Sleep(time.Second)
		if p := c.wait("thief", func(*v1.Pod) bool { return true }); p.Spec.NodeName != "" {
			t.Errorf("thief bound to %s", p.Spec.NodeName)
		}
	})

	t.Run("the nomination is released when the preemptor lands elsewhere", func(t *testing.T) {
		c := newPreemptionCase(ctx, t, admin, 1, "2")
		c.pod("victim", "e2e-low", "2", c.node(0), gracePeriod(30))
		c.pod("preemptor", "e2e-high", "2", "")
		c.wait("preemptor", func(p *v1.Pod) bool { return p.Status.NominatedNodeName == c.node(0) })
		// A roomy node turns up before the victim is gone: the preemptor goes there.
		if _, err := testenv.CreateNode(ctx, admin, testenv.NodeSpec{Name: c.ns + "-roomy", CPU: "4", Memory: "8Gi",
			Labels: map[string]string{groupLabel: c.ns}}); err != nil {
			t.Fatal(err)
		}
		c.boundTo("preemptor", c.ns+"-roomy")
		if p := c.wait("preemptor", func(*v1.Pod) bool { return true }); p.Status.NominatedNodeName != "" {
			t.Errorf("bound preemptor still nominated to %s", p.Status.NominatedNodeName)
		}
		// n0's room is no longer held for it: a lower-priority pod takes it once the victim is gone.
		c.forceDelete("victim")
		c.pod("later", "e2e-mid", "2", "", func(p *v1.Pod) { p.Spec.NodeSelector["kubernetes.io/hostname"] = c.node(0) })
		c.boundTo("later", c.node(0))
	})

	t.Run("preemptionPolicy Never and equal priorities do not preempt", func(t *testing.T) {
		c := newPreemptionCase(ctx, t, admin, 1, "1")
		c.pod("peer", "e2e-high", "1", c.node(0))
		c.pod("equal", "e2e-high", "1", "")
		c.pod("polite", "e2e-polite", "1", "")
		for name, want := range map[string]string{
			"equal":  "preemption: 0/",
			"polite": "preemption: not eligible due to preemptionPolicy=Never.",
		} {
			p := c.wait(name, func(p *v1.Pod) bool {
				return scheduledFalse(p) != nil
			})
			if msg := podCondition(p, v1.PodScheduled).Message; !strings.Contains(msg, want) {
				t.Errorf("%s: message %q, want it to contain %q", name, msg, want)
			}
		}
		c.alive("peer")
	})

	text := scrapeMetrics(t, d.addr)
	for _, m := range []struct {
		name string
		min  float64
	}{
		{"scheduler_preemption_attempts_total", 6}, // one per preemption, plus the failed ones
		{"scheduler_preemption_victims_count", 4},  // the cases that evicted
		{"scheduler_preemption_victims_sum", 5},
		{"scheduler_pod_scheduling_attempts_count", 5},                // bound pods: the preemptors, and later
		{"scheduler_scheduling_algorithm_duration_seconds_count", 10}, // every attempt, with and without a fit
	} {
		if v, _, err := testenv.MetricSum(text, m.name); err != nil || v < m.min {
			t.Errorf("%s = %v (%v), want at least %v", m.name, v, err, m.min)
		}
	}
}

func podCondition(p *v1.Pod, typ v1.PodConditionType) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
