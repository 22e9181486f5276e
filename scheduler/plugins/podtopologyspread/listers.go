package podtopologyspread

import (
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

var (
	rcKind = v1.SchemeGroupVersion.WithKind("ReplicationController")
	rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	ssKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
)

// Listers is a SelectorLister over informer listers, finding what kube-scheduler's default
// spreading finds: the Services in the pod's namespace whose non-nil selector matches the pod's
// labels, and the pod's controller if it is a ReplicationController, ReplicaSet or StatefulSet.
// A nil lister contributes nothing. Listers read informer caches and are safe for concurrent use.
type Listers struct {
	Services               corelisters.ServiceLister
	ReplicationControllers corelisters.ReplicationControllerLister
	ReplicaSets            appslisters.ReplicaSetLister
	StatefulSets           appslisters.StatefulSetLister
}

// PodSelectors returns the selectors of the objects pod belongs to. Lookup failures (an owner
// not yet in the cache) leave that object out, as kube-scheduler does.
func (l Listers) PodSelectors(pod *v1.Pod) []labels.Selector {
	var out []labels.Selector
	if l.Services != nil {
		if svcs, err := l.Services.Services(pod.Namespace).List(labels.Everything()); err == nil {
			podLabels := labels.Set(pod.Labels)
			for _, svc := range svcs {
				if svc.Spec.Selector == nil {
					continue // a nil service selector selects nothing
				}
				sel := labels.Set(svc.Spec.Selector).AsSelectorPreValidated()
				if sel.Matches(podLabels) {
					out = append(out, sel)
				}
			}
		}
	}
	if sel := l.controllerSelector(pod); sel != nil {
		out = append(out, sel)
	}
	return out
}

// controllerSelector returns the selector of pod's controller, or nil.
func (l Listers) controllerSelector(pod *v1.Pod) labels.Selector {
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil {
		return nil
	}
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return nil
	}
	var ls *metav1.LabelSelector
	switch gv.WithKind(owner.Kind) {
	case rcKind:
		if l.ReplicationControllers == nil {
			return nil
		}
		rc, err := l.ReplicationControllers.ReplicationControllers(pod.Namespace).Get(owner.Name)
		if err != nil {
			return nil
		}
		return labels.Set(rc.Spec.Selector).AsSelector()
	case rsKind:
		if l.ReplicaSets == nil {
			return nil
		}
		rs, err := l.ReplicaSets.ReplicaSets(pod.Namespace).Get(owner.Name)
		if err != nil {
			return nil
		}
		ls = rs.Spec.Selector
	case ssKind:
		if l.StatefulSets == nil {
			return nil
		}
		ss, err := l.StatefulSets.StatefulSets(pod.Namespace).Get(owner.Name)
		if err != nil {
			return nil
		}
		ls = ss.Spec.Selector
	default:
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil
	}
	return sel
}
