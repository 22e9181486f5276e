package flags

import (
	"fmt"
	"slices"
	"strings"
)

//go:generate sh -c "cd ../upstream/kube && go run ./cmd/featuregates > ../../flags/featuregates_v137.go"

// gateSpec is one feature gate as kube-scheduler v1.37 has it: its stage (ALPHA, BETA, GA or
// DEPRECATED), its default, and whether the default is locked (setting the other value is an
// error). The table, kubeGates, is generated from upstream (featuregates_v137.go).
type gateSpec struct {
	stage  string
	def    bool
	locked bool
}

// checkGate rejects what kube-scheduler rejects when a single gate is set: an unknown name, or a
// locked gate set to the value it is not locked to.
func checkGate(name string, value bool) error {
	spec, ok := kubeGates[name]
	if !ok {
		return fmt.Errorf("unrecognized feature gate: %s", name)
	}
	if spec.locked && spec.def != value {
		return fmt.Errorf("cannot set feature gate %s to %t, feature is locked to %t", name, value, spec.def)
	}
	return nil
}

// gatesEnabled returns whether each known gate is enabled once set is applied: a gate given
// explicitly has its value; AllAlpha and AllBeta set every alpha (beta) gate not given
// explicitly; the others keep their defaults.
func gatesEnabled(set map[string]bool) map[string]bool {
	enabled := make(map[string]bool, len(kubeGates))
	for name, spec := range kubeGates {
		enabled[name] = spec.def
	}
	for special, stage := range map[string]string{"AllAlpha": "ALPHA", "AllBeta": "BETA"} {
		v, ok := set[special]
		if !ok {
			continue
		}
		for name, spec := range kubeGates {
			if _, explicit := set[name]; !explicit && spec.stage == stage && name != "AllAlpha" && name != "AllBeta" {
				enabled[name] = v
			}
		}
	}
	for name, v := range set {
		enabled[name] = v
	}
	return enabled
}

// honouredGates are the gates berth acts on; --feature-gates setting any other is accepted (as
// kube-scheduler accepts it) and named in Warnings, since berth ships v1.37's default behaviour.
var honouredGates = map[string]bool{
	"ComponentFlagz":   true, // /flagz is served only while it is on
	"ComponentStatusz": true, // /statusz is served only while it is on
}

// GateEnabled reports whether the named kube-scheduler feature gate is on once --feature-gates
// (with AllAlpha and AllBeta) is applied to v1.37's defaults. An unknown name is off.
func (o *Options) GateEnabled(name string) bool {
	if _, ok := kubeGates[name]; !ok {
		return false
	}
	if v, ok := o.FeatureGates[name]; ok {
		return v
	}
	return gatesEnabled(o.FeatureGates)[name]
}

// GateState is a kube-scheduler feature gate as berth runs it.
type GateState struct {
	Name string
	// Stage is ALPHA, BETA, DEPRECATED, or empty for GA, as kubernetes_feature_enabled labels it.
	Stage string
	// Enabled is what berth does: the gate's value after --feature-gates for the gates berth
	// honours, v1.37's default for the others (which berth accepts but runs at their default).
	Enabled bool
}

// Gates lists every v1.37 gate, sorted by name, as berth runs it (see GateState).
func (o *Options) Gates() []GateState {
	set := gatesEnabled(o.FeatureGates)
	out := make([]GateState, 0, len(kubeGates))
	for name, spec := range kubeGates {
		g := GateState{Name: name, Stage: spec.stage, Enabled: spec.def}
		if g.Stage == "GA" {
			g.Stage = ""
		}
		if honouredGates[name] {
			g.Enabled = set[name]
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b GateState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// validateGates checks the gates as a whole, as kube-scheduler does once its flags are parsed:
// every enabled gate needs the gates it depends on enabled. The problems are reported together,
// ordered by gate name.
func validateGates(set map[string]bool) error {
	if len(set) == 0 {
		return nil
	}
	enabled := gatesEnabled(set)
	var problems []string
	for name, deps := range kubeGateDependencies {
		if !enabled[name] {
			continue
		}
		var off []string
		for _, d := range deps {
			if !enabled[d] {
				off = append(off, d)
			}
		}
		if len(off) > 0 {
			problems = append(problems, fmt.Sprintf("%s is enabled, but depends on features that are disabled: [%s]", name, strings.Join(off, " ")))
		}
	}
	switch slices.Sort(problems); len(problems) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("--feature-gates: %s", problems[0])
	default:
		return fmt.Errorf("--feature-gates: [%s]", strings.Join(problems, ", "))
	}
}
