package scheduler

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/plugins/interpodaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodename"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeunschedulable"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/queue"
)

func hintNode(name, cpu string, mutate ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse("8Gi"),
			v1.ResourcePods: resource.MustParse("110"),
		}},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func hintPod(cpu string, mutate ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "p"},
		Spec: v1.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []v1.Container{{
			Name: "c", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}},
		}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func TestNodeEventHelps(t *testing.T) {
	prof, err := DefaultProfile(DefaultSchedulerName, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	gpuTaint := func(n *v1.Node) {
		n.Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}}
	}
	cordoned := func(n *v1.Node) { n.Spec.Unschedulable = true }
	zone := func(z string) func(*v1.Node) {
		return func(n *v1.Node) { n.Labels["zone"] = z }
	}
	wantsZoneA := func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a"} }
	moreMemory := func(n *v1.Node) { n.Status.Allocatable[v1.ResourceMemory] = resource.MustParse("16Gi") }

	tests := []struct {
		name       string
		pod        *v1.Pod
		rejectedBy []string
		old, new   *v1.Node // old nil: NodeAdd
		want       bool
	}{
		{name: "added node too small for the request", pod: hintPod("4"), rejectedBy: []string{noderesources.FitName},
			new: hintNode("n", "2"), want: false},
		{name: "added node large enough", pod: hintPod("4"), rejectedBy: []string{noderesources.FitName},
			new: hintNode("n", "8"), want: true},
		{name: "cpu allocatable grew on a node that was full", pod: hintPod("4"), rejectedBy: []string{noderesources.FitName},
			old: hintNode("n", "8"), new: hintNode("n", "16"), want: true},
		{name: "only memory grew, the pod asks for cpu alone", pod: hintPod("4"), rejectedBy: []string{noderesources.FitName},
			old: hintNode("n", "8"), new: hintNode("n", "8", moreMemory), want: false},
		{name: "grew but still too small", pod: hintPod("4"), rejectedBy: []string{noderesources.FitName},
			old: hintNode("n", "1"), new: hintNode("n", "2"), want: false},
		{name: "labels changed, resources did not", pod: hintPod("4"), rejectedBy: []string{noderesources.FitName},
			old: hintNode("n", "8"), new: hintNode("n", "8", zone("b")), want: false},
		{name: "added node with an untolerated taint", pod: hintPod("1"), rejectedBy: []string{tainttoleration.Name},
			new: hintNode("n", "8", gpuTaint), want: false},
		{name: "taint removed", pod: hintPod("1"), rejectedBy: []string{tainttoleration.Name},
			old: hintNode("n", "8", gpuTaint), new: hintNode("n", "8"), want: true},
		{name: "untainted node changed otherwise", pod: hintPod("1"), rejectedBy: []string{tainttoleration.Name},
			old: hintNode("n", "8"), new: hintNode("n", "16"), want: false},
		{name: "added node in another zone", pod: hintPod("1", wantsZoneA), rejectedBy: []string{nodeaffinity.Name},
			new: hintNode("n", "8", zone("b")), want: false},
		{name: "node relabelled into the zone", pod: hintPod("1", wantsZoneA), rejectedBy: []string{nodeaffinity.Name},
			old: hintNode("n", "8", zone("b")), new: hintNode("n", "8", zone("a")), want: true},
		{name: "added cordoned node", pod: hintPod("1"), rejectedBy: []string{nodeunschedulable.Name},
			new: hintNode("n", "8", cordoned), want: false},
		{name: "node uncordoned", pod: hintPod("1"), rejectedBy: []string{nodeunschedulable.Name},
			old: hintNode("n", "8", cordoned), new: hintNode("n", "8"), want: true},
		{name: "added node of another name than spec.nodeName", pod: hintPod("1", func(p *v1.Pod) { p.Spec.NodeName = "m" }),
			rejectedBy: []string{nodename.Name}, new: hintNode("n", "8"), want: false},
		{name: "any rejecting plugin that the node helps is enough", pod: hintPod("4"),
			rejectedBy: []string{tainttoleration.Name, noderesources.FitName}, new: hintNode("n", "8"), want: true},
		{name: "none of the rejecting plugins is helped", pod: hintPod("4"),
			rejectedBy: []string{tainttoleration.Name, noderesources.FitName}, new: hintNode("n", "2", gpuTaint), want: false},
		{name: "a plugin without a node hint requeues", pod: hintPod("4"),
			rejectedBy: []string{noderesources.FitName, interpodaffinity.Name}, new: hintNode("n", "2"), want: true},
		{name: "a plugin of unknown interest requeues", pod: hintPod("4"), rejectedBy: []string{"SomeOutOfTreePlugin"},
			new: hintNode("n", "2"), want: true},
		{name: "no rejecting plugin recorded", pod: hintPod("4"), new: hintNode("n", "2"), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := queue.NodeAdd
			if tc.old != nil {
				ev = queue.NodeChange
			}
			if got := nodeEventHelps(&prof, tc.pod, tc.rejectedBy, ev, tc.old, tc.new); got != tc.want {
				t.Errorf("nodeEventHelps = %v, want %v", got, tc.want)
			}
		})
	}
}
