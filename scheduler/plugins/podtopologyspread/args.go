package podtopologyspread

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultingType says where the constraints of pods without their own come from.
type DefaultingType string

const (
	// SystemDefaulting applies kube-scheduler's built-in soft constraints (spread over hostnames
	// with maxSkew 3 and over zones with maxSkew 5). DefaultConstraints must then be empty.
	SystemDefaulting DefaultingType = "System"
	// ListDefaulting applies Args.DefaultConstraints (none when it is empty).
	ListDefaulting DefaultingType = "List"
)

// Args mirrors kube-scheduler's PodTopologySpreadArgs (kubescheduler.config.k8s.io/v1).
type Args struct {
	// DefaultConstraints apply, with ListDefaulting, to pods that have no topology spread
	// constraints of their own. They must not have a labelSelector: each pod's is deduced from the
	// Services and controllers it belongs to.
	DefaultConstraints []v1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	// DefaultingType is SystemDefaulting or ListDefaulting.
	DefaultingType DefaultingType `json:"defaultingType,omitempty"`
}

// DefaultArgs returns kube-scheduler's defaults: System defaulting, no listed constraints.
// Configuration decoding should start from these, so that an omitted defaultingType means System.
func DefaultArgs() Args { return Args{DefaultingType: SystemDefaulting} }

// systemDefaultConstraints are kube-scheduler's constraints for SystemDefaulting.
var systemDefaultConstraints = []v1.TopologySpreadConstraint{
	{TopologyKey: v1.LabelHostname, WhenUnsatisfiable: v1.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.ScheduleAnyway, MaxSkew: 5},
}

// Validate checks the args as kube-scheduler does and reports every problem with its field path,
// for example "defaultConstraints[0].maxSkew: Invalid value: 0: not in valid range (0, inf)".
func (a Args) Validate() error {
	var errs field.ErrorList
	typePath := field.NewPath("defaultingType")
	switch {
	case a.DefaultingType != SystemDefaulting && a.DefaultingType != ListDefaulting:
		errs = append(errs, field.NotSupported(typePath, a.DefaultingType, []DefaultingType{SystemDefaulting, ListDefaulting}))
	case a.DefaultingType == SystemDefaulting && len(a.DefaultConstraints) > 0:
		errs = append(errs, field.Invalid(typePath, a.DefaultingType, "when .defaultConstraints are not empty"))
	}
	listPath := field.NewPath("defaultConstraints")
	for i := range a.DefaultConstraints {
		errs = append(errs, validateDefaultConstraint(a.DefaultConstraints, i, listPath)...)
	}
	return errs.ToAggregate()
}

func validateDefaultConstraint(all []v1.TopologySpreadConstraint, i int, listPath *field.Path) field.ErrorList {
	c := &all[i]
	p := listPath.Index(i)
	var errs field.ErrorList
	if c.MaxSkew <= 0 {
		errs = append(errs, field.Invalid(p.Child("maxSkew"), c.MaxSkew, "not in valid range (0, inf)"))
	}
	if c.TopologyKey == "" {
		errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, metav1validation.ValidateLabelName(c.TopologyKey, p.Child("topologyKey"))...)
	}
	switch c.WhenUnsatisfiable {
	case "":
		errs = append(errs, field.Required(p.Child("whenUnsatisfiable"), "can not be empty"))
	case v1.DoNotSchedule, v1.ScheduleAnyway:
	default:
		errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable,
			[]v1.UnsatisfiableConstraintAction{v1.DoNotSchedule, v1.ScheduleAnyway}))
	}
	if c.LabelSelector != nil {
		errs = append(errs, field.Forbidden(p.Child("labelSelector"), "constraint must not define a selector, as they deduced for each pod"))
	}
	for j := range all[:i] {
		if all[j].TopologyKey == c.TopologyKey && all[j].WhenUnsatisfiable == c.WhenUnsatisfiable {
			errs = append(errs, field.Duplicate(p, fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
			break
		}
	}
	return errs
}
