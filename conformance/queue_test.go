package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/testenv"
)

// schedulerEvents returns the events about the pod with uid in ns.
func schedulerEvents(t *testing.T, ns string, uid types.UID) []eventsv1.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := admin.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing events: %v", err)
	}
	var out []eventsv1.Event
	for _, e := range l.Items {
		if e.Regarding.UID == uid {
			out = append(out, e)
		}
	}
	return out
}

// queueEnv is a namespace and a label key private to one test, so that its pods can only go to
// its own nodes (nodes of earlier tests may still be in a scheduler's cache for a moment).
type queueEnv struct {
	t         *testing.T
	ctx       context.Context
	ns, label string
}

func newQueueEnv(t *testing.T, prefix string) *queueEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ns, err := testenv.CreateNamespace(ctx, admin, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &queueEnv{t: t, ctx: ctx, ns: ns, label: "conf.berth.test/" + ns}
	t.Cleanup(func() {
		zero := int64(0)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = admin.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
		_ = admin.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: e.label})
	})
	return e
}

// node creates a node carrying the test's label (value "yes").
func (e *queueEnv) node(name string, edit func(*testenv.NodeSpec)) *v1.Node {
	e.t.Helper()
	spec := testenv.NodeSpec{Name: e.ns + "-" + name, Labels: map[string]string{e.label: "yes"}}
	if edit != nil {
		edit(&spec)
	}
	n, err := testenv.CreateNode(e.ctx, admin, spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// pod creates a pod for scheduler that may only go to the test's nodes.
func (e *queueEnv) pod(name, scheduler string, edit func(*v1.Pod)) *v1.Pod {
	e.t.Helper()
	p := newPod(e.ns, name, map[string]string{})
	p.Spec.SchedulerName = scheduler
	p.Spec.NodeSelector = map[string]string{e.label: "yes"}
	p.Spec.Containers = []v1.Container{container("c", requests("cpu", "100m"))}
	if edit != nil {
		edit(p)
	}
	created, err := admin.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating pod %s: %v", name, err)
	}
	return created
}

// wait polls pod name until ok holds, failing the test after timeout.
func (e *queueEnv) wait(name string, timeout time.Duration, what string, ok func(*v1.Pod) bool) *v1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p, err := admin.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			e.t.Fatalf("reading pod %s: %v", name, err)
		}
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("pod %s not %s after %s: node %q, conditions %v", name, what, timeout, p.Spec.NodeName, p.Status.Conditions)
		}
		if err := sleep(e.ctx, 10*time.Millisecond); err != nil {
			e.t.Fatal(err)
		}
	}
}

func bound(p *v1.Pod) bool { return p.Spec.NodeName != "" }

// eachScheduler runs f for upstream then berth: upstream's run shows the expectation is right.
func eachScheduler(t *testing.T, f func(t *testing.T, scheduler string)) {
	for _, s := range []string{upstreamName, berthName} {
		t.Run(s, func(t *testing.T) { f(t, s) })
	}
}

// TestSchedulingGates: a gated pod is never attempted (no event, the API server's SchedulingGated
// condition stays), its ungated twin is placed, and it is placed once its gates are removed.
func TestSchedulingGates(t *testing.T) {
	eachScheduler(t, func(t *testing.T, sched string) {
		e := newQueueEnv(t, "gates")
		e.node("n", nil)
		gated := e.pod("gated", sched, func(p *v1.Pod) {
			p.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "conf.berth.test/wait"}}
		})
		e.pod("free", sched, nil)
		e.wait("free", 10*time.Second, "bound", bound)
		if err := sleep(e.ctx, 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		p := e.wait("gated", 0, "still gated", func(p *v1.Pod) bool { return true })
		if p.Spec.NodeName != "" {
			t.Fatalf("gated pod bound to %s", p.Spec.NodeName)
		}
		var cond *v1.PodCondition
		for i, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled {
				cond = &p.Status.Conditions[i]
			}
		}
		if cond == nil || cond.Status != v1.ConditionFalse || cond.Reason != v1.PodReasonSchedulingGated {
			t.Errorf("gated pod's PodScheduled condition = %+v, want False/SchedulingGated", cond)
		}
		if ev := schedulerEvents(t, e.ns, gated.UID); len(ev) > 0 {
			t.Errorf("%s recorded events about a gated pod: %s: %s", sched, ev[0].Reason, ev[0].Note)
		}
		p.Spec.SchedulingGates = nil
		if _, err := admin.CoreV1().Pods(e.ns).Update(e.ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("removing the gates: %v", err)
		}
		e.wait("gated", 5*time.Second, "bound after its gates were removed", bound)
	})
}

