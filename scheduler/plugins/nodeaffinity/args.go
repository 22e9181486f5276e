package nodeaffinity

import (
	v1 "k8s.io/api/core/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Args mirrors kube-scheduler's NodeAffinityArgs (kubescheduler.config.k8s.io/v1).
type Args struct {
	// AddedAffinity is applied to every pod on top of its own node affinity: its required
	// selector must match too (ANDed with the pod's), and its preferred terms add to every pod's
	// score. Nil adds nothing.
	AddedAffinity *v1.NodeAffinity `json:"addedAffinity,omitempty"`
}

// DefaultArgs returns kube-scheduler's defaults: no added affinity.
func DefaultArgs() Args { return Args{} }

// Validate reports every selector in AddedAffinity that cannot be parsed, naming its field path
// (for example "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
// .matchExpressions[0].operator: Unsupported value: ..."), as kube-scheduler does.
func (a Args) Validate() error {
	_, _, err := a.compile()
	return err
}

// compile validates and compiles the added affinity. The selector is nil when there is no added
// required affinity.
func (a Args) compile() (*nodeSelector, []weightedTerm, error) {
	if a.AddedAffinity == nil {
		return nil, nil, nil
	}
	path := field.NewPath("addedAffinity")
	var errs []error
	var required *nodeSelector
	if ns := a.AddedAffinity.RequiredDuringSchedulingIgnoredDuringExecution; ns != nil {
		sel, selErrs := compileNodeSelector(ns, path.Child("requiredDuringSchedulingIgnoredDuringExecution"))
		if len(selErrs) > 0 {
			errs = append(errs, utilerrors.Flatten(utilerrors.NewAggregate(selErrs)))
		}
		required = &sel
	}
	preferred, prefErrs := compilePreferred(a.AddedAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
		path.Child("preferredDuringSchedulingIgnoredDuringExecution"))
	if len(prefErrs) > 0 {
		errs = append(errs, utilerrors.Flatten(utilerrors.NewAggregate(prefErrs)))
	}
	if len(errs) > 0 {
		return nil, nil, utilerrors.Flatten(utilerrors.NewAggregate(errs))
	}
	return required, preferred, nil
}
