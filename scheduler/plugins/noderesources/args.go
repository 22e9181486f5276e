package noderesources

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ScoringStrategyType names how NodeResourcesFit scores nodes.
type ScoringStrategyType string

// The scoring strategies kube-scheduler v1.37 supports.
const (
	// LeastAllocated prefers nodes with more of the scored resources free (spreading pods).
	LeastAllocated ScoringStrategyType = "LeastAllocated"
	// MostAllocated prefers nodes with less free (bin packing).
	MostAllocated ScoringStrategyType = "MostAllocated"
	// RequestedToCapacityRatio scores each resource's utilisation through a piecewise linear shape.
	RequestedToCapacityRatio ScoringStrategyType = "RequestedToCapacityRatio"
)

// maxShapeScore is the highest score a RequestedToCapacityRatio shape point may give; scores are
// multiplied by 10 to reach the 0..100 node score range.
const maxShapeScore = 10

// NodeResourcesFitArgs mirrors kube-scheduler's v1 NodeResourcesFitArgs (same JSON field names).
type NodeResourcesFitArgs struct {
	// IgnoredResources are extended resources the filter does not check.
	IgnoredResources []string `json:"ignoredResources,omitempty"`
	// IgnoredResourceGroups are extended resource domains ("example.com" for "example.com/gpu")
	// the filter does not check.
	IgnoredResourceGroups []string `json:"ignoredResourceGroups,omitempty"`
	// ScoringStrategy selects and configures the score; nil is defaulted to LeastAllocated over cpu
	// and memory.
	ScoringStrategy *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// ScoringStrategy mirrors kube-scheduler's v1 ScoringStrategy.
type ScoringStrategy struct {
	Type ScoringStrategyType `json:"type,omitempty"`
	// Resources are the resources scored, with their weights; empty is defaulted to cpu and memory.
	Resources []ResourceSpec `json:"resources,omitempty"`
	// RequestedToCapacityRatio is required for that type and forbidden for the others.
	RequestedToCapacityRatio *RequestedToCapacityRatioParam `json:"requestedToCapacityRatio,omitempty"`
}

// ResourceSpec is a resource name and its weight in the score.
type ResourceSpec struct {
	Name string `json:"name"`
	// Weight is 1..100 for NodeResourcesFit and exactly 1 for NodeResourcesBalancedAllocation; 0
	// is defaulted to 1.
	Weight int64 `json:"weight,omitempty"`
}

// RequestedToCapacityRatioParam is the shape of the RequestedToCapacityRatio strategy.
type RequestedToCapacityRatioParam struct {
	// Shape is the score at increasing utilisation points; between points the score is
	// interpolated linearly, outside them it is the nearest point's.
	Shape []UtilizationShapePoint `json:"shape,omitempty"`
}

// UtilizationShapePoint is one point of a RequestedToCapacityRatio shape.
type UtilizationShapePoint struct {
	// Utilization is 0..100 (percent of allocatable requested).
	Utilization int32 `json:"utilization"`
	// Score is 0..10.
	Score int32 `json:"score"`
}

// NodeResourcesBalancedAllocationArgs mirrors kube-scheduler's v1 NodeResourcesBalancedAllocationArgs.
type NodeResourcesBalancedAllocationArgs struct {
	// Resources are the resources whose balance is scored; empty is defaulted to cpu and memory.
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// defaultResources returns a fresh copy of the default scored resources: cpu and memory, weight 1.
func defaultResources() []ResourceSpec {
	return []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}
}

// DefaultFitArgs returns kube-scheduler's default NodeResourcesFit configuration: nothing ignored,
// LeastAllocated over cpu and memory with weight 1.
func DefaultFitArgs() NodeResourcesFitArgs {
	a := NodeResourcesFitArgs{}
	a.SetDefaults()
	return a
}

// SetDefaults fills what kube-scheduler defaults in user-supplied args: a nil strategy becomes
// LeastAllocated, empty resources become cpu and memory, and weight 0 becomes 1.
func (a *NodeResourcesFitArgs) SetDefaults() {
	if a.ScoringStrategy == nil {
		a.ScoringStrategy = &ScoringStrategy{Type: LeastAllocated}
	}
	s := a.ScoringStrategy
	if len(s.Resources) == 0 {
		s.Resources = defaultResources()
	}
	for i := range s.Resources {
		if s.Resources[i].Weight == 0 {
			s.Resources[i].Weight = 1
		}
	}
}

// Validate checks the args as kube-scheduler does, returning nil or an error listing every bad
// field by its path (for example "scoringStrategy.resources[0].weight: Invalid value: 0: ...").
func (a *NodeResourcesFitArgs) Validate() error { return a.ValidateAt(nil) }

// ValidateAt is Validate with the field paths rooted at path (nil for none), for callers that
// validate the args inside a larger configuration.
func (a *NodeResourcesFitArgs) ValidateAt(path *field.Path) error {
	var errs field.ErrorList
	for i, res := range a.IgnoredResources {
		errs = append(errs, validateQualifiedName(res, path.Child("ignoredResources").Index(i))...)
	}
	for i, group := range a.IgnoredResourceGroups {
		p := path.Child("ignoredResourceGroups").Index(i)
		if strings.Contains(group, "/") {
			errs = append(errs, field.Invalid(p, group, "resource group name can't contain '/'"))
		}
		errs = append(errs, validateQualifiedName(group, p)...)
	}
	sp := path.Child("scoringStrategy")
	s := a.ScoringStrategy
	if s == nil {
		errs = append(errs, field.Required(sp, "ScoringStrategy field is required"))
		return errs.ToAggregate()
	}
	supported := []string{string(LeastAllocated), string(MostAllocated), string(RequestedToCapacityRatio)}
	if !slices.Contains(supported, string(s.Type)) {
		errs = append(errs, field.NotSupported(sp.Child("type"), s.Type, supported))
	}
	errs = append(errs, validateWeights(s.Resources, sp.Child("resources"))...)
	switch {
	case s.Type == RequestedToCapacityRatio && s.RequestedToCapacityRatio == nil:
		errs = append(errs, field.Required(sp.Child("requestedToCapacityRatio"), "must be specified when type is RequestedToCapacityRatio"))
	case s.Type == RequestedToCapacityRatio:
		errs = append(errs, validateShape(s.RequestedToCapacityRatio.Shape, sp.Child("requestedToCapacityRatio", "shape"))...)
	case s.RequestedToCapacityRatio != nil:
		errs = append(errs, field.Forbidden(sp.Child("requestedToCapacityRatio"), "must be nil when type is not RequestedToCapacityRatio"))
	}
	return errs.ToAggregate()
}

// DefaultBalancedAllocationArgs returns kube-scheduler's default NodeResourcesBalancedAllocation
// configuration: cpu and memory.
func DefaultBalancedAllocationArgs() NodeResourcesBalancedAllocationArgs {
	a := NodeResourcesBalancedAllocationArgs{}
	a.SetDefaults()
	return a
}

// SetDefaults fills what kube-scheduler defaults: empty resources become cpu and memory, and
// weight 0 becomes 1.
func (a *NodeResourcesBalancedAllocationArgs) SetDefaults() {
	if len(a.Resources) == 0 {
		a.Resources = defaultResources()
		return
	}
	for i := range a.Resources {
		if a.Resources[i].Weight == 0 {
			a.Resources[i].Weight = 1
		}
	}
}

// Validate checks the args as kube-scheduler does: resource names are unique and every weight is 1.
func (a *NodeResourcesBalancedAllocationArgs) Validate() error { return a.ValidateAt(nil) }

// ValidateAt is Validate with the field paths rooted at path (nil for none).
func (a *NodeResourcesBalancedAllocationArgs) ValidateAt(path *field.Path) error {
	var errs field.ErrorList
	seen := make(map[string]bool, len(a.Resources))
	for i, r := range a.Resources {
		p := path.Child("resources").Index(i)
		if seen[r.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), r.Name))
		}
		seen[r.Name] = true
		if r.Weight != 1 {
			errs = append(errs, field.Invalid(p.Child("weight"), r.Weight, "must be 1"))
		}
	}
	return errs.ToAggregate()
}

