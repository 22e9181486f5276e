// Package podtopologyspread implements kube-scheduler's PodTopologySpread plugin: it spreads the
// pods that match a constraint's selector evenly over the domains of a topology key (zones,
// hostnames, racks...).
//
// For each constraint, a domain's count is the number of non-terminating pods in the incoming
// pod's namespace that the constraint selects, on the nodes of that domain that count: nodes with
// every topology key of the pod's constraints and, per the constraint's node inclusion policies,
// matching the pod's node affinity/selector (nodeAffinityPolicy Honor, the default) and whose
// NoSchedule/NoExecute taints the pod tolerates (nodeTaintsPolicy Honor; Ignore is the default).
//
//   - whenUnsatisfiable DoNotSchedule constraints filter: placing the pod in a domain must keep
//     count+1 (the pod counts itself when it matches) minus the smallest domain count within
//     maxSkew; the smallest count is taken as 0 while there are fewer domains than minDomains.
//   - ScheduleAnyway constraints score: nodes in less crowded domains score higher.
//
// Pods without constraints of their own get the plugin's default constraints, with the selector of
// the Services and controllers they belong to, found through a SelectorLister.
//
// PreFilter counts every domain once, in one pass over the snapshot's pods; Filter is then a few
// map lookups per constraint and does not allocate.
package podtopologyspread

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Name is the plugin's name in kube-scheduler's configuration.
const Name = "PodTopologySpread"

// Reasons, in kube-scheduler's words.
const (
	// ErrReasonConstraintsNotMatch: placing the pod on the node would exceed a constraint's maxSkew.
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	// ErrReasonNodeLabelNotMatch: the node lacks a constraint's topology key.
	ErrReasonNodeLabelNotMatch = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// SelectorLister finds the label selectors of the objects a pod belongs to, from which default
// constraints deduce the pod's siblings. kube-scheduler uses the selectors of the Services in the
// pod's namespace whose (non-nil) selector matches the pod's labels, and of the pod's controller
// when it is a ReplicationController, ReplicaSet or StatefulSet in the pod's namespace. Listers is
// an implementation over client-go listers.
//
// PodSelectors is called from PreFilter and PreScore, possibly concurrently for different pods.
// Selectors that select nothing are ignored; the rest are ANDed.
type SelectorLister interface {
	PodSelectors(pod *v1.Pod) []labels.Selector
}

// PodTopologySpread is the plugin. It holds only its configuration and is safe for concurrent use.
type PodTopologySpread struct {
	defaults        []v1.TopologySpreadConstraint
	systemDefaulted bool
	selectors       SelectorLister
}

// New returns the plugin configured by args (which must pass Validate). selectors finds the
// selectors default constraints use; with nil selectors no default constraint ever applies.
func New(args Args, selectors SelectorLister) (*PodTopologySpread, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("validating PodTopologySpreadArgs: %w", err)
	}
	pl := &PodTopologySpread{defaults: args.DefaultConstraints, selectors: selectors}
	if args.DefaultingType == SystemDefaulting {
		pl.defaults, pl.systemDefaulted = systemDefaultConstraints, true
	}
	return pl, nil
}

// Name returns "PodTopologySpread".
func (pl *PodTopologySpread) Name() string { return Name }

// constraints returns pod's constraints with whenUnsatisfiable action: its own when it has any,
// otherwise the default ones (with the selector deduced from the pod's Services and controller).
func (pl *PodTopologySpread) constraints(pod *v1.Pod, action v1.UnsatisfiableConstraintAction) ([]constraint, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return parseConstraints(pod.Spec.TopologySpreadConstraints, pod.Labels, action, "spec.topologySpreadConstraints")
	}
	if len(pl.defaults) == 0 || pl.selectors == nil {
		return nil, nil
	}
	cs, err := parseConstraints(pl.defaults, pod.Labels, action, "defaultConstraints")
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	sel := pl.defaultSelector(pod)
	if sel.Empty() {
		return nil, nil
	}
	for i := range cs {
		cs[i].selector, cs[i].countsNothing = sel, false
	}
	return cs, nil
}

// defaultSelector ANDs the selectors of the objects pod belongs to.
func (pl *PodTopologySpread) defaultSelector(pod *v1.Pod) labels.Selector {
	sel := labels.NewSelector()
	for _, s := range pl.selectors.PodSelectors(pod) {
		if s == nil {
			continue
		}
		if reqs, selectable := s.Requirements(); selectable {
			sel = sel.Add(reqs...)
		}
	}
	return sel
}
