package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/preempt"
)

// PodWriter binds the pods of one namespace, patches their status and deletes preemption's
// victims. kubeclient's Pods(namespace) and client-go's CoreV1().Pods(namespace) satisfy it. It
// is called from the binder pool, concurrently.
type PodWriter interface {
	Bind(ctx context.Context, binding *v1.Binding, opts metav1.CreateOptions) error
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*v1.Pod, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// writer performs the scheduler's API writes: bindings, pod conditions and events. Its methods
// are called from the binder pool; bind and markUnschedulable block for one request each.
type writer struct {
	pods   func(namespace string) PodWriter
	events *recorder
	sink   *eventSink
}

// event records an event about pod (related to another pod, when related is not nil) on behalf
// of profile; repeats are folded into a series. It does not wait for the write: the sink makes it.
func (w *writer) event(profile string, pod, related *v1.Pod, typ, reason, action, note string) {
	w.sink.submit(w.events.record(profile, pod, related, typ, reason, action, note))
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

// markUnschedulable sets the PodScheduled=False condition with reason and message and, unless
// nominate is nil, status.nominatedNodeName to *nominate ("" clears it), in one patch, as
// kube-scheduler does. It writes nothing when the pod already has exactly that. The
// condition's lastTransitionTime moves only when its status changes.
func (w *writer) markUnschedulable(ctx context.Context, pod *v1.Pod, reason, message string, nominate *string) error {
	setNominated := nominate != nil && *nominate != pod.Status.NominatedNodeName
	transition := metav1.Now()
	for _, c := range pod.Status.Conditions {
		if c.Type != v1.PodScheduled || c.Status != v1.ConditionFalse {
			continue
		}
		if c.Reason == reason && c.Message == message && c.ObservedGeneration == pod.Generation && !setNominated {
			return nil
		}
		if !c.LastTransitionTime.IsZero() {
			transition = c.LastTransitionTime
		}
	}
	cond := map[string]any{
		"type": v1.PodScheduled, "status": v1.ConditionFalse, "reason": reason, "message": message,
		"lastProbeTime": nil, "lastTransitionTime": transition, "observedGeneration": pod.Generation,
	}
	status := map[string]any{"conditions": []any{cond}}
	if setNominated {
		status["nominatedNodeName"] = nullIfEmpty(*nominate)
	}
	if err := w.patchStatus(ctx, pod, status); err != nil {
		return fmt.Errorf("updating PodScheduled condition of %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// nominate sets pod's status.nominatedNodeName to node. It runs for every pod whose binding
// cycle has API writes before the binding, so its patch is encoded from a struct, without the
// sorting and reflection of patchStatus's map.
func (w *writer) nominate(ctx context.Context, pod *v1.Pod, node string) error {
	var p nominationPatch
	p.Metadata.UID, p.Status.NominatedNodeName = pod.UID, node
	patch, err := json.Marshal(&p)
	if err == nil {
		_, err = w.pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	}
	if err != nil {
		return fmt.Errorf("setting the nominated node of %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// nominationPatch is the status patch of nominate, the same bytes patchStatus would send.
type nominationPatch struct {
	Metadata struct {
		UID types.UID `json:"uid"`
	} `json:"metadata"`
	Status struct {
		NominatedNodeName string `json:"nominatedNodeName"`
	} `json:"status"`
}

// clearNomination removes pod's status.nominatedNodeName.
func (w *writer) clearNomination(ctx context.Context, pod *v1.Pod) error {
	if err := w.patchStatus(ctx, pod, map[string]any{"nominatedNodeName": nil}); err != nil {
		return fmt.Errorf("clearing the nominated node of %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// evict deletes victim for preemptor, as kube-scheduler does: first the condition
// DisruptionTarget=True with reason PreemptionByScheduler, then the deletion (with the victim's
// UID as precondition, so that a new pod of the same name is never hit). A victim already gone
// is no error.
func (w *writer) evict(ctx context.Context, victim, preemptor *v1.Pod) error {
	if !preempt.MarkedByPreemption(victim) {
		cond := map[string]any{
			"type": v1.DisruptionTarget, "status": v1.ConditionTrue, "reason": v1.PodReasonPreemptionByScheduler,
			"message":            preemptor.Spec.SchedulerName + ": preempting to accommodate a higher priority pod",
			"lastTransitionTime": metav1.Now(), "observedGeneration": victim.Generation,
		}
		err := w.patchStatus(ctx, victim, map[string]any{"conditions": []any{cond}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("adding the DisruptionTarget condition to %s/%s: %w", victim.Namespace, victim.Name, err)
		}
	}
	uid := victim.UID
	err := w.pods(victim.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	return nil
}

// patchStatus applies a strategic merge patch of status to pod's status subresource. The patch
// names the pod's UID, so that it fails rather than change a new pod of the same name.
func (w *writer) patchStatus(ctx context.Context, pod *v1.Pod, status map[string]any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": status})
	if err != nil {
		return fmt.Errorf("encoding status patch: %w", err)
	}
	_, err = w.pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
