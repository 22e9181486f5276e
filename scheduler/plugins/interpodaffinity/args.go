package interpodaffinity

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	minHardPodAffinityWeight = 0
	maxHardPodAffinityWeight = 100
)

// Args configures the plugin; it mirrors kube-scheduler's v1 InterPodAffinityArgs.
type Args struct {
	// HardPodAffinityWeight is the score weight of each existing pod's required affinity term the
	// incoming pod matches (0 disables that part of scoring). Valid range 0..100; default 1.
	HardPodAffinityWeight int32
	// IgnorePreferredTermsOfExistingPods skips scoring entirely for a pod that has no preferred
	// (anti-)affinity terms of its own. It does not change how a pod that has such terms is scored.
	IgnorePreferredTermsOfExistingPods bool
}

// DefaultArgs returns kube-scheduler's defaults.
func DefaultArgs() Args { return Args{HardPodAffinityWeight: 1} }

// Validate reports the first invalid field, named as kube-scheduler names it (for example
// "hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]"), or nil.
func (a Args) Validate() error { return a.ValidateAt(nil).ToAggregate() }

// ValidateAt validates the args found at path in a larger configuration (nil for the root), so the
// configuration loader can report the full field path. It returns nil when the args are valid.
func (a Args) ValidateAt(path *field.Path) field.ErrorList {
	if w := a.HardPodAffinityWeight; w < minHardPodAffinityWeight || w > maxHardPodAffinityWeight {
		msg := fmt.Sprintf("not in valid range [%d, %d]", minHardPodAffinityWeight, maxHardPodAffinityWeight)
		return field.ErrorList{field.Invalid(path.Child("hardPodAffinityWeight"), w, msg)}
	}
	return nil
}
