package interpodaffinity

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestDefaultArgs(t *testing.T) {
	want := Args{HardPodAffinityWeight: 1, IgnorePreferredTermsOfExistingPods: false}
	if got := DefaultArgs(); got != want {
		t.Errorf("DefaultArgs() = %+v, want %+v", got, want)
	}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    Args
		wantErr string // "" for valid
	}{
		{"defaults", DefaultArgs(), ""},
		{"zero weight", Args{HardPodAffinityWeight: 0}, ""},
		{"maximum weight", Args{HardPodAffinityWeight: 100, IgnorePreferredTermsOfExistingPods: true}, ""},
		{"negative weight", Args{HardPodAffinityWeight: -1}, "hardPodAffinityWeight: Invalid value: -1: not in valid range [0, 100]"},
		{"weight above range", Args{HardPodAffinityWeight: 101}, "hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.args.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Errorf("Validate() = %v, want %q", err, tc.wantErr)
			}
			pl, err := New(tc.args)
			if gotErr := err != nil; gotErr != (tc.wantErr != "") {
				t.Fatalf("New() error = %v, want error: %v", err, tc.wantErr != "")
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New() error %q does not carry %q", err, tc.wantErr)
			}
			if err == nil && pl.Name() != "InterPodAffinity" {
				t.Errorf("Name() = %q", pl.Name())
			}
		})
	}
}

func TestArgsValidateAtNamesFullPath(t *testing.T) {
	path := field.NewPath("profiles").Index(0).Child("pluginConfig").Index(2).Child("args")
	errs := Args{HardPodAffinityWeight: 200}.ValidateAt(path)
	want := "profiles[0].pluginConfig[2].args.hardPodAffinityWeight: Invalid value: 200: not in valid range [0, 100]"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("ValidateAt() = %v, want [%s]", errs, want)
	}
	if errs := DefaultArgs().ValidateAt(path); errs != nil {
		t.Errorf("ValidateAt(defaults) = %v, want nil", errs)
	}
}
