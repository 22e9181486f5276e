package nodeaffinity

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.NodeOnlyFilter = (*nodeFilter)(nil)

func TestAppendKey(t *testing.T) {
	zone := func(values ...string) *v1.Affinity {
		return &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
				{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: values}}}}}}}
	}
	spec := func(sel map[string]string, a *v1.Affinity) v1.PodSpec {
		return v1.PodSpec{NodeSelector: sel, Affinity: a}
	}
	base := spec(map[string]string{"pool": "a", "disk": "ssd"}, zone("z1", "z2"))
	tests := []struct {
		name  string
		other v1.PodSpec
		same  bool
	}{
		{name: "equal", other: spec(map[string]string{"disk": "ssd", "pool": "a"}, zone("z1", "z2")), same: true},
		{name: "preferred terms do not filter", other: func() v1.PodSpec {
			s := spec(map[string]string{"pool": "a", "disk": "ssd"}, zone("z1", "z2"))
			s.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []v1.PreferredSchedulingTerm{{Weight: 1,
				Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "x", Operator: v1.NodeSelectorOpExists}}}}}
			return s
		}(), same: true},
		{name: "other selector value", other: spec(map[string]string{"pool": "b", "disk": "ssd"}, zone("z1", "z2"))},
		{name: "selector entry moved", other: spec(map[string]string{"pool": "adisk", "": "ssd"}, zone("z1", "z2"))},
		{name: "no selector", other: spec(nil, zone("z1", "z2"))},
		{name: "other zones", other: spec(map[string]string{"pool": "a", "disk": "ssd"}, zone("z1"))},
		{name: "no affinity", other: spec(map[string]string{"pool": "a", "disk": "ssd"}, nil)},
	}
	key := func(s v1.PodSpec) string {
		nf, v := (&NodeAffinity{}).PreFilter(snapshot.NewPodInfo(&v1.Pod{Spec: s}), nil)
		if !v.Fits() || nf == nil {
			t.Fatalf("PreFilter: %v, %v", nf, v)
		}
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
