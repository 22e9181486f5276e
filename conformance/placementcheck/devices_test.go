package placementcheck

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// Builders for the device table: driver "gpu.test", a pool per node named after it, claims in
// namespace "ns" reserved for the pod of the same name unless said otherwise.

const gpuDriver = "gpu.test"

func tDevice(name string, attrs map[string]any, opts ...func(*resourcev1.Device)) resourcev1.Device {
	d := resourcev1.Device{Name: name, Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{}}
	for k, v := range attrs {
		var a resourcev1.DeviceAttribute
		switch v := v.(type) {
		case string:
			a.StringValue = &v
		case int:
			a.IntValue = ptrTo(int64(v))
		case bool:
			a.BoolValue = &v
		}
		d.Attributes[resourcev1.QualifiedName(k)] = a
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func tSlice(node string, gen int64, devs ...resourcev1.Device) *resourcev1.ResourceSlice {
	return &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: node}, Spec: resourcev1.ResourceSliceSpec{
		Driver: gpuDriver, Pool: resourcev1.ResourcePool{Name: node, Generation: gen, ResourceSliceCount: 1}, NodeName: &node, Devices: devs}}
}

// tResult allocates device dev of node's pool for request.
func tResult(request, node, dev string) resourcev1.DeviceRequestAllocationResult {
	return resourcev1.DeviceRequestAllocationResult{Request: request, Driver: gpuDriver, Pool: node, Device: dev}
}

type claimOpt func(*resourcev1.ResourceClaim)

func tDeviceClaim(name string, reqs []resourcev1.DeviceRequest, results ...resourcev1.DeviceRequestAllocationResult) *resourcev1.ResourceClaim {
	c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	c.Spec.Devices.Requests = reqs
	if results != nil {
		c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: results}}
		c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: name}}
	}
	return c
}

func exact(name string, count int64, sel ...string) resourcev1.DeviceRequest {
	r := resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu",
		AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: count}}
	for _, s := range sel {
		r.Exactly.Selectors = append(r.Exactly.Selectors, resourcev1.DeviceSelector{CEL: &resourcev1.CELDeviceSelector{Expression: s}})
	}
	return r
}

func devClaims(names ...string) podOpt {
	return func(p *v1.Pod) {
		for _, n := range names {
			p.Spec.ResourceClaims = append(p.Spec.ResourceClaims, v1.PodResourceClaim{Name: n, ResourceClaimName: ptrTo(n)})
		}
	}
}

var gpuConfig = resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: gpuDriver,
	Parameters: runtime.RawExtension{Raw: []byte(`{"mode":"fast"}`)}}}

// withClassConfig adds class gpu's configuration to the claim's allocation, as a scheduler does.
func withClassConfig(c *resourcev1.ResourceClaim) *resourcev1.ResourceClaim {
	c.Status.Allocation.Devices.Config = []resourcev1.DeviceAllocationConfiguration{{Source: resourcev1.AllocationConfigSourceClass,
		Requests: []string{"r"}, DeviceConfiguration: gpuConfig}}
	return c
}