// validateQualifiedName checks name as a label key (an optional DNS prefix and a name).
func validateQualifiedName(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

func validateWeights(resources []ResourceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range resources {
		if r.Weight <= 0 || r.Weight > 100 {
			msg := fmt.Sprintf("resource weight of %v not in valid range (0, 100]", r.Name)
			errs = append(errs, field.Invalid(p.Index(i).Child("weight"), r.Weight, msg))
		}
	}
	return errs
}

func validateShape(shape []UtilizationShapePoint, p *field.Path) field.ErrorList {
	if len(shape) == 0 {
		return field.ErrorList{field.Required(p, "at least one point must be specified")}
	}
	var errs field.ErrorList
	for i := 1; i < len(shape); i++ {
		if shape[i-1].Utilization >= shape[i].Utilization {
			errs = append(errs, field.Invalid(p.Index(i).Child("utilization"), shape[i].Utilization, "values must be sorted in increasing order"))
			break
		}
	}
	for i, pt := range shape {
		if pt.Utilization < 0 || pt.Utilization > 100 {
			errs = append(errs, field.Invalid(p.Index(i).Child("utilization"), pt.Utilization, "not in valid range [0, 100]"))
		}
		if pt.Score < 0 || pt.Score > maxShapeScore {
			errs = append(errs, field.Invalid(p.Index(i).Child("score"), pt.Score, fmt.Sprintf("not in valid range [0, %d]", maxShapeScore)))
		}
	}
	return errs
}
