// Package dynamicresources is kube-scheduler v1.37's DynamicResources plugin, the decision side:
// a pod's ResourceClaims (spec.resourceClaims) must be usable on the node.
//
//   - PreFilter finds the pod's claims in the snapshot (by resourceClaimName, or, for a template,
//     the generated claim named in status.resourceClaimStatuses, which the pod must own). A
//     missing claim, a claim being deleted, or a missing DeviceClass keeps the pod pending
//     everywhere, in upstream's words.
//   - Filter judges each node: an allocated claim's status.allocation.nodeSelector must select
//     it, and the unallocated claims must be allocatable from the devices the node can reach
//     (the structured allocator of allocator.go, with upstream's search order).
//   - Score, as upstream with DRAPrioritizedList, prefers nodes where firstAvailable requests get
//     earlier alternatives.
//   - Reserve returns a Plan: the claims whose status the binding cycle must write (the
//     allocation and the pod in reservedFor), computed from the snapshot alone.
//
// The plugin reads only the snapshot (snapshot.Devices). Device selectors are CEL expressions,
// compiled by the Compiler the constructor is given and cached across pods. Extended resources
// that a DeviceClass provides (DRAExtendedResource) are allocated through a claim the scheduler
// makes for the pod, on the nodes that do not advertise them (see extended.go).
//
// Preemption cannot free devices here: as upstream (no PreFilter extensions), removing pods from
// a node does not deallocate their claims, so the filter is not a decide.PodChanger.
//
// Allocation follows v1.37's default feature set: exact counts and allocationMode All,
// firstAvailable alternatives, matchAttribute and distinctAttribute constraints, admin access
// (does not consume the device; the namespace label is the API server's check, not the
// scheduler's), device taints from slices and DeviceTaintRules against the request's
// tolerations, class selectors and class config copied into the result, pool completeness and
// generations, per-device node selection, partitionable devices (shared counters), consumable
// capacity (capacity requests against each capacity's requestPolicy and what other allocations
// left free, and devices with allowMultipleAllocations shared between requests and claims, each
// share with its shareID and consumedCapacity; see capacity.go), and devices with binding
// conditions (tried last; the Plan says to wait).
//
// DynamicResourcesArgs.filterTimeout bounds the device search on one node, as upstream's does:
// past it, Filter fails with "node N: timed out trying to allocate devices" (an error, so the pod
// backs off and is retried). This is the one clock read of the decision (see timeout.go).
//
// PostFilter, for a pod that fits no node, proposes to deallocate one of its allocated claims
// that was unavailable on a node where the pod otherwise could have gone, when no other pod has it
// reserved (see Deallocation in postfilter.go); the scheduler writes it. The in-flight
// allocations of other pods' Reserve (berth assumes them in its cache instead) are not part of
// this package.
package dynamicresources

