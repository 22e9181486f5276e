package dynamicresources

import (
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Plan is what the pod's claims need written before the pod is bound to Node, as upstream's
// Reserve and PreBind do: for each claim whose status must change, the claim as the snapshot had
// it and as it must become. The binding cycle assumes After in its cache, writes it (the
// finalizer with an update when After adds it, then the status with UpdateStatus, setting
// status.allocation.allocationTimestamp to the time of the write when it is nil, as upstream's
// PreBind does), and restores Before on failure. When WaitForBindingConditions is set, it then
// waits (see Ready) before binding.
type Plan struct {
	Pod    *v1.Pod
	Node   string
	Claims []ClaimUpdate
	// PodClaims names all of the pod's claims (in spec order), for Ready.
	PodClaims []types.NamespacedName
	// WaitForBindingConditions is set when a device allocated to one of the pod's claims has
	// binding conditions: the binding must wait until they hold (see Ready), at most
	// BindingTimeout.
	WaitForBindingConditions bool
	BindingTimeout           time.Duration
	// Extended is the claim to create for the pod's extended resources backed by DRA, after the
	// Claims are written (nil: none; see extended.go).
	Extended *ExtendedClaim
	// Err is set when the reservation could not be computed on Node (it should not happen: the
	// node passed Filter); the binding cycle must then fail the attempt with it.
	Err error
}

// ClaimUpdate is one claim's change.
type ClaimUpdate struct {
	// Before is the claim as in the snapshot.
	Before *resourcev1.ResourceClaim
	// After is a copy with, when Allocated, the finalizer and status.allocation, and with the pod
	// appended to status.reservedFor, as upstream writes them.
	After *resourcev1.ResourceClaim
	// Allocated is set when berth allocated the claim in this cycle.
	Allocated bool
}

// PluginName returns "DynamicResources".
func (*Plan) PluginName() string { return Name }

// Errors Ready returns, as upstream names them.
var (
	ErrDeviceBindingTimeout = errors.New("device binding timeout")
	ErrDeviceBindingFailed  = errors.New("device binding failed")
)

// Ready reports whether every binding condition of the devices allocated to the pod's claims
// holds, reading the claims as get returns them now (nil: not found). It returns an error
// wrapping ErrDeviceBindingFailed when a binding failure condition is set, and one wrapping
// ErrDeviceBindingTimeout when a claim's allocationTimestamp is more than BindingTimeout before
// now, as upstream's PreBind decides.
func (p *Plan) Ready(get func(namespace, name string) *resourcev1.ResourceClaim, now time.Time) (bool, error) {
	for _, k := range p.PodClaims {
		c := get(k.Namespace, k.Name)
		if c == nil {
			return false, fmt.Errorf("resourceclaim %q not found", k.Name)
		}
		ready, err := claimReady(c)
		if err != nil {
			return false, err
		}
		if !ready {
			if a := c.Status.Allocation; a != nil && a.AllocationTimestamp != nil && a.AllocationTimestamp.Add(p.BindingTimeout).Before(now) {
				return false, fmt.Errorf("%w: claim=%s", ErrDeviceBindingTimeout, c.Name)
			}
			return false, nil
		}
	}
	return true, nil
}

// claimReady reports whether all binding conditions of c's allocated devices are true and none
// of their failure conditions is (an error then).
func claimReady(c *resourcev1.ResourceClaim) (bool, error) {
	if c.Status.Allocation == nil {
		return false, nil
	}
	for i := range c.Status.Allocation.Devices.Results {
		r := &c.Status.Allocation.Devices.Results[i]
		if len(r.BindingConditions) == 0 {
			continue
		}
		st := deviceStatus(c, r)
		if st == nil {
			return false, nil
		}
		for _, cond := range r.BindingFailureConditions {
			for _, sc := range st.Conditions {
				if sc.Type == cond && sc.Status == "True" {
					return false, fmt.Errorf("%w: claim=%s, reason=%s, message=%q", ErrDeviceBindingFailed, c.Name, sc.Reason, sc.Message)
				}
			}
		}
		for _, cond := range r.BindingConditions {
			if !isTrue(st.Conditions, cond) {
				return false, nil
			}
		}
	}
	return true, nil
}

// Reserve returns the plan for node n: the claims to allocate there and those to reserve for
// the pod. It is nil when every claim is already reserved for the pod.
func (p *prepared) Reserve(n *snapshot.NodeInfo) decide.Plan {
	plan := &Plan{Pod: p.pod, Node: n.Name(), BindingTimeout: p.pl.args.BindingTimeout}
	var results []resourcev1.AllocationResult
	pending, numRequests, ext, v := p.pendingOn(n)
	if v.Fits() && len(pending) > 0 {
		results, v = p.allocate(n.Node, pending, numRequests)
	}
	if !v.Fits() {
		plan.Err = fmt.Errorf("allocating devices for pod %s/%s on node %s after it passed the filter: %s", p.pod.Namespace, p.pod.Name, plan.Node, v.Reasons[0])
		return plan
	}
	if ext != nil {
		alloc := &results[len(results)-1]
		plan.Extended = p.extendedClaim(ext, alloc)
		plan.WaitForBindingConditions = hasBindingConditions(alloc)
	}
	ref := resourcev1.ResourceClaimConsumerReference{APIGroup: v1.GroupName, Resource: "pods", Name: p.pod.Name, UID: p.pod.UID}
	next := 0
	for _, c := range p.claims {
		k := types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
		if slices.Contains(plan.PodClaims, k) {
			continue
		}
		plan.PodClaims = append(plan.PodClaims, k)
		var alloc *resourcev1.AllocationResult
		if c.Status.Allocation == nil {
			alloc = &results[next]
			next++
		}
		if a := c.Status.Allocation; a != nil {
			plan.WaitForBindingConditions = plan.WaitForBindingConditions || hasBindingConditions(a)
		} else {
			plan.WaitForBindingConditions = plan.WaitForBindingConditions || hasBindingConditions(alloc)
		}
		if reservedFor(c, p.pod.UID) {
			continue
		}
		after := c.DeepCopy()
		if alloc != nil {
			if !slices.Contains(after.Finalizers, resourcev1.Finalizer) {
				after.Finalizers = append(after.Finalizers, resourcev1.Finalizer)
			}
			after.Status.Allocation = alloc
		}
		after.Status.ReservedFor = append(after.Status.ReservedFor, ref)
		plan.Claims = append(plan.Claims, ClaimUpdate{Before: c, After: after, Allocated: alloc != nil})
	}
	if len(plan.Claims) == 0 && !plan.WaitForBindingConditions && plan.Extended == nil {
		return nil
	}
	return plan
}

// extendedClaim is the plan's part for the node's extended resource claim ext, allocated as
// alloc.
func (p *prepared) extendedClaim(ext *extendedVariant, alloc *resourcev1.AllocationResult) *ExtendedClaim {
	assumed := ext.claim.DeepCopy()
	assumed.Finalizers = []string{resourcev1.Finalizer}
	assumed.Status.Allocation = alloc
	assumed.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{APIGroup: v1.GroupName, Resource: "pods", Name: p.pod.Name, UID: p.pod.UID}}
	return &ExtendedClaim{Claim: ext.claim, Assumed: assumed, Allocation: alloc, Mappings: ext.mappings}
}

func hasBindingConditions(a *resourcev1.AllocationResult) bool {
	for _, r := range a.Devices.Results {
		if len(r.BindingConditions) > 0 {
			return true
		}
	}
	return false
}

// reservedFor reports whether the pod with uid is among the claim's consumers.
func reservedFor(c *resourcev1.ResourceClaim, uid types.UID) bool {
	for _, r := range c.Status.ReservedFor {
		if r.UID == uid {
			return true
		}
	}
	return false
}
