package dynamicresources

import (
	"hash/fnv"
	"slices"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
)

// PostFilter, as upstream's: a pod may fit nowhere only because one of its claims was allocated
// for another node (or its devices' binding failed, or did not complete within bindingTimeout of
// the allocation, as of the snapshot's time). When such a claim is reserved for no pod, or
// for this pod alone, deallocating it lets the next attempt allocate it again, on a node where the
// pod fits. A claim counts when it was unavailable on a node where everything else fitted: every
// earlier filter passed there, the claims still to allocate were allocatable, and only an
// allocated claim was not available (ReasonNotAvailable). Upstream picks one such claim at random;
// berth picks one by a hash of the pod's UID (see pickFor), which spreads the choice over pods as a
// random one does while the decision stays a function of the pod and the snapshot.

// DeallocatedMessage is the PostFilter reason once a deallocation was written, upstream's.
const DeallocatedMessage = "deallocation of ResourceClaim completed"

// Deallocation is DynamicResources' PostFilter plan: the claim to deallocate for the pod.
// The scheduler writes Deallocated with the claim's resourceVersion as the snapshot had it: a
// claim changed meanwhile (reserved by another pod, say) is then not deallocated, the write
// failing with a conflict as upstream's does.
type Deallocation struct {
	Pod   *v1.Pod
	Claim *resourcev1.ResourceClaim
	// Delete is set when Claim is the extended resource claim an earlier attempt created for the
	// pod (see extended.go): the scheduler deletes it, after removing its finalizer, instead.
	Delete bool
}

// Message is the PostFilter reason once the write succeeded, upstream's.
func (d *Deallocation) Message() string {
	if d.Delete {
		return DeletedMessage
	}
	return DeallocatedMessage
}

var _ decide.PostFilterer = (*prepared)(nil)

// PluginName returns "DynamicResources".
func (*Deallocation) PluginName() string { return Name }

// Deallocated returns a copy of the claim with no allocation, no reservations and no device
// statuses, as the deallocation writes it.
func (d *Deallocation) Deallocated() *resourcev1.ResourceClaim {
	c := d.Claim.DeepCopy()
	c.Status.Allocation = nil
	c.Status.ReservedFor = nil
	c.Status.Devices = nil
	return c
}

// PostFilter proposes the deallocation of a claim (see above) given the nodes Filter rejected, or
// returns nil.
func (p *prepared) PostFilter(rejected []decide.Rejection) decide.Plan {
	if e := p.extended; e != nil && e.stale != nil {
		// Every node rejected the pod for this claim before looking at its others.
		return &Deallocation{Pod: p.pod, Claim: e.stale, Delete: true}
	}
	if len(p.allocated) == 0 {
		return nil
	}
	var unavailable []bool // by index in p.allocated
	for _, r := range rejected {
		if len(r.Verdict.Reasons) != 1 || r.Verdict.Reasons[0] != ReasonNotAvailable || r.Node.Node == nil {
			continue
		}
		for i, a := range p.allocated {
			if !a.availableOn(r.Node.Node) {
				if unavailable == nil {
					unavailable = make([]bool, len(p.allocated))
				}
				unavailable[i] = true
			}
		}
	}
	var candidates []*resourcev1.ResourceClaim
	for i, a := range p.allocated {
		if c := p.claims[a.index]; unavailable != nil && unavailable[i] && reservedForNoOther(c, p.pod) {
			candidates = append(candidates, c)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	return &Deallocation{Pod: p.pod, Claim: candidates[pickFor(p.pod.UID, len(candidates))]}
}

// pickFor chooses one of n candidates for the pod with uid: the same one every time for the same
// pod, and evenly spread over pods.
func pickFor(uid types.UID, n int) int {
	h := fnv.New64a()
	h.Write([]byte(uid))
	return int(h.Sum64() % uint64(n))
}

// reservedForNoOther reports whether c is reserved for no pod, or for pod alone.
func reservedForNoOther(c *resourcev1.ResourceClaim, pod *v1.Pod) bool {
	r := c.Status.ReservedFor
	return len(r) == 0 || (len(r) == 1 && r[0].UID == pod.UID)
}

// availableOn reports whether the allocated claim can be used on node: its allocation's node
// selector selects the node, its devices' binding has not failed, and the node declares
// DRAOptionalNodeOperations when a result skips node operations.
func (a allocatedClaim) availableOn(node *v1.Node) bool {
	return !a.bindingFailed && a.nodeSel.Matches(node) &&
		(!a.skipsNodeOperations || slices.Contains(node.Status.DeclaredFeatures, optionalNodeOperations))
}