import (
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Name is the plugin's name in kube-scheduler's configuration.
const Name = "DynamicResources"

// The reasons a node is rejected, in kube-scheduler's words, and berth's own.
const (
	ReasonCannotAllocate = "cannot allocate all claims"
	ReasonNotAvailable   = "resourceclaim not available on the node"
	ReasonInvalidPools   = "invalid resource pools were encountered"
)

var (
	cannotAllocate = snapshot.RejectUnresolvable(ReasonCannotAllocate)
	notAvailable   = snapshot.RejectUnresolvable(ReasonNotAvailable)
	invalidPoolsV  = snapshot.RejectUnresolvable(ReasonInvalidPools)
)

// Args are the plugin's arguments (kube-scheduler's DynamicResourcesArgs).
type Args struct {
	// FilterTimeout bounds the device search on one node (0: no bound); see timeout.go.
	FilterTimeout time.Duration
	// BindingTimeout bounds how long the binding cycle waits for devices' binding conditions.
	BindingTimeout time.Duration
}

// DefaultArgs are kube-scheduler v1.37's defaults.
func DefaultArgs() Args {
	return Args{FilterTimeout: 10 * time.Second, BindingTimeout: 10 * time.Minute}
}

// DynamicResources is the plugin. It keeps no state between pods but its caches of compiled
// selectors.
type DynamicResources struct {
	args      Args
	selectors *selectorCache
	nodeSels  *nodeSelectorCache
	// newShareID names each share of a device that allows multiple allocations (UUIDs derived
	// from the claim and result; tests replace it). It must be safe for concurrent calls.
	newShareID func(claim types.UID, i int) types.UID
	// now is the clock of FilterTimeout: time.Now, or a test's.
	now func() time.Time
}

var (
	_ decide.FilterPlugin = (*DynamicResources)(nil)
	_ decide.ScorePlugin  = (*DynamicResources)(nil)
	_ decide.Reserver     = (*prepared)(nil)
)

// New returns the plugin with args; compile compiles device selectors (required).
func New(args Args, compile Compiler) (*DynamicResources, error) {
	if args.FilterTimeout < 0 {
		return nil, fmt.Errorf("filterTimeout: Invalid value: %v: must be zero or positive", args.FilterTimeout)
	}
	if args.BindingTimeout < time.Second {
		return nil, fmt.Errorf("bindingTimeout: Invalid value: %v: must be at least 1 second", args.BindingTimeout)
	}
	if compile == nil {
		return nil, fmt.Errorf("dynamicresources: a selector compiler is required")
	}
	return &DynamicResources{args: args, selectors: newSelectorCache(compile), nodeSels: &nodeSelectorCache{}, newShareID: newShareID, now: time.Now}, nil
}

// Name returns "DynamicResources".
func (pl *DynamicResources) Name() string { return Name }

// prepared is one pod's claims, judged once.
type prepared struct {
	pl   *DynamicResources
	pod  *v1.Pod
	devs *snapshot.Devices
	// claims are the pod's claims in spec order (claims whose template generated none are
	// left out, as upstream does).
	claims []*resourcev1.ResourceClaim
	// allocated holds, per claim, the compiled node selector of its allocation (nil: any node)
	// and whether its devices' binding failed.
	allocated []allocatedClaim
	// pending are the unallocated claims; numRequests counts their requests and subrequests.
	pending     []*pending
	numRequests int
	// fail is an allocator error no node can avoid: every Filter fails with it.
	fail *snapshot.Verdict
	// extended is set when the pod requests extended resources a DeviceClass provides (see
	// extended.go).
	extended *extendedState
}

type allocatedClaim struct {
	index         int
	nodeSel       *nodeaffinity.Selector
	bindingFailed bool // a device's binding failed, or timed out (bindingTimedOut)
	// skipsNodeOperations: a result skips node operations, so the node must declare
	// DRAOptionalNodeOperations (upstream checks this whatever its feature gate).
	skipsNodeOperations bool
}

// optionalNodeOperations is the node feature an allocation with skipNodeOperations needs.
const optionalNodeOperations = "DRAOptionalNodeOperations"

// PreFilter finds the pod's claims and prepares the allocation of the unallocated ones. It returns
// nil for a pod without claims.
func (pl *DynamicResources) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	devs := snap.Devices
	ext := prepareExtended(pod, devs)
	if len(pod.Pod.Spec.ResourceClaims) == 0 && ext == nil {
		return nil, snapshot.Verdict{}
	}
	var claims []*resourcev1.ResourceClaim
	if len(pod.Pod.Spec.ResourceClaims) > 0 {
		var msg string
		if claims, msg = podClaims(pod.Pod, devs); msg != "" {
			return nil, snapshot.RejectUnresolvable(msg)
		}
	}
	if len(claims) == 0 && ext == nil {
		return nil, snapshot.Verdict{}
	}
	p := &prepared{pl: pl, pod: pod.Pod, devs: devs, claims: claims, extended: ext}
	for i, c := range claims {
		if a := c.Status.Allocation; a != nil {
			if devs.AllocationPending(c.Namespace, c.Name) && !reservedFor(c, pod.Pod.UID) {
				// Allocated by this scheduler for another pod whose binding cycle has not
				// written it yet: wait for the write, as upstream waits for in-flight allocations.
				return nil, snapshot.Reject(fmt.Sprintf("resource claim %s/%s is in the process of being allocated", c.Namespace, c.Name))
			}
			ac := allocatedClaim{index: i, nodeSel: nodeaffinity.CompileSelector(a.NodeSelector),
				bindingFailed: bindingFailed(c) || bindingTimedOut(c, pl.args.BindingTimeout, snap.Time)}
			for _, r := range a.Devices.Results {
				ac.skipsNodeOperations = ac.skipsNodeOperations || len(r.SkipNodeOperations) > 0
			}
			p.allocated = append(p.allocated, ac)
			continue
		}
		if v := checkClasses(c, devs); !v.Fits() {
			return nil, v
		}
	}
	for _, c := range claims {
		if c.Status.Allocation != nil {
			continue
		}
		pc, err := preparePending(c, devs, pl.selectors, &p.numRequests)
		if err != nil {
			if err.compile {
				return nil, snapshot.RejectUnresolvable(err.msg)
			}
			v := snapshot.Fail(fmt.Errorf("%s", err.msg))
			p.fail = &v
			break
		}
		p.pending = append(p.pending, pc)
	}
	return p, snapshot.Verdict{}
}