// TestCheckDevices shows the checker catches each broken device rule and accepts the legal
// look-alikes. Nodes n1 and n2 each publish gpu-0 (model a, numa 0) and gpu-1 (model b, numa 1).
func TestCheckDevices(t *testing.T) {
	devs := func() []resourcev1.Device {
		return []resourcev1.Device{tDevice("gpu-0", map[string]any{"model": "a", "numa": 0}), tDevice("gpu-1", map[string]any{"model": "b", "numa": 1})}
	}
	class := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: resourcev1.DeviceClassSpec{
		Selectors: []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: `device.driver == "gpu.test"`}}}}}
	matchNUMA := resourcev1.DeviceConstraint{MatchAttribute: ptrTo(resourcev1.FullyQualifiedName(gpuDriver + "/numa"))}
	withConstraint := func(c *resourcev1.ResourceClaim, con resourcev1.DeviceConstraint) *resourcev1.ResourceClaim {
		c.Spec.Devices.Constraints = append(c.Spec.Devices.Constraints, con)
		return c
	}
	tainted := tDevice("gpu-0", map[string]any{"model": "a"}, func(d *resourcev1.Device) {
		d.Taints = []resourcev1.DeviceTaint{{Key: "broken", Effect: resourcev1.DeviceTaintEffectNoSchedule}}
	})
	tolerating := exact("r", 1)
	tolerating.Exactly.Tolerations = []resourcev1.DeviceToleration{{Key: "broken", Operator: resourcev1.DeviceTolerationOpExists}}
	counters := func(node string, gpus int) *resourcev1.ResourceSlice {
		s := tSlice(node, 1)
		s.Spec.SharedCounters = []resourcev1.CounterSet{{Name: "mem", Counters: map[string]resourcev1.Counter{"gb": {Value: resource.MustParse("8")}}}}
		for i := range gpus {
			d := tDevice("part-"+string(rune('0'+i)), nil)
			d.ConsumesCounters = []resourcev1.DeviceCounterConsumption{{CounterSet: "mem", Counters: map[string]resourcev1.Counter{"gb": {Value: resource.MustParse("4")}}}}
			s.Spec.Devices = append(s.Spec.Devices, d)
		}
		return s
	}
	admin := tResult("r", "n1", "gpu-0")
	admin.AdminAccess = ptrTo(true)
	adminExact := exact("r", 1)
	adminExact.Exactly.AdminAccess = ptrTo(true)
	tests := []struct {
		name   string
		slices []*resourcev1.ResourceSlice
		claims []*resourcev1.ResourceClaim
		pods   []*v1.Pod
		want   int // violations
		// classConfig gives class gpu an opaque configuration.
		classConfig bool
	}{
		{name: "a device of the node", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}},
		{name: "a device of another node", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n2", "gpu-0"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a pending pod is not judged", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)})},
			pods: []*v1.Pod{tPod("p", "", devClaims("p", "missing"))}},
		{name: "a claim not allocated", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)})},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a missing claim", pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a device that does not exist", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-9"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a device of a stale generation", slices: []*resourcev1.ResourceSlice{tSlice("n1", 1, devs()...), tSlice("n1", 2, devs()[1:]...)},
			claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0"))},
			pods:   []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "too few devices", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 2)}, tResult("r", "n1", "gpu-0"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a request's selector fails", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1, `device.attributes["gpu.test"].model == "b"`)}, tResult("r", "n1", "gpu-0"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a request's selector holds", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1, `device.attributes["gpu.test"].numa >= 1 && device.attributes["gpu.test"].model != "a"`)}, tResult("r", "n1", "gpu-1"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}},
		{name: "a selector too complex is not judged", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1, `device.attributes["gpu.test"].model.startsWith("b")`)}, tResult("r", "n1", "gpu-0"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}},
		{name: "one device for two claims", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0")),
			tDeviceClaim("q", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p")), tPod("q", "n1", devClaims("q"))}, want: 2},
		{name: "one device, the second claim with admin access", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0")),
			tDeviceClaim("q", []resourcev1.DeviceRequest{adminExact}, admin)},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p")), tPod("q", "n1", devClaims("q"))}},
		{name: "matchAttribute broken", claims: []*resourcev1.ResourceClaim{withConstraint(tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 2)},
			tResult("r", "n1", "gpu-0"), tResult("r", "n1", "gpu-1")), matchNUMA)},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "an untolerated taint", slices: []*resourcev1.ResourceSlice{tSlice("n1", 1, tainted)},
			claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0"))},
			pods:   []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a tolerated taint", slices: []*resourcev1.ResourceSlice{tSlice("n1", 1, tainted)},
			claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{tolerating}, tResult("r", "n1", "gpu-0"))},
			pods:   []*v1.Pod{tPod("p", "n1", devClaims("p"))}},
		{name: "shared counters within the pool's", slices: []*resourcev1.ResourceSlice{counters("n1", 3)},
			claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 2)}, tResult("r", "n1", "part-0"), tResult("r", "n1", "part-1"))},
			pods:   []*v1.Pod{tPod("p", "n1", devClaims("p"))}},
		{name: "shared counters overdrawn", slices: []*resourcev1.ResourceSlice{counters("n1", 3)},
			claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 3)}, tResult("r", "n1", "part-0"), tResult("r", "n1", "part-1"), tResult("r", "n1", "part-2"))},
			pods:   []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 3},
		{name: "admin access the request did not ask for", claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, admin)},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a class's config missing from the allocation", classConfig: true,
			claims: []*resourcev1.ResourceClaim{tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0"))},
			pods:   []*v1.Pod{tPod("p", "n1", devClaims("p"))}, want: 1},
		{name: "a class's config carried by the allocation", classConfig: true,
			claims: []*resourcev1.ResourceClaim{withClassConfig(tDeviceClaim("p", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0")))},
			pods:   []*v1.Pod{tPod("p", "n1", devClaims("p"))}},
		{name: "not reserved for the pod", claims: []*resourcev1.ResourceClaim{tDeviceClaim("other", []resourcev1.DeviceRequest{exact("r", 1)}, tResult("r", "n1", "gpu-0"))},
			pods: []*v1.Pod{tPod("p", "n1", devClaims("other"))}, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := class
			if tc.classConfig {
				cl = class.DeepCopy()
				cl.Spec.Config = []resourcev1.DeviceClassConfiguration{{DeviceConfiguration: gpuConfig}}
			}
			d := &Devices{Claims: map[string]*resourcev1.ResourceClaim{}, Slices: tc.slices, Classes: map[string]*resourcev1.DeviceClass{"gpu": cl}}
			if d.Slices == nil {
				d.Slices = []*resourcev1.ResourceSlice{tSlice("n1", 1, devs()...), tSlice("n2", 1, devs()...)}
			}
			for _, c := range tc.claims {
				d.Claims[c.Namespace+"/"+c.Name] = c
			}
			w := &World{Nodes: map[string]*v1.Node{"n1": tNode("n1", "a"), "n2": tNode("n2", "a")}, Incoming: tc.pods, Devices: d}
			vs := Check(w)
			if len(vs) != tc.want {
				var lines []string
				for _, v := range vs {
					lines = append(lines, v.String())
				}
				t.Errorf("%d violations, want %d:\n%s", len(vs), tc.want, strings.Join(lines, "\n"))
			}
			w.Devices = nil
			if vs := Check(w); len(vs) > 0 {
				t.Errorf("without Devices: violations %v, want none", vs)
			}
		})
	}
}

