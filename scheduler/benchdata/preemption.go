package benchdata

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A preemption workload (Workload.Preemption) starts from a full cluster: before the run every
// node holds VictimsPerNode low-priority pods, bound by spec.nodeName with no scheduler involved,
// that together request exactly the node's cpu. The run's pods are Preemptors: high priority,
// each asking for what one victim holds, so a preemptor fits nowhere until a scheduler evicts one
// victim for it, and one victim per preemptor is the ideal.
const (
	VictimsPerNode = 10
	// VictimCPU is the cpu of a victim and of a preemptor: NodeCPU / VictimsPerNode.
	VictimCPU = "400m"

	LowPriorityClass  = "bench-low"
	LowPriority       = 100
	HighPriorityClass = "bench-high"
	HighPriority      = 10000
)

// PriorityClasses returns the classes a preemption workload's pods name, to be created before
// them (the API server's Priority admission plugin resolves a pod's priorityClassName into
// spec.priority, and refuses a pod naming a class that does not exist); nil for other workloads.
func (w Workload) PriorityClasses() []*schedulingv1.PriorityClass {
	if !w.Preemption {
		return nil
	}
	mk := func(name string, value int32, desc string) *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, Description: desc}
	}
	return []*schedulingv1.PriorityClass{
		mk(LowPriorityClass, LowPriority, "berth benchmark: pods that fill the cluster and may be preempted"),
		mk(HighPriorityClass, HighPriority, "berth benchmark: pods that preempt"),
	}
}

// Victims returns, for a preemption workload on s.Nodes nodes, the low-priority pods that fill
// every node before the run, in namespace ns: VictimsPerNode per node, each bound to it by
// spec.nodeName and named VictimName(node, slot). Nil for other workloads. Their grace period is
// 0: with no kubelet, a bound pod deleted with a grace period would never go away.
func (w Workload) Victims(ns string, s Size) []*v1.Pod {
	if !w.Preemption {
		return nil
	}
	out := make([]*v1.Pod, 0, s.Nodes*VictimsPerNode)
	for n := range s.Nodes {
		for slot := range VictimsPerNode {
			p := basicPod(ns, VictimName(n, slot), Victim)
			setCPU(p, VictimCPU)
			p.Spec.PriorityClassName = LowPriorityClass
			p.Spec.NodeName = NodeName(n)
			out = append(out, p)
		}
	}
	return out
}

// VictimName names the slot-th victim on node n.
func VictimName(n, slot int) string { return fmt.Sprintf("victim-%05d-%02d", n, slot) }

// VictimOf returns the victim whose place pod i of Pods(ns, s) can take: on the node Place gives
// it, a victim no earlier pod takes. It is "" for a pod that is no preemptor. The harness's
// ceiling evicts it; a scheduler may choose any victim.
func (w Workload) VictimOf(s Size, i int) string {
	if w.Shapes[i%len(w.Shapes)] != Preemptor {
		return ""
	}
	k := i / len(w.Shapes)
	return VictimName(k%s.Nodes, k/s.Nodes%VictimsPerNode)
}

// setCPU sets the cpu request and limit of the pod's one container.
func setCPU(p *v1.Pod, q string) {
	c := &p.Spec.Containers[0].Resources
	c.Requests[v1.ResourceCPU] = resource.MustParse(q)
	c.Limits[v1.ResourceCPU] = resource.MustParse(q)
}
