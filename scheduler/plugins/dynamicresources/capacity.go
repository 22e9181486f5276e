package dynamicresources

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// This file is consumable capacity (DRAConsumableCapacity, beta and on in v1.37). Every device a
// request gets is checked against the device's capacities: what the request asks for, rounded up
// by each capacity's requestPolicy, must be allowed by that policy and must fit in what is still
// free. A device with allowMultipleAllocations is not taken whole: each request that gets it holds
// a share, identified by a shareID, and consumes part of its capacity, so several requests and
// claims can hold it at once until the capacity runs out. What a share consumes is recorded in
// its result's consumedCapacity, and the snapshot sums it over the cluster's allocations.
//
// The arithmetic is upstream's with DRAFractionalCapacityRange off (v1.37's default, with the
// default minimum compatibility version 1.36): a validRange's min, max and step and the request
// are compared as whole numbers (resource.Quantity.Value, which rounds up).

// capacities maps a device's capacity names to amounts.
type capacities = map[resourcev1.QualifiedName]resource.Quantity

// Errors that abort an allocation: the request cannot be represented, or the consumption would be
// negative (a stored object that predates stricter validation). Another device would not help.
var (
	errNotRepresentable = errors.New("capacity request cannot be represented in the device's range arithmetic")
	errNegativeCapacity = errors.New("capacity value is negative")
)

// allowsMultiple reports whether the device may be shared between requests and claims.
func allowsMultiple(d *resourcev1.Device) bool {
	return d.AllowMultipleAllocations != nil && *d.AllowMultipleAllocations
}

// consumption is what request r consumes of each capacity of device d: a requested amount rounded
// up by the capacity's policy, else the policy's default, else the whole capacity. ok is false
// when r asks for a capacity d does not have (the device does not fit; another may).
func consumption(r *request, d *resourcev1.Device) (capacities, bool, error) {
	var asked capacities
	if r.capacity != nil {
		asked = r.capacity.Requests
	}
	for name := range asked {
		if _, ok := d.Capacity[name]; !ok {
			return nil, false, nil
		}
	}
	out := make(capacities, len(d.Capacity))
	// In name order, so that which error a request with several bad amounts gets is stable.
	for _, name := range sortedNames(d.Capacity) {
		dc := d.Capacity[name]
		var q resource.Quantity
		if v, ok := asked[name]; ok {
			var err error
			if q, err = roundUp(v, dc.RequestPolicy); err != nil {
				return nil, false, fmt.Errorf("capacity %q: %w", name, err)
			}
		} else if p := dc.RequestPolicy; p != nil && p.Default != nil {
			q = p.Default.DeepCopy()
		} else {
			q = dc.Value.DeepCopy()
		}
		if q.Sign() < 0 {
			return nil, false, fmt.Errorf("capacity %q: %w", name, errNegativeCapacity)
		}
		out[name] = q
	}
	return out, true, nil
}

