package benchdata

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels, taint and gate the workloads use.
const (
	ZoneLabel     = "topology.kubernetes.io/zone"
	HostnameLabel = "kubernetes.io/hostname"
	// PoolLabel splits nodes into Pools pools (pool-0 … pool-3) for node affinity.
	PoolLabel = "bench.berth.dev/pool"
	// ShapeLabel names the shape a pod was built with.
	ShapeLabel = "bench.berth.dev/shape"
	// AntiGroupLabel groups anti-affinity pods: two pods of one group never share a node.
	AntiGroupLabel = "bench.berth.dev/anti-group"
	// TaintKey is the NoSchedule taint on every odd-numbered node of tainted workloads.
	TaintKey   = "bench.berth.dev/dedicated"
	TaintValue = "batch"
	// GateName is the scheduling gate of gated pods; nothing removes it.
	GateName = "bench.berth.dev/hold"

	Zones = 3
	Pools = 4
)

// Node shape, as upstream's scheduler_perf default node.
const (
	NodeCPU    = "4"
	NodeMemory = "32Gi"
	NodePods   = 110
	// podsPerNode is how many basic pods (100m, 500Mi) one node holds: cpu is the limit.
	podsPerNode = 40
	// MinNodes is the smallest cluster every workload is valid on (each zone needs an untainted
	// node, each affinity pool a node).
	MinNodes = 8
)

// Size is the scale of one run.
type Size struct {
	Nodes, Pods int
}

// Pod is one pod of a workload and what must become of it.
type Pod struct {
	Pod *v1.Pod
	// MustStayPending marks pods that fit nowhere or are gated: binding one is a violation.
	MustStayPending bool
}

// Shape is a kind of pod.
type Shape string

// The pod shapes.
const (
	Basic        Shape = "basic"        // 100m cpu, 500Mi memory, nothing else
	Spread       Shape = "spread"       // hard topology spread over zones, maxSkew 1
	AntiAffinity Shape = "antiaffinity" // required anti-affinity to its group, per hostname
	NodeAffinity Shape = "nodeaffinity" // required node affinity to pools 0 and 1
	Tolerating   Shape = "tolerating"   // tolerates the workload taint
	TooBig       Shape = "toobig"       // asks for 9 cpus: fits no node
	Gated        Shape = "gated"        // carries a scheduling gate
	// Preemptor has high priority and asks for one victim's cpu (VictimCPU): in a preemption
	// workload's full cluster it fits only once a victim is evicted.
	Preemptor Shape = "preemptor"
	// Victim is the shape of the low-priority pods a preemption workload fills the nodes with
	// before the run (see Workload.Victims); no workload's Pods has it.
	Victim Shape = "victim"
	// WithVolume is a basic pod mounting its own claim of the WaitForFirstConsumer StorageClass
	// (see Workload.Claims), which exists before the pod, unbound.
	WithVolume Shape = "volume"
	// WithDevice is a basic pod with its own ResourceClaim for one device of DeviceClass (see
	// Workload.ResourceClaims), which exists before the pod, unallocated.
	WithDevice Shape = "device"
)

// Workload is a named cluster and pod mix. Pods cycle through Shapes in order.
type Workload struct {
	Name    string
	Summary string
	// Tainted taints every odd-numbered node with TaintKey=TaintValue:NoSchedule.
	Tainted bool
	// FirstPass measures the scheduler's first pass over the pods that fit nowhere: a run is
	// complete once each of them carries PodScheduled=False with reason Unschedulable (and every
	// bindable pod is bound), rather than when the last bindable pod is bound.
	FirstPass bool
	// Preemption fills every node with low-priority victims before the run (see Victims); the
	// run's pods, all Preemptors, each fit only once a scheduler preempts one of them.
	Preemption bool
	// Volumes gives each pod its own claim of a WaitForFirstConsumer class, created before the
	// run (see Claims): binding a pod takes a volume provisioned on its node and bound first.
	Volumes bool
	// Devices gives each node DevicesPerNode devices (one ResourceSlice) and each pod its own
	// claim for one of them, created before the run (see ResourceClaims): binding a pod takes the
	// claim's allocation and reservation first.
	Devices bool
	Shapes  []Shape
}