// PreEnqueue tells whether pod may be attempted at all, as upstream's PreEnqueue: "" when it may,
// else why not (a claim it names does not exist yet, a template's claim was not created yet, a
// claim is being deleted or was made for another pod). Such a pod is held without an attempt,
// event or condition until a claim or the pod itself changes.
func (pl *DynamicResources) PreEnqueue(pod *v1.Pod, snap *snapshot.Snapshot) string {
	if len(pod.Spec.ResourceClaims) == 0 {
		return ""
	}
	_, msg := podClaims(pod, snap.Devices)
	return msg
}

// podClaims returns the pod's claims, or why it cannot be scheduled now (upstream's messages).
func podClaims(pod *v1.Pod, devs *snapshot.Devices) ([]*resourcev1.ResourceClaim, string) {
	out := make([]*resourcev1.ResourceClaim, 0, len(pod.Spec.ResourceClaims))
	for i := range pod.Spec.ResourceClaims {
		pc := &pod.Spec.ResourceClaims[i]
		var name string
		owned := false
		switch {
		case pc.ResourceClaimName != nil:
			name = *pc.ResourceClaimName
		case pc.ResourceClaimTemplateName != nil:
			found := false
			for _, st := range pod.Status.ResourceClaimStatuses {
				if st.Name == pc.Name {
					found = true
					if st.ResourceClaimName != nil {
						name = *st.ResourceClaimName
					}
					break
				}
			}
			if !found {
				return nil, fmt.Sprintf(`pod "%s/%s": ResourceClaim not created yet`, pod.Namespace, pod.Name)
			}
			if name == "" {
				continue // no claim is needed: the template generated none
			}
			owned = true
		default:
			return nil, fmt.Sprintf(`pod "%s/%s", spec.resourceClaim %q: none of the supported fields are set`, pod.Namespace, pod.Name, pc.Name)
		}
		c := devs.Claim(pod.Namespace, name)
		if c == nil {
			return nil, fmt.Sprintf(`could not find ResourceClaim "%s/%s"`, pod.Namespace, name)
		}
		if c.DeletionTimestamp != nil {
			return nil, fmt.Sprintf("resourceclaim %q is being deleted", c.Name)
		}
		if owned && !metav1.IsControlledBy(c, pod) {
			return nil, fmt.Sprintf("ResourceClaim %s/%s was not created for Pod %s/%s (Pod is not owner)", c.Namespace, c.Name, pod.Namespace, pod.Name)
		}
		if !slices.Contains(out, c) { // a claim named twice is allocated once
			out = append(out, c)
		}
	}
	return out, ""
}

// checkClasses checks that every class an unallocated claim's requests name exists.
func checkClasses(c *resourcev1.ResourceClaim, devs *snapshot.Devices) snapshot.Verdict {
	check := func(class, request string) snapshot.Verdict {
		if class == "" {
			return snapshot.Fail(fmt.Errorf("request %s: unsupported request type", request))
		}
		if devs.Class(class) == nil {
			return snapshot.RejectUnresolvable(fmt.Sprintf("request %s: device class %s does not exist", request, class))
		}
		return snapshot.Verdict{}
	}
	for _, r := range c.Spec.Devices.Requests {
		switch {
		case r.Exactly != nil:
			if v := check(r.Exactly.DeviceClassName, r.Name); !v.Fits() {
				return v
			}
		case len(r.FirstAvailable) > 0:
			for _, s := range r.FirstAvailable {
				if v := check(s.DeviceClassName, r.Name+"/"+s.Name); !v.Fits() {
					return v
				}
			}
		default:
			return snapshot.RejectUnresolvable(fmt.Sprintf("resource claim %s/%s, request %s: unknown request type", c.Namespace, c.Name, r.Name))
		}
	}
	return snapshot.Verdict{}
}

// Filter judges the pod's claims on node n (see the package comment), and its extended resources
// backed by DRA (see extended.go). Safe for concurrent calls.
func (p *prepared) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.Node == nil {
		return cannotAllocate
	}
	pending, numRequests, _, v := p.pendingOn(n)
	if !v.Fits() {
		return v
	}
	if p.fail != nil {
		return *p.fail
	}
	if len(pending) > 0 {
		a, v := p.search(n.Node, pending, numRequests)
		if !v.Fits() {
			return v
		}
		a.release()
	}
	for _, a := range p.allocated {
		if !a.availableOn(n.Node) {
			return notAvailable
		}
	}
	return snapshot.Verdict{}
}