// TestEvalSelector: the simple selector forms the checker judges, and those it leaves alone.
func TestEvalSelector(t *testing.T) {
	dev := tDevice("d", map[string]any{"model": "a100", "numa": 1, "ok": true}, func(d *resourcev1.Device) {
		d.Attributes["gpu.test/fw"] = resourcev1.DeviceAttribute{VersionValue: ptrTo("1.2.3")}
		d.Capacity = map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"memory": {Value: resource.MustParse("40Gi")}}
	})
	tests := []struct {
		expr string
		want int
	}{
		{`device.driver == "gpu.test"`, selTrue},
		{`device.driver != "gpu.test"`, selFalse},
		{`device.attributes["gpu.test"].model == "a100"`, selTrue},
		{`device.attributes["gpu.test"].model > "b"`, selFalse},
		{`device.attributes["gpu.test"].numa < 2 && device.attributes["gpu.test"].ok == true`, selTrue},
		{`device.attributes["gpu.test"].ok == false`, selFalse},
		{`device.capacity["gpu.test"].memory.compareTo(quantity("40Gi")) >= 0`, selTrue},
		{`device.capacity["gpu.test"].memory.compareTo(quantity("80Gi")) >= 0`, selFalse},
		{`device.attributes["gpu.test"].fw.isGreaterThan(semver("1.2.0"))`, selTrue},
		{`device.attributes["gpu.test"].fw.isLessThan(semver("1.2.0"))`, selFalse},
		{`device.attributes["gpu.test"].missing == "x"`, selUnknown},
		{`device.attributes["gpu.test"].model == "x" || true`, selUnknown},
		{`device.attributes["gpu.test"].model.matches("^a")`, selUnknown},
	}
	for _, tc := range tests {
		if got := evalSelector(tc.expr, gpuDriver, &dev); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.expr, got, tc.want)
		}
	}
}

