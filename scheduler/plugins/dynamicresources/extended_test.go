package dynamicresources

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const extGPU = "example.com/gpu"

// gpuClass provides example.com/gpu (and deviceclass.resource.kubernetes.io/gpu-class).
func gpuClass() *resourcev1.DeviceClass {
	c := class("gpu-class", "true")
	c.Spec.ExtendedResourceName = ptr(extGPU)
	return c
}

// ctr is a container requesting the resources given as name, quantity pairs.
func ctr(name string, kv ...string) v1.Container {
	c := v1.Container{Name: name, Resources: v1.ResourceRequirements{Requests: v1.ResourceList{}}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Resources.Requests[v1.ResourceName(kv[i])] = quantity(kv[i+1])
	}
	return c
}

func sidecar(c v1.Container) v1.Container {
	c.RestartPolicy = ptr(v1.ContainerRestartPolicyAlways)
	return c
}

func podOf(init []v1.Container, containers ...v1.Container) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p", UID: "pod-uid"},
		Spec: v1.PodSpec{InitContainers: init, Containers: containers}}
}

// nodeAlloc is a node with the given allocatable (name, quantity pairs).
func nodeAlloc(name string, kv ...string) *snapshot.NodeInfo {
	alloc := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		alloc[v1.ResourceName(kv[i])] = quantity(kv[i+1])
	}
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: v1.NodeStatus{Allocatable: alloc}})
}

func TestRequestsAndMappings(t *testing.T) {
	gpu := extendedResource{name: extGPU, class: gpuClass()}
	fpga := extendedResource{name: "deviceclass.resource.kubernetes.io/fpga", class: class("fpga")}
	req := func(name, class string, count int64) resourcev1.DeviceRequest {
		return resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{
			DeviceClassName: class, AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: count}}
	}
	mapping := func(container, res, request string) v1.ContainerExtendedResourceRequest {
		return v1.ContainerExtendedResourceRequest{ContainerName: container, ResourceName: res, RequestName: request}
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		served   []extendedResource
		want     []resourcev1.DeviceRequest
		mappings []v1.ContainerExtendedResourceRequest
	}{
		{name: "one container",
			pod:    podOf(nil, ctr("app", "cpu", "1", extGPU, "2")),
			served: []extendedResource{gpu}, want: []resourcev1.DeviceRequest{req("container-0-request-1", "gpu-class", 2)},
			mappings: []v1.ContainerExtendedResourceRequest{mapping("app", extGPU, "container-0-request-1")}},
		{name: "two containers get their own devices; one without the resource gets none",
			pod:    podOf(nil, ctr("a", extGPU, "1"), ctr("b", "cpu", "1"), ctr("c", extGPU, "3")),
			served: []extendedResource{gpu},
			want:   []resourcev1.DeviceRequest{req("container-0-request-0", "gpu-class", 1), req("container-2-request-0", "gpu-class", 3)},
			mappings: []v1.ContainerExtendedResourceRequest{
				mapping("a", extGPU, "container-0-request-0"), mapping("c", extGPU, "container-2-request-0")}},
		{name: "an init container reuses the devices of the containers after it",
			pod:    podOf([]v1.Container{ctr("init", extGPU, "2")}, ctr("app", extGPU, "2")),
			served: []extendedResource{gpu}, want: []resourcev1.DeviceRequest{req("container-1-request-0", "gpu-class", 2)},
			mappings: []v1.ContainerExtendedResourceRequest{
				mapping("app", extGPU, "container-1-request-0"), mapping("init", extGPU, "container-1-request-0")}},
		{name: "an init container asks only for what the later containers lack; the largest serves all init containers",
			pod:    podOf([]v1.Container{ctr("i0", extGPU, "3"), ctr("i1", extGPU, "4")}, ctr("app", extGPU, "1")),
			served: []extendedResource{gpu},
			want:   []resourcev1.DeviceRequest{req("container-1-request-0", "gpu-class", 3), req("container-2-request-0", "gpu-class", 1)},
			mappings: []v1.ContainerExtendedResourceRequest{
				mapping("app", extGPU, "container-2-request-0"),
				mapping("i0", extGPU, "container-2-request-0"), mapping("i0", extGPU, "container-1-request-0"),
				mapping("i1", extGPU, "container-2-request-0"), mapping("i1", extGPU, "container-1-request-0")}},
		{name: "a sidecar keeps its own devices",
			pod:    podOf([]v1.Container{sidecar(ctr("side", extGPU, "1"))}, ctr("app", extGPU, "1")),
			served: []extendedResource{gpu},
			want:   []resourcev1.DeviceRequest{req("container-0-request-0", "gpu-class", 1), req("container-1-request-0", "gpu-class", 1)},
			mappings: []v1.ContainerExtendedResourceRequest{
				mapping("side", extGPU, "container-0-request-0"), mapping("app", extGPU, "container-1-request-0")}},
		{name: "two resources, by name; requests sorted by name",
			pod:    podOf(nil, ctr("app", extGPU, "1", "deviceclass.resource.kubernetes.io/fpga", "2")),
			served: []extendedResource{fpga, gpu},
			want:   []resourcev1.DeviceRequest{req("container-0-request-0", "fpga", 2), req("container-0-request-1", "gpu-class", 1)},
			mappings: []v1.ContainerExtendedResourceRequest{
				mapping("app", "deviceclass.resource.kubernetes.io/fpga", "container-0-request-0"), mapping("app", extGPU, "container-0-request-1")}},
		{name: "only the resources served by DRA",
			pod:    podOf(nil, ctr("app", extGPU, "1", "deviceclass.resource.kubernetes.io/fpga", "2")),
			served: []extendedResource{gpu}, want: []resourcev1.DeviceRequest{req("container-0-request-1", "gpu-class", 1)},
			mappings: []v1.ContainerExtendedResourceRequest{mapping("app", extGPU, "container-0-request-1")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, mappings := requestsAndMappings(tc.pod, tc.served)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("requests = %+v\nwant %+v", got, tc.want)
			}
			if !reflect.DeepEqual(mappings, tc.mappings) {
				t.Errorf("mappings = %+v\nwant %+v", mappings, tc.mappings)
			}
		})
	}
}

