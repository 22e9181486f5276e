package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

var cp *ControlPlane

func TestMain(m *testing.M) { Main(m, &cp) }

// TestSchedulerIdentity shows the control plane is real: the scheduler identity can do exactly
// what kube-scheduler does, and RBAC refuses it the rest.
func TestSchedulerIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	sched := kubernetes.NewForConfigOrDie(cp.Scheduler)

	ns, err := CreateNamespace(ctx, admin, "smoke", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateNode(ctx, admin, NodeSpec{Name: "smoke-node"}); err != nil {
		t.Fatal(err)
	}
	pod, err := admin.CoreV1().Pods(ns).Create(ctx, Pod(ns, "p", "100m", "100Mi"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("bind a pod", func(t *testing.T) {
		err := sched.CoreV1().Pods(ns).Bind(ctx, &v1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, UID: pod.UID},
			Target:     v1.ObjectReference{Kind: "Node", Name: "smoke-node"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("bind: %v", err)
		}
		got, err := admin.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.NodeName != "smoke-node" {
			t.Errorf("nodeName = %q, want smoke-node", got.Spec.NodeName)
		}
	})

	t.Run("create and update the kube-scheduler lease", func(t *testing.T) {
		leases := sched.CoordinationV1().Leases("kube-system")
		holder, dur := "smoke", int32(15)
		now := metav1.NewMicroTime(time.Now())
		l, err := leases.Create(ctx, &coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "kube-scheduler", Namespace: "kube-system"},
			Spec:       coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create lease: %v", err)
		}
		later := metav1.NewMicroTime(time.Now())
		l.Spec.RenewTime = &later
		if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update lease: %v", err)
		}
		// Outside kube-system the role allows creating leases but reading only "kube-scheduler".
		elsewhere := sched.CoordinationV1().Leases(ns)
		other := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns}}
		if _, err := elsewhere.Create(ctx, other, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create another lease (allowed by the role): %v", err)
		}
		if _, err := elsewhere.Get(ctx, "other", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("get of a lease other than kube-scheduler outside kube-system: err = %v, want forbidden", err)
		}
		if err := leases.Delete(ctx, "kube-scheduler", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("delete lease: err = %v, want forbidden", err)
		}
	})

	t.Run("create an event", func(t *testing.T) {
		_, err := sched.EventsV1().Events(ns).Create(ctx, &eventsv1.Event{
			ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("p.%x", time.Now().UnixNano())},
			EventTime:           metav1.NewMicroTime(time.Now()),
			ReportingController: "default-scheduler", ReportingInstance: "default-scheduler-smoke",
			Action: "Binding", Reason: "Scheduled", Type: v1.EventTypeNormal,
			Regarding: v1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID},
			Note:      "Successfully assigned " + ns + "/p to smoke-node",
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create event: %v", err)
		}
	})

	t.Run("refused deleting a node", func(t *testing.T) {
		err := sched.CoreV1().Nodes().Delete(ctx, "smoke-node", metav1.DeleteOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("delete node: err = %v, want forbidden", err)
		}
		if _, err := admin.CoreV1().Nodes().Get(ctx, "smoke-node", metav1.GetOptions{}); err != nil {
			t.Errorf("node gone after a refused delete: %v", err)
		}
	})
}
