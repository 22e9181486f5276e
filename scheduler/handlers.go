package scheduler

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler/queue"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// registerHandlers feeds the cache and queue from the pod (non-terminal pods only: finished pods
// hold no resources, so they are neither scheduled nor counted), node and namespace informers.
func (s *Scheduler) registerHandlers(f *kubeclient.Informers) error {
	if err := s.addHandler("pod", f.Pods(), s.timed(podEventLabel, toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.onPodAdd(o) },
		UpdateFunc: func(o, n any) { s.onPodUpdate(o, n) },
		DeleteFunc: func(o any) { s.onPodDelete(o) },
	})); err != nil {
		return err
	}
	if err := s.addHandler("node", f.Nodes(), s.timed(kindLabels("Node"), toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if n, ok := o.(*v1.Node); ok {
				s.cache.AddNode(n)
				s.queue.OnEventIf(queue.NodeAdd, s.nodeHint(queue.NodeAdd, nil, n))
			}
		},
		UpdateFunc: func(o, n any) {
			oldN, ok1 := o.(*v1.Node)
			newN, ok2 := n.(*v1.Node)
			if !ok1 || !ok2 {
				return
			}
			s.cache.UpdateNode(newN)
			if nodeChangeMatters(oldN, newN) {
				s.queue.OnEventIf(queue.NodeChange, s.nodeHint(queue.NodeChange, oldN, newN))
			}
		},
		DeleteFunc: func(o any) {
			if n, ok := unwrap[*v1.Node](o); ok {
				s.cache.RemoveNode(n)
			}
		},
	})); err != nil {
		return err
	}
	if err := s.addHandler("namespace", f.Namespaces(), s.timed(kindLabels("Namespace"), toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if ns, ok := o.(*v1.Namespace); ok {
				s.cache.SetNamespace(ns)
				s.queue.OnEvent(queue.NamespaceChange)
			}
		},
		UpdateFunc: func(o, n any) {
			oldNS, ok1 := o.(*v1.Namespace)
			newNS, ok2 := n.(*v1.Namespace)
			if ok1 && ok2 && !equality.Semantic.DeepEqual(oldNS.Labels, newNS.Labels) {
				s.cache.SetNamespace(newNS)
				s.queue.OnEvent(queue.NamespaceChange)
			}
		},
		DeleteFunc: func(o any) {
			if ns, ok := unwrap[*v1.Namespace](o); ok {
				s.cache.RemoveNamespace(ns)
			}
		},
	})); err != nil {
		return err
	}
	return s.registerStorageHandlers(f)
}

// handlerRegistration is one event handler the scheduler added to an informer.
type handlerRegistration struct {
	what string
	reg  toolscache.ResourceEventHandlerRegistration
}

// addHandler adds h to inf and keeps its registration for WaitForHandlers.
func (s *Scheduler) addHandler(what string, inf toolscache.SharedIndexInformer, h toolscache.ResourceEventHandler) error {
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return fmt.Errorf("registering %s handler: %w", what, err)
	}
	s.handlers = append(s.handlers, handlerRegistration{what: what, reg: reg})
	return nil
}

// WaitForHandlers blocks until every event handler of the scheduler has been handed every object
// of its informer's initial list, or ctx ends; it returns nil when all have, else an error
// naming the handlers that have not (wrapping ctx's cause). An informer counts as synced once its
// store holds the initial list, while its handlers may still be working through it: scheduling
// before they have would decide on a cache that lacks some bound pods or nodes (kube-scheduler
// waits for its handlers too). Call it after the informers have synced, before Run.
func (s *Scheduler) WaitForHandlers(ctx context.Context) error {
	waits := make(map[string]toolscache.DoneChecker, len(s.handlers))
	for _, h := range s.handlers {
		waits[h.what] = h.reg.HasSyncedChecker()
	}
	if err := kubeclient.WaitDone(ctx, waits); err != nil {
		return fmt.Errorf("event handlers for %w", err)
	}
	return nil
}

