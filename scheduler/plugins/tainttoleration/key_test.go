package tainttoleration

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.NodeOnlyFilter = filter{}

func TestAppendKey(t *testing.T) {
	seconds := int64(30)
	base := []v1.Toleration{{Key: "k", Operator: v1.TolerationOpEqual, Value: "v", Effect: v1.TaintEffectNoSchedule}}
	tests := []struct {
		name  string
		other []v1.Toleration
		same  bool
	}{
		{name: "equal tolerations", other: []v1.Toleration{{Key: "k", Operator: v1.TolerationOpEqual, Value: "v", Effect: v1.TaintEffectNoSchedule}}, same: true},
		{name: "seconds do not filter", other: []v1.Toleration{{Key: "k", Operator: v1.TolerationOpEqual, Value: "v", Effect: v1.TaintEffectNoSchedule, TolerationSeconds: &seconds}}, same: true},
		{name: "other value", other: []v1.Toleration{{Key: "k", Operator: v1.TolerationOpEqual, Value: "w", Effect: v1.TaintEffectNoSchedule}}},
		{name: "other effect", other: []v1.Toleration{{Key: "k", Operator: v1.TolerationOpEqual, Value: "v", Effect: v1.TaintEffectNoExecute}}},
		{name: "exists", other: []v1.Toleration{{Key: "k", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}},
		{name: "none", other: nil},
		{name: "one more", other: append(append([]v1.Toleration(nil), base...), v1.Toleration{Operator: v1.TolerationOpExists})},
		{name: "key and value swapped", other: []v1.Toleration{{Key: "kv", Operator: v1.TolerationOpEqual, Value: "", Effect: v1.TaintEffectNoSchedule}}},
	}
	key := func(ts []v1.Toleration) string {
		nf, _ := (&TaintToleration{}).PreFilter(snapshot.NewPodInfo(&v1.Pod{Spec: v1.PodSpec{Tolerations: ts}}), nil)
		k, ok := nf.(decide.NodeOnlyFilter).AppendKey(nil)
		if !ok {
			t.Fatal("no key")
		}
		return string(k)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := key(base) == key(tc.other); got != tc.same {
				t.Errorf("same key = %v, want %v", got, tc.same)
			}
		})
	}
}
