package benchdata

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// TestPreemptionFillsEveryNode checks the promise of a preemption workload, with requests
// re-derived from the objects: the victims use up each node's cpu exactly (nothing more fits),
// and taking for each preemptor the victim VictimOf names, on the node Place gives it, evicts
// each victim at most once and leaves every node within its cpu.
func TestPreemptionFillsEveryNode(t *testing.T) {
	w, _ := Get("preemption")
	for _, s := range append(sizes, Size{Nodes: 8, Pods: 8 * VictimsPerNode}) {
		t.Run(fmt.Sprintf("%dx%d", s.Nodes, s.Pods), func(t *testing.T) {
			if err := w.Validate(s); err != nil {
				t.Fatal(err)
			}
			nodes, pods := w.Nodes(s.Nodes), w.Pods("ns", s)
			victims := w.Victims("ns", s)
			if len(victims) != s.Nodes*VictimsPerNode {
				t.Fatalf("%d victims, want %d", len(victims), s.Nodes*VictimsPerNode)
			}
			used := map[string]int64{} // milli-cpu per node
			nodeOf := map[string]string{}
			for _, v := range victims {
				if v.Spec.PriorityClassName != LowPriorityClass || v.Labels[ShapeLabel] != string(Victim) ||
					v.Spec.TerminationGracePeriodSeconds == nil || *v.Spec.TerminationGracePeriodSeconds != 0 {
					t.Fatalf("victim %s: class %q, shape %q, grace %v", v.Name, v.Spec.PriorityClassName, v.Labels[ShapeLabel], v.Spec.TerminationGracePeriodSeconds)
				}
				if _, dup := nodeOf[v.Name]; dup {
					t.Fatalf("duplicate victim %s", v.Name)
				}
				nodeOf[v.Name] = v.Spec.NodeName
				used[v.Spec.NodeName] += cpuOf(v)
			}
			for _, n := range nodes {
				if got, alloc := used[n.Name], n.Status.Allocatable.Cpu().MilliValue(); got != alloc {
					t.Fatalf("node %s: victims use %dm of %dm cpu, want all of it", n.Name, got, alloc)
				}
			}
			place := w.Place(s, s.Pods)
			evicted := map[string]bool{}
			for i, p := range pods {
				v := w.VictimOf(s, i)
				if v == "" || evicted[v] {
					t.Fatalf("pod %s: victim %q (evicted before: %v)", p.Pod.Name, v, evicted[v])
				}
				if node := nodes[place[i]].Name; nodeOf[v] != node {
					t.Fatalf("pod %s placed on %s, but its victim %s is on %s", p.Pod.Name, node, v, nodeOf[v])
				}
				if cpuOf(p.Pod) != cpuOf(victims[0]) || cpuOf(p.Pod) == 0 {
					t.Fatalf("pod %s asks for %dm cpu, a victim holds %dm", p.Pod.Name, cpuOf(p.Pod), cpuOf(victims[0]))
				}
				evicted[v] = true
			}
		})
	}
}

func cpuOf(p *v1.Pod) int64 { return p.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() }

func TestVictimOfOtherWorkloads(t *testing.T) {
	w, _ := Get("basic")
	s := Size{Nodes: 8, Pods: 20}
	if v, pcs, vs := w.VictimOf(s, 3), w.PriorityClasses(), w.Victims("ns", s); v != "" || pcs != nil || vs != nil {
		t.Fatalf("basic: VictimOf %q, %d priority classes, %d victims", v, len(pcs), len(vs))
	}
}

func TestPriorityClasses(t *testing.T) {
	w, _ := Get("preemption")
	got := map[string]int32{}
	for _, pc := range w.PriorityClasses() {
		got[pc.Name] = pc.Value
	}
	if len(got) != 2 || got[LowPriorityClass] != LowPriority || got[HighPriorityClass] != HighPriority || LowPriority >= HighPriority {
		t.Fatalf("priority classes %v", got)
	}
}