// events waits until the scheduler's event about a rejection of the pod with uid has been written
// (events may trail the pod's condition) and returns how many there are.
func (e *queueEnv) events(uid types.UID, timeout time.Duration) int {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if n := len(schedulerEvents(e.t, e.ns, uid)); n > 0 {
			return n
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no event about pod %s after %s", uid, timeout)
		}
		if err := sleep(e.ctx, 20*time.Millisecond); err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestPendingPodScheduledWhenNodeAdded: a pod no node takes is placed soon after a node that fits
// it appears (the node event moves it out of the unschedulable queue; at most its backoff waits).
// The limit holds for berth; upstream's time is logged for comparison.
func TestPendingPodScheduledWhenNodeAdded(t *testing.T) {
	const limit = 2 * time.Second
	eachScheduler(t, func(t *testing.T, sched string) {
		e := newQueueEnv(t, "late")
		e.pod("p", sched, nil)
		e.wait("p", 10*time.Second, "marked unschedulable", markedUnschedulable)
		start := time.Now()
		e.node("n", nil)
		e.wait("p", 10*time.Second, "bound", bound)
		took := time.Since(start)
		t.Logf("%s bound the pending pod %s after its node was created", sched, took.Round(time.Millisecond))
		if sched == berthName && took > limit {
			t.Errorf("%s took %s to place a pending pod after a fitting node appeared, want at most %s", sched, took, limit)
		}
	})
}

// TestDeletedWhileQueued: pods deleted while waiting in the unschedulable queue or in backoff are
// dropped: never bound, never reported on again, and the scheduler keeps working.
func TestDeletedWhileQueued(t *testing.T) {
	eachScheduler(t, func(t *testing.T, sched string) {
		e := newQueueEnv(t, "dropped")
		zero := int64(0)
		// Waiting as unschedulable when deleted.
		parked := e.pod("parked", sched, nil)
		e.wait("parked", 10*time.Second, "marked unschedulable", markedUnschedulable)
		before := e.events(parked.UID, 10*time.Second)
		if err := admin.CoreV1().Pods(e.ns).Delete(e.ctx, parked.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
		// In backoff when deleted: rejected, then moved out by a node that fits, then deleted
		// before its backoff (1s after the rejection) ends.
		backoff := e.pod("backoff", sched, func(p *v1.Pod) { p.Spec.NodeSelector["conf.berth.test/late"] = "yes" })
		e.wait("backoff", 10*time.Second, "marked unschedulable", markedUnschedulable)
		e.node("n", func(s *testenv.NodeSpec) { s.Labels["conf.berth.test/late"] = "yes" })
		got, err := admin.CoreV1().Pods(e.ns).Get(e.ctx, backoff.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = admin.CoreV1().Pods(e.ns).Delete(e.ctx, backoff.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{ResourceVersion: &got.ResourceVersion}})
		inBackoff := err == nil && got.Spec.NodeName == ""
		if err != nil && !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
		if !inBackoff {
			t.Logf("%s placed the pod before it could be deleted in backoff (a scheduler may pop from backoff early); only the unschedulable case is checked", sched)
		}
		// The scheduler goes on: a new pod lands on the new node, and the backoff has ended.
		e.pod("next", sched, nil)
		e.wait("next", 10*time.Second, "bound", bound)
		if err := sleep(e.ctx, 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if after := len(schedulerEvents(t, e.ns, parked.UID)); after != before {
			t.Errorf("%s recorded %d more event(s) about the pod deleted while unschedulable", sched, after-before)
		}
		for _, ev := range schedulerEvents(t, e.ns, backoff.UID) {
			if inBackoff && ev.Reason == "Scheduled" {
				t.Errorf("%s recorded %q about the pod deleted in backoff: %s", sched, ev.Reason, ev.Note)
			}
		}
		out := procs[sched].Output()
		for _, name := range []string{"parked", "backoff"} {
			if name == "backoff" && !inBackoff {
				continue
			}
			for _, line := range strings.Split(out, "\n") {
				// A binding the API server refused because the deletion had begun was sent for a
				// pod the scheduler had already taken out of backoff (it may pop early): the pod
				// was not in backoff when deleted, and was not bound.
				if strings.Contains(line, "is being deleted, cannot be assigned to a host") {
					continue
				}
				if strings.Contains(line, e.ns+"/"+name) && strings.Contains(strings.ToLower(line), "bind") {
					t.Errorf("%s tried to bind the deleted pod %s: %s", sched, name, line)
				}
			}
		}
	})
}

// TestNodeNameIsRespected: a pod created with spec.nodeName is not scheduled (it stays on its
// node, even an untolerated tainted one, without events) and counts for the pods scheduled after
// it: its host port keeps a twin pending.
func TestNodeNameIsRespected(t *testing.T) {
	eachScheduler(t, func(t *testing.T, sched string) {
		e := newQueueEnv(t, "nodename")
		n := e.node("n", func(s *testenv.NodeSpec) {
			s.Taints = []v1.Taint{{Key: taintDedicated, Value: "a", Effect: v1.TaintEffectNoSchedule}}
		})
		pinned := e.pod("pinned", sched, func(p *v1.Pod) {
			p.Spec.NodeName = n.Name
			p.Spec.Containers[0].Ports = []v1.ContainerPort{port(9000, "")}
		})
		e.pod("twin", sched, func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: taintDedicated, Operator: v1.TolerationOpExists}}
			p.Spec.Containers[0].Ports = []v1.ContainerPort{port(9000, "")}
		})
		twin := e.wait("twin", 10*time.Second, "marked unschedulable", markedUnschedulable)
		want := "1 node(s) didn't have free ports for the requested pod ports"
		if got := unschedulableMessage(twin); !strings.Contains(got, want) {
			t.Errorf("twin's message = %q, want it to say %q", got, want)
		}
		p := e.wait("pinned", 0, "read", func(*v1.Pod) bool { return true })
		if p.Spec.NodeName != n.Name {
			t.Errorf("pinned pod moved to %q", p.Spec.NodeName)
		}
		if ev := schedulerEvents(t, e.ns, pinned.UID); len(ev) > 0 {
			t.Errorf("%s recorded events about a pod created with spec.nodeName: %s: %s", sched, ev[0].Reason, ev[0].Note)
		}
	})
}
