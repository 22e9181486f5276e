package snapshot

import (
	"cmp"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Devices is the resource.k8s.io/v1 side of the cluster as a decision sees it: ResourceClaims
// (with this scheduler's assumed allocations applied), DeviceClasses, ResourceSlices and
// DeviceTaintRules, with the indexes the DynamicResources plugin reads instead of scanning:
//
//   - the devices allocated by some claim, cluster-wide (admin-access results excluded, as
//     they do not consume the device), split into dedicated and shared (shareID) allocations,
//     and, for shared ones, the capacity they consume, summed per device;
//   - the slices published for each node (spec.nodeName), the slices that select nodes in
//     another way (nodeSelector, allNodes, perDeviceNodeSelection), and the slices of each
//     resource pool (for pool completeness and shared counters);
//   - the DeviceTaintRules by driver, so that a device's rule taints are found without a scan;
//   - the classes naming each extended resource (spec.extendedResourceName).
//
// The objects are the informers' (or the cache's assumed copies) and must not be modified. Like
// Storage, Devices is changed only by its owner (the scheduler cache, through the Set and Delete
// methods) while no decision reads it; reads are safe from many goroutines.
type Devices struct {
	claims  map[types.NamespacedName]*resourcev1.ResourceClaim
	classes map[string]*resourcev1.DeviceClass
	slices  map[string]*resourcev1.ResourceSlice
	rules   map[string]*resourcev1.DeviceTaintRule

	// dedicated counts, per device, the claims whose allocation holds it alone; shared the
	// claims holding a share of it (a result with a shareID).
	dedicated map[DeviceID]int
	shared    map[DeviceID]int
	// consumed sums, per device, the consumedCapacity of the shared results; an entry exists
	// only while some shared result of the device names a capacity. Its maps are replaced,
	// never changed, so a map Consumed returned stays as it was.
	consumed map[DeviceID]map[resourcev1.QualifiedName]resource.Quantity
	// nodeSlices are the slices by spec.nodeName, selecting the slices without one; poolSlices
	// the slices of each pool, whatever their generation. All sorted by name.
	nodeSlices map[string][]*resourcev1.ResourceSlice
	selecting  []*resourcev1.ResourceSlice
	poolSlices map[PoolID][]*resourcev1.ResourceSlice
	// rulesByDriver are the rules with a device selector, by its driver ("" for any driver),
	// sorted by name.
	rulesByDriver map[string][]*resourcev1.DeviceTaintRule
	// extended lists, by spec.extendedResourceName, the names of the classes naming it.
	extended map[string][]string
	// pending are the claims whose allocation this scheduler assumed and has not written yet
	// (see SetPending).
	pending map[types.NamespacedName]bool
}

// DeviceID names a device: its driver, pool and name.
type DeviceID struct{ Driver, Pool, Device string }

func (id DeviceID) String() string { return id.Driver + "/" + id.Pool + "/" + id.Device }

// PoolID names a resource pool: its driver and name.
type PoolID struct{ Driver, Pool string }

func (id PoolID) String() string { return id.Driver + "/" + id.Pool }

// NewDevices returns an empty Devices.
func NewDevices() *Devices {
	return &Devices{
		claims:        map[types.NamespacedName]*resourcev1.ResourceClaim{},
		classes:       map[string]*resourcev1.DeviceClass{},
		slices:        map[string]*resourcev1.ResourceSlice{},
		rules:         map[string]*resourcev1.DeviceTaintRule{},
		dedicated:     map[DeviceID]int{},
		shared:        map[DeviceID]int{},
		consumed:      map[DeviceID]map[resourcev1.QualifiedName]resource.Quantity{},
		nodeSlices:    map[string][]*resourcev1.ResourceSlice{},
		poolSlices:    map[PoolID][]*resourcev1.ResourceSlice{},
		rulesByDriver: map[string][]*resourcev1.DeviceTaintRule{},
		extended:      map[string][]string{},
	}
}

// DevicesOf builds a Devices holding objs (ResourceClaims, DeviceClasses, ResourceSlices and
// DeviceTaintRules; other types are ignored). It is for tests and for building a first snapshot.
func DevicesOf(objs ...any) *Devices {
	d := NewDevices()
	for _, o := range objs {
		switch o := o.(type) {
		case *resourcev1.ResourceClaim:
			d.SetClaim(o)
		case *resourcev1.DeviceClass:
			d.SetClass(o)
		case *resourcev1.ResourceSlice:
			d.SetSlice(o)
		case *resourcev1.DeviceTaintRule:
			d.SetTaintRule(o)
		}
	}
	return d
}

// Claim returns the ResourceClaim namespace/name, or nil.
func (d *Devices) Claim(namespace, name string) *resourcev1.ResourceClaim {
	return d.claims[types.NamespacedName{Namespace: namespace, Name: name}]
}

// Class returns the DeviceClass called name, or nil.
func (d *Devices) Class(name string) *resourcev1.DeviceClass { return d.classes[name] }

// Allocated reports whether some claim's allocation holds the device alone (an admin-access
// result does not count, a shared result is reported by Shared).
func (d *Devices) Allocated(id DeviceID) bool { return d.dedicated[id] > 0 }

// Shared reports whether some claim's allocation holds a share of the device (a result with a
// shareID, for a device that allows multiple allocations).
func (d *Devices) Shared(id DeviceID) bool { return d.shared[id] > 0 }

// Consumed returns what the shared allocations of the device consume of its capacities, summed
// over every claim holding a share (status.allocation.devices.results[].consumedCapacity); nil
// when no share names a capacity. The map must not be modified.
func (d *Devices) Consumed(id DeviceID) map[resourcev1.QualifiedName]resource.Quantity {
	return d.consumed[id]
}

// NodeSlices returns the slices whose spec.nodeName is node, by name. The slice must not be
// modified.
func (d *Devices) NodeSlices(node string) []*resourcev1.ResourceSlice { return d.nodeSlices[node] }

// SelectingSlices returns the slices without spec.nodeName (they select nodes by nodeSelector,
// allNodes or per device, or not at all), by name. The slice must not be modified.
func (d *Devices) SelectingSlices() []*resourcev1.ResourceSlice { return d.selecting }

// PoolSlices returns every slice of the pool, whatever its generation, by name. The slice must not
// be modified.
func (d *Devices) PoolSlices(id PoolID) []*resourcev1.ResourceSlice { return d.poolSlices[id] }

// HasTaintRules reports whether any DeviceTaintRule selects devices.
func (d *Devices) HasTaintRules() bool { return len(d.rulesByDriver) > 0 }

// RuleTaints returns the taints DeviceTaintRules put on the device, in rule name order; nil when
// none does. The returned slice is new.
func (d *Devices) RuleTaints(id DeviceID) []resourcev1.DeviceTaint {
	if len(d.rulesByDriver) == 0 {
		return nil
	}
	var out []resourcev1.DeviceTaint
	for _, list := range [2][]*resourcev1.DeviceTaintRule{d.rulesByDriver[id.Driver], d.rulesByDriver[""]} {
		for _, r := range list {
			sel := r.Spec.DeviceSelector
			if (sel.Pool == nil || *sel.Pool == id.Pool) && (sel.Device == nil || *sel.Device == id.Device) {
				out = append(out, r.Spec.Taint)
			}
		}
	}
	return out
}

// ExtendedResourceClass returns the DeviceClass that provides the extended resource name
// (DRAExtendedResource), or nil: the class naming it in spec.extendedResourceName or, for
// deviceclass.resource.kubernetes.io/CLASS, the class CLASS. When several classes name the same
// resource, the most recently created one wins, then the lowest name, as kube-scheduler's
// extended resource cache prefers them (it keeps the newer class during a migration).
func (d *Devices) ExtendedResourceClass(name v1.ResourceName) *resourcev1.DeviceClass {
	var best *resourcev1.DeviceClass
	for _, cn := range d.extended[string(name)] {
		c := d.classes[cn]
		if best == nil || c.CreationTimestamp.After(best.CreationTimestamp.Time) {
			best = c // names are sorted: a tie keeps the lower name
		}
	}
	if best != nil {
		return best
	}
	if class, ok := strings.CutPrefix(string(name), resourcev1.ResourceDeviceClassPrefix); ok {
		return d.classes[class]
	}
	return nil
}

// ExtendedResourceClaim returns the claim the scheduler created for pod's extended resources
// backed by DRA in an earlier attempt (annotated resource.kubernetes.io/extended-resource-claim
// "true" and controlled by the pod), or nil. With several, the lowest name.
func (d *Devices) ExtendedResourceClaim(pod *v1.Pod) *resourcev1.ResourceClaim {
	var out *resourcev1.ResourceClaim
	for k, c := range d.claims {
		if k.Namespace != pod.Namespace || c.Annotations[resourcev1.ExtendedResourceClaimAnnotation] != "true" {
			continue
		}
		if ref := metav1.GetControllerOfNoCopy(c); ref == nil || ref.UID != pod.UID || ref.Name != pod.Name {
			continue
		}
		if out == nil || c.Name < out.Name {
			out = c
		}
	}
	return out
}

// SetPending replaces the set of claims whose allocation is pending: assumed by this scheduler
// for a pod whose binding cycle has not written it yet. Devices keeps keys as it is.
func (d *Devices) SetPending(keys map[types.NamespacedName]bool) { d.pending = keys }

// AllocationPending reports whether the claim namespace/name has an allocation this scheduler
// assumed and has not written yet (upstream's in-flight allocation): another pod sharing the
// claim must wait for the write rather than reserve the claim meanwhile.
func (d *Devices) AllocationPending(namespace, name string) bool {
	return d.pending[types.NamespacedName{Namespace: namespace, Name: name}]
}

// SetClaim adds or replaces a claim (also the cache's assumed copies).
func (d *Devices) SetClaim(c *resourcev1.ResourceClaim) {
	k := types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
	if old := d.claims[k]; old != nil {
		d.countAllocation(old, -1)
	}
	d.claims[k] = c
	d.countAllocation(c, 1)
}

// DeleteClaim removes the claim namespace/name.
func (d *Devices) DeleteClaim(namespace, name string) {
	k := types.NamespacedName{Namespace: namespace, Name: name}
	if old := d.claims[k]; old != nil {
		d.countAllocation(old, -1)
		delete(d.claims, k)
	}
}

// countAllocation adds delta to the counts of the devices c's allocation holds.
func (d *Devices) countAllocation(c *resourcev1.ResourceClaim, delta int) {
	if c.Status.Allocation == nil {
		return
	}
	for i := range c.Status.Allocation.Devices.Results {
		r := &c.Status.Allocation.Devices.Results[i]
		if r.AdminAccess != nil && *r.AdminAccess {
			continue
		}
		id := DeviceID{r.Driver, r.Pool, r.Device}
		m := d.dedicated
		if r.ShareID != nil {
			m = d.shared
			d.addConsumed(id, r.ConsumedCapacity, delta)
		}
		if n := m[id] + delta; n > 0 {
			m[id] = n
		} else {
			delete(m, id)
		}
	}
}

// addConsumed adds delta times capacity to what the device's shares consume. The device's map is
// replaced, not changed (see Devices.consumed); it is dropped once every value is back to zero.
func (d *Devices) addConsumed(id DeviceID, capacity map[resourcev1.QualifiedName]resource.Quantity, delta int) {
	if len(capacity) == 0 {
		return
	}
	old := d.consumed[id]
	next := make(map[resourcev1.QualifiedName]resource.Quantity, len(old)+len(capacity))
	for name, q := range old {
		next[name] = q.DeepCopy()
	}
	for name, q := range capacity {
		sum, ok := next[name]
		if !ok {
			sum = resource.Quantity{Format: q.Format}
		}
		for range max(delta, -delta) {
			if delta > 0 {
				sum.Add(q)
			} else {
				sum.Sub(q)
			}
		}
		next[name] = sum
	}
	for _, q := range next {
		if !q.IsZero() {
			d.consumed[id] = next
			return
		}
	}
	delete(d.consumed, id)
}

// SetClass adds or replaces a DeviceClass.
func (d *Devices) SetClass(c *resourcev1.DeviceClass) {
	d.DeleteClass(c.Name)
	d.classes[c.Name] = c
	if n := c.Spec.ExtendedResourceName; n != nil {
		list := d.extended[*n]
		i, _ := slices.BinarySearch(list, c.Name)
		d.extended[*n] = slices.Insert(slices.Clone(list), i, c.Name)
	}
}

// DeleteClass removes the DeviceClass called name.
func (d *Devices) DeleteClass(name string) {
	old := d.classes[name]
	if old == nil {
		return
	}
	delete(d.classes, name)
	if n := old.Spec.ExtendedResourceName; n != nil {
		if list := slices.DeleteFunc(slices.Clone(d.extended[*n]), func(cn string) bool { return cn == name }); len(list) > 0 {
			d.extended[*n] = list
		} else {
			delete(d.extended, *n)
		}
	}
}

// SetSlice adds or replaces a ResourceSlice.
func (d *Devices) SetSlice(s *resourcev1.ResourceSlice) {
	d.DeleteSlice(s.Name)
	d.slices[s.Name] = s
	if node := sliceNode(s); node != "" {
		d.nodeSlices[node] = insertByName(d.nodeSlices[node], s)
	} else {
		d.selecting = insertByName(d.selecting, s)
	}
	id := PoolID{s.Spec.Driver, s.Spec.Pool.Name}
	d.poolSlices[id] = insertByName(d.poolSlices[id], s)
}

// DeleteSlice removes the ResourceSlice called name.
func (d *Devices) DeleteSlice(name string) {
	old := d.slices[name]
	if old == nil {
		return
	}
	delete(d.slices, name)
	if node := sliceNode(old); node != "" {
		if list := removeByName(d.nodeSlices[node], name); len(list) > 0 {
			d.nodeSlices[node] = list
		} else {
			delete(d.nodeSlices, node)
		}
	} else {
		d.selecting = removeByName(d.selecting, name)
	}
	id := PoolID{old.Spec.Driver, old.Spec.Pool.Name}
	if list := removeByName(d.poolSlices[id], name); len(list) > 0 {
		d.poolSlices[id] = list
	} else {
		delete(d.poolSlices, id)
	}
}

// SetTaintRule adds or replaces a DeviceTaintRule.
func (d *Devices) SetTaintRule(r *resourcev1.DeviceTaintRule) {
	d.DeleteTaintRule(r.Name)
	d.rules[r.Name] = r
	if sel := r.Spec.DeviceSelector; sel != nil { // no selector selects no device
		k := ruleDriver(r)
		d.rulesByDriver[k] = insertByName(d.rulesByDriver[k], r)
	}
}

// DeleteTaintRule removes the DeviceTaintRule called name.
func (d *Devices) DeleteTaintRule(name string) {
	old := d.rules[name]
	if old == nil {
		return
	}
	delete(d.rules, name)
	if old.Spec.DeviceSelector != nil {
		k := ruleDriver(old)
		if list := removeByName(d.rulesByDriver[k], name); len(list) > 0 {
			d.rulesByDriver[k] = list
		} else {
			delete(d.rulesByDriver, k)
		}
	}
}

func ruleDriver(r *resourcev1.DeviceTaintRule) string {
	if drv := r.Spec.DeviceSelector.Driver; drv != nil {
		return *drv
	}
	return ""
}

func sliceNode(s *resourcev1.ResourceSlice) string {
	if s.Spec.NodeName != nil {
		return *s.Spec.NodeName
	}
	return ""
}

// named is an object with a name (slices and rules).
type named interface{ GetName() string }

// insertByName returns a copy of list (sorted by name) with o added in order: readers may hold
// the old list.
func insertByName[T named](list []T, o T) []T {
	i, _ := slices.BinarySearchFunc(list, o.GetName(), func(e T, name string) int { return cmp.Compare(e.GetName(), name) })
	out := make([]T, 0, len(list)+1)
	out = append(out, list[:i]...)
	out = append(out, o)
	return append(out, list[i:]...)
}

// removeByName returns a copy of list without the element called name.
func removeByName[T named](list []T, name string) []T {
	return slices.DeleteFunc(slices.Clone(list), func(e T) bool { return e.GetName() == name })
}
