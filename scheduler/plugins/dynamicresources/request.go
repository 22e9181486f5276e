package dynamicresources

import (
	"fmt"
	"math"

	resourcev1 "k8s.io/api/resource/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// pending is a claim to allocate, prepared once per pod: its requests with their classes and
// compiled selectors, and its constraints.
type pending struct {
	claim       *resourcev1.ResourceClaim
	requests    []requestAlts
	constraints []constraintSpec
}

// requestAlts is one of a claim's requests: a single exact request, or the alternatives of
// firstAvailable in order of preference.
type requestAlts struct {
	alts           []*request
	firstAvailable bool
}

// request is an exact request or one subrequest, as the allocator needs it.
type request struct {
	id          int    // index among all requests and subrequests of the pod's pending claims
	name        string // the request's, or the subrequest's
	parent      string // the request a subrequest belongs to; "" for an exact request
	class       *resourcev1.DeviceClass
	classSel    []Selector
	sel         []Selector
	all         bool
	count       int
	admin       bool
	tolerations []resourcev1.DeviceToleration
	capacity    *resourcev1.CapacityRequirements
}

// fullName is how results and configs name the request: "request" or "request/subrequest".
func (r *request) fullName() string {
	if r.parent == "" {
		return r.name
	}
	return r.parent + "/" + r.name
}

// constraintSpec is a claim constraint: the requests it applies to (all when empty) and the
// attribute that must match, or be distinct, across their devices.
type constraintSpec struct {
	requests  []string
	attribute resourcev1.FullyQualifiedName
	distinct  bool
}

// applies reports whether the constraint covers a device chosen for the request base (or its
// subrequest sub).
func (c *constraintSpec) applies(base, sub string) bool {
	if len(c.requests) == 0 {
		return true
	}
	for _, r := range c.requests {
		if r == base || (sub != "" && r == base+"/"+sub) {
			return true
		}
	}
	return false
}

// claimError is a problem with a claim that no node can fix. compile errors keep the pod pending
// as unschedulable (berth refuses an expression it cannot evaluate); the other ones are
// upstream's allocator errors, which fail the scheduling attempt (retried with backoff).
type claimError struct {
	msg     string
	compile bool
}

// preparePending builds the allocator's view of claim c; nextID numbers the requests. Classes
// must exist (PreFilter checked them).
func preparePending(c *resourcev1.ResourceClaim, devs *snapshot.Devices, sels *selectorCache, nextID *int) (*pending, *claimError) {
	key := c.Namespace + "/" + c.Name
	p := &pending{claim: c}
	for i := range c.Spec.Devices.Requests {
		dr := &c.Spec.Devices.Requests[i]
		var ra requestAlts
		if len(dr.FirstAvailable) > 0 {
			ra.firstAvailable = true
			for j := range dr.FirstAvailable {
				sr := &dr.FirstAvailable[j]
				r, err := newRequest(key, dr.Name, sr.Name, sr.DeviceClassName, sr.Selectors, sr.AllocationMode, sr.Count,
					nil, sr.Tolerations, sr.Capacity, len(sr.DerivedAttributes) > 0, devs, sels)
				if err != nil {
					return nil, err
				}
				ra.alts = append(ra.alts, r)
			}
		} else if e := dr.Exactly; e != nil {
			r, err := newRequest(key, "", dr.Name, e.DeviceClassName, e.Selectors, e.AllocationMode, e.Count,
				e.AdminAccess, e.Tolerations, e.Capacity, len(e.DerivedAttributes) > 0, devs, sels)
			if err != nil {
				return nil, err
			}
			ra.alts = []*request{r}
		} else {
			return nil, &claimError{msg: fmt.Sprintf("claim %s, request %s: missing device class name (unsupported request type?)", key, dr.Name)}
		}
		for _, r := range ra.alts {
			r.id = *nextID
			*nextID++
		}
		p.requests = append(p.requests, ra)
	}
	for i, dc := range c.Spec.Devices.Constraints {
		switch {
		case dc.MatchAttribute != nil:
			p.constraints = append(p.constraints, constraintSpec{requests: dc.Requests, attribute: *dc.MatchAttribute})
		case dc.DistinctAttribute != nil:
			p.constraints = append(p.constraints, constraintSpec{requests: dc.Requests, attribute: *dc.DistinctAttribute, distinct: true})
		default:
			return nil, &claimError{msg: fmt.Sprintf("claim %s, constraint #%d: empty constraint (unsupported constraint type?)", key, i)}
		}
	}
	return p, nil
}

// newRequest prepares one exact request (parent "") or subrequest, in upstream's validation
// order, with its selectors and its class's compiled.
func newRequest(claim, parent, name, className string, selectors []resourcev1.DeviceSelector, mode resourcev1.DeviceAllocationMode,
	count int64, admin *bool, tolerations []resourcev1.DeviceToleration, capacity *resourcev1.CapacityRequirements,
	derived bool, devs *snapshot.Devices, sels *selectorCache) (*request, *claimError) {
	r := &request{name: name, parent: parent, admin: admin != nil && *admin, tolerations: tolerations, capacity: capacity}
	full := r.fullName()
	if derived {
		return nil, &claimError{msg: fmt.Sprintf("claim %s, request %s: cannot handle request with derived attributes, the feature is disabled", claim, name)}
	}
	for i, s := range selectors {
		if s.CEL == nil {
			return nil, &claimError{msg: fmt.Sprintf("claim %s, request %s, selector #%d: CEL expression empty (unsupported selector type?)", claim, name, i)}
		}
	}
	if className == "" {
		return nil, &claimError{msg: fmt.Sprintf("claim %s, request %s: missing device class name (unsupported request type?)", claim, name)}
	}
	r.class = devs.Class(className)
	if r.class == nil {
		return nil, &claimError{msg: fmt.Sprintf("claim %s, request %s: could not retrieve device class %s: deviceclass.resource.k8s.io %q not found", claim, name, className, className)}
	}
	switch mode {
	case resourcev1.DeviceAllocationModeExactCount, "":
		if count > math.MaxInt32 {
			return nil, &claimError{msg: fmt.Sprintf("claim %s, request %s: exact count %d is too large", claim, name, count)}
		}
		r.count = int(count)
		if mode == "" && r.count == 0 {
			r.count = 1
		}
	case resourcev1.DeviceAllocationModeAll:
		r.all = true
	default:
		return nil, &claimError{msg: fmt.Sprintf("claim %s, request %s: unsupported count mode %s", claim, name, mode)}
	}
	for i, s := range r.class.Spec.Selectors {
		if s.CEL == nil {
			continue // a future selector type in a class: upstream skips it too when matching
		}
		sel, err := sels.get(s.CEL.Expression)
		if err != nil {
			return nil, &claimError{compile: true, msg: fmt.Sprintf("claim %s, request %s: class %s: selector #%d: %v", claim, full, className, i, err)}
		}
		r.classSel = append(r.classSel, sel)
	}
	for i, s := range selectors {
		sel, err := sels.get(s.CEL.Expression)
		if err != nil {
			return nil, &claimError{compile: true, msg: fmt.Sprintf("claim %s, request %s: selector #%d: %v", claim, full, i, err)}
		}
		r.sel = append(r.sel, sel)
	}
	return r, nil
}
