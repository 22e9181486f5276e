package scheduler

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestDefaultProfileOddPods feeds pod specs the API server may let through, or that only a buggy
// client would send, to the full default pipeline: each must end as a placement or as
// unschedulable with a reason, never a panic.
func TestDefaultProfileOddPods(t *testing.T) {
	prof, err := DefaultProfile(DefaultSchedulerName, newInformers(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*snapshot.NodeInfo
	for i := range 5 {
		nodes = append(nodes, snapshot.NewNodeInfo(&v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i), Labels: map[string]string{"kubernetes.io/hostname": fmt.Sprintf("n%d", i), "topology.kubernetes.io/zone": fmt.Sprint("z", i%2)}},
			Status:     v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}},
		}))
	}
	snap := snapshot.New(nodes, nil)
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus", Values: []string{"x"}}}}
	huge := resource.MustParse("9223372036854775807")
	tests := []struct {
		name        string
		spec        v1.PodSpec
		schedulable bool
	}{
		{name: "plain", spec: v1.PodSpec{Containers: []v1.Container{{}}}, schedulable: true},
		{name: "absurd cpu request", spec: v1.PodSpec{Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: huge}}}}}},
		{name: "absurd memory request", spec: v1.PodSpec{Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceMemory: huge}}}}}},
		{name: "negative request", spec: v1.PodSpec{Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("-1")}}}}}, schedulable: true},
		{name: "bad pod anti-affinity selector", spec: v1.PodSpec{Containers: []v1.Container{{}}, Affinity: &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{LabelSelector: bad, TopologyKey: "kubernetes.io/hostname"}}}}}},
		{name: "bad node affinity operator", spec: v1.PodSpec{Containers: []v1.Container{{}}, Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "a", Operator: "Bogus"}}}}}}}}},
		{name: "empty node selector terms", spec: v1.PodSpec{Containers: []v1.Container{{}}, Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{}}}}},
		{name: "spread with bad selector", spec: v1.PodSpec{Containers: []v1.Container{{}}, TopologySpreadConstraints: []v1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: bad}}}},
		{name: "spread with zero maxSkew and missing key", spec: v1.PodSpec{Containers: []v1.Container{{}}, TopologySpreadConstraints: []v1.TopologySpreadConstraint{{
			MaxSkew: 0, TopologyKey: "", WhenUnsatisfiable: v1.DoNotSchedule}}}},
		{name: "no containers", spec: v1.PodSpec{}, schedulable: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: tc.spec}
			res := prof.Decider.Decide(snapshot.NewPodInfo(pod), snap)
			if got := res.Node != ""; got != tc.schedulable {
				msg := ""
				if res.Diagnosis != nil {
					msg = res.Diagnosis.Message()
				}
				t.Fatalf("schedulable = %v (%s), want %v", got, msg, tc.schedulable)
			}
			if res.Node == "" && (res.Diagnosis == nil || res.Diagnosis.Message() == "0/5 nodes are available:") {
				t.Errorf("unschedulable without a reason: %+v", res.Diagnosis)
			}
		})
	}
}
