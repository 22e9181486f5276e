package scheduler

import (
	"reflect"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/preempt"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestVictimsWithTheDefaultProfile runs victim selection with the default profile's real filters
// with the victims counted as gone: inter-pod anti-affinity is evaluated with the victims gone
// from the whole cluster, so the pod that blocks the preemptor across the zone is chosen as the victim.
func TestVictimsWithTheDefaultProfile(t *testing.T) {
	prof, err := DefaultProfile(DefaultSchedulerName, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := prof.Decider.(*decide.Decider)
	mkPod := func(name string, prio int32, cpu string, lbls map[string]string, node string) *snapshot.PodInfo {
		return snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: lbls},
			Spec: v1.PodSpec{NodeName: node, Priority: &prio, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse("100Mi")}}}}}})
	}
	mkNode := func(name string, pods ...*snapshot.PodInfo) *snapshot.NodeInfo {
		return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": "z"}},
			Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2"),
				v1.ResourceMemory: resource.MustParse("4Gi"), v1.ResourcePods: resource.MustParse("110")}}}, pods...)
	}
	n1 := mkNode("n1", mkPod("filler-a", 0, "1", nil, "n1"), mkPod("filler-b", 0, "1", nil, "n1"))
	n2 := mkNode("n2", mkPod("x", 0, "500m", map[string]string{"app": "x"}, "n2"))
	snap := snapshot.New([]*snapshot.NodeInfo{n1, n2}, nil)

	preemptor := mkPod("critical", 1000, "1", nil, "")
	preemptor.Pod.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, TopologyKey: "topology.kubernetes.io/zone"}}}}
	preemptor = snapshot.NewPodInfo(preemptor.Pod)
	if res := d.Decide(preemptor, snap); res.Node != "" {
		t.Fatalf("the preemptor fits without preemption, on %s", res.Node)
	}
	filter := d.Prepare(preemptor, snap).Check

	// n1: even without its fillers, x still shares the zone.
	if _, v := preempt.SelectVictims(preemptor, n1, filter, nil, time.Now()); v.Fits() || v.Reasons[0] != "node(s) didn't match pod anti-affinity rules" {
		t.Errorf("n1: verdict %+v; want no candidate, as x on n2 still blocks the preemptor in zone z", v)
	}
	// n2: evicting x clears the zone and frees room.
	c, v := preempt.SelectVictims(preemptor, n2, filter, nil, time.Now())
	ok := v.Fits()
	var got []string
	for _, v := range c.Victims {
		got = append(got, v.Pod.Name)
	}
	if !ok || !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("n2: candidate %v, victims %v; want x", ok, got)
	}
}