// Informer actions, as timed handlers are told them.
const (
	actionAdd    = "Add"
	actionUpdate = "Update"
	actionDelete = "Delete"
)

// timed wraps h so that each call is observed in scheduler_event_handling_duration_seconds, under
// the event label label gives for the action and the (new) object, as kube-scheduler labels its
// events (resource and action: "NodeAdd", "PersistentVolumeClaimUpdate"; pods by whether they are
// bound: "AssignedPodAdd", "UnscheduledPodDelete"). With the family disabled h is returned as it
// is, reading no clock.
func (s *Scheduler) timed(label func(action string, o any) string, h toolscache.ResourceEventHandlerFuncs) toolscache.ResourceEventHandlerFuncs {
	m := s.m.eventHandling
	if m == nil {
		return h
	}
	observe := func(action string, o any, start time.Time) {
		m.With(label(action, o)).Observe(time.Since(start).Seconds())
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			start := time.Now()
			h.OnAdd(o, false)
			observe(actionAdd, o, start)
		},
		UpdateFunc: func(o, n any) {
			start := time.Now()
			h.OnUpdate(o, n)
			observe(actionUpdate, n, start)
		},
		DeleteFunc: func(o any) {
			start := time.Now()
			h.OnDelete(o)
			observe(actionDelete, o, start)
		},
	}
}

// kindLabels labels a kind's events by the kind and action alone.
func kindLabels(kind string) func(action string, _ any) string {
	add, update, del := kind+actionAdd, kind+actionUpdate, kind+actionDelete
	return func(action string, _ any) string {
		switch action {
		case actionAdd:
			return add
		case actionUpdate:
			return update
		}
		return del
	}
}

// podEventLabel labels a pod event by whether the pod is bound, as kube-scheduler's separate
// handlers for bound and pending pods do.
func podEventLabel(action string, o any) string {
	pod, ok := unwrap[*v1.Pod](o)
	assigned := ok && pod.Spec.NodeName != ""
	switch {
	case assigned && action == actionAdd:
		return "AssignedPodAdd"
	case assigned && action == actionUpdate:
		return "AssignedPodUpdate"
	case assigned:
		return "AssignedPodDelete"
	case action == actionAdd:
		return "UnscheduledPodAdd"
	case action == actionUpdate:
		return "UnscheduledPodUpdate"
	}
	return "UnscheduledPodDelete"
}

// responsible reports whether one of our profiles schedules pod.
func (s *Scheduler) responsible(pod *v1.Pod) bool {
	_, ok := s.profiles[pod.Spec.SchedulerName]
	return ok
}

func (s *Scheduler) onPodAdd(o any) {
	pod, ok := o.(*v1.Pod)
	if !ok {
		return
	}
	switch {
	case pod.Spec.NodeName != "":
		s.cache.AddPod(pod)
		s.queue.OnEvent(queue.AssignedPodAdd)
	case s.responsible(pod) && pod.DeletionTimestamp == nil:
		s.queue.Add(pod)
		if pod.Status.NominatedNodeName != "" {
			s.cache.Nominate(snapshot.NewPodInfo(pod), pod.Status.NominatedNodeName)
		}
	}
}

func (s *Scheduler) onPodUpdate(o, n any) {
	oldPod, ok1 := o.(*v1.Pod)
	pod, ok2 := n.(*v1.Pod)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case pod.Spec.NodeName != "":
		s.cache.UpdatePod(pod)          // also ends a nomination
		if oldPod.Spec.NodeName == "" { // just bound (by us or anyone): leaves the queue
			s.queue.Delete(pod)
			s.queue.OnEvent(queue.AssignedPodAdd)
		} else if assignedChangeMatters(oldPod, pod) {
			s.queue.OnEvent(queue.AssignedPodChange)
		}
	case !s.responsible(pod) || pod.DeletionTimestamp != nil:
		s.queue.Delete(pod)
		s.unnominate(pod)
	case s.cache.IsAssumed(pod.UID):
		// Placed by us, its binding not seen yet: an update written before the binding (the
		// pod's own status) must not queue it again, as kube-scheduler ignores them too.
	default:
		s.queue.Update(oldPod, pod)
		s.updateNomination(oldPod, pod)
	}
}