// TestCheckCapacity shows the checker catches broken consumable capacity and accepts the legal
// look-alikes. Node n1 publishes "shared" (allows multiple allocations; mem 40Gi, requests
// rounded up to 4Gi and steps of 2Gi, at most 16Gi; bw 10 without a policy) and "whole" (mem
// 40Gi with the same policy, exclusive).
func TestCheckCapacity(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	policy := &resourcev1.CapacityRequestPolicy{Default: q("4Gi"),
		ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: q("4Gi"), Step: q("2Gi"), Max: q("16Gi")}}
	shared := tDevice("shared", nil, func(d *resourcev1.Device) {
		d.AllowMultipleAllocations = ptrTo(true)
		d.Capacity = map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{
			"mem": {Value: resource.MustParse("40Gi"), RequestPolicy: policy}, "bw": {Value: resource.MustParse("10")}}
	})
	whole := tDevice("whole", nil, func(d *resourcev1.Device) {
		d.Capacity = map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"mem": {Value: resource.MustParse("40Gi"), RequestPolicy: policy}}
	})
	// asking asks for mem and, on the shared device, for 1 of bw.
	asking := func(mem string) []resourcev1.DeviceRequest {
		r := exact("r", 1)
		r.Exactly.Capacity = &resourcev1.CapacityRequirements{Requests: map[resourcev1.QualifiedName]resource.Quantity{"mem": resource.MustParse(mem), "bw": resource.MustParse("1")}}
		return []resourcev1.DeviceRequest{r}
	}
	askingWhole := func(mem string) []resourcev1.DeviceRequest {
		r := asking(mem)
		delete(r[0].Exactly.Capacity.Requests, "bw")
		return r
	}
	share := func(dev, id, mem, bw string) resourcev1.DeviceRequestAllocationResult {
		r := tResult("r", "n1", dev)
		if id != "" {
			r.ShareID = ptrTo(types.UID("00000000-0000-4000-8000-00000000000" + id))
		}
		if mem != "" {
			r.ConsumedCapacity = map[resourcev1.QualifiedName]resource.Quantity{"mem": resource.MustParse(mem), "bw": resource.MustParse(bw)}
		}
		return r
	}
	pods := func(names ...string) []*v1.Pod {
		var out []*v1.Pod
		for _, n := range names {
			out = append(out, tPod(n, "n1", devClaims(n)))
		}
		return out
	}
	tests := []struct {
		name   string
		claims []*resourcev1.ResourceClaim
		want   int // violations
	}{
		{name: "two shares within the capacity, rounded up", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", asking("5Gi"), share("shared", "1", "6Gi", "1")), tDeviceClaim("q", asking("16Gi"), share("shared", "2", "16Gi", "1"))}},
		{name: "shares beyond the capacity", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", asking("16Gi"), share("shared", "1", "16Gi", "1")), tDeviceClaim("q", asking("16Gi"), share("shared", "2", "16Gi", "1")),
			tDeviceClaim("x", asking("16Gi"), share("shared", "3", "16Gi", "1"))}, want: 3},
		{name: "a share not rounded up by the policy", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", asking("5Gi"), share("shared", "1", "5Gi", "1"))}, want: 1},
		{name: "a request above the policy's max", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", asking("17Gi"), share("shared", "1", "18Gi", "1"))}, want: 1},
		{name: "a share without shareID", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", asking("4Gi"), share("shared", "", "4Gi", "1"))}, want: 1},
		{name: "a share without consumedCapacity", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", asking("4Gi"), share("shared", "1", "", ""))}, want: 2},
		{name: "two shares with one shareID", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", asking("4Gi"), share("shared", "1", "4Gi", "1")), tDeviceClaim("q", asking("4Gi"), share("shared", "1", "4Gi", "1"))}, want: 2},
		{name: "an exclusive device within its policy", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", askingWhole("5Gi"), tResult("r", "n1", "whole"))}},
		{name: "an exclusive device with a shareID", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", nil, share("whole", "1", "", ""))}, want: 1},
		{name: "an exclusive device asked for more than its policy allows", claims: []*resourcev1.ResourceClaim{
			tDeviceClaim("p", askingWhole("20Gi"), tResult("r", "n1", "whole"))}, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Devices{Claims: map[string]*resourcev1.ResourceClaim{}, Slices: []*resourcev1.ResourceSlice{tSlice("n1", 1, shared, whole)},
				Classes: map[string]*resourcev1.DeviceClass{"gpu": {ObjectMeta: metav1.ObjectMeta{Name: "gpu"}}}}
			var names []string
			for _, c := range tc.claims {
				if c.Spec.Devices.Requests == nil {
					c.Spec.Devices.Requests = []resourcev1.DeviceRequest{exact("r", 1)}
				}
				d.Claims[c.Namespace+"/"+c.Name] = c
				names = append(names, c.Name)
			}
			vs := Check(&World{Nodes: map[string]*v1.Node{"n1": tNode("n1", "a")}, Incoming: pods(names...), Devices: d})
			if len(vs) != tc.want {
				var lines []string
				for _, v := range vs {
					lines = append(lines, v.String())
				}
				t.Errorf("%d violations, want %d:\n%s", len(vs), tc.want, strings.Join(lines, "\n"))
			}
		})
	}
}