func TestExtendedFilter(t *testing.T) {
	gpus := func(node string, n int) *resourcev1.ResourceSlice {
		var devs []resourcev1.Device
		for i := range n {
			devs = append(devs, dev("gpu-"+string(rune('0'+i))))
		}
		return slice(node+"-gpus", node, node, devs...)
	}
	stale := claim("p-extended-resources-abc", exact("container-0-request-0", "gpu-class", 2))
	stale.Annotations = map[string]string{resourcev1.ExtendedResourceClaimAnnotation: "true"}
	stale.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "pod-uid", Controller: ptr(true)}}
	two := podOf(nil, ctr("app", extGPU, "2"))
	withClaim := podOf(nil, ctr("app", extGPU, "1"))
	withClaim.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "c", ResourceClaimName: ptr("c")}}
	tests := []struct {
		name string
		pod  *v1.Pod
		objs []any
		node *snapshot.NodeInfo
		none bool   // no filter: the plugin has nothing to check
		want string // the reason, "" when the node fits
	}{
		{name: "no class provides the resource: nothing to check", pod: two, objs: []any{gpus("n0", 2)}, node: node("n0"), none: true},
		{name: "node without the resource: devices allocated", pod: two, objs: []any{gpuClass(), gpus("n0", 2)}, node: node("n0")},
		{name: "node without the resource and too few devices", pod: two, objs: []any{gpuClass(), gpus("n0", 1)}, node: node("n0"), want: ReasonCannotAllocate},
		{name: "node advertising the resource: the device plugin serves it", pod: two, objs: []any{gpuClass()},
			node: nodeAlloc("n0", extGPU, "1")},
		{name: "implicit device class name", pod: podOf(nil, ctr("app", "deviceclass.resource.kubernetes.io/gpu-class", "2")),
			objs: []any{gpuClass(), gpus("n0", 2)}, node: node("n0")},
		{name: "another extended resource neither advertised nor provided", pod: podOf(nil, ctr("app", extGPU, "1", "example.com/nic", "1")),
			objs: []any{gpuClass(), gpus("n0", 2)}, node: node("n0"), want: ReasonCannotFitResource},
		{name: "another extended resource the node advertises", pod: podOf(nil, ctr("app", extGPU, "1", "example.com/nic", "1")),
			objs: []any{gpuClass(), gpus("n0", 2)}, node: nodeAlloc("n0", "example.com/nic", "1")},
		{name: "a claim from an earlier attempt rejects every node", pod: two, objs: []any{gpuClass(), gpus("n0", 2), stale},
			node: node("n0"), want: ReasonStaleExtendedClaim},
		{name: "the pod's own claim and its extended resources share the devices", pod: withClaim,
			objs: []any{gpuClass(), gpus("n0", 2), claim("c", exact("r", "gpu-class", 1))}, node: node("n0")},
		{name: "the pod's own claim takes the only device", pod: withClaim,
			objs: []any{gpuClass(), gpus("n0", 1), claim("c", exact("r", "gpu-class", 1))}, node: node("n0"), want: ReasonCannotAllocate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap([]*snapshot.NodeInfo{tc.node}, tc.objs...)
			nf, v := newPlugin(t).PreFilter(snapshot.NewPodInfo(tc.pod), s)
			if !v.Fits() {
				t.Fatalf("PreFilter = %+v", v)
			}
			if tc.none {
				if nf != nil {
					t.Fatalf("PreFilter returned a filter, want none")
				}
				return
			}
			if nf == nil {
				t.Fatalf("PreFilter returned no filter")
			}
			got := nf.Filter(tc.node)
			if tc.want == "" && !got.Fits() {
				t.Errorf("Filter = %+v, want a fit", got)
			}
			if tc.want != "" && (got.Fits() || got.Reasons[0] != tc.want || !got.Unresolvable) {
				t.Errorf("Filter = %+v, want unresolvable %q", got, tc.want)
			}
		})
	}
}

