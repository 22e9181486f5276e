package conformance

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-scheduler/berth/testenv"
)

// Extended resources backed by DRA (DRAExtendedResource): containers request, in
// resources.requests and limits, an extended resource a DeviceClass provides. Resource names are
// qualified per copy (see draCopy.qualifyResource): example.com/gpu in a case is the copy's own.

const extGPU = "example.com/gpu"

// TestDRAExtendedResourceScoring's cases: their ids are scoredPrefix and an index below
// scoredCases, and scoredProfile weighs their GPUs scoredGPUWeight.
const (
	scoredPrefix    = "drs"
	scoredCases     = 3
	scoredGPUWeight = 5
)

// extClass is class gpu of drvGPU's devices, providing extended resource name ("": only its
// implicit name deviceclass.resource.kubernetes.io/gpu).
func extClass(name string) *resourcev1.DeviceClass {
	c := gpuClass("gpu")
	if name != "" {
		c.Spec.ExtendedResourceName = ptrTo(name)
	}
	return c
}

// extContainer is a container asking for the resources given as name, quantity pairs (extended
// resources in its limits too, as the API server requires).
func extContainer(name string, kv ...string) v1.Container {
	c := v1.Container{Name: name, Image: "registry.k8s.io/pause:3.10", Resources: v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("10m")}, Limits: v1.ResourceList{}}}
	for i := 0; i+1 < len(kv); i += 2 {
		q := resource.MustParse(kv[i+1])
		c.Resources.Requests[v1.ResourceName(kv[i])] = q
		c.Resources.Limits[v1.ResourceName(kv[i])] = q
	}
	return c
}

// extPod is an incoming pod with the containers, and init containers when given.
func extPod(name string, init []v1.Container, containers ...v1.Container) *v1.Pod {
	p := dPod("100m")
	p.Name = name
	p.Spec.InitContainers, p.Spec.Containers = init, containers
	return p
}

