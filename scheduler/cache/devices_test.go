package cache

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// resourceClaim is claim ns/name at resource version rv, allocated device gpu-N of node-a when
// device is not "".
func resourceClaim(name, rv, device string) *resourcev1.ResourceClaim {
	c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
	if device != "" {
		c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{
			Results: []resourcev1.DeviceRequestAllocationResult{{Request: "r", Driver: "gpu.example.com", Pool: "node-a", Device: device}}}}
	}
	return c
}

func gpu(name string) snapshot.DeviceID {
	return snapshot.DeviceID{Driver: "gpu.example.com", Pool: "node-a", Device: name}
}

// TestAssumedResourceClaims checks that decisions see the claims this scheduler allocated (their
// devices taken) until the informer has a newer version or the assumption is restored, and that
// the device view carries over from snapshot to snapshot with only what changed applied.
func TestAssumedResourceClaims(t *testing.T) {
	tests := []struct {
		name string
		// after the informer's unallocated claim at version 5 and an assumed copy allocating gpu-0:
		then      func(c *Cache)
		wantTaken []string
		// wantPending: the allocation is assumed and not written yet (AllocationPending).
		wantPending bool
	}{
		{"the assumed allocation is seen", func(*Cache) {}, []string{"gpu-0"}, true},
		{"restored: the device is free again", func(c *Cache) { c.RestoreResourceClaim("ns", "c") }, nil, false},
		{"the same informer version does not replace it", func(c *Cache) { c.SetResourceClaim(resourceClaim("c", "5", "")) }, []string{"gpu-0"}, true},
		{"a newer informer version replaces it", func(c *Cache) { c.SetResourceClaim(resourceClaim("c", "6", "gpu-1")) }, []string{"gpu-1"}, false},
		{"a newer informer version without the allocation (the finalizer written first) does not", func(c *Cache) {
			c.SetResourceClaim(resourceClaim("c", "6", ""))
		}, []string{"gpu-0"}, true},
		{"once written, a newer version without the allocation (deallocated since) does", func(c *Cache) {
			c.AssumeWrittenResourceClaim(resourceClaim("c", "6", "gpu-0"))
			c.SetResourceClaim(resourceClaim("c", "6", "gpu-0"))
			c.SetResourceClaim(resourceClaim("c", "7", ""))
		}, nil, false},
		{"then the informer's version with the allocation does", func(c *Cache) {
			c.SetResourceClaim(resourceClaim("c", "6", ""))
			c.SetResourceClaim(resourceClaim("c", "7", "gpu-0"))
			c.RestoreResourceClaim("ns", "c") // nothing assumed any more: changes nothing
		}, []string{"gpu-0"}, false},
		{"deleted", func(c *Cache) { c.RemoveResourceClaim(resourceClaim("c", "7", "")) }, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}})
			c.SetResourceClaim(resourceClaim("c", "5", ""))
			s := c.UpdateSnapshot(nil)
			if s.Devices.Claim("ns", "c") == nil || s.Devices.Allocated(gpu("gpu-0")) {
				t.Fatalf("before assuming: claim %v, gpu-0 taken %v", s.Devices.Claim("ns", "c"), s.Devices.Allocated(gpu("gpu-0")))
			}
			c.AssumeResourceClaim(resourceClaim("c", "5", "gpu-0"))
			s = c.UpdateSnapshot(s)
			tc.then(c)
			c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}}) // a rebuilt snapshot keeps the view
			s = c.UpdateSnapshot(s)
			for _, d := range []string{"gpu-0", "gpu-1"} {
				want := false
				for _, w := range tc.wantTaken {
					want = want || w == d
				}
				if got := s.Devices.Allocated(gpu(d)); got != want {
					t.Errorf("%s taken: %v, want %v", d, got, want)
				}
			}
			if got := s.Devices.AllocationPending("ns", "c"); got != tc.wantPending {
				t.Errorf("allocation pending: %v, want %v", got, tc.wantPending)
			}
			if got := c.DryRunSnapshot("").Devices.AllocationPending("ns", "c"); got != tc.wantPending {
				t.Errorf("allocation pending in a dry run: %v, want %v", got, tc.wantPending)
			}
			if api := c.APIResourceClaim("ns", "c"); api != nil && api.ResourceVersion == "5" && api.Status.Allocation != nil {
				t.Errorf("APIResourceClaim returns the assumed copy")
			}
		})
	}
}

