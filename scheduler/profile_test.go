package scheduler

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/queue"
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

// TestDefaultProfileVolumeLimits runs NodeVolumeLimits in the default pipeline: an inline Azure
// Disk pod goes to the node whose CSINode leaves room for one more disk, and fits nowhere when
// no node does.
func TestDefaultProfileVolumeLimits(t *testing.T) {
	prof, err := DefaultProfile(DefaultSchedulerName, newInformers(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if in := prof.Interest["NodeVolumeLimits"]; in&queue.CSINodeChange == 0 || in&queue.VolumeAttachmentDelete == 0 {
		t.Errorf("NodeVolumeLimits interest = %v", in)
	}
	disk := func(pod, uri string) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "ns", UID: types.UID(pod)}, Spec: v1.PodSpec{
			Containers: []v1.Container{{}},
			Volumes:    []v1.Volume{{Name: "d", VolumeSource: v1.VolumeSource{AzureDisk: &v1.AzureDiskVolumeSource{DataDiskURI: uri}}}}}}
	}
	limit := func(node string, n int32) *storagev1.CSINode {
		return &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: node}, Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{
			{Name: "disk.csi.azure.com", NodeID: node, Allocatable: &storagev1.VolumeNodeResources{Count: new(n)}}}}}
	}
	var nodes []*snapshot.NodeInfo
	var running []*v1.Pod
	for i := range 2 {
		name := fmt.Sprintf("n%d", i)
		p := disk("on-"+name, "uri-"+name)
		p.Spec.NodeName = name
		running = append(running, p)
		nodes = append(nodes, snapshot.NewNodeInfo(&v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Status:     v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}},
		}, snapshot.NewPodInfo(p)))
	}
	tests := []struct {
		name    string
		limits  []any
		node    string
		message string
	}{
		{name: "room on n1", limits: []any{limit("n0", 1), limit("n1", 2)}, node: "n1"},
		{name: "no room", limits: []any{limit("n0", 1), limit("n1", 1)},
			message: "0/2 nodes are available: 2 node(s) exceed max volume count."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot.New(nodes, nil)
			snap.Storage = snapshot.StorageOf(running, tc.limits...)
			res := prof.Decider.Decide(snapshot.NewPodInfo(disk("p", "uri-new")), snap)
			if res.Node != tc.node {
				t.Fatalf("placed on %q, want %q", res.Node, tc.node)
			}
			if tc.message != "" && res.Diagnosis.Message() != tc.message {
				t.Errorf("message = %q\nwant      %q", res.Diagnosis.Message(), tc.message)
			}
		})
	}
}
