package config

import (
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/berth-scheduler/berth/scheduler/plugins/interpodaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/plugins/podtopologyspread"
)

// PluginArgs is implemented by the argument types of this package, one per plugin that takes
// arguments; the builder of the scheduler switches on the concrete type.
type PluginArgs interface {
	GetObjectKind() schema.ObjectKind
	// setDefaults applies upstream's v1 defaults.
	setDefaults()
	// validate reports what upstream's validation refuses, with paths under path.
	validate(path *field.Path) field.ErrorList
}

// NodeResourcesFitArgs are NodeResourcesFit's arguments; the fields are the plugin's own
// (ignoredResources, ignoredResourceGroups, scoringStrategy).
type NodeResourcesFitArgs struct {
	metav1.TypeMeta `json:",inline"`
	noderesources.NodeResourcesFitArgs
}

func (a *NodeResourcesFitArgs) setDefaults() { a.SetDefaults() }

func (a *NodeResourcesFitArgs) validate(path *field.Path) field.ErrorList {
	return under(path, a.ValidateAt(nil))
}

// NodeResourcesBalancedAllocationArgs are NodeResourcesBalancedAllocation's arguments.
type NodeResourcesBalancedAllocationArgs struct {
	metav1.TypeMeta `json:",inline"`
	noderesources.NodeResourcesBalancedAllocationArgs
}

func (a *NodeResourcesBalancedAllocationArgs) setDefaults() { a.SetDefaults() }

func (a *NodeResourcesBalancedAllocationArgs) validate(path *field.Path) field.ErrorList {
	return under(path, a.ValidateAt(nil))
}

// PodTopologySpreadArgs are PodTopologySpread's arguments (defaultConstraints, defaultingType).
type PodTopologySpreadArgs struct {
	metav1.TypeMeta `json:",inline"`
	podtopologyspread.Args
}

func (a *PodTopologySpreadArgs) setDefaults() {
	if a.DefaultingType == "" {
		a.DefaultingType = podtopologyspread.SystemDefaulting
	}
}

func (a *PodTopologySpreadArgs) validate(path *field.Path) field.ErrorList {
	return under(path, a.Validate())
}

// NodeAffinityArgs are NodeAffinity's arguments (addedAffinity).
type NodeAffinityArgs struct {
	metav1.TypeMeta `json:",inline"`
	nodeaffinity.Args
}

func (a *NodeAffinityArgs) setDefaults() {}

func (a *NodeAffinityArgs) validate(path *field.Path) field.ErrorList {
	return under(path, a.Validate())
}

// InterPodAffinityArgs are InterPodAffinity's arguments.
type InterPodAffinityArgs struct {
	metav1.TypeMeta `json:",inline"`
	// HardPodAffinityWeight is 0..100; default 1.
	HardPodAffinityWeight              *int32 `json:"hardPodAffinityWeight,omitempty"`
	IgnorePreferredTermsOfExistingPods bool   `json:"ignorePreferredTermsOfExistingPods"`
}

// PluginArgs returns the plugin's arguments; call it on defaulted args.
func (a *InterPodAffinityArgs) PluginArgs() interpodaffinity.Args {
	out := interpodaffinity.DefaultArgs()
	if a.HardPodAffinityWeight != nil {
		out.HardPodAffinityWeight = *a.HardPodAffinityWeight
	}
	out.IgnorePreferredTermsOfExistingPods = a.IgnorePreferredTermsOfExistingPods
	return out
}

func (a *InterPodAffinityArgs) setDefaults() {
	if a.HardPodAffinityWeight == nil {
		a.HardPodAffinityWeight = ptr[int32](1)
	}
}

func (a *InterPodAffinityArgs) validate(path *field.Path) field.ErrorList {
	return a.PluginArgs().ValidateAt(path)
}

// DefaultPreemptionArgs are DefaultPreemption's arguments: how many candidate nodes a
// preemption searches (scheduler/preempt).
type DefaultPreemptionArgs struct {
	metav1.TypeMeta `json:",inline"`
	// MinCandidateNodesPercentage is 0..100; default 10.
	MinCandidateNodesPercentage *int32 `json:"minCandidateNodesPercentage,omitempty"`
	// MinCandidateNodesAbsolute is >= 0; default 100. Both may not be 0.
	MinCandidateNodesAbsolute *int32 `json:"minCandidateNodesAbsolute,omitempty"`
}

func (a *DefaultPreemptionArgs) setDefaults() {
	if a.MinCandidateNodesPercentage == nil {
		a.MinCandidateNodesPercentage = ptr[int32](10)
	}
	if a.MinCandidateNodesAbsolute == nil {
		a.MinCandidateNodesAbsolute = ptr[int32](100)
	}
}

