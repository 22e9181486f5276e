package noderesources

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestDefaultArgs(t *testing.T) {
	fit := DefaultFitArgs()
	want := NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated, Resources: []ResourceSpec{{"cpu", 1}, {"memory", 1}}}}
	if !reflect.DeepEqual(fit, want) {
		t.Errorf("DefaultFitArgs = %+v, want %+v", fit, want)
	}
	ba := DefaultBalancedAllocationArgs()
	if !reflect.DeepEqual(ba, NodeResourcesBalancedAllocationArgs{Resources: []ResourceSpec{{"cpu", 1}, {"memory", 1}}}) {
		t.Errorf("DefaultBalancedAllocationArgs = %+v", ba)
	}
	// Defaults are fresh copies: changing one must not change the next.
	fit.ScoringStrategy.Resources[0].Weight = 7
	ba.Resources[0].Weight = 7
	if DefaultFitArgs().ScoringStrategy.Resources[0].Weight != 1 || DefaultBalancedAllocationArgs().Resources[0].Weight != 1 {
		t.Error("defaults share their resource slices")
	}
}

func TestFitSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   NodeResourcesFitArgs
		want *ScoringStrategy
	}{
		{name: "strategy without resources gets cpu and memory",
			in:   NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: MostAllocated}},
			want: &ScoringStrategy{Type: MostAllocated, Resources: []ResourceSpec{{"cpu", 1}, {"memory", 1}}}},
		{name: "zero weights become one, others kept",
			in:   NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated, Resources: []ResourceSpec{{"cpu", 0}, {"example.com/gpu", 5}}}},
			want: &ScoringStrategy{Type: LeastAllocated, Resources: []ResourceSpec{{"cpu", 1}, {"example.com/gpu", 5}}}},
		{name: "empty type is left for validation to reject",
			in:   NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{}},
			want: &ScoringStrategy{Resources: []ResourceSpec{{"cpu", 1}, {"memory", 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.SetDefaults()
			if !reflect.DeepEqual(tc.in.ScoringStrategy, tc.want) {
				t.Errorf("after SetDefaults: %+v, want %+v", tc.in.ScoringStrategy, tc.want)
			}
		})
	}
}

func TestBalancedSetDefaults(t *testing.T) {
	a := NodeResourcesBalancedAllocationArgs{Resources: []ResourceSpec{{Name: "cpu"}, {Name: "example.com/gpu", Weight: 3}}}
	a.SetDefaults()
	want := []ResourceSpec{{"cpu", 1}, {"example.com/gpu", 3}}
	if !reflect.DeepEqual(a.Resources, want) {
		t.Errorf("Resources = %+v, want %+v", a.Resources, want)
	}
}

