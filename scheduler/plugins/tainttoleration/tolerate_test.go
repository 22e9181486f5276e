package tainttoleration

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestToleratesTaint(t *testing.T) {
	gpu := v1.Taint{Key: "gpu", Value: "a100", Effect: v1.TaintEffectNoSchedule}
	tests := []struct {
		name  string
		tol   v1.Toleration
		taint v1.Taint
		want  bool
	}{
		{name: "equal key value effect", tol: v1.Toleration{Key: "gpu", Operator: v1.TolerationOpEqual, Value: "a100", Effect: v1.TaintEffectNoSchedule}, taint: gpu, want: true},
		{name: "empty operator means equal", tol: v1.Toleration{Key: "gpu", Value: "a100"}, taint: gpu, want: true},
		{name: "equal with other value", tol: v1.Toleration{Key: "gpu", Operator: v1.TolerationOpEqual, Value: "t4"}, taint: gpu, want: false},
		{name: "equal with empty value does not match a valued taint", tol: v1.Toleration{Key: "gpu", Operator: v1.TolerationOpEqual}, taint: gpu, want: false},
		{name: "exists ignores value", tol: v1.Toleration{Key: "gpu", Operator: v1.TolerationOpExists}, taint: gpu, want: true},
		{name: "other key", tol: v1.Toleration{Key: "disk", Operator: v1.TolerationOpExists}, taint: gpu, want: false},
		{name: "empty key with exists matches every taint", tol: v1.Toleration{Operator: v1.TolerationOpExists}, taint: gpu, want: true},
		{name: "empty effect matches any effect", tol: v1.Toleration{Key: "gpu", Operator: v1.TolerationOpExists}, taint: v1.Taint{Key: "gpu", Effect: v1.TaintEffectNoExecute}, want: true},
		{name: "effect must match when set", tol: v1.Toleration{Key: "gpu", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}, taint: gpu, want: false},
		{name: "prefer toleration does not cover NoSchedule", tol: v1.Toleration{Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule}, taint: gpu, want: false},
		{name: "Lt is off in v1.37", tol: v1.Toleration{Key: "level", Operator: v1.TolerationOpLt, Value: "10"}, taint: v1.Taint{Key: "level", Value: "5", Effect: v1.TaintEffectNoSchedule}, want: false},
		{name: "Gt is off in v1.37", tol: v1.Toleration{Key: "level", Operator: v1.TolerationOpGt, Value: "1"}, taint: v1.Taint{Key: "level", Value: "5", Effect: v1.TaintEffectNoSchedule}, want: false},
		{name: "unknown operator", tol: v1.Toleration{Key: "gpu", Operator: "Matches", Value: "a100"}, taint: gpu, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ToleratesTaint(&tc.tol, &tc.taint); got != tc.want {
				t.Errorf("ToleratesTaint(%+v, %+v) = %v, want %v", tc.tol, tc.taint, got, tc.want)
			}
		})
	}
}

func TestTolerates(t *testing.T) {
	taint := v1.Taint{Key: "zone-maintenance", Effect: v1.TaintEffectNoExecute}
	tests := []struct {
		name string
		tols []v1.Toleration
		want bool
	}{
		{name: "nil list tolerates nothing", tols: nil, want: false},
		{name: "no toleration matches", tols: []v1.Toleration{{Key: "a", Operator: v1.TolerationOpExists}, {Key: "b", Operator: v1.TolerationOpExists}}, want: false},
		{name: "second toleration matches", tols: []v1.Toleration{{Key: "a", Operator: v1.TolerationOpExists}, {Key: "zone-maintenance", Operator: v1.TolerationOpExists}}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Tolerates(tc.tols, &taint); got != tc.want {
				t.Errorf("Tolerates = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFindUntoleratedTaint(t *testing.T) {
	noSched := v1.Taint{Key: "a", Value: "1", Effect: v1.TaintEffectNoSchedule}
	noExec := v1.Taint{Key: "b", Effect: v1.TaintEffectNoExecute}
	prefer := v1.Taint{Key: "c", Effect: v1.TaintEffectPreferNoSchedule}
	tests := []struct {
		name      string
		taints    []v1.Taint
		tols      []v1.Toleration
		wantTaint v1.Taint
		wantFound bool
	}{
		{name: "no taints"},
		{name: "prefer-no-schedule is ignored", taints: []v1.Taint{prefer}},
		{name: "first untolerated is returned", taints: []v1.Taint{prefer, noSched, noExec}, wantTaint: noSched, wantFound: true},
		{name: "tolerated taints are skipped", taints: []v1.Taint{noSched, noExec},
			tols: []v1.Toleration{{Key: "a", Value: "1"}}, wantTaint: noExec, wantFound: true},
		{name: "all tolerated", taints: []v1.Taint{noSched, noExec},
			tols: []v1.Toleration{{Operator: v1.TolerationOpExists}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found := FindUntoleratedTaint(tc.taints, tc.tols)
			if found != tc.wantFound || got != tc.wantTaint {
				t.Errorf("FindUntoleratedTaint = %+v, %v; want %+v, %v", got, found, tc.wantTaint, tc.wantFound)
			}
		})
	}
}
