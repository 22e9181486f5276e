package noderesources

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// fakeMatcher understands class selectors "true", "false", "boom" (an error) and "model=X".
type fakeMatcher struct{}

func (fakeMatcher) Matches(class *resourcev1.DeviceClass, _ string, d *resourcev1.Device) (bool, error) {
	for _, s := range class.Spec.Selectors {
		switch e := s.CEL.Expression; {
		case e == "false":
			return false, nil
		case e == "boom":
			return false, errors.New("no such key")
		case strings.HasPrefix(e, "model="):
			a, ok := d.Attributes["model"]
			if !ok || a.StringValue == nil || *a.StringValue != strings.TrimPrefix(e, "model=") {
				return false, nil
			}
		}
	}
	return true, nil
}

const draGPU = "example.com/gpu"

func draClass(selector string) *resourcev1.DeviceClass {
	name := draGPU
	return &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: resourcev1.DeviceClassSpec{
		ExtendedResourceName: &name, Selectors: []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: selector}}}}}
}

func draDevices(model string, names ...string) []resourcev1.Device {
	var out []resourcev1.Device
	for _, n := range names {
		m := model
		out = append(out, resourcev1.Device{Name: n, Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{"model": {StringValue: &m}}})
	}
	return out
}

// draSlice is a slice of pool name; node "" with all nil selects no node in particular.
func draSlice(name string, edit func(*resourcev1.ResourceSliceSpec), devs ...resourcev1.Device) *resourcev1.ResourceSlice {
	s := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.example.com", Pool: resourcev1.ResourcePool{Name: name, Generation: 1, ResourceSliceCount: 1}, Devices: devs}}
	if edit != nil {
		edit(&s.Spec)
	}
	return s
}

func onNode(n string) func(*resourcev1.ResourceSliceSpec) {
	return func(s *resourcev1.ResourceSliceSpec) { s.NodeName = &n }
}

// allocatedDevice is a claim holding device pool/name whole.
func allocatedDevice(pool, name string) *resourcev1.ResourceClaim {
	c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-" + pool + "-" + name}}
	c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
		{Request: "r", Driver: "gpu.example.com", Pool: pool, Device: name}}}}
	return c
}

func TestDRAAmounts(t *testing.T) {
	yes := true
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"rack": "r1"}}}
	rack := func(r string) *v1.NodeSelector {
		return &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
			{Key: "rack", Operator: v1.NodeSelectorOpIn, Values: []string{r}}}}}}
	}
	tests := []struct {
		name          string
		class         *resourcev1.DeviceClass
		objs          []any
		capacity, use int64
	}{
		{name: "the node's devices of the class, one allocated", class: draClass("model=a"),
			objs:     []any{draSlice("n1", onNode("n1"), append(draDevices("a", "d0", "d1", "d2"), draDevices("b", "d3")...)...), allocatedDevice("n1", "d1")},
			capacity: 3, use: 1},
		{name: "another node's devices do not count", class: draClass("true"),
			objs: []any{draSlice("n2", onNode("n2"), draDevices("a", "d0")...)}},
		{name: "a slice for all nodes, one selecting the node's rack, one another rack", class: draClass("true"),
			objs: []any{draSlice("all", func(s *resourcev1.ResourceSliceSpec) { s.AllNodes = &yes }, draDevices("a", "d0")...),
				draSlice("r1", func(s *resourcev1.ResourceSliceSpec) { s.NodeSelector = rack("r1") }, draDevices("a", "d0", "d1")...),
				draSlice("r2", func(s *resourcev1.ResourceSliceSpec) { s.NodeSelector = rack("r2") }, draDevices("a", "d0")...)},
			capacity: 3},
		{name: "per-device node selection", class: draClass("true"),
			objs: []any{draSlice("pd", func(s *resourcev1.ResourceSliceSpec) {
				s.PerDeviceNodeSelection = &yes
				n1, n2 := "n1", "n2"
				s.Devices[0].NodeName, s.Devices[1].NodeName, s.Devices[2].AllNodes, s.Devices[3].NodeSelector = &n1, &n2, &yes, rack("r1")
			}, draDevices("a", "d0", "d1", "d2", "d3", "d4")...)},
			capacity: 3},
		{name: "a slice naming no node counts everywhere, as upstream", class: draClass("true"),
			objs: []any{draSlice("none", nil, draDevices("a", "d0")...)}, capacity: 1},
		{name: "a selector error leaves the resource out", class: draClass("boom"),
			objs: []any{draSlice("n1", onNode("n1"), draDevices("a", "d0")...)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &draScoring{devs: snapshot.DevicesOf(append(tc.objs, tc.class)...), matcher: fakeMatcher{},
				classes: map[v1.ResourceName]*resourcev1.DeviceClass{draGPU: tc.class}}
			c, u := d.amounts(draGPU, node)
			if c != tc.capacity || u != tc.use {
				t.Errorf("amounts = %d, %d; want %d, %d", c, u, tc.capacity, tc.use)
			}
		})
	}
}