// updateNomination follows a pending pod's status.nominatedNodeName. A nomination this scheduler
// made (after a preemption) and has not seen written yet is kept while the status still has
// none, as kube-scheduler does.
func (s *Scheduler) updateNomination(oldPod, pod *v1.Pod) {
	switch nominated := pod.Status.NominatedNodeName; {
	case nominated != "":
		s.cache.Nominate(snapshot.NewPodInfo(pod), nominated)
		if old := oldPod.Status.NominatedNodeName; old != "" && old != nominated {
			s.queue.OnEvent(queue.AssignedPodDelete) // the old node's room is free again
		}
	case oldPod.Status.NominatedNodeName != "":
		s.unnominate(pod)
	default:
		if node, ok := s.cache.Nomination(pod.UID); ok {
			s.cache.Nominate(snapshot.NewPodInfo(pod), node) // the newest pod, same node
		}
	}
}

// unnominate ends pod's nomination, if it had one. The room it held is free again: pods waiting
// for room are retried, as when a pod is deleted.
func (s *Scheduler) unnominate(pod *v1.Pod) {
	if s.cache.Unnominate(pod.UID) {
		s.queue.OnEvent(queue.AssignedPodDelete)
	}
}

func (s *Scheduler) onPodDelete(o any) {
	pod, ok := unwrap[*v1.Pod](o)
	if !ok {
		return
	}
	if pod.Spec.NodeName != "" {
		s.cache.RemovePod(pod)
		s.queue.OnEvent(queue.AssignedPodDelete)
	}
	s.queue.Delete(pod)
	s.unnominate(pod)
}

// unwrap returns the object of a delete notification, which may be a tombstone.
func unwrap[T any](o any) (T, bool) {
	if t, ok := o.(T); ok {
		return t, true
	}
	if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		t, ok := tomb.Obj.(T)
		return t, ok
	}
	var zero T
	return zero, false
}

// nodeChangeMatters reports whether a node update could make an unschedulable pod fit; status
// heartbeats and condition updates do not.
func nodeChangeMatters(o, n *v1.Node) bool {
	return o.Spec.Unschedulable != n.Spec.Unschedulable ||
		!equality.Semantic.DeepEqual(o.Status.Allocatable, n.Status.Allocatable) ||
		!equality.Semantic.DeepEqual(o.Labels, n.Labels) ||
		!equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) ||
		!slices.Equal(o.Status.DeclaredFeatures, n.Status.DeclaredFeatures) ||
		len(o.Status.Images) != len(n.Status.Images)
}

// assignedChangeMatters reports whether an update of a bound pod could change other pods'
// placement (labels for affinity and spreading, resources after an in-place resize).
func assignedChangeMatters(o, n *v1.Pod) bool {
	if !equality.Semantic.DeepEqual(o.Labels, n.Labels) {
		return true
	}
	for i := range n.Spec.Containers {
		if i >= len(o.Spec.Containers) || !equality.Semantic.DeepEqual(o.Spec.Containers[i].Resources, n.Spec.Containers[i].Resources) {
			return true
		}
	}
	return false
}

// nodeHint is the queueing hint of a node event (see nodeEventHelps): it asks the pod's profile.
func (s *Scheduler) nodeHint(ev queue.Events, oldNode, newNode *v1.Node) func(*v1.Pod, []string) bool {
	return func(pod *v1.Pod, rejectedBy []string) bool {
		p := s.profiles[pod.Spec.SchedulerName]
		return p == nil || nodeEventHelps(p, pod, rejectedBy, ev, oldNode, newNode)
	}
}