// TestDeviceObjects checks that classes, slices and taint rules reach the snapshot and leave it.
func TestDeviceObjects(t *testing.T) {
	c := New()
	c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}})
	class := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}}
	slice := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "node-a-gpu"},
		Spec: resourcev1.ResourceSliceSpec{Driver: "gpu.example.com", NodeName: new("node-a"),
			Pool: resourcev1.ResourcePool{Name: "node-a", ResourceSliceCount: 1}}}
	rule := &resourcev1.DeviceTaintRule{ObjectMeta: metav1.ObjectMeta{Name: "drain"},
		Spec: resourcev1.DeviceTaintRuleSpec{DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: new("gpu.example.com")},
			Taint: resourcev1.DeviceTaint{Key: "maintenance", Effect: resourcev1.DeviceTaintEffectNoSchedule}}}
	c.SetDeviceClass(class)
	c.SetResourceSlice(slice)
	c.SetDeviceTaintRule(rule)
	s := c.UpdateSnapshot(nil)
	if s.Devices.Class("gpu") == nil || len(s.Devices.NodeSlices("node-a")) != 1 || !s.Devices.HasTaintRules() {
		t.Fatalf("class %v, node-a slices %d, taint rules %v: want all there", s.Devices.Class("gpu"), len(s.Devices.NodeSlices("node-a")), s.Devices.HasTaintRules())
	}
	c.RemoveDeviceClass(class)
	c.RemoveResourceSlice(slice)
	c.RemoveDeviceTaintRule(rule)
	s = c.UpdateSnapshot(s)
	if s.Devices.Class("gpu") != nil || len(s.Devices.NodeSlices("node-a")) != 0 || s.Devices.HasTaintRules() {
		t.Errorf("after removal: class %v, node-a slices %d, taint rules %v: want none", s.Devices.Class("gpu"), len(s.Devices.NodeSlices("node-a")), s.Devices.HasTaintRules())
	}
}

// TestAssumedSharedCapacity checks that the capacity a share of a device consumes counts while
// the claim holding it is assumed, adds up with the shares the informer delivered, and is given
// back when the assumption is restored.
func TestAssumedSharedCapacity(t *testing.T) {
	share := func(name, rv, mem string) *resourcev1.ResourceClaim {
		c := resourceClaim(name, rv, "gpu-0")
		r := &c.Status.Allocation.Devices.Results[0]
		r.ShareID = new(types.UID("0b9c5a4e-4d33-4bb8-9a39-6a1c2a1f6e3" + name[len(name)-1:]))
		r.ConsumedCapacity = map[resourcev1.QualifiedName]resource.Quantity{"memory": resource.MustParse(mem)}
		return c
	}
	memory := func(s *snapshot.Snapshot) string {
		q, ok := s.Devices.Consumed(gpu("gpu-0"))["memory"]
		if !ok {
			return "none"
		}
		return q.String()
	}
	c := New()
	c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}})
	c.SetResourceClaim(share("c1", "3", "4Gi"))
	c.SetResourceClaim(resourceClaim("c2", "5", ""))
	s := c.UpdateSnapshot(nil)
	if got := memory(s); got != "4Gi" {
		t.Fatalf("informer's share: memory %s, want 4Gi", got)
	}
	c.AssumeResourceClaim(share("c2", "5", "2Gi"))
	s = c.UpdateSnapshot(s)
	if got := memory(s); got != "6Gi" || !s.Devices.Shared(gpu("gpu-0")) || s.Devices.Allocated(gpu("gpu-0")) {
		t.Fatalf("assumed share: memory %s, shared %v, dedicated %v; want 6Gi, true, false", got, s.Devices.Shared(gpu("gpu-0")), s.Devices.Allocated(gpu("gpu-0")))
	}
	c.RestoreResourceClaim("ns", "c2")
	s = c.UpdateSnapshot(s)
	if got := memory(s); got != "4Gi" {
		t.Errorf("restored: memory %s, want 4Gi", got)
	}
	c.RemoveResourceClaim(share("c1", "3", "4Gi"))
	s = c.UpdateSnapshot(s)
	if got := memory(s); got != "none" || s.Devices.Shared(gpu("gpu-0")) {
		t.Errorf("every share gone: memory %s, shared %v; want none, false", got, s.Devices.Shared(gpu("gpu-0")))
	}
}
