package conformance

import (
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/testenv"
)

// Builders for the DRA cases. Names are short (see draCase): nodes a, b, c; drivers drvGPU and
// drvNIC; a node-local pool is named after its node.

// gpuDev is a GPU with model (string), numa (int), ecc (bool), fw (version) and memory.
func gpuDev(name, model string, numa int, memory string) resourcev1.Device {
	return testenv.NewDevice(name, map[string]any{"model": model, "numa": numa, "ecc": numa%2 == 0,
		"fw": testenv.Version(fmt.Sprintf("1.%d.0", numa))}, map[string]string{"memory": memory})
}

// gpus returns n GPUs "gpu-0".. of model on NUMA node 0, 16Gi each.
func gpus(n int, model string) []resourcev1.Device {
	var out []resourcev1.Device
	for i := range n {
		out = append(out, gpuDev(fmt.Sprintf("gpu-%d", i), model, 0, "16Gi"))
	}
	return out
}

// gpuSlice is node's slice of GPUs (pool named after the node).
func gpuSlice(node string, devs ...resourcev1.Device) *resourcev1.ResourceSlice {
	return testenv.NewNodeSlice(node, drvGPU, devs...)
}

// gpuClass is a class of drvGPU's devices that every extra selector accepts.
func gpuClass(name string, extraCEL ...string) *resourcev1.DeviceClass {
	return testenv.NewDeviceClass(name, drvGPU, extraCEL...)
}

// attr is a CEL reference to a drvGPU attribute.
func attr(name string) string { return fmt.Sprintf("device.attributes[%q].%s", drvGPU, name) }

func rClaim(name string, reqs ...resourcev1.DeviceRequest) *resourcev1.ResourceClaim {
	return testenv.NewResourceClaim("", name, reqs...)
}

func rTemplate(name string, reqs ...resourcev1.DeviceRequest) *resourcev1.ResourceClaimTemplate {
	return testenv.NewClaimTemplate("", name, reqs...)
}

// allocatedOn marks claim allocated on node: the devices (request, device) of node's drvGPU pool.
func allocatedOn(c *resourcev1.ResourceClaim, node string, results ...[2]string) *resourcev1.ResourceClaim {
	// With a timestamp, as a scheduler writes it: a scheduler adding the pod to reservedFor
	// would otherwise set it, and the API server refuses a change to an allocation.
	a := &resourcev1.AllocationResult{AllocationTimestamp: &metav1.Time{Time: time.Now()}, NodeSelector: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{
		{MatchFields: []v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}}
	for _, r := range results {
		a.Devices.Results = append(a.Devices.Results, resourcev1.DeviceRequestAllocationResult{Request: r[0], Driver: drvGPU, Pool: node, Device: r[1]})
	}
	c.Status.Allocation = a
	return c
}

// sharedGPU is a GPU that allows multiple allocations, with memory capacity under policy (nil:
// none).
func sharedGPU(name, memory string, policy *resourcev1.CapacityRequestPolicy) resourcev1.Device {
	d := gpuDev(name, "shared", 0, memory)
	d.AllowMultipleAllocations = ptrTo(true)
	c := d.Capacity["memory"]
	c.RequestPolicy = policy
	d.Capacity["memory"] = c
	return d
}

// asking makes an exact request, or every subrequest of a firstAvailable one, ask for amount of
// the capacity name.
func asking(r resourcev1.DeviceRequest, name, amount string) resourcev1.DeviceRequest {
	r = *r.DeepCopy() // requests are shared between cases
	req := &resourcev1.CapacityRequirements{Requests: map[resourcev1.QualifiedName]resource.Quantity{resourcev1.QualifiedName(name): resource.MustParse(amount)}}
	if r.Exactly != nil {
		r.Exactly.Capacity = req
	}
	for i := range r.FirstAvailable {
		r.FirstAvailable[i].Capacity = req
	}
	return r
}

// sharedOn marks claim allocated on node a share (shareID) of device of node's drvGPU pool for
// request "gpu", consuming memory.
func sharedOn(c *resourcev1.ResourceClaim, node, device, shareID, memory string) *resourcev1.ResourceClaim {
	c = allocatedOn(c, node, [2]string{"gpu", device})
	r := &c.Status.Allocation.Devices.Results[0]
	r.ShareID = ptrTo(types.UID(shareID))
	r.ConsumedCapacity = map[resourcev1.QualifiedName]resource.Quantity{"memory": resource.MustParse(memory)}
	return c
}

// taintRule taints drvGPU's device in node's pool (every device of the pool when device is "")
// with example.com/broken=rule:NoSchedule.
func taintRule(name, node, device string) *resourcev1.DeviceTaintRule {
	r := &resourcev1.DeviceTaintRule{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.DeviceTaintRuleSpec{
		DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: ptrTo(drvGPU), Pool: ptrTo(node)},
		Taint:          resourcev1.DeviceTaint{Key: "example.com/broken", Value: "rule", Effect: resourcev1.DeviceTaintEffectNoSchedule}}}
	if device != "" {
		r.Spec.DeviceSelector.Device = ptrTo(device)
	}
	return r
}