func sortedNames(m map[resourcev1.QualifiedName]resourcev1.DeviceCapacity) []resourcev1.QualifiedName {
	names := make([]resourcev1.QualifiedName, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// roundUp rounds a requested amount up to what the policy allows: to the range's minimum, then
// to the next step above it, or to the smallest valid value not below it. An amount no rounding
// can fix (above max, above every valid value) is returned unchanged; allowed rejects it.
func roundUp(v resource.Quantity, p *resourcev1.CapacityRequestPolicy) (resource.Quantity, error) {
	switch {
	case p == nil:
		return v.DeepCopy(), nil
	case p.ValidRange != nil && p.ValidRange.Min != nil:
		rng := p.ValidRange
		if v.Cmp(*rng.Min) < 0 {
			return rng.Min.DeepCopy(), nil
		}
		if rng.Step == nil {
			return v.DeepCopy(), nil
		}
		if v.CmpInt64(math.MaxInt64) > 0 {
			return resource.Quantity{}, fmt.Errorf("%w: request %s exceeds MaxInt64", errNotRepresentable, v.String())
		}
		minV, step := rng.Min.Value(), rng.Step.Value()
		if step <= 0 {
			return resource.Quantity{}, fmt.Errorf("%w: step %s is not positive", errNotRepresentable, rng.Step.String())
		}
		steps := (v.Value() - minV + step - 1) / step // v >= min here, so this is a ceiling
		if minV >= 0 && steps > (math.MaxInt64-minV)/step {
			return resource.Quantity{}, fmt.Errorf("%w: rounding request %s up to the next step passes MaxInt64", errNotRepresentable, v.String())
		}
		return *resource.NewQuantity(minV+steps*step, rng.Step.Format), nil
	case len(p.ValidValues) > 0:
		for _, allowed := range p.ValidValues { // sorted ascending (API validation)
			if v.Cmp(allowed) <= 0 {
				return allowed.DeepCopy(), nil
			}
		}
	}
	return v.DeepCopy(), nil
}

// allowed reports whether consuming q of a capacity satisfies its policy: the default always
// does; otherwise q must be within the range (and on a step from its minimum) or one of the valid
// values.
func allowed(q resource.Quantity, p *resourcev1.CapacityRequestPolicy) bool {
	switch {
	case p == nil:
		return true
	case p.Default != nil && q.Cmp(*p.Default) == 0:
		return true
	case p.ValidRange != nil:
		rng := p.ValidRange
		if rng.Max != nil && q.Cmp(*rng.Max) > 0 {
			return false
		}
		if rng.Step != nil && rng.Step.Value() > 0 {
			var minV int64
			if rng.Min != nil {
				minV = rng.Min.Value()
			}
			return (q.Value()-minV)%rng.Step.Value() == 0
		}
		return true
	case len(p.ValidValues) > 0:
		return slices.ContainsFunc(p.ValidValues, func(v resource.Quantity) bool { return q.Cmp(v) == 0 })
	}
	return true
}

// capacityFits reports whether request r may get device d when the device's capacities are
// already consumed by used (allocations cluster-wide) and picking (shares picked in this search);
// both may be nil. It returns what r would consume. Every device is checked, shared or not: a
// request that asks for more than a capacity, or for an amount its policy does not allow, does not
// get the device.
func capacityFits(r *request, d *resourcev1.Device, used, picking capacities) (capacities, bool, error) {
	if len(d.Capacity) == 0 && (r.capacity == nil || len(r.capacity.Requests) == 0) {
		return nil, true, nil // the common case: nothing to count
	}
	need, ok, err := consumption(r, d)
	if err != nil || !ok {
		return nil, false, err
	}
	for name, q := range need {
		dc := d.Capacity[name]
		if !allowed(q, dc.RequestPolicy) {
			return nil, false, nil
		}
		total := q.DeepCopy()
		if u, ok := used[name]; ok {
			total.Add(u)
		}
		if u, ok := picking[name]; ok {
			total.Add(u)
		}
		if total.Cmp(dc.Value) > 0 {
			return nil, false, nil
		}
	}
	return need, true, nil
}

// shareUse is what the shares of one device picked in a search consume.
type shareUse struct {
	n    int // shares picked
	used capacities
}

// addShare records a share of c consuming need; removeShare forgets it again.
func (a *allocation) addShare(c *candidate, need capacities) {
	if a.shares == nil {
		a.shares = map[*candidate]*shareUse{}
	}
	s := a.shares[c]
	if s == nil {
		s = &shareUse{used: capacities{}}
		a.shares[c] = s
	}
	s.n++
	for name, q := range need {
		sum := s.used[name]
		sum.Add(q)
		s.used[name] = sum
	}
}

func (a *allocation) removeShare(c *candidate, need capacities) {
	s := a.shares[c]
	s.n--
	for name, q := range need {
		sum := s.used[name]
		sum.Sub(q)
		s.used[name] = sum
	}
	if s.n == 0 {
		delete(a.shares, c)
	}
}

// picking returns what the shares of c picked so far consume (nil: none).
func (a *allocation) picking(c *candidate) capacities {
	if s := a.shares[c]; s != nil {
		return s.used
	}
	return nil
}

// shareInUse reports whether some allocation, cluster-wide or picked in this search, holds a
// share of c: its counters are consumed already, and a further share does not consume them again.
func (a *allocation) shareInUse(c *candidate) bool {
	if a.shares[c] != nil {
		return true
	}
	id := c.id()
	return a.devs.Shared(id) || a.devs.Consumed(id) != nil
}

// newShareID returns the shareID of result i of claim's allocation: a UUID (version 5 form,
// lower case, as the API requires) derived from the claim's UID and i. Upstream draws a random
// one; deriving it keeps the decision a function of (pod, snapshot). It is unique where the API
// needs it: among the shares of one device, which belong to different claims or to different
// results of one claim (a claim allocated again after being deallocated has no old shares left).
func newShareID(claim types.UID, i int) types.UID {
	sum := sha1.Sum([]byte("berth.share/" + string(claim) + "/" + strconv.Itoa(i)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return types.UID(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
