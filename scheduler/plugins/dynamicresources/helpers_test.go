package dynamicresources

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	driver = "gpu.example.com"
	ns     = "ns"
)

// selectorFunc is a fake compiled selector.
type selectorFunc func(driver string, d *resourcev1.Device) (bool, error)

func (f selectorFunc) Match(driver string, d *resourcev1.Device) (bool, error) { return f(driver, d) }

// fakeCompile understands a few expressions:
//
//	"true"                 every device
//	"model=X"              devices whose string attribute model is X
//	"boom"                 a runtime error on every device
//	"unsupported"          a compile error, as berth's evaluator gives
func fakeCompile(expr string) (Selector, error) {
	switch {
	case expr == "true":
		return selectorFunc(func(string, *resourcev1.Device) (bool, error) { return true, nil }), nil
	case expr == "boom":
		return selectorFunc(func(string, *resourcev1.Device) (bool, error) {
			return false, errors.New("no such key: healthy")
		}), nil
	case strings.HasPrefix(expr, "model="):
		want := strings.TrimPrefix(expr, "model=")
		return selectorFunc(func(_ string, d *resourcev1.Device) (bool, error) {
			a, ok := d.Attributes["model"]
			return ok && a.StringValue != nil && *a.StringValue == want, nil
		}), nil
	}
	return nil, fmt.Errorf("selector uses %s, which berth does not evaluate", expr)
}

func newPlugin(t testing.TB) *DynamicResources {
	t.Helper()
	pl, err := New(DefaultArgs(), fakeCompile)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64 // share IDs in the order results are made
	pl.newShareID = func(types.UID, int) types.UID {
		return types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", n.Add(1)))
	}
	return pl
}

func node(name string, labels ...string) *snapshot.NodeInfo {
	l := map[string]string{"kubernetes.io/hostname": name}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}})
}

// dev is a device with string attributes given as key, value pairs.
func dev(name string, attrs ...string) resourcev1.Device {
	d := resourcev1.Device{Name: name}
	for i := 0; i+1 < len(attrs); i += 2 {
		if d.Attributes == nil {
			d.Attributes = map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{}
		}
		v := attrs[i+1]
		d.Attributes[resourcev1.QualifiedName(attrs[i])] = resourcev1.DeviceAttribute{StringValue: &v}
	}
	return d
}

func ptr[T any](v T) *T { return &v }

// slice is a complete one-slice pool of generation 1 on node ("" for all nodes).
func slice(name, node, pool string, devices ...resourcev1.Device) *resourcev1.ResourceSlice {
	s := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.ResourceSliceSpec{
		Driver: driver, Pool: resourcev1.ResourcePool{Name: pool, Generation: 1, ResourceSliceCount: 1}, Devices: devices,
	}}
	if node != "" {
		s.Spec.NodeName = &node
	} else {
		s.Spec.AllNodes = ptr(true)
	}
	return s
}

func class(name string, selectors ...string) *resourcev1.DeviceClass {
	c := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: name}}
	c.Spec.Selectors = sels(selectors...)
	return c
}

func sels(exprs ...string) []resourcev1.DeviceSelector {
	var out []resourcev1.DeviceSelector
	for _, e := range exprs {
		out = append(out, resourcev1.DeviceSelector{CEL: &resourcev1.CELDeviceSelector{Expression: e}})
	}
	return out
}

// exact is a request for count devices of class (0: allocationMode All).
func exact(name, class string, count int64, selectors ...string) resourcev1.DeviceRequest {
	r := resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{
		DeviceClassName: class, AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: count, Selectors: sels(selectors...)}}
	if count == 0 {
		r.Exactly.AllocationMode, r.Exactly.Count = resourcev1.DeviceAllocationModeAll, 0
	}
	return r
}

func sub(name, class string, count int64, selectors ...string) resourcev1.DeviceSubRequest {
	return resourcev1.DeviceSubRequest{Name: name, DeviceClassName: class, AllocationMode: resourcev1.DeviceAllocationModeExactCount,
		Count: count, Selectors: sels(selectors...)}
}

func firstAvailable(name string, subs ...resourcev1.DeviceSubRequest) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: name, FirstAvailable: subs}
}

func claim(name string, requests ...resourcev1.DeviceRequest) *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: requests}}}
}

// allocated returns c allocated the devices "pool/device" (for request "r"), with an optional
// node selector.
func allocated(c *resourcev1.ResourceClaim, sel *v1.NodeSelector, devices ...string) *resourcev1.ResourceClaim {
	c = c.DeepCopy()
	c.Status.Allocation = &resourcev1.AllocationResult{NodeSelector: sel}
	for _, d := range devices {
		pool, name, _ := strings.Cut(d, "/")
		c.Status.Allocation.Devices.Results = append(c.Status.Allocation.Devices.Results,
			resourcev1.DeviceRequestAllocationResult{Request: "r", Driver: driver, Pool: pool, Device: name})
	}
	return c
}

func nodeNameSelector(name string) *v1.NodeSelector {
	return &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{{
		Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{name}}}}}}
}

// podWithClaims is pod p using the named claims directly.
func podWithClaims(names ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p", UID: "pod-uid"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}}
	for _, n := range names {
		p.Spec.ResourceClaims = append(p.Spec.ResourceClaims, v1.PodResourceClaim{Name: n, ResourceClaimName: ptr(n)})
	}
	return p
}

func snap(nodes []*snapshot.NodeInfo, objs ...any) *snapshot.Snapshot {
	s := snapshot.New(nodes, nil)
	s.Devices = snapshot.DevicesOf(objs...)
	return s
}

// devicesOf lists a claim allocation's results as "request:pool/device".
func devicesOf(a *resourcev1.AllocationResult) []string {
	var out []string
	for _, r := range a.Devices.Results {
		out = append(out, r.Request+":"+r.Pool+"/"+r.Device)
	}
	return out
}

func quantity(s string) resource.Quantity { return resource.MustParse(s) }

// counterSlice is the second of pool p1's two slices, on node, holding only the counter set set
// with one counter at value (for the partitionable devices of the pool's other slice).
func counterSlice(node, set, counter, value string) *resourcev1.ResourceSlice {
	s := slice("counters", node, "p1")
	s.Spec.Pool.ResourceSliceCount = 2
	s.Spec.SharedCounters = []resourcev1.CounterSet{{Name: set, Counters: map[string]resourcev1.Counter{counter: {Value: quantity(value)}}}}
	return s
}