func TestExtendedReserve(t *testing.T) {
	objs := []any{gpuClass(), slice("n0-gpus", "n0", "n0", dev("gpu-0"), dev("gpu-1"), dev("gpu-2"))}
	pod := podOf(nil, ctr("app", extGPU, "2"))

	t.Run("the claim to create, its allocation and the mappings", func(t *testing.T) {
		n := node("n0")
		nf, _ := newPlugin(t).PreFilter(snapshot.NewPodInfo(pod), snap([]*snapshot.NodeInfo{n}, objs...))
		plan, ok := nf.(decide.Reserver).Reserve(n).(*Plan)
		if !ok || plan == nil || plan.Err != nil || plan.Extended == nil {
			t.Fatalf("Reserve = %+v, want a plan with an extended claim", plan)
		}
		x := plan.Extended
		c := x.Claim
		if !inMemory(c) || c.GenerateName != "p-extended-resources-" || c.Namespace != ns ||
			c.Annotations[resourcev1.ExtendedResourceClaimAnnotation] != "true" {
			t.Errorf("claim meta = %+v", c.ObjectMeta)
		}
		if ref := metav1.GetControllerOf(c); ref == nil || ref.Kind != "Pod" || ref.APIVersion != "v1" || ref.Name != "p" || ref.UID != "pod-uid" || ref.BlockOwnerDeletion != nil {
			t.Errorf("controller = %+v", ref)
		}
		wantReqs := []resourcev1.DeviceRequest{{Name: "container-0-request-0", Exactly: &resourcev1.ExactDeviceRequest{
			DeviceClassName: "gpu-class", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 2}}}
		if !reflect.DeepEqual(c.Spec.Devices.Requests, wantReqs) || len(c.Finalizers) > 0 || c.Status.Allocation != nil {
			t.Errorf("claim to create = %+v", c)
		}
		if got, want := devicesOf(x.Allocation), []string{"container-0-request-0:n0/gpu-0", "container-0-request-0:n0/gpu-1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("allocation = %v, want %v", got, want)
		}
		if x.Allocation.NodeSelector == nil {
			t.Errorf("allocation has no node selector")
		}
		a := x.Assumed
		if a.Name != c.Name || a.Status.Allocation != x.Allocation || len(a.Status.ReservedFor) != 1 || a.Status.ReservedFor[0].UID != "pod-uid" ||
			!reflect.DeepEqual(a.Finalizers, []string{resourcev1.Finalizer}) {
			t.Errorf("assumed claim = %+v", a)
		}
		st := x.ExtendedResourceClaimStatus("p-extended-resources-xyz")
		wantSt := &v1.PodExtendedResourceClaimStatus{ResourceClaimName: "p-extended-resources-xyz", RequestMappings: []v1.ContainerExtendedResourceRequest{
			{ContainerName: "app", ResourceName: extGPU, RequestName: "container-0-request-0"}}}
		if !reflect.DeepEqual(st, wantSt) {
			t.Errorf("pod status = %+v, want %+v", st, wantSt)
		}
	})
	t.Run("a node advertising the resource: no plan", func(t *testing.T) {
		n := nodeAlloc("n0", extGPU, "4")
		nf, _ := newPlugin(t).PreFilter(snapshot.NewPodInfo(pod), snap([]*snapshot.NodeInfo{n}, objs...))
		if plan := nf.(decide.Reserver).Reserve(n); plan != nil {
			t.Errorf("Reserve = %+v, want nil", plan)
		}
	})
	t.Run("the assumed allocation takes the devices for the next pod", func(t *testing.T) {
		n := node("n0")
		s := snap([]*snapshot.NodeInfo{n}, objs...)
		nf, _ := newPlugin(t).PreFilter(snapshot.NewPodInfo(pod), s)
		plan := nf.(decide.Reserver).Reserve(n).(*Plan)
		s.Devices.SetClaim(plan.Extended.Assumed)
		next := podOf(nil, ctr("app", extGPU, "2"))
		next.Name, next.UID = "q", "q-uid"
		nf, _ = newPlugin(t).PreFilter(snapshot.NewPodInfo(next), s)
		if v := nf.Filter(n); v.Fits() || v.Reasons[0] != ReasonCannotAllocate {
			t.Errorf("next pod's Filter = %+v, want %q", v, ReasonCannotAllocate)
		}
	})
}

