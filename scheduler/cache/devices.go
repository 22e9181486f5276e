package cache

import (
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// devices is the cache's resource.k8s.io side: ResourceClaims (with the allocations and
// reservations this scheduler has assumed), DeviceClasses, ResourceSlices and DeviceTaintRules.
type devices struct {
	claims     assumable[types.NamespacedName, *resourcev1.ResourceClaim]
	classes    objects[string, *resourcev1.DeviceClass]
	slices     objects[string, *resourcev1.ResourceSlice]
	taintRules objects[string, *resourcev1.DeviceTaintRule]
}

func newDevices() devices {
	claims := newAssumable[types.NamespacedName, *resourcev1.ResourceClaim]()
	claims.keep = allocationPending
	return devices{
		claims:     claims,
		classes:    newObjects[string, *resourcev1.DeviceClass](),
		slices:     newObjects[string, *resourcev1.ResourceSlice](),
		taintRules: newObjects[string, *resourcev1.DeviceTaintRule](),
	}
}

// apply brings dv up to date: every object when all, else what changed since the last call.
func (d *devices) apply(dv *snapshot.Devices, all bool) {
	d.claims.flush(all, dv.SetClaim, func(k types.NamespacedName) { dv.DeleteClaim(k.Namespace, k.Name) })
	dv.SetPending(d.pendingAllocations())
	d.classes.flush(all, dv.SetClass, dv.DeleteClass)
	d.slices.flush(all, dv.SetSlice, dv.DeleteSlice)
	d.taintRules.flush(all, dv.SetTaintRule, dv.DeleteTaintRule)
}

// allocationPending keeps an assumed claim this scheduler allocated, and has not written yet,
// while the informer's newer version has no allocation: the binding cycle writes the finalizer before the allocation, and
// another writer may update the claim meanwhile. Dropping the assumption then would show the
// devices free to the next decision, which could give them away twice (kube-scheduler keeps such
// in-flight allocations apart for the same reason).
func allocationPending(api, assumed *resourcev1.ResourceClaim) bool {
	return assumed.Status.Allocation != nil && api.Status.Allocation == nil
}

// pendingAllocations returns the claims whose assumed allocation is not written yet (nil when
// there are none, the usual case).
func (d *devices) pendingAllocations() map[types.NamespacedName]bool {
	var out map[types.NamespacedName]bool
	for k := range d.claims.pending {
		assumed, api := d.claims.live[k], d.claims.api[k]
		if assumed == nil || assumed.Status.Allocation == nil || (api != nil && api.Status.Allocation != nil) {
			continue
		}
		if out == nil {
			out = map[types.NamespacedName]bool{}
		}
		out[k] = true
	}
	return out
}

func resourceClaimKey(rc *resourcev1.ResourceClaim) types.NamespacedName {
	return types.NamespacedName{Namespace: rc.Namespace, Name: rc.Name}
}

// SetResourceClaim records a ResourceClaim the informer delivered. It replaces an assumed
// version of the claim when it is newer.
func (c *Cache) SetResourceClaim(rc *resourcev1.ResourceClaim) {
	c.lock(func() { c.devices.claims.setAPI(resourceClaimKey(rc), rc) })
}

// RemoveResourceClaim forgets a ResourceClaim, assumed or not.
func (c *Cache) RemoveResourceClaim(rc *resourcev1.ResourceClaim) {
	c.lock(func() { c.devices.claims.remove(resourceClaimKey(rc)) })
}

// AssumeResourceClaim makes rc (a changed copy of a claim the cache holds: allocated, reserved
// for a pod) the claim decisions see, until the informer delivers a newer version or
// RestoreResourceClaim is called.
func (c *Cache) AssumeResourceClaim(rc *resourcev1.ResourceClaim) {
	c.lock(func() { c.devices.claims.assume(resourceClaimKey(rc), rc) })
}

// AssumeWrittenResourceClaim makes rc, the API server's answer to this scheduler's write of the
// claim, the claim decisions see until the informer delivers it or a newer version (whatever
// that version holds: the claim may have been deallocated since).
func (c *Cache) AssumeWrittenResourceClaim(rc *resourcev1.ResourceClaim) {
	c.lock(func() { c.devices.claims.assumeWritten(resourceClaimKey(rc), rc) })
}

// RestoreResourceClaim drops the assumed version of the claim namespace/name, if any.
func (c *Cache) RestoreResourceClaim(namespace, name string) {
	c.lock(func() { c.devices.claims.restore(types.NamespacedName{Namespace: namespace, Name: name}) })
}

// APIResourceClaim returns the claim namespace/name as the informer last delivered it (never an
// assumed version), or nil.
func (c *Cache) APIResourceClaim(namespace, name string) *resourcev1.ResourceClaim {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.devices.claims.api[types.NamespacedName{Namespace: namespace, Name: name}]
}

// SetDeviceClass records a DeviceClass.
func (c *Cache) SetDeviceClass(dc *resourcev1.DeviceClass) {
	c.lock(func() { c.devices.classes.set(dc.Name, dc) })
}

// RemoveDeviceClass forgets a DeviceClass.
func (c *Cache) RemoveDeviceClass(dc *resourcev1.DeviceClass) {
	c.lock(func() { c.devices.classes.del(dc.Name) })
}

// SetResourceSlice records a ResourceSlice.
func (c *Cache) SetResourceSlice(rs *resourcev1.ResourceSlice) {
	c.lock(func() { c.devices.slices.set(rs.Name, rs) })
}

// RemoveResourceSlice forgets a ResourceSlice.
func (c *Cache) RemoveResourceSlice(rs *resourcev1.ResourceSlice) {
	c.lock(func() { c.devices.slices.del(rs.Name) })
}

// SetDeviceTaintRule records a DeviceTaintRule.
func (c *Cache) SetDeviceTaintRule(r *resourcev1.DeviceTaintRule) {
	c.lock(func() { c.devices.taintRules.set(r.Name, r) })
}

// RemoveDeviceTaintRule forgets a DeviceTaintRule.
func (c *Cache) RemoveDeviceTaintRule(r *resourcev1.DeviceTaintRule) {
	c.lock(func() { c.devices.taintRules.del(r.Name) })
}