// TestDRAExtendedResources runs directed cases of extended resources backed by DRA through both
// schedulers: where the pods land (or their messages when pending), the claim each scheduler
// created for a bound pod (its name, annotation, owner, requests, allocation, reservation) and
// the pod's request mappings, which must match upstream's (compareDRA), and placementcheck's
// judgement of every allocation (it knows these claims, see its checkExtended).
func TestDRAExtendedResources(t *testing.T) {
	gpuSlices := func(counts ...int) []*resourcev1.ResourceSlice {
		var out []*resourcev1.ResourceSlice
		for i, n := range counts {
			if n > 0 {
				out = append(out, gpuSlice(string(rune('a'+i)), gpus(n, "small")...))
			}
		}
		return out
	}
	sidecar := func(c v1.Container) v1.Container {
		c.RestartPolicy = ptrTo(v1.ContainerRestartPolicyAlways)
		return c
	}
	cases := []draCase{
		{name: "example.com/gpu: 2 by extendedResourceName goes where two devices are", nodes: abc(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(1, 2, 0),
			pods: []*v1.Pod{extPod("pod", nil, extContainer("app", extGPU, "2"))}, want: only("pod", "b")},
		{name: "the implicit deviceclass.resource.kubernetes.io name", nodes: abc(),
			classes: []*resourcev1.DeviceClass{extClass("")}, slices: gpuSlices(0, 0, 1),
			pods: []*v1.Pod{extPod("pod", nil, extContainer("app", resourcev1.ResourceDeviceClassPrefix+"gpu", "1"))}, want: only("pod", "c")},
		{name: "a node advertising the resource is used the device-plugin way",
			nodes:   []testenv.NodeSpec{{Name: "a", Extra: v1.ResourceList{extGPU: resource.MustParse("2")}}, {Name: "b"}, {Name: "c"}},
			classes: []*resourcev1.DeviceClass{extClass(extGPU)},
			pods:    []*v1.Pod{extPod("pod", nil, extContainer("app", extGPU, "2"))}, want: only("pod", "a")},
		{name: "too little advertised, and no devices: upstream's message",
			nodes:   []testenv.NodeSpec{{Name: "a", Extra: v1.ResourceList{extGPU: resource.MustParse("1")}}, {Name: "b"}, {Name: "c"}},
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(0, 1, 0),
			pods: []*v1.Pod{extPod("pod", nil, extContainer("app", extGPU, "2"))}},
		{name: "more than any node has: upstream's message", nodes: abc(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(2, 2, 1),
			pods: []*v1.Pod{extPod("pod", nil, extContainer("app", extGPU, "3"))}},
		{name: "containers, a sidecar and init containers: requests and mappings", nodes: abc(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(0, 8, 0),
			pods: []*v1.Pod{extPod("pod",
				[]v1.Container{extContainer("init-0", extGPU, "6"), sidecar(extContainer("side", extGPU, "1")), extContainer("init-1", extGPU, "2")},
				extContainer("app", extGPU, "1"), extContainer("other", "cpu", "10m"), extContainer("more", extGPU, "2"))},
			want: only("pod", "b")},
		{name: "its own claim and extended resources share the node's devices", nodes: abc(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(2, 3, 0),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 1))},
			pods: []*v1.Pod{with(extPod("pod", nil, extContainer("app", extGPU, "2")), func(p *v1.Pod) {
				testenv.WithResourceClaims(p, fromTemplate("t"))
			})}, want: only("pod", "b")},
		{name: "a claim left by an earlier attempt is deleted, and the pod gets a new one", nodes: abc(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(0, 2, 0),
			pods:          []*v1.Pod{extPod("pod", nil, extContainer("app", extGPU, "2"))},
			staleExtended: map[string]*resourcev1.ResourceClaim{"pod": rClaim("", testenv.ExactRequest("container-0-request-1", "gpu", 2))},
			want:          only("pod", "b")},
		// Upstream creates a claim without requests for the extended resources there (none are
		// needed), then fails its PreBind: "nil or empty request mappings". berth leaves them
		// to the device plugin and binds the pod (README: Devices).
		{name: "its own claim, and extended resources a node serves by device plugin", upstreamFails: "nil or empty request mappings",
			nodes:   []testenv.NodeSpec{{Name: "a", Extra: v1.ResourceList{extGPU: resource.MustParse("2")}}},
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(2),
			templates: []*resourcev1.ResourceClaimTemplate{rTemplate("t", testenv.ExactRequest("gpu", "gpu", 1))},
			pods: []*v1.Pod{with(extPod("pod", nil, extContainer("app", extGPU, "1")), func(p *v1.Pod) {
				testenv.WithResourceClaims(p, fromTemplate("t"))
			})}, want: only("pod", "a")},
		{name: "two pods, devices for one", nodes: abc(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(2, 0, 0),
			pods:  []*v1.Pod{extPod("p0", nil, extContainer("app", extGPU, "2")), extPod("p1", nil, extContainer("app", extGPU, "2"))},
			loose: true, placed: 1},
	}
	runDRACases(t, "drx", cases)
}

// TestDRAExtendedResourceScoring: cases whose pods use the schedulers' second profile
// (scoredProfile), where NodeResourcesFit scores MostAllocated with the GPUs of a DeviceClass
// weighing scoredGPUWeight against cpu's and memory's 1. Each case is built so that the GPU term
// decides the node: without it (or with the devices counted wrongly) another node would score
// higher, so the want checks the score, not only the fit.
func TestDRAExtendedResourceScoring(t *testing.T) {
	gpuSlices := func(counts ...int) []*resourcev1.ResourceSlice {
		var out []*resourcev1.ResourceSlice
		for i, n := range counts {
			out = append(out, gpuSlice(string(rune('a'+i)), gpus(n, "small")...))
		}
		return out
	}
	// Node a has twice the others' cpu and memory, and the pods ask for both in the nodes'
	// ratio: NodeResourcesBalancedAllocation ranks every node the same, and MostAllocated on cpu
	// and memory alone ranks a last (12 against 25).
	bigA := func() []testenv.NodeSpec {
		return []testenv.NodeSpec{{Name: "a", CPU: "8", Memory: "64Gi"}, {Name: "b"}, {Name: "c"}}
	}
	pod := func(gpus string) *v1.Pod {
		return extPod("pod", nil, extContainer("app", "cpu", "1", "memory", "8Gi", extGPU, gpus))
	}
	cases := []draCase{
		{name: "MostAllocated on GPUs: the node the pod's GPU fills", scored: true, nodes: bigA(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(1, 4, 2),
			pods: []*v1.Pod{pod("1")}, want: only("pod", "a")},
		{name: "GPUs allocated to other claims count as used", scored: true, nodes: bigA(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(4, 2, 2),
			claims: []*resourcev1.ResourceClaim{allocatedOn(rClaim("taken", testenv.ExactRequest("gpu", "gpu", 3)), "a",
				[2]string{"gpu", "gpu-0"}, [2]string{"gpu", "gpu-1"}, [2]string{"gpu", "gpu-2"})},
			pods: []*v1.Pod{pod("1")}, want: only("pod", "a")},
		{name: "two GPUs requested: the node they fill", scored: true, nodes: bigA(),
			classes: []*resourcev1.DeviceClass{extClass(extGPU)}, slices: gpuSlices(2, 8, 4),
			pods: []*v1.Pod{pod("2")}, want: only("pod", "a")},
	}
	if len(cases) > scoredCases {
		t.Fatalf("%d cases, but scoredProfile lists the GPUs of %d", len(cases), scoredCases)
	}
	runDRACases(t, scoredPrefix, cases)
}
