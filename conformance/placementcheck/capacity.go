package placementcheck

import (
	"fmt"
	"regexp"
	"slices"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Consumable capacity, as the checker states it (DRAConsumableCapacity, on in v1.37):
//
//   - A capacity a request asks for is rounded up to the smallest amount the capacity's
//     requestPolicy allows at or above it: the amount itself without a policy; at least
//     validRange's min and, with a step, min plus a whole number of steps (the request, min
//     and step taken as whole numbers rounded up, DRAFractionalCapacityRange being off); the
//     first of validValues at or above it. The rounded amount must not pass validRange's max
//     or the last of validValues, and must fit in the capacity's value.
//   - A capacity it does not ask for counts at the policy's default, else at its whole value.
//   - A device that does not allow multiple allocations is taken whole: its result has no
//     shareID and no consumedCapacity. One that does is shared: each result holding it has a
//     shareID (a lower-case UUID, unique among the device's shares) and, when the device has
//     capacities, consumedCapacity with exactly the amounts above; a device is never held both
//     whole and shared, and the consumedCapacity of all its shares never passes its capacity.

var reUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// expectedConsumption is what a request asking for asked (nil: nothing) consumes of capacity dc,
// and whether the policy allows it.
func expectedConsumption(dc resourcev1.DeviceCapacity, asked *resource.Quantity) (resource.Quantity, bool) {
	p := dc.RequestPolicy
	if asked == nil {
		if p != nil && p.Default != nil {
			return *p.Default, true
		}
		return dc.Value, true
	}
	if p == nil {
		return *asked, true
	}
	if p.ValidRange != nil && p.ValidRange.Min != nil {
		lo, step := *p.ValidRange.Min, p.ValidRange.Step
		got := *asked
		switch {
		case asked.Cmp(lo) < 0:
			got = lo
		case step != nil && step.Value() > 0:
			// The smallest lo + k*step at or above the request, in whole numbers.
			above := asked.Value() - lo.Value()
			k := above / step.Value()
			if k*step.Value() < above {
				k++
			}
			got = *resource.NewQuantity(lo.Value()+k*step.Value(), step.Format)
		}
		if p.Default != nil && got.Cmp(*p.Default) == 0 {
			return got, true
		}
		return got, p.ValidRange.Max == nil || got.Cmp(*p.ValidRange.Max) <= 0
	}
	if len(p.ValidValues) > 0 {
		for _, v := range p.ValidValues {
			if v.Cmp(*asked) >= 0 {
				return v, true
			}
		}
		return *asked, false
	}
	return *asked, true
}

// checkCapacity judges one result r for device dev of a request asking for capacity req (nil:
// nothing) and returns what is wrong with it.
func checkCapacity(key deviceKey, dev *resourcev1.Device, r resourcev1.DeviceRequestAllocationResult, req *resourcev1.CapacityRequirements) []string {
	var out []string
	var asked map[resourcev1.QualifiedName]resource.Quantity
	if req != nil {
		asked = req.Requests
	}
	for name := range asked {
		if _, ok := dev.Capacity[name]; !ok {
			out = append(out, fmt.Sprintf("device %s has no capacity %s, which request %s asks for", key, name, r.Request))
		}
	}
	shared := dev.AllowMultipleAllocations != nil && *dev.AllowMultipleAllocations
	names := make([]resourcev1.QualifiedName, 0, len(dev.Capacity))
	for name := range dev.Capacity {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		dc := dev.Capacity[name]
		var a *resource.Quantity
		if q, ok := asked[name]; ok {
			a = &q
		}
		want, ok := expectedConsumption(dc, a)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("device %s: request %s's %s of capacity %s is not allowed by its request policy", key, r.Request, want.String(), name))
		case want.Cmp(dc.Value) > 0:
			out = append(out, fmt.Sprintf("device %s: request %s needs %s of capacity %s, the device has %s", key, r.Request, want.String(), name, dc.Value.String()))
		}
		if !shared {
			continue
		}
		if got, ok := r.ConsumedCapacity[name]; !ok || got.Cmp(want) != 0 {
			out = append(out, fmt.Sprintf("device %s: the share for request %s records consumed capacity %s=%s, want %s", key, r.Request, name, quantityOrNone(got, ok), want.String()))
		}
	}
	for name := range r.ConsumedCapacity {
		if _, ok := dev.Capacity[name]; !ok || !shared {
			out = append(out, fmt.Sprintf("device %s: the result for request %s records consumed capacity %s, which is not a share of a device capacity", key, r.Request, name))
		}
	}
	switch {
	case shared && r.ShareID == nil:
		out = append(out, fmt.Sprintf("device %s allows multiple allocations, but the result for request %s has no shareID", key, r.Request))
	case shared && !reUUID.MatchString(string(*r.ShareID)):
		out = append(out, fmt.Sprintf("device %s: shareID %q is not a lower-case UUID", key, *r.ShareID))
	case !shared && r.ShareID != nil:
		out = append(out, fmt.Sprintf("device %s does not allow multiple allocations, but the result for request %s has shareID %s", key, r.Request, *r.ShareID))
	}
	return out
}

func quantityOrNone(q resource.Quantity, ok bool) string {
	if !ok {
		return "none"
	}
	return q.String()
}

// deviceUse is how the cluster's allocations hold one device (admin access aside).
type deviceUse struct {
	whole    []string // claims holding it whole
	shares   []string // claims holding a share (one entry per share)
	shareIDs map[string]int
	consumed map[resourcev1.QualifiedName]resource.Quantity
}

// add records result r of claim k.
func (u *deviceUse) add(k string, r resourcev1.DeviceRequestAllocationResult) {
	if r.ShareID == nil {
		if !slices.Contains(u.whole, k) {
			u.whole = append(u.whole, k)
		}
		return
	}
	u.shares = append(u.shares, k)
	if u.shareIDs == nil {
		u.shareIDs = map[string]int{}
		u.consumed = map[resourcev1.QualifiedName]resource.Quantity{}
	}
	u.shareIDs[string(*r.ShareID)]++
	for name, q := range r.ConsumedCapacity {
		sum := u.consumed[name].DeepCopy()
		sum.Add(q)
		u.consumed[name] = sum
	}
}

// problems returns what is wrong with the device's use: held by two claims whole, held whole
// and shared, two shares with one ID, or shares consuming more than a capacity.
func (u *deviceUse) problems(p published, known bool) []string {
	var out []string
	switch {
	case len(u.whole) > 1:
		out = append(out, fmt.Sprintf("is allocated to claims %v", u.whole))
	case len(u.whole) == 1 && len(u.shares) > 0:
		out = append(out, fmt.Sprintf("is allocated whole to claim %s and shared with claims %v", u.whole[0], u.shares))
	}
	var ids []string
	for id, n := range u.shareIDs {
		if n > 1 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, fmt.Sprintf("has %d shares with shareID %s", u.shareIDs[id], id))
	}
	if !known {
		return out
	}
	var names []resourcev1.QualifiedName
	for name := range u.consumed {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		q := u.consumed[name]
		dc, ok := p.dev.Capacity[name]
		if !ok || q.Cmp(dc.Value) > 0 {
			have := "none"
			if ok {
				have = dc.Value.String()
			}
			out = append(out, fmt.Sprintf("shares (claims %v) consume %s of capacity %s, the device has %s", u.shares, q.String(), name, have))
		}
	}
	return out
}