// TestScoreDRAExtended scores a pod asking 1 cpu and one example.com/gpu, with cpu and the GPU
// scored (least allocated, equal weights), on nodes of 4 cpu: the GPU is counted in devices on
// nodes that do not advertise it.
func TestScoreDRAExtended(t *testing.T) {
	alloc := rl("cpu", "4", "memory", "10000", "pods", "10")
	nodes := func() []*snapshot.NodeInfo {
		return []*snapshot.NodeInfo{
			nodeWith("dev4", alloc), // 4 GPUs, 1 allocated: 2 of 4 with the pod, 50
			nodeWith("dev2", alloc), // 2 GPUs, 1 allocated: 2 of 2, 0
			nodeWith("plugin", rl("cpu", "4", "pods", "10", draGPU, "4")), // advertised: 1 of 4, 75
			nodeWith("none", alloc), // no GPU: cpu alone
		}
	}
	objs := []any{draClass("model=a"),
		draSlice("dev4", onNode("dev4"), draDevices("a", "d0", "d1", "d2", "d3")...), allocatedDevice("dev4", "d0"),
		draSlice("dev2", onNode("dev2"), draDevices("a", "d0", "d1")...), allocatedDevice("dev2", "d1"),
	}
	pod := func() *snapshot.PodInfo { return podWith("cpu", "1", draGPU, "1") }
	args := fitArgs(LeastAllocated, nil, ResourceSpec{"cpu", 1}, ResourceSpec{draGPU, 1})
	tests := []struct {
		name    string
		matcher DeviceMatcher
		objs    []any
		want    []int64 // dev4, dev2, plugin, none
	}{
		{name: "devices count where the resource is not advertised", matcher: fakeMatcher{}, objs: objs, want: []int64{62, 37, 75, 75}},
		{name: "without a matcher the devices are not counted", objs: objs, want: []int64{75, 75, 75, 75}},
		{name: "no class provides the resource", matcher: fakeMatcher{}, objs: objs[1:], want: []int64{75, 75, 75, 75}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := nodes()
			snap := snapshot.New(ns, nil)
			snap.Devices = snapshot.DevicesOf(tc.objs...)
			pl := mustFit(t, args)
			if tc.matcher != nil {
				pl = pl.WithDeviceMatcher(tc.matcher)
			}
			s := pl.PreScore(pod(), snap, snap.Nodes)
			got := make([]int64, len(ns))
			for i, n := range ns {
				got[i] = s.Score(n)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scores = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("balanced allocation counts the devices too", func(t *testing.T) {
		ns := nodes()
		snap := snapshot.New(ns, nil)
		snap.Devices = snapshot.DevicesOf(objs...)
		ba := DefaultBalancedAllocationArgs()
		ba.Resources = []ResourceSpec{{"cpu", 1}, {draGPU, 1}}
		b, err := NewBalancedAllocation(ba)
		if err != nil {
			t.Fatal(err)
		}
		without := b.PreScore(pod(), snap, snap.Nodes).Score(ns[1])
		with := b.WithDeviceMatcher(fakeMatcher{}).PreScore(pod(), snap, snap.Nodes).Score(ns[1])
		// On dev2, without devices only cpu counts, always balanced: 50 + (50+100-100)/2. With
		// them, cpu 25% and GPUs 100% with the pod (σ 0.375), 0% and 50% without (σ 0.25):
		// 50 + (50+62-75)/2.
		if without != 75 || with != 68 {
			t.Errorf("balanced score on dev2 without devices %d, with %d; want 75 and 68", without, with)
		}
	})
}