// staleExtended rejects every node while a claim from an earlier attempt exists.
var staleExtended = snapshot.RejectUnresolvable(ReasonStaleExtendedClaim)

// pendingOn returns the claims to allocate on node n and their number of requests: the pod's
// pending claims and, when n must serve some of its extended resources by DRA, the claim for them
// last (variant, else nil); or why n cannot serve them.
func (p *prepared) pendingOn(n *snapshot.NodeInfo) ([]*pending, int, *extendedVariant, snapshot.Verdict) {
	e := p.extended
	if e == nil {
		return p.pending, p.numRequests, nil, snapshot.Verdict{}
	}
	if e.stale != nil {
		return nil, 0, nil, staleExtended
	}
	set, v := e.onNode(n)
	if !v.Fits() || set == 0 {
		return p.pending, p.numRequests, nil, v
	}
	ev := p.variant(set)
	if ev.fail != nil {
		return nil, 0, nil, *ev.fail
	}
	if ev.claim == nil {
		return p.pending, p.numRequests, nil, snapshot.Verdict{}
	}
	return ev.pending, ev.requests, ev, snapshot.Verdict{}
}

// search searches an allocation of the pending claims on node: the solution (see
// allocation.results; the caller releases it), or the verdict when there is none.
func (p *prepared) search(node *v1.Node, pending []*pending, numRequests int) (*allocation, snapshot.Verdict) {
	a := newAllocation(p.devs, node, p.pl.nodeSels, pending, numRequests)
	a.limit.set(p.pl.now, p.pl.args.FilterTimeout)
	ok, why, err := a.run()
	if ok {
		return a, snapshot.Verdict{}
	}
	defer a.release()
	switch {
	case errors.Is(err, errTimedOut):
		return nil, snapshot.Fail(fmt.Errorf("node %s: %w", node.Name, err))
	case err != nil:
		return nil, snapshot.Fail(err)
	case why == invalidPools:
		return nil, invalidPoolsV
	}
	return nil, cannotAllocate
}

// allocate allocates the pending claims on node: their allocation results in order, or the
// verdict.
func (p *prepared) allocate(node *v1.Node, pending []*pending, numRequests int) ([]resourcev1.AllocationResult, snapshot.Verdict) {
	a, v := p.search(node, pending, numRequests)
	if !v.Fits() {
		return nil, v
	}
	defer a.release()
	out := make([]resourcev1.AllocationResult, len(pending))
	for ci := range pending {
		res, err := a.allocationResult(ci, node.Name, p.pl.newShareID)
		if err != nil {
			return nil, snapshot.Fail(err)
		}
		out[ci] = res
	}
	return out, snapshot.Verdict{}
}

// bindingFailed reports whether a device of the allocated claim c has a binding failure
// condition set (upstream then treats the claim as unavailable everywhere until it is
// deallocated).
func bindingFailed(c *resourcev1.ResourceClaim) bool {
	for _, r := range c.Status.Allocation.Devices.Results {
		if len(r.BindingConditions) == 0 {
			continue
		}
		st := deviceStatus(c, &r)
		if st == nil {
			continue
		}
		for _, cond := range r.BindingFailureConditions {
			if isTrue(st.Conditions, cond) {
				return true
			}
		}
	}
	return false
}

// bindingTimedOut reports whether the allocated claim c waits for binding conditions that have
// not all held within timeout of its allocationTimestamp, as of now (the snapshot's time):
// upstream then treats the claim as unavailable, so that PostFilter may deallocate it.
func bindingTimedOut(c *resourcev1.ResourceClaim, timeout time.Duration, now time.Time) bool {
	a := c.Status.Allocation
	if a == nil || a.AllocationTimestamp == nil || !hasBindingConditions(a) || now.IsZero() {
		return false
	}
	if ready, err := claimReady(c); ready || err != nil {
		return false // ready, or failed (which bindingFailed sees)
	}
	return a.AllocationTimestamp.Add(timeout).Before(now)
}

func deviceStatus(c *resourcev1.ResourceClaim, r *resourcev1.DeviceRequestAllocationResult) *resourcev1.AllocatedDeviceStatus {
	for i := range c.Status.Devices {
		d := &c.Status.Devices[i]
		if d.Driver == r.Driver && d.Pool == r.Pool && d.Device == r.Device {
			return d
		}
	}
	return nil
}

func isTrue(conds []metav1.Condition, t string) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}