var all = []Workload{
	{Name: "basic", Summary: "100m/500Mi pods, no constraints", Shapes: []Shape{Basic}},
	{Name: "spread", Summary: "hard topology spread over 3 zones (maxSkew 1)", Shapes: []Shape{Spread}},
	{Name: "antiaffinity", Summary: "required pod anti-affinity per hostname within groups", Shapes: []Shape{AntiAffinity}},
	{Name: "nodeaffinity", Summary: "required node affinity to half the nodes", Shapes: []Shape{NodeAffinity}},
	{Name: "taints", Summary: "half the nodes tainted; half the pods tolerate", Tainted: true, Shapes: []Shape{Tolerating, Basic}},
	{Name: "mixed", Summary: "basic, spread, anti-affinity, node affinity and tolerating pods in turn", Tainted: true,
		Shapes: []Shape{Basic, Spread, AntiAffinity, NodeAffinity, Tolerating}},
	{Name: "unschedulable", Summary: "20% of pods fit nowhere (9 cpus), among basic ones", Shapes: []Shape{Basic, Basic, Basic, Basic, TooBig}},
	{Name: "gated", Summary: "half the pods carry a scheduling gate, among basic ones", Shapes: []Shape{Basic, Gated}},
}

// optIn are the workloads that run only when named: not in All, Names or "all", because at the
// size they are meant for they would lengthen every full benchmark by many minutes.
var optIn = []Workload{
	{Name: "firstpass", Summary: "every pod fits nowhere (9 cpus); measured is the scheduler's first pass over them, " +
		"until each carries PodScheduled=False (one status patch per pod)", FirstPass: true, Shapes: []Shape{TooBig}},
	{Name: "preemption", Summary: fmt.Sprintf("every node starts full of low-priority pods (%d of %s cpu each, priority %d, bound before the run); "+
		"each pod (priority %d, %s cpu) fits only once one of them is preempted: one victim per pod is the ideal",
		VictimsPerNode, VictimCPU, LowPriority, HighPriority, VictimCPU), Preemption: true, Shapes: []Shape{Preemptor}},
	{Name: "volumes", Summary: fmt.Sprintf("each pod (100m/500Mi) mounts its own claim (%s) of a WaitForFirstConsumer StorageClass, created unbound before the run "+
		"as a StatefulSet's; binding a pod takes its claim's selected-node annotation, a volume provisioned on that node and "+
		"bound to the claim by kube-controller-manager's PV binder, then the pod's binding", ClaimSize), Volumes: true, Shapes: []Shape{WithVolume}},
	{Name: "devices", Summary: fmt.Sprintf("each node has %d devices of driver %s (one ResourceSlice); each pod (100m/500Mi) has its own ResourceClaim "+
		"for exactly one device of DeviceClass %s (CEL: device.driver), created unallocated before the run; binding a pod takes the claim's "+
		"allocation and reservedFor first", DevicesPerNode, Driver, DeviceClass), Devices: true, Shapes: []Shape{WithDevice}},
}

// All returns every workload that "all" selects, in report order (not the opt-in ones).
func All() []Workload { return append([]Workload(nil), all...) }

// Names returns the names of the workloads of All, in report order.
func Names() []string { return names(all) }

// OptInNames returns the names of the workloads that run only when named.
func OptInNames() []string { return names(optIn) }

func names(ws []Workload) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Name
	}
	return out
}

// Get returns the workload called name, opt-in ones included.
func Get(name string) (Workload, bool) {
	for _, ws := range [][]Workload{all, optIn} {
		for _, w := range ws {
			if w.Name == name {
				return w, true
			}
		}
	}
	return Workload{}, false
}

