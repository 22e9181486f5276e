package podtopologyspread

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestArgsValidate(t *testing.T) {
	list := func(cs ...v1.TopologySpreadConstraint) Args {
		return Args{DefaultingType: ListDefaulting, DefaultConstraints: cs}
	}
	tests := []struct {
		name    string
		args    Args
		wantErr []string // substrings that must all appear; nil means valid
	}{
		{name: "defaults", args: DefaultArgs()},
		{name: "list without constraints", args: list()},
		{name: "list with valid constraints", args: list(
			v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule},
			v1.TopologySpreadConstraint{MaxSkew: 2, TopologyKey: "zone", WhenUnsatisfiable: v1.ScheduleAnyway},
		)},
		{name: "system with constraints", args: Args{DefaultingType: SystemDefaulting, DefaultConstraints: []v1.TopologySpreadConstraint{
			{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule},
		}}, wantErr: []string{`defaultingType: Invalid value: "System": when .defaultConstraints are not empty`}},
		{name: "unknown defaulting type", args: Args{DefaultingType: "Mine"},
			wantErr: []string{`defaultingType: Unsupported value: "Mine": supported values: "System", "List"`}},
		{name: "empty defaulting type", args: Args{}, wantErr: []string{`defaultingType: Unsupported value: ""`}},
		{name: "maxSkew not positive", args: list(v1.TopologySpreadConstraint{MaxSkew: 0, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule}),
			wantErr: []string{"defaultConstraints[0].maxSkew: Invalid value: 0: not in valid range (0, inf)"}},
		{name: "empty topologyKey", args: list(v1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: v1.DoNotSchedule}),
			wantErr: []string{"defaultConstraints[0].topologyKey: Required value: can not be empty"}},
		{name: "invalid topologyKey", args: list(v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "a/b/c", WhenUnsatisfiable: v1.DoNotSchedule}),
			wantErr: []string{`defaultConstraints[0].topologyKey: Invalid value: "a/b/c"`}},
		{name: "missing whenUnsatisfiable", args: list(v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone"}),
			wantErr: []string{"defaultConstraints[0].whenUnsatisfiable: Required value: can not be empty"}},
		{name: "unknown whenUnsatisfiable", args: list(v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: "Maybe"}),
			wantErr: []string{`defaultConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"`}},
		{name: "a labelSelector", args: list(v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{}}),
			wantErr: []string{"defaultConstraints[0].labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"}},
		{name: "duplicate key and action", args: list(
			v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule},
			v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "rack", WhenUnsatisfiable: v1.DoNotSchedule},
			v1.TopologySpreadConstraint{MaxSkew: 3, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule},
		), wantErr: []string{`defaultConstraints[2]: Duplicate value: "{zone, DoNotSchedule}"`}},
		{name: "every problem is reported", args: list(
			v1.TopologySpreadConstraint{MaxSkew: -1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule},
			v1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: v1.ScheduleAnyway},
		), wantErr: []string{"defaultConstraints[0].maxSkew", "defaultConstraints[1].topologyKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.args.Validate()
			_, newErr := New(tt.args, nil)
			if tt.wantErr == nil {
				if err != nil || newErr != nil {
					t.Fatalf("Validate = %v, New = %v; want both nil", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("Validate = %v, New = %v; want errors containing %q", err, newErr, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