func TestExtendedPostFilterDeletesStaleClaim(t *testing.T) {
	stale := claim("p-extended-resources-abc", exact("container-0-request-0", "gpu-class", 2))
	stale.Annotations = map[string]string{resourcev1.ExtendedResourceClaimAnnotation: "true"}
	stale.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "pod-uid", Controller: ptr(true)}}
	n := node("n0")
	nf, _ := newPlugin(t).PreFilter(snapshot.NewPodInfo(podOf(nil, ctr("app", extGPU, "2"))), snap([]*snapshot.NodeInfo{n}, gpuClass(), stale))
	v := nf.Filter(n)
	got := nf.(decide.PostFilterer).PostFilter([]decide.Rejection{{Node: n, Verdict: v}})
	d, ok := got.(*Deallocation)
	if !ok || !d.Delete || d.Claim != stale || d.Message() != "deletion of ResourceClaim completed" {
		t.Fatalf("PostFilter = %+v, want the stale claim's deletion", got)
	}
}

func TestClassMatcher(t *testing.T) {
	m := NewClassMatcher(fakeCompile)
	d := dev("gpu-0", "model", "a")
	tests := []struct {
		name    string
		class   *resourcev1.DeviceClass
		want    bool
		wantErr bool
	}{
		{name: "no selectors: every device", class: class("c"), want: true},
		{name: "every selector holds", class: class("c", "true", "model=a"), want: true},
		{name: "one selector fails", class: class("c", "true", "model=b")},
		{name: "a runtime error", class: class("c", "boom"), wantErr: true},
		{name: "a compile error", class: class("c", "unsupported"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Matches(tc.class, driver, &d)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Matches = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
