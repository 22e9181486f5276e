package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodWriter binds the pods of one namespace and patches their status. kubeclient's
// Pods(namespace) and client-go's CoreV1().Pods(namespace) satisfy it. It is called from the
// binder pool, concurrently.
type PodWriter interface {
	Bind(ctx context.Context, binding *v1.Binding, opts metav1.CreateOptions) error
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*v1.Pod, error)
}

// writer performs the scheduler's API writes: bindings, pod conditions and events. Its methods
// are called from the binder pool; bind and markUnschedulable block for one request each.
type writer struct {
	pods   func(namespace string) PodWriter
	events *recorder
	sink   *eventSink
}

// event records an event about pod on behalf of profile (repeats are folded into a series). It
// does not wait for the write: the sink makes it.
func (w *writer) event(profile string, pod *v1.Pod, typ, reason, action, note string) {
	w.sink.submit(w.events.record(profile, pod, typ, reason, action, note))
}

// bind binds pod to node through the pods/binding subresource.
func (w *writer) bind(ctx context.Context, pod *v1.Pod, node string) error {
	err := w.pods(pod.Namespace).Bind(ctx, &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("binding pod %s/%s to %s: %w", pod.Namespace, pod.Name, node, err)
	}
	return nil
}

// markUnschedulable sets the PodScheduled=False condition with reason and message, unless the
// pod already carries exactly that condition.
func (w *writer) markUnschedulable(ctx context.Context, pod *v1.Pod, reason, message string) error {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == reason && c.Message == message {
			return nil
		}
	}
	cond := map[string]any{
		"type": v1.PodScheduled, "status": v1.ConditionFalse, "reason": reason, "message": message,
		"lastProbeTime": nil, "lastTransitionTime": metav1.Now(),
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   map[string]any{"conditions": []any{cond}},
	})
	if err != nil {
		return fmt.Errorf("encoding status patch: %w", err)
	}
	_, err = w.pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("updating PodScheduled condition of %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