// Validate reports why s is too small or malformed for w, or nil.
func (w Workload) Validate(s Size) error {
	if s.Nodes < MinNodes {
		return fmt.Errorf("workload %s: nodes %d: need at least %d", w.Name, s.Nodes, MinNodes)
	}
	if s.Pods < 1 {
		return fmt.Errorf("workload %s: pods %d: need at least 1", w.Name, s.Pods)
	}
	if len(w.Shapes) == 0 {
		return fmt.Errorf("workload %s: no pod shapes", w.Name)
	}
	if w.FirstPass && !slices.Contains(w.Shapes, TooBig) {
		return fmt.Errorf("workload %s: a first pass needs pods that fit nowhere (shape %s)", w.Name, TooBig)
	}
	if err := w.validatePreemption(); err != nil {
		return err
	}
	for _, sh := range w.Shapes {
		if (sh == WithVolume) != w.Volumes {
			return fmt.Errorf("workload %s: shape %s in a workload with Volumes %v: a volumes workload has pods with volumes alone", w.Name, sh, w.Volumes)
		}
		if (sh == WithDevice) != w.Devices {
			return fmt.Errorf("workload %s: shape %s in a workload with Devices %v: a devices workload has pods with device claims alone", w.Name, sh, w.Devices)
		}
	}
	// A sufficient condition: every bindable pod fits even if all crowd onto the smallest set of
	// nodes some shape is allowed on (in a preemption workload, if each takes a victim's place).
	room := podsPerNode * w.minEligible(s.Nodes)
	if w.Preemption {
		room = VictimsPerNode * s.Nodes
	}
	if w.Devices {
		room = min(room, DevicesPerNode*s.Nodes)
	}
	if bindable := w.Bindable(s.Pods); bindable > room {
		return fmt.Errorf("workload %s: %d pods need room for %d on %d nodes: too many pods for the nodes", w.Name, bindable, room, s.Nodes)
	}
	return nil
}

// validatePreemption checks that preemptors and a preemption workload go together: a preemption
// workload's nodes are full, so it has preemptors alone, and no taint (VictimOf relies on
// Place putting preemptors round-robin over every node).
func (w Workload) validatePreemption() error {
	for _, sh := range w.Shapes {
		if (sh == Preemptor) != w.Preemption {
			return fmt.Errorf("workload %s: shape %s in a workload with Preemption %v: a preemption workload has preemptors alone", w.Name, sh, w.Preemption)
		}
		if sh == Victim {
			return fmt.Errorf("workload %s: shape %s is for Victims alone", w.Name, sh)
		}
	}
	if w.Preemption && w.Tainted {
		return fmt.Errorf("workload %s: a preemption workload has no tainted nodes", w.Name)
	}
	return nil
}

// Bindable returns how many of m pods a scheduler must bind.
func (w Workload) Bindable(m int) int {
	n := 0
	for i := range m {
		if s := w.Shapes[i%len(w.Shapes)]; s != TooBig && s != Gated {
			n++
		}
	}
	return n
}

// eligible returns how many of n nodes a pod of shape s may run on.
func (w Workload) eligible(s Shape, n int) int { return len(w.eligibleNodes(s, n)) }

// eligibleNodes returns the indexes of the nodes (of n) a pod of shape s may run on: untainted
// ones unless it tolerates the taint, and pools 0 and 1 for node affinity.
func (w Workload) eligibleNodes(s Shape, n int) []int {
	var out []int
	for i := range n {
		if w.Tainted && s != Tolerating && i%2 == 1 {
			continue
		}
		if s == NodeAffinity && i%Pools > 1 {
			continue
		}
		out = append(out, i)
	}
	return out
}

func (w Workload) minEligible(n int) int {
	least := n
	for _, s := range w.Shapes {
		if s != TooBig && s != Gated {
			least = min(least, w.eligible(s, n))
		}
	}
	return least
}

// Nodes returns the workload's n nodes: Ready, 4 cpus, 32Gi, 110 pods, labelled with hostname,
// zone (zone-i%3) and pool (pool-i%4); odd-numbered ones tainted when the workload says so.
func (w Workload) Nodes(n int) []*v1.Node {
	alloc := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse(NodeCPU),
		v1.ResourceMemory: resource.MustParse(NodeMemory),
		v1.ResourcePods:   *resource.NewQuantity(NodePods, resource.DecimalSI),
	}
	nodes := make([]*v1.Node, n)
	for i := range nodes {
		name := NodeName(i)
		node := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				HostnameLabel: name,
				ZoneLabel:     fmt.Sprintf("zone-%d", i%Zones),
				PoolLabel:     fmt.Sprintf("pool-%d", i%Pools),
			}},
			Status: v1.NodeStatus{
				Capacity: alloc.DeepCopy(), Allocatable: alloc.DeepCopy(),
				Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady"}},
				Phase:      v1.NodeRunning,
			},
		}
		if w.Tainted && i%2 == 1 {
			node.Spec.Taints = []v1.Taint{{Key: TaintKey, Value: TaintValue, Effect: v1.TaintEffectNoSchedule}}
		}
		nodes[i] = node
	}
	return nodes
}