func (a *DefaultPreemptionArgs) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	pct, abs := deref(a.MinCandidateNodesPercentage), deref(a.MinCandidateNodesAbsolute)
	pctPath, absPath := path.Child("minCandidateNodesPercentage"), path.Child("minCandidateNodesAbsolute")
	if pct < 0 || pct > 100 {
		errs = append(errs, field.Invalid(pctPath, pct, "not in valid range [0, 100]"))
	}
	if abs < 0 {
		errs = append(errs, field.Invalid(absPath, abs, "not in valid range [0, inf)"))
	}
	if pct == 0 && abs == 0 {
		errs = append(errs,
			field.Invalid(pctPath, pct, "cannot be zero at the same time as minCandidateNodesAbsolute"),
			field.Invalid(absPath, abs, "cannot be zero at the same time as minCandidateNodesPercentage"))
	}
	return errs
}

// UtilizationShapePoint is one point of a utilization-to-score shape (score 0..10).
type UtilizationShapePoint = noderesources.UtilizationShapePoint

// VolumeBindingArgs are VolumeBinding's arguments: how long a pod's binding waits for the PV
// controller, and the storage utilization scoring shape.
type VolumeBindingArgs struct {
	metav1.TypeMeta `json:",inline"`
	// BindTimeoutSeconds is >= 0; default 600.
	BindTimeoutSeconds *int64 `json:"bindTimeoutSeconds,omitempty"`
	// Shape scores nodes by storage capacity utilization; default {0: 10, 100: 0}.
	Shape []UtilizationShapePoint `json:"shape,omitempty"`
}

func (a *VolumeBindingArgs) setDefaults() {
	if a.BindTimeoutSeconds == nil {
		a.BindTimeoutSeconds = ptr[int64](600)
	}
	if len(a.Shape) == 0 {
		a.Shape = []UtilizationShapePoint{{Utilization: 0, Score: maxShapeScore}, {Utilization: 100, Score: 0}}
	}
}

func (a *VolumeBindingArgs) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t := deref(a.BindTimeoutSeconds); t < 0 {
		errs = append(errs, field.Invalid(path.Child("bindTimeoutSeconds"), t, "invalid BindTimeoutSeconds, should not be a negative value"))
	}
	return append(errs, validateShape(a.Shape, path.Child("shape"))...)
}

// DynamicResourcesArgs are DynamicResources' arguments. Berth does not allocate devices yet;
// they are validated and kept.
type DynamicResourcesArgs struct {
	metav1.TypeMeta `json:",inline"`
	// FilterTimeout is >= 0 (0 disables it); default 10s.
	FilterTimeout *Duration `json:"filterTimeout"`
	// BindingTimeout is >= 1s; default 10m.
	BindingTimeout *Duration `json:"bindingTimeout,omitempty"`
}

func (a *DynamicResourcesArgs) setDefaults() {
	if a.FilterTimeout == nil {
		a.FilterTimeout = &Duration{Duration: 10 * time.Second}
	}
	if a.BindingTimeout == nil {
		a.BindingTimeout = &Duration{Duration: 10 * time.Minute}
	}
}

func (a *DynamicResourcesArgs) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t := a.FilterTimeout; t != nil && t.Duration < 0 {
		errs = append(errs, field.Invalid(path.Child("filterTimeout"), t.Duration.String(), "must be zero or positive"))
	}
	if t := a.BindingTimeout; t != nil && t.Duration < time.Second {
		errs = append(errs, field.Invalid(path.Child("bindingTimeout"), t.Duration.String(), "must be at least 1 second"))
	}
	return errs
}

// maxShapeScore is the highest score a utilization shape point may give.
const maxShapeScore = 10

func validateShape(shape []UtilizationShapePoint, path *field.Path) field.ErrorList {
	if len(shape) == 0 {
		return field.ErrorList{field.Required(path, "at least one point must be specified")}
	}
	var errs field.ErrorList
	for i := 1; i < len(shape); i++ {
		if shape[i-1].Utilization >= shape[i].Utilization {
			errs = append(errs, field.Invalid(path.Index(i).Child("utilization"), shape[i].Utilization, "values must be sorted in increasing order"))
			break
		}
	}
	for i, p := range shape {
		if p.Utilization < 0 || p.Utilization > 100 {
			errs = append(errs, field.Invalid(path.Index(i).Child("utilization"), p.Utilization, "not in valid range [0, 100]"))
		}
		if p.Score < 0 || p.Score > maxShapeScore {
			errs = append(errs, field.Invalid(path.Index(i).Child("score"), p.Score, "not in valid range [0, 10]"))
		}
	}
	return errs
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// under moves the field errors of err, as the plugin packages' validation returns them (an
// aggregate of *field.Error, possibly nested, with paths relative to the arguments), under path.
// Any other error becomes one error at path.
func under(path *field.Path, err error) field.ErrorList {
	if err == nil {
		return nil
	}
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		var out field.ErrorList
		for _, e := range agg.Errors() {
			out = append(out, under(path, e)...)
		}
		return out
	}
	var fe *field.Error
	if errors.As(err, &fe) {
		moved := *fe
		moved.Field = joinPath(path.String(), fe.Field)
		return field.ErrorList{&moved}
	}
	return field.ErrorList{field.Invalid(path, field.OmitValueType{}, err.Error())}
}