// withConstraints adds constraints to a template's claim spec.
func withConstraints(t *resourcev1.ResourceClaimTemplate, cons ...resourcev1.DeviceConstraint) *resourcev1.ResourceClaimTemplate {
	t.Spec.Spec.Devices.Constraints = append(t.Spec.Spec.Devices.Constraints, cons...)
	return t
}

// draPod is an incoming pod requesting 100m cpu with claims (entries named after their claim or
// template).
func draPod(name string, claims ...v1.PodResourceClaim) *v1.Pod {
	p := dPod("100m")
	p.Name = name
	return testenv.WithResourceClaims(p, claims...)
}

func fromTemplate(t string) v1.PodResourceClaim { return testenv.ClaimFromTemplate(t, t) }
func named(c string) v1.PodResourceClaim        { return testenv.ExistingClaim(c, c) }

func abc() []testenv.NodeSpec {
	return []testenv.NodeSpec{{Name: "a"}, {Name: "b"}, {Name: "c"}}
}

// runDRACases runs each case as a subtest.
func runDRACases(t *testing.T, prefix string, cases []draCase) {
	for i := range cases {
		dc := &cases[i]
		t.Run(dc.name, func(t *testing.T) {
			up, be := runDRACase(t, fmt.Sprintf("%s%d", prefix, i), dc)
			if up == nil || be == nil {
				return
			}
			compareDRA(t, dc, up, be)
		})
	}
}