// NodeName returns the name of node i.
func NodeName(i int) string { return fmt.Sprintf("node-%05d", i) }

// Pods returns s.Pods pods in namespace ns, in creation order, for a cluster of s.Nodes nodes.
func (w Workload) Pods(ns string, s Size) []Pod {
	groups := w.antiGroups(s)
	pods := make([]Pod, s.Pods)
	for i := range pods {
		shape := w.Shapes[i%len(w.Shapes)]
		k := i / len(w.Shapes) // index among pods of this shape
		p := basicPod(ns, PodName(i), shape)
		switch shape {
		case Spread:
			p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: ZoneLabel, WhenUnsatisfiable: v1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{ShapeLabel: string(Spread)}},
			}}
		case AntiAffinity:
			group := fmt.Sprintf("g%d", k%groups)
			p.Labels[AntiGroupLabel] = group
			p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{AntiGroupLabel: group}},
					TopologyKey:   HostnameLabel,
				}},
			}}
		case NodeAffinity:
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
					MatchExpressions: []v1.NodeSelectorRequirement{{
						Key: PoolLabel, Operator: v1.NodeSelectorOpIn, Values: []string{"pool-0", "pool-1"},
					}},
				}}},
			}}
		case Tolerating:
			p.Spec.Tolerations = []v1.Toleration{{
				Key: TaintKey, Operator: v1.TolerationOpEqual, Value: TaintValue, Effect: v1.TaintEffectNoSchedule,
			}}
		case TooBig:
			setCPU(p, "9")
		case Gated:
			p.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: GateName}}
		case Preemptor:
			setCPU(p, VictimCPU)
			p.Spec.PriorityClassName = HighPriorityClass
		case WithVolume:
			addClaimVolume(p)
		case WithDevice:
			addDeviceClaim(p)
		}
		pods[i] = Pod{Pod: p, MustStayPending: shape == TooBig || shape == Gated}
	}
	return pods
}

// PodName names pod i of Pods.
func PodName(i int) string { return fmt.Sprintf("pod-%05d", i) }

// antiGroups returns how many anti-affinity groups the pods are split into: enough that no group
// needs more than half the nodes its pods may use.
func (w Workload) antiGroups(s Size) int {
	count := 0
	for i := range s.Pods {
		if w.Shapes[i%len(w.Shapes)] == AntiAffinity {
			count++
		}
	}
	nodes := max(1, w.eligible(AntiAffinity, s.Nodes))
	return max(1, (2*count+nodes-1)/nodes)
}

// basicRequests are upstream scheduler_perf's default pod's requests and limits.
var basicRequests = v1.ResourceList{
	v1.ResourceCPU:    resource.MustParse("100m"),
	v1.ResourceMemory: resource.MustParse("500Mi"),
}

// basicPod is upstream scheduler_perf's default pod: one pause container, 100m and 500Mi.
func basicPod(ns, name string, shape Shape) *v1.Pod {
	res := basicRequests.DeepCopy()
	zero := int64(0)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{ShapeLabel: string(shape)}},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []v1.Container{{
				Name: "pause", Image: "registry.k8s.io/pause:3.10",
				Ports:     []v1.ContainerPort{{ContainerPort: 80}},
				Resources: v1.ResourceRequirements{Requests: res, Limits: res.DeepCopy()},
			}},
		},
	}
}

// ErrUnknown is returned by Select for a name that is no workload.
var ErrUnknown = errors.New("unknown workload")

// Select returns the workloads named in a comma-separated list ("all" or "" for those of All),
// in the list's order; opt-in workloads run only when the list names them.
func Select(list string) ([]Workload, error) {
	if list == "" || list == "all" {
		return All(), nil
	}
	var out []Workload
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		w, ok := Get(name)
		if !ok {
			return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(append(Names(), OptInNames()...), ", "))
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, w)
		}
	}
	return out, nil
}