func TestFitValidate(t *testing.T) {
	least := func(res ...ResourceSpec) *ScoringStrategy {
		return &ScoringStrategy{Type: LeastAllocated, Resources: res}
	}
	ratio := func(shape ...UtilizationShapePoint) *ScoringStrategy {
		return &ScoringStrategy{Type: RequestedToCapacityRatio, Resources: []ResourceSpec{{"cpu", 1}},
			RequestedToCapacityRatio: &RequestedToCapacityRatioParam{Shape: shape}}
	}
	tests := []struct {
		name    string
		args    NodeResourcesFitArgs
		wantErr string // exact error text; "" for none
		prefix  bool   // wantErr is only a prefix
	}{
		{name: "defaults are valid", args: DefaultFitArgs()},
		{name: "valid ratio", args: NodeResourcesFitArgs{ScoringStrategy: ratio(UtilizationShapePoint{0, 0}, UtilizationShapePoint{100, 10})}},
		{name: "valid ignored names", args: NodeResourcesFitArgs{IgnoredResources: []string{"example.com/gpu"}, IgnoredResourceGroups: []string{"example.com"}, ScoringStrategy: least(ResourceSpec{"cpu", 1})}},
		{name: "nil strategy",
			args:    NodeResourcesFitArgs{},
			wantErr: "scoringStrategy: Required value: ScoringStrategy field is required"},
		{name: "zero weight",
			args:    NodeResourcesFitArgs{ScoringStrategy: least(ResourceSpec{"cpu", 0})},
			wantErr: "scoringStrategy.resources[0].weight: Invalid value: 0: resource weight of cpu not in valid range (0, 100]"},
		{name: "weight above 100",
			args:    NodeResourcesFitArgs{ScoringStrategy: least(ResourceSpec{"cpu", 1}, ResourceSpec{"memory", 101})},
			wantErr: "scoringStrategy.resources[1].weight: Invalid value: 101: resource weight of memory not in valid range (0, 100]"},
		{name: "unknown type",
			args:    NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: "Spread", Resources: []ResourceSpec{{"cpu", 1}}}},
			wantErr: `scoringStrategy.type: Unsupported value: "Spread": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"`},
		{name: "ratio without its parameters",
			args:    NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: RequestedToCapacityRatio, Resources: []ResourceSpec{{"cpu", 1}}}},
			wantErr: "scoringStrategy.requestedToCapacityRatio: Required value: must be specified when type is RequestedToCapacityRatio"},
		{name: "ratio parameters with another type",
			args: NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: MostAllocated, Resources: []ResourceSpec{{"cpu", 1}},
				RequestedToCapacityRatio: &RequestedToCapacityRatioParam{}}},
			wantErr: "scoringStrategy.requestedToCapacityRatio: Forbidden: must be nil when type is not RequestedToCapacityRatio"},
		{name: "empty shape",
			args:    NodeResourcesFitArgs{ScoringStrategy: ratio()},
			wantErr: "scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified"},
		{name: "unsorted shape",
			args:    NodeResourcesFitArgs{ScoringStrategy: ratio(UtilizationShapePoint{50, 1}, UtilizationShapePoint{30, 2})},
			wantErr: "scoringStrategy.requestedToCapacityRatio.shape[1].utilization: Invalid value: 30: values must be sorted in increasing order"},
		{name: "shape values out of range, every error listed",
			args: NodeResourcesFitArgs{ScoringStrategy: ratio(UtilizationShapePoint{-1, 11}, UtilizationShapePoint{101, 5})},
			wantErr: "[scoringStrategy.requestedToCapacityRatio.shape[0].utilization: Invalid value: -1: not in valid range [0, 100], " +
				"scoringStrategy.requestedToCapacityRatio.shape[0].score: Invalid value: 11: not in valid range [0, 10], " +
				"scoringStrategy.requestedToCapacityRatio.shape[1].utilization: Invalid value: 101: not in valid range [0, 100]]"},
		{name: "resource group with a slash",
			args:    NodeResourcesFitArgs{IgnoredResourceGroups: []string{"example.com/gpu"}, ScoringStrategy: least(ResourceSpec{"cpu", 1})},
			wantErr: `ignoredResourceGroups[0]: Invalid value: "example.com/gpu": resource group name can't contain '/'`},
		{name: "malformed ignored resource",
			args:    NodeResourcesFitArgs{IgnoredResources: []string{"-bad"}, ScoringStrategy: least(ResourceSpec{"cpu", 1})},
			wantErr: `ignoredResources[0]: Invalid value: "-bad": name part must consist of alphanumeric characters`, prefix: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.args.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr == "":
				return
			case err == nil:
				t.Fatalf("Validate = nil, want %q", tc.wantErr)
			case tc.prefix && !strings.HasPrefix(err.Error(), tc.wantErr), !tc.prefix && err.Error() != tc.wantErr:
				t.Errorf("Validate =\n  %v\nwant\n  %v", err, tc.wantErr)
			}
			if _, nerr := NewFit(tc.args); nerr == nil || !strings.Contains(nerr.Error(), err.Error()) {
				t.Errorf("NewFit error = %v, want it to carry %v", nerr, err)
			}
		})
	}
}

func TestFitValidateAtPath(t *testing.T) {
	a := NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated, Resources: []ResourceSpec{{"cpu", 0}}}}
	err := a.ValidateAt(field.NewPath("profiles").Index(0).Child("pluginConfig").Index(2).Child("args"))
	want := "profiles[0].pluginConfig[2].args.scoringStrategy.resources[0].weight: Invalid value: 0: resource weight of cpu not in valid range (0, 100]"
	if err == nil || err.Error() != want {
		t.Errorf("ValidateAt = %v, want %s", err, want)
	}
}

func TestBalancedValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    NodeResourcesBalancedAllocationArgs
		wantErr string
	}{
		{name: "defaults are valid", args: DefaultBalancedAllocationArgs()},
		{name: "duplicate resource",
			args:    NodeResourcesBalancedAllocationArgs{Resources: []ResourceSpec{{"cpu", 1}, {"memory", 1}, {"cpu", 1}}},
			wantErr: `resources[2].name: Duplicate value: "cpu"`},
		{name: "weight other than one",
			args:    NodeResourcesBalancedAllocationArgs{Resources: []ResourceSpec{{"cpu", 2}}},
			wantErr: "resources[0].weight: Invalid value: 2: must be 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.args.Validate()
			if got := errString(err); got != tc.wantErr {
				t.Errorf("Validate = %q, want %q", got, tc.wantErr)
			}
			if _, nerr := NewBalancedAllocation(tc.args); (nerr != nil) != (tc.wantErr != "") {
				t.Errorf("NewBalancedAllocation error = %v, want error %v", nerr, tc.wantErr != "")
			}
		})
	}
}

func TestConstructorsRejectUndefaultedArgs(t *testing.T) {
	if _, err := NewFit(NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: LeastAllocated}}); err == nil {
		t.Error("NewFit accepted a strategy with no resources")
	}
	if _, err := NewBalancedAllocation(NodeResourcesBalancedAllocationArgs{}); err == nil {
		t.Error("NewBalancedAllocation accepted no resources")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