// TestDynamicResources runs directed DRA cases through both schedulers (two copies, see
// dra_test.go): the same pods stay pending with the same message (or are held before any attempt
// under both), placements land where the case wants, and placementcheck accepts every
// allocation.
//
// Not covered, as berth does not do what upstream does: selectors berth does not evaluate (the
// case "a CEL function berth does not evaluate" only checks berth's refusal). Extended resources
// backed by a DeviceClass are TestDRAExtendedResources' (dra_extended_test.go).
func TestDynamicResources(t *testing.T) {
	two := func(node string) *resourcev1.ResourceSlice { return gpuSlice(node, gpus(2, "small")...) }
	everywhere := []*resourcev1.ResourceSlice{two("a"), two("b"), two("c")}
	gpuOnly := []*resourcev1.DeviceClass{gpuClass("gpu")}
	one := testenv.ExactRequest("gpu", "gpu", 1)
	mixed := []*resourcev1.ResourceSlice{
		gpuSlice("a", gpuDev("gpu-0", "small", 0, "16Gi"), gpuDev("gpu-1", "small", 1, "16Gi")),
		gpuSlice("b", gpuDev("gpu-0", "a100", 2, "80Gi"), gpuDev("gpu-1", "small", 2, "16Gi"), gpuDev("gpu-2", "small", 3, "16Gi")),
		gpuSlice("c", gpuDev("gpu-0", "h100", 3, "40Gi")),
	}
	celCase := func(name, expr string, want ...string) draCase {
		return draCase{name: name, nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 1, expr))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", want...)}
	}
	// Nodes a and c in rack r1, b in r2; inRack1 makes a pod select r1.
	racks := func() []testenv.NodeSpec {
		return []testenv.NodeSpec{{Name: "a", Labels: map[string]string{"rack": "r1"}}, {Name: "b", Labels: map[string]string{"rack": "r2"}},
			{Name: "c", Labels: map[string]string{"rack": "r1"}}}
	}
	inRack1 := func(p *v1.Pod) *v1.Pod {
		return with(p, func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"rack": "r1"} })
	}
	nic := testenv.NewDevice("nic-0", map[string]any{"speed": 100}, nil)
	rack := func(nodes ...string) *v1.NodeSelector {
		return &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
			{Key: labelHostname, Operator: v1.NodeSelectorOpIn, Values: nodes}}}}}
	}
	networkSlice := func(name string, sel *v1.NodeSelector, all bool, devs ...resourcev1.Device) *resourcev1.ResourceSlice {
		s := testenv.NewNodeSlice("x", drvNIC, devs...)
		s.Name, s.Spec.Pool.Name, s.Spec.NodeName = name, name, nil
		if all {
			s.Spec.AllNodes = ptrTo(true)
		} else {
			s.Spec.NodeSelector = sel
		}
		return s
	}
	nicClass := testenv.NewDeviceClass("nic", drvNIC)
	tainted := func(d resourcev1.Device) resourcev1.Device {
		return testenv.TaintDevice(d, "example.com/broken", "yes", resourcev1.DeviceTaintEffectNoSchedule)
	}
	// Partitionable: node a's pool has a counter set of 40Gi and three partitions: two halves
	// and the whole; the slices of one pool: counters in one, devices in the other.
	partitioned := func(node string) []*resourcev1.ResourceSlice {
		counters := gpuSlice(node)
		counters.Name += "-counters"
		counters.Spec.Pool.ResourceSliceCount = 2
		counters.Spec.Devices = nil
		counters.Spec.SharedCounters = []resourcev1.CounterSet{{Name: "mem", Counters: map[string]resourcev1.Counter{"memory": {Value: resource.MustParse("40Gi")}}}}
		part := func(name, model, size string) resourcev1.Device {
			d := gpuDev(name, model, 0, size)
			d.ConsumesCounters = []resourcev1.DeviceCounterConsumption{{CounterSet: "mem", Counters: map[string]resourcev1.Counter{"memory": {Value: resource.MustParse(size)}}}}
			return d
		}
		devs := gpuSlice(node, part("half-0", "half", "20Gi"), part("half-1", "half", "20Gi"), part("whole", "whole", "40Gi"))
		devs.Spec.Pool.ResourceSliceCount = 2
		return []*resourcev1.ResourceSlice{counters, devs}
	}
	twoSlices := func(node string, count int64, gen int64, devs ...[]resourcev1.Device) []*resourcev1.ResourceSlice {
		var out []*resourcev1.ResourceSlice
		for i, d := range devs {
			s := gpuSlice(node, d...)
			s.Name = fmt.Sprintf("%s-%d-%d", s.Name, gen, i)
			s.Spec.Pool.ResourceSliceCount, s.Spec.Pool.Generation = count, gen
			out = append(out, s)
		}
		return out
	}
	named2 := func(prefix string, n int, model string) []resourcev1.Device {
		var out []resourcev1.Device
		for i := range n {
			out = append(out, gpuDev(fmt.Sprintf("%s-%d", prefix, i), model, 0, "16Gi"))
		}
		return out
	}
	numaPair := withConstraints(rTemplate("pair", testenv.ExactRequest("x", "gpu", 1), testenv.ExactRequest("y", "gpu", 1)),
		testenv.MatchAttribute(drvGPU+"/numa", "x", "y"))
	adminReq := testenv.ExactRequest("gpu", "gpu", 1)
	adminReq.Exactly.AdminAccess = ptrTo(true)
	// Consumable capacity: one GPU of 40Gi that allows multiple allocations, on node b, with or
	// without a request policy; claims from a template asking for some of its memory.
	q := func(s string) *resource.Quantity { return ptrTo(resource.MustParse(s)) }
	sharedOnB := func(policy *resourcev1.CapacityRequestPolicy) []*resourcev1.ResourceSlice {
		return []*resourcev1.ResourceSlice{gpuSlice("b", sharedGPU("gpu-0", "40Gi", policy))}
	}
	memory := func(amount string) []*resourcev1.ResourceClaimTemplate {
		return []*resourcev1.ResourceClaimTemplate{rTemplate("t", asking(testenv.ExactRequest("gpu", "gpu", 1), "memory", amount))}
	}
	fromT := func(names ...string) []*v1.Pod {
		var out []*v1.Pod
		for _, n := range names {
			out = append(out, draPod(n, fromTemplate("t")))
		}
		return out
	}
	subAsking := func(name, memory string) resourcev1.DeviceSubRequest {
		r := testenv.SubRequest(name, "gpu", 1)
		r.Capacity = &resourcev1.CapacityRequirements{Requests: map[resourcev1.QualifiedName]resource.Quantity{"memory": resource.MustParse(memory)}}
		return r
	}
	stepped := &resourcev1.CapacityRequestPolicy{Default: q("4Gi"), ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: q("4Gi"), Step: q("4Gi"), Max: q("32Gi")}}
	valued := &resourcev1.CapacityRequestPolicy{Default: q("8Gi"), ValidValues: []resource.Quantity{resource.MustParse("8Gi"), resource.MustParse("20Gi"), resource.MustParse("40Gi")}}
	configured := gpuClass("configured")
	configured.Spec.Config = []resourcev1.DeviceClassConfiguration{{DeviceConfiguration: resourcev1.DeviceConfiguration{
		Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: drvGPU, Parameters: runtime.RawExtension{Raw: []byte(`{"mode":"fast"}`)}}}}}

	cases := []draCase{
		// Claims from templates (the resourceclaim controller makes them) and pre-created ones.
		{name: "a template claim for one GPU, any node", nodes: abc(), classes: gpuOnly, slices: everywhere,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a", "b", "c")},
		{name: "a template claim, GPUs on one node", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("b")},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},
		{name: "a pre-created claim, GPUs on one node", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("c")},
			claims: []*resourcev1.ResourceClaim{rClaim("gpu", one)},
			pods:   []*v1.Pod{draPod("pod", named("gpu"))}, want: only("pod", "c")},
		{name: "five template claims for the six GPUs", nodes: abc(), classes: gpuOnly, slices: everywhere,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods: []*v1.Pod{draPod("p0", fromTemplate("t")), draPod("p1", fromTemplate("t")), draPod("p2", fromTemplate("t")),
				draPod("p3", fromTemplate("t")), draPod("p4", fromTemplate("t"))}, loose: true, placed: 5},
		{name: "seven template claims for six GPUs", nodes: abc(), classes: gpuOnly, slices: everywhere,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods: []*v1.Pod{draPod("p0", fromTemplate("t")), draPod("p1", fromTemplate("t")), draPod("p2", fromTemplate("t")),
				draPod("p3", fromTemplate("t")), draPod("p4", fromTemplate("t")), draPod("p5", fromTemplate("t")), draPod("p6", fromTemplate("t"))},
			loose: true, placed: 6},
		{name: "a template claim and a pre-created claim", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("a"), gpuSlice("b", gpus(1, "small")...)},
			claims: []*resourcev1.ResourceClaim{rClaim("gpu", one)}, templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods: []*v1.Pod{draPod("pod", named("gpu"), fromTemplate("t"))}, want: only("pod", "a")},
		{name: "a claim that does not exist", nodes: abc(), classes: gpuOnly, slices: everywhere,
			pods: []*v1.Pod{draPod("pod", named("ghost"))}},
		{name: "a template that does not exist", nodes: abc(), classes: gpuOnly, slices: everywhere,
			pods: []*v1.Pod{draPod("pod", fromTemplate("ghost"))}},
		{name: "a class that does not exist", nodes: abc(), classes: gpuOnly, slices: everywhere,
			claims: []*resourcev1.ResourceClaim{rClaim("gpu", testenv.ExactRequest("gpu", "ghost", 1))},
			pods:   []*v1.Pod{draPod("pod", named("gpu"))}},
		{name: "a class that does not exist, in a template", nodes: abc(), classes: gpuOnly, slices: everywhere,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "ghost", 1))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},

		// Already allocated claims.
		{name: "a shared claim allocated on b restricts the pod to b", nodes: abc(), classes: gpuOnly, slices: everywhere,
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("shared", one), "b", [2]string{"gpu", "gpu-0"})},
			pods:   []*v1.Pod{draPod("pod", named("shared"))}, want: only("pod", "b")},
		// PostFilter: the claim, reserved for no pod, is deallocated; the next attempt allocates
		// it again where the pod may go.
		{name: "a shared claim allocated on b, the pod's node selector excludes b", nodes: racks(), classes: gpuOnly, slices: everywhere,
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("shared", one), "b", [2]string{"gpu", "gpu-0"})},
			pods:   []*v1.Pod{inRack1(draPod("pod", named("shared")))}, want: only("pod", "a", "c")},
		{name: "a claim allocated on b, the pod excludes b, no devices elsewhere", nodes: racks(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("b")},
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("shared", one), "b", [2]string{"gpu", "gpu-0"})},
			pods:   []*v1.Pod{inRack1(draPod("pod", named("shared")))}},
		{name: "two claims, one allocated on b, the pod excludes b", nodes: racks(), classes: gpuOnly, slices: everywhere,
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("held", one), "b", [2]string{"gpu", "gpu-1"}), rClaim("fresh", one)},
			pods:   []*v1.Pod{inRack1(draPod("pod", named("fresh"), named("held")))}, want: only("pod", "a", "c")},
		{name: "one unallocated claim shared by two pods", nodes: abc(), classes: gpuOnly, slices: everywhere,
			claims: []*resourcev1.ResourceClaim{rClaim("shared", one)},
			pods:   []*v1.Pod{draPod("p0", named("shared")), draPod("p1", named("shared"))}, loose: true, placed: 2},
		{name: "devices held by allocated claims are not given again", nodes: abc(), classes: gpuOnly, slices: everywhere,
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("held-a", testenv.ExactRequest("gpu", "gpu", 2)), "a", [2]string{"gpu", "gpu-0"}, [2]string{"gpu", "gpu-1"}),
				allocatedOn(rClaim("held-c", one), "c", [2]string{"gpu", "gpu-1"}), rClaim("two", testenv.ExactRequest("gpu", "gpu", 2))},
			pods: []*v1.Pod{draPod("pod", named("two"))}, want: only("pod", "b")},

		// Counts and allocation modes.
		{name: "exact count three fits the node with three", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("a"), gpuSlice("b", gpus(3, "small")...), two("c")},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 3))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},
		{name: "not enough devices on any node", nodes: abc(), classes: gpuOnly, slices: everywhere,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 3))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "no devices at all", nodes: abc(), classes: gpuOnly,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "allocation mode All, with a selector", nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.AllRequest("gpus", "gpu", attr("model")+` == "small"`))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a", "b")},
		{name: "allocation mode All, nothing matches", nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.AllRequest("gpus", "gpu", attr("model")+` == "tpu"`))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "allocation mode All, a device already taken", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("a"), two("b")},
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("held", one), "a", [2]string{"gpu", "gpu-1"}),
				rClaim("all", testenv.AllRequest("gpus", "gpu"))},
			pods: []*v1.Pod{draPod("pod", named("all"))}, want: only("pod", "b")},

		{name: "allocation mode All, a tainted device on one node", nodes: abc(), classes: gpuOnly,
			slices:    []*resourcev1.ResourceSlice{gpuSlice("a", gpuDev("gpu-0", "small", 0, "16Gi"), tainted(gpuDev("gpu-1", "small", 0, "16Gi"))), two("b")},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.AllRequest("gpus", "gpu"))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},
		// Devices on one node only: the error names a device, and upstream filters nodes in
		// parallel.
		{name: "allocation mode All against a matchAttribute constraint (an error)", nodes: abc(), classes: gpuOnly,
			slices: []*resourcev1.ResourceSlice{gpuSlice("a", gpuDev("gpu-0", "small", 0, "16Gi"), gpuDev("gpu-1", "small", 1, "16Gi"))},
			templates: []*resourcev1.ResourceClaimTemplate{withConstraints(rTemplate("t", testenv.AllRequest("gpus", "gpu")),
				testenv.MatchAttribute(drvGPU+"/numa"))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}},

		// firstAvailable.
		{name: "firstAvailable takes the first alternative that fits somewhere", nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.FirstAvailableRequest("gpu",
				testenv.SubRequest("big", "gpu", 1, attr("model")+` == "a100"`), testenv.SubRequest("any", "gpu", 2)))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},
		{name: "firstAvailable falls back to a later alternative", nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.FirstAvailableRequest("gpu",
				testenv.SubRequest("four", "gpu", 4), testenv.SubRequest("h100", "gpu", 1, attr("model")+` == "h100"`)))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "c")},
		{name: "firstAvailable, no alternative fits", nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.FirstAvailableRequest("gpu",
				testenv.SubRequest("four", "gpu", 4), testenv.SubRequest("tpu", "gpu", 1, attr("model")+` == "tpu"`)))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}},

		// Constraints.
		{name: "matchAttribute across two requests", nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: []*resourcev1.ResourceClaimTemplate{numaPair}, pods: []*v1.Pod{draPod("pod", fromTemplate("pair"))}, want: only("pod", "b")},
		{name: "matchAttribute nowhere satisfied", nodes: abc(), classes: gpuOnly,
			slices:    []*resourcev1.ResourceSlice{gpuSlice("a", gpuDev("gpu-0", "small", 0, "16Gi"), gpuDev("gpu-1", "small", 1, "16Gi")), gpuSlice("c", gpuDev("gpu-0", "small", 2, "16Gi"))},
			templates: []*resourcev1.ResourceClaimTemplate{numaPair}, pods: []*v1.Pod{draPod("pod", fromTemplate("pair"))}},

		// CEL selectors on attributes, capacity and driver.
		celCase("CEL: a string attribute", attr("model")+` == "h100"`, "c"),
		celCase("CEL: an int attribute", attr("numa")+` >= 2 && `+attr("model")+` != "h100"`, "b"),
		celCase("CEL: a bool attribute", attr("ecc")+` == false`, "a", "b", "c"),
		celCase("CEL: a version attribute", attr("fw")+`.isGreaterThan(semver("1.2.0"))`, "b", "c"),
		celCase("CEL: a quantity", fmt.Sprintf(`device.capacity[%q].memory.compareTo(quantity("40Gi")) >= 0`, drvGPU), "b", "c"),
		celCase("CEL: string functions", attr("model")+`.startsWith("h") || `+attr("model")+`.matches("^a1")`, "b", "c"),
		celCase("CEL: in a list, has()", fmt.Sprintf(`has(device.attributes[%q].model) && %s in ["a100", "tpu"]`, drvGPU, attr("model")), "b"),
		celCase("CEL: no device matches", attr("numa")+` > 7`),
		// Devices on one node only: upstream filters nodes in parallel and names the device of
		// whichever node failed first.
		{name: "CEL: a runtime error (an attribute missing)", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("a")},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 1, attr("rack")+` == "r1"`))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "CEL: the driver, through a class that selects every driver", nodes: abc(),
			classes: []*resourcev1.DeviceClass{{ObjectMeta: gpuClass("any").ObjectMeta}},
			slices:  []*resourcev1.ResourceSlice{two("a"), networkSlice("fabric", rack("c"), false, nic)},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("dev", "any", 1,
				fmt.Sprintf(`device.driver == %q`, drvNIC)))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "c")},
		{name: "a CEL function berth does not evaluate", nodes: abc(), classes: gpuOnly, slices: everywhere,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 1,
				fmt.Sprintf(`device.attributes[%q].?model.orValue("") == "small"`, drvGPU)))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}, berthRefuses: "which berth does not evaluate"},

		// Classes: selectors and config.
		{name: "a class selecting big GPUs, with config", nodes: abc(),
			classes: []*resourcev1.DeviceClass{gpuClass("big", fmt.Sprintf(`device.capacity[%q].memory.compareTo(quantity("64Gi")) >= 0`, drvGPU)), configured},
			slices:  mixed,
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("big", "big", 1),
				testenv.ExactRequest("cfg", "configured", 1))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},

		// Admin access does not consume the device.
		{name: "admin access to a device already allocated", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{gpuSlice("b", gpus(1, "small")...)},
			adminNS: true,
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("held", one), "b", [2]string{"gpu", "gpu-0"}),
				rClaim("admin", adminReq)},
			pods: []*v1.Pod{draPod("pod", named("admin"))}, want: only("pod", "b")},
		{name: "no admin access: the only device is taken", nodes: abc(), classes: gpuOnly, slices: []*resourcev1.ResourceSlice{gpuSlice("b", gpus(1, "small")...)},
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("held", one), "b", [2]string{"gpu", "gpu-0"}), rClaim("plain", one)},
			pods:   []*v1.Pod{draPod("pod", named("plain"))}},

		// Device taints.
		{name: "a tainted device is not allocated", nodes: abc(), classes: gpuOnly,
			slices:    []*resourcev1.ResourceSlice{gpuSlice("a", tainted(gpuDev("gpu-0", "small", 0, "16Gi"))), gpuSlice("b", tainted(gpuDev("gpu-0", "small", 0, "16Gi")), gpuDev("gpu-1", "small", 0, "16Gi"))},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},
		{name: "every device tainted, no toleration", nodes: abc(), classes: gpuOnly,
			slices:    []*resourcev1.ResourceSlice{gpuSlice("a", tainted(gpuDev("gpu-0", "small", 0, "16Gi")))},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "every device tainted, the request tolerates it", nodes: abc(), classes: gpuOnly,
			slices: []*resourcev1.ResourceSlice{gpuSlice("a", tainted(gpuDev("gpu-0", "small", 0, "16Gi")))},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t",
				testenv.Tolerating(one, testenv.TolerateTaint("example.com/broken", resourcev1.DeviceTaintEffectNoSchedule)))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a")},

		{name: "a DeviceTaintRule taints a device", nodes: abc(), classes: gpuOnly,
			slices:     []*resourcev1.ResourceSlice{gpuSlice("a", gpus(1, "small")...), gpuSlice("b", gpus(1, "small")...)},
			taintRules: []*resourcev1.DeviceTaintRule{taintRule("broken-a", "a", "gpu-0")},
			templates:  []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:       []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},
		{name: "a DeviceTaintRule tainting every device of a pool, tolerated", nodes: abc(), classes: gpuOnly,
			slices:     []*resourcev1.ResourceSlice{gpuSlice("a", gpus(1, "small")...)},
			taintRules: []*resourcev1.DeviceTaintRule{taintRule("broken-a", "a", "")},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t",
				testenv.Tolerating(one, testenv.TolerateTaint("example.com/broken", resourcev1.DeviceTaintEffectNoSchedule)))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a")},

		// Partitionable devices.
		{name: "partitions: two halves of one GPU", nodes: abc(), classes: gpuOnly, slices: partitioned("a"),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 2, attr("model")+` == "half"`))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a")},
		{name: "partitions: the whole and a half exceed the counters", nodes: abc(), classes: gpuOnly, slices: partitioned("a"),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("w", "gpu", 1, attr("model")+` == "whole"`),
				testenv.ExactRequest("h", "gpu", 1, attr("model")+` == "half"`))},
			pods: []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "partitions: an allocated half leaves no room for the whole", nodes: abc(), classes: gpuOnly,
			slices: append(partitioned("a"), partitioned("b")...),
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("held", one), "a", [2]string{"gpu", "half-1"}),
				rClaim("whole", testenv.ExactRequest("gpu", "gpu", 1, attr("model")+` == "whole"`))},
			pods: []*v1.Pod{draPod("pod", named("whole"))}, want: only("pod", "b")},

		// Consumable capacity (DRAConsumableCapacity): shared devices, request policies.
		{name: "consumable capacity: two pods' claims share one device", nodes: abc(), classes: gpuOnly, slices: sharedOnB(nil),
			templates: memory("16Gi"), pods: fromT("p0", "p1"), want: map[string][]string{"p0": {"b"}, "p1": {"b"}}},
		{name: "consumable capacity: exhausted, the third pod stays pending", nodes: abc(), classes: gpuOnly, slices: sharedOnB(nil),
			templates: memory("16Gi"), pods: fromT("p0", "p1", "p2"), loose: true, placed: 2},
		{name: "consumable capacity: nothing asked, a share takes the whole capacity", nodes: abc(), classes: gpuOnly, slices: sharedOnB(nil),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)}, pods: fromT("p0", "p1"), loose: true, placed: 1},
		{name: "consumable capacity: shares allocated before leave too little", nodes: abc(), classes: gpuOnly, slices: sharedOnB(nil),
			claims: []*resourcev1.ResourceClaim{sharedOn(rClaim("held", asking(one, "memory", "28Gi")), "b", "gpu-0", "6f1c2a4e-5b7d-4c3e-9a1f-0d2e3c4b5a61", "28Gi"),
				rClaim("big", asking(one, "memory", "16Gi")), rClaim("small", asking(one, "memory", "8Gi"))},
			pods: []*v1.Pod{draPod("big", named("big")), draPod("small", named("small"))}, want: only("small", "b")},
		{name: "consumable capacity: validRange rounds each request up to a step", nodes: abc(), classes: gpuOnly, slices: sharedOnB(stepped),
			templates: memory("13Gi"), pods: fromT("p0", "p1", "p2"), loose: true, placed: 2},
		{name: "consumable capacity: a request above validRange's max", nodes: abc(), classes: gpuOnly, slices: sharedOnB(stepped),
			templates: memory("36Gi"), pods: fromT("p0")},
		{name: "consumable capacity: validValues round up to the next value", nodes: abc(), classes: gpuOnly, slices: sharedOnB(valued),
			templates: memory("11Gi"), pods: fromT("p0", "p1", "p2"), loose: true, placed: 2},
		{name: "consumable capacity: a fractional validRange", nodes: abc(), classes: gpuOnly,
			slices: []*resourcev1.ResourceSlice{gpuSlice("b", func() resourcev1.Device {
				d := testenv.NewDevice("cpu-0", nil, map[string]string{"cores": "4"})
				d.AllowMultipleAllocations = ptrTo(true)
				d.Capacity["cores"] = resourcev1.DeviceCapacity{Value: resource.MustParse("4"), RequestPolicy: &resourcev1.CapacityRequestPolicy{
					Default: q("500m"), ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: q("500m"), Step: q("500m"), Max: q("4")}}}
				return d
			}())},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", asking(testenv.ExactRequest("gpu", "gpu", 1), "cores", "1100m"))},
			pods:      fromT("p0", "p1", "p2"), loose: true, placed: 2},
		{name: "consumable capacity: firstAvailable takes the alternative whose capacity fits", nodes: abc(), classes: gpuOnly,
			slices: []*resourcev1.ResourceSlice{gpuSlice("a", sharedGPU("gpu-0", "40Gi", nil))},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.FirstAvailableRequest("gpu",
				subAsking("big", "48Gi"), subAsking("small", "8Gi")))},
			pods: fromT("pod"), want: only("pod", "a")},
		{name: "consumable capacity: an exclusive device with enough capacity", nodes: abc(), classes: gpuOnly, slices: mixed,
			templates: memory("48Gi"), pods: fromT("pod"), want: only("pod", "b")},

		// Network-attached devices and pools.
		{name: "a network slice for nodes by selector", nodes: abc(), classes: []*resourcev1.DeviceClass{nicClass},
			slices:    []*resourcev1.ResourceSlice{networkSlice("fabric", rack("a", "c"), false, nic)},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("nic", "nic", 1))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a", "c")},
		{name: "a network slice for all nodes, one device for two pods", nodes: abc(), classes: []*resourcev1.DeviceClass{nicClass},
			slices:    []*resourcev1.ResourceSlice{networkSlice("fabric", nil, true, nic)},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("nic", "nic", 1))},
			pods:      []*v1.Pod{draPod("p0", fromTemplate("t")), draPod("p1", fromTemplate("t"))}, loose: true, placed: 1},
		{name: "per-device node selection", nodes: abc(), classes: []*resourcev1.DeviceClass{nicClass},
			slices: []*resourcev1.ResourceSlice{func() *resourcev1.ResourceSlice {
				s := networkSlice("fabric", nil, false, testenv.NewDevice("nic-a", nil, nil), testenv.NewDevice("nic-c", nil, nil))
				s.Spec.NodeSelector, s.Spec.PerDeviceNodeSelection = nil, ptrTo(true)
				s.Spec.Devices[0].NodeName, s.Spec.Devices[1].NodeSelector = ptrTo("a"), rack("c")
				return s
			}()},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("nic", "nic", 1))},
			pods:      []*v1.Pod{draPod("p0", fromTemplate("t")), draPod("p1", fromTemplate("t")), draPod("p2", fromTemplate("t"))},
			loose:     true, placed: 2},
		{name: "a GPU and a network device on the same node", nodes: abc(), classes: []*resourcev1.DeviceClass{gpuClass("gpu"), nicClass},
			slices:    []*resourcev1.ResourceSlice{two("a"), two("b"), networkSlice("fabric", rack("b", "c"), false, nic)},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one, testenv.ExactRequest("nic", "nic", 1))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "b")},
		{name: "a pool of two slices", nodes: abc(), classes: gpuOnly,
			slices:    append(twoSlices("a", 2, 1, named2("x", 2, "small"), named2("y", 2, "small")), two("b")),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 3))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a")},
		{name: "a pool whose slices repeat a device name is invalid", nodes: abc(), classes: gpuOnly,
			slices:    twoSlices("a", 2, 1, named2("x", 2, "small"), named2("x", 1, "small")),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "an incomplete pool is not allocated from", nodes: abc(), classes: gpuOnly,
			slices:    append(twoSlices("a", 2, 1, named2("x", 2, "small")), gpuSlice("b", gpus(1, "small")...)),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 2))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "a stale generation's slice is ignored", nodes: abc(), classes: gpuOnly,
			slices:    append(twoSlices("a", 1, 1, named2("old", 3, "small")), twoSlices("a", 1, 2, named2("new", 1, "small"))...),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 2))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
		{name: "the newest generation's devices are allocated", nodes: abc(), classes: gpuOnly,
			slices:    append(twoSlices("a", 1, 1, named2("old", 1, "small")), twoSlices("a", 1, 2, named2("new", 2, "a100"))...),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 2, attr("model")+` == "a100"`))},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}, want: only("pod", "a")},

		// Other plugins' reasons beside DynamicResources'.
		{name: "a cordoned node and nodes without devices", nodes: []testenv.NodeSpec{{Name: "a", Unschedulable: true}, {Name: "b"}, {Name: "c"}},
			classes: gpuOnly, slices: []*resourcev1.ResourceSlice{two("a")},
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", one)},
			pods:      []*v1.Pod{draPod("pod", fromTemplate("t"))}},
	}
	runDRACases(t, "dra", cases)
}
