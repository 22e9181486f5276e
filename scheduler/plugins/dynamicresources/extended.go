package dynamicresources

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Extended resources backed by DRA (DRAExtendedResource, GA and locked on in v1.37). A container
// may request, in resources.requests, an extended resource that a DeviceClass provides (by
// spec.extendedResourceName, or as deviceclass.resource.kubernetes.io/CLASS). On a node that
// advertises the resource in status.allocatable the device plugin serves it, and NodeResourcesFit
// counts it as usual. On a node that does not, NodeResourcesFit leaves it alone and this plugin
// allocates devices for it instead, through a ResourceClaim the scheduler makes for the pod:
//
//   - PreFilter finds the resources (extendedState) and the claim an earlier attempt created,
//     if any;
//   - Filter builds, per node, the claim the node needs: one request per container and resource
//     served by DRA there (prepared.variant, requestsAndMappings), and allocates it with the pod's other claims;
//   - Reserve returns it in the Plan (ExtendedClaim), with its allocation and the pod's request
//     mappings; the binding cycle creates it (generateName POD-extended-resources-, the pod as
//     controller, the annotation resource.kubernetes.io/extended-resource-claim: "true"), writes
//     its finalizer, allocation and reservation, then the pod's status.extendedResourceClaimStatus;
//     a failed cycle deletes it;
//   - a claim found from an earlier attempt is stale (its cycle failed and could not delete it):
//     every node rejects the pod, and PostFilter deletes the claim, so the next attempt starts
//     anew, as upstream does.

// ReasonStaleExtendedClaim and ReasonCannotFitResource are upstream's reasons for the pods whose
// extended resources cannot be served: a claim left by an earlier attempt, and a resource no
// class provides and the node does not advertise.
const (
	ReasonStaleExtendedClaim = "cannot schedule extended resource claim"
	ReasonCannotFitResource  = "cannot fit resource"
)

// DeletedMessage is the PostFilter reason once a stale extended resource claim was deleted.
const DeletedMessage = "deletion of ResourceClaim completed"

// extendedClaimPrefix names the in-memory claim of a pod until the binding cycle creates it; '<'
// is not valid in a name, so it never clashes with a claim of the API server.
const extendedClaimPrefix = "<extended-resources>-"

// maxExtended bounds the extended resources of one pod that a set (a uint64) can name; a pod with
// more fails (no node or device plugin offers that many kinds in practice).
const maxExtended = 64

var tooManyExtended = snapshot.Fail(fmt.Errorf("the pod requests more than %d extended resources", maxExtended))

// extendedResource is one resource the pod requests that could be backed by a DeviceClass.
type extendedResource struct {
	name     v1.ResourceName
	quantity int64
	class    *resourcev1.DeviceClass // nil: no class provides it
}

// extendedState is what a pod's extended resources backed by DRA need, prepared once per pod.
type extendedState struct {
	pod       *v1.Pod
	resources []extendedResource // by name; at least one has a class
	// stale is the claim an earlier attempt created, if any.
	stale *resourcev1.ResourceClaim

	mu       sync.Mutex
	variants map[uint64]*extendedVariant // by the set of resources served by DRA (bit i: resources[i])
}

// extendedVariant is the claim a node needs when the resources in its set are served by DRA.
type extendedVariant struct {
	claim    *resourcev1.ResourceClaim // nil: nothing to allocate
	mappings []v1.ContainerExtendedResourceRequest
	pending  []*pending // the pod's pending claims, then this one
	requests int        // their requests and subrequests
	fail     *snapshot.Verdict
}

// prepareExtended returns the state of pod's extended resources backed by DRA, or nil when it
// requests none that a class provides (upstream's hasDeviceClassMappedExtendedResource).
func prepareExtended(pod *snapshot.PodInfo, devs *snapshot.Devices) *extendedState {
	var out []extendedResource
	backed := false
	for name, q := range pod.Requests.Scalar {
		if q == 0 || !extendedOrDeviceClass(name) {
			continue
		}
		c := devs.ExtendedResourceClass(name)
		backed = backed || c != nil
		out = append(out, extendedResource{name: name, quantity: q, class: c})
	}
	if !backed {
		return nil
	}
	if len(out) > maxExtended {
		out = out[:0] // see onNode
	}
	slices.SortFunc(out, func(a, b extendedResource) int { return strings.Compare(string(a.name), string(b.name)) })
	return &extendedState{pod: pod.Pod, resources: out, stale: devs.ExtendedResourceClaim(pod.Pod), variants: map[uint64]*extendedVariant{}}
}

// extendedOrDeviceClass reports whether name could be backed by a DeviceClass: an extended
// resource (domain-prefixed outside kubernetes.io, not a quota requests. name) or an implicit
// device class resource name.
func extendedOrDeviceClass(name v1.ResourceName) bool {
	s := string(name)
	if strings.HasPrefix(s, resourcev1.ResourceDeviceClassPrefix) {
		return true
	}
	if !strings.Contains(s, "/") || strings.Contains(s, v1.ResourceDefaultNamespacePrefix) || strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(v1.DefaultResourceRequestsPrefix+s)) == 0
}

// onNode returns the set of resources node must serve by DRA (bit i: resources[i]): those a class
// provides that the node does not advertise (allocatable zero). A resource no class provides and
// the node does not list in allocatable at all rejects the node.
func (e *extendedState) onNode(n *snapshot.NodeInfo) (uint64, snapshot.Verdict) {
	if len(e.resources) == 0 {
		return 0, tooManyExtended
	}
	var set uint64
	for i, r := range e.resources {
		alloc, listed := n.Allocatable.Scalar[r.name]
		switch {
		case r.class != nil && alloc == 0:
			set |= 1 << i
		case !listed:
			return 0, snapshot.RejectUnresolvable(ReasonCannotFitResource)
		}
	}
	return set, snapshot.Verdict{}
}

// variant returns the claim (and the pending claims to allocate) for the set of resources served
// by DRA, built once per set. Safe for concurrent calls.
func (p *prepared) variant(set uint64) *extendedVariant {
	e := p.extended
	e.mu.Lock()
	defer e.mu.Unlock()
	if v := e.variants[set]; v != nil {
		return v
	}
	v := &extendedVariant{pending: p.pending, requests: p.numRequests}
	var served []extendedResource
	for i, r := range e.resources {
		if set&(1<<i) != 0 {
			served = append(served, r)
		}
	}
	reqs, mappings := requestsAndMappings(e.pod, served)
	if len(reqs) > 0 {
		v.claim = newExtendedClaim(e.pod, reqs)
		v.mappings = mappings
		n := p.numRequests
		pc, err := preparePending(v.claim, p.devs, p.pl.selectors, &n)
		switch {
		case err != nil && err.compile:
			f := snapshot.RejectUnresolvable(err.msg)
			v.fail = &f
		case err != nil:
			f := snapshot.Fail(fmt.Errorf("%s", err.msg))
			v.fail = &f
		default:
			v.pending = append(slices.Clip(p.pending), pc)
			v.requests = n
		}
	}
	e.variants[set] = v
	return v
}

// newExtendedClaim is the claim the binding cycle creates for pod, as upstream shapes it; until
// then it goes by an in-memory name (extendedClaimPrefix and the pod's UID).
func newExtendedClaim(pod *v1.Pod, reqs []resourcev1.DeviceRequest) *resourcev1.ResourceClaim {
	controller := true
	return &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:    pod.Namespace,
			Name:         extendedClaimPrefix + string(pod.UID),
			GenerateName: pod.Name + "-extended-resources-",
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID, Controller: &controller,
			}},
			Annotations: map[string]string{resourcev1.ExtendedResourceClaimAnnotation: "true"},
		},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: reqs}},
	}
}

// inMemory reports whether c is a pod's extended resource claim not created yet.
func inMemory(c *resourcev1.ResourceClaim) bool {
	return strings.HasPrefix(c.Name, extendedClaimPrefix)
}

// requestsAndMappings builds the device requests of the pod's extended resource claim for the
// resources served by DRA, and the mappings of each container's resource to the request serving
// it, as upstream does: per resource (by name), one request per container that asks for it, named
// container-I-request-J (I the container's index among init containers then containers, J the
// resource's index among the container's requests, sorted by name). Regular containers and
// sidecars each get their own devices. An init container that runs to completion first reuses
// the requests of the long-lived containers that come after it, and asks only for what they lack;
// of those init containers, the largest request serves them all. Requests are sorted by name.
func requestsAndMappings(pod *v1.Pod, served []extendedResource) ([]resourcev1.DeviceRequest, []v1.ContainerExtendedResourceRequest) {
	containers := slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers)
	numInit := len(pod.Spec.InitContainers)
	var reqs []resourcev1.DeviceRequest
	var mappings []v1.ContainerExtendedResourceRequest
	for _, r := range served {
		// Long-lived containers first: sidecars (init containers that keep running) and
		// regular containers.
		long := make([]*resourcev1.DeviceRequest, len(containers))
		var longMaps, shortMaps []v1.ContainerExtendedResourceRequest
		for i := range containers {
			if !shortLived(&containers[i], i, numInit) {
				req, m := containerRequest(i, &containers[i], r, nil)
				long[i] = req
				longMaps = append(longMaps, m...)
			}
		}
		var largest *resourcev1.DeviceRequest
		shortNames := map[string]bool{}
		for i := range containers {
			if !shortLived(&containers[i], i, numInit) {
				continue
			}
			req, m := containerRequest(i, &containers[i], r, long[i:])
			if req != nil {
				shortNames[req.Name] = true
				if largest == nil || largest.Exactly.Count < req.Exactly.Count {
					largest = req
				}
			}
			shortMaps = append(shortMaps, m...)
		}
		if largest != nil {
			for i := range shortMaps {
				if shortNames[shortMaps[i].RequestName] {
					shortMaps[i].RequestName = largest.Name
				}
			}
			reqs = append(reqs, *largest)
		}
		for _, req := range long {
			if req != nil {
				reqs = append(reqs, *req)
			}
		}
		mappings = append(append(mappings, longMaps...), shortMaps...)
	}
	slices.SortStableFunc(reqs, func(a, b resourcev1.DeviceRequest) int { return strings.Compare(a.Name, b.Name) })
	return reqs, mappings
}

// shortLived reports whether container i (of init containers then containers) is an init
// container that runs to completion before the others start (not a sidecar).
func shortLived(c *v1.Container, i, numInit int) bool {
	return i < numInit && (c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways)
}

// containerRequest returns the request container i needs for resource r, after using the
// requests in reusable (nil entries skipped) in order, and its mappings. The request is nil when
// the container does not ask for r, or reusable covers it.
func containerRequest(i int, c *v1.Container, r extendedResource, reusable []*resourcev1.DeviceRequest) (*resourcev1.DeviceRequest, []v1.ContainerExtendedResourceRequest) {
	q, ok := c.Resources.Requests[r.name]
	if !ok {
		return nil, nil
	}
	want, ok := q.AsInt64()
	if !ok || want == 0 {
		return nil, nil
	}
	var mappings []v1.ContainerExtendedResourceRequest
	have := int64(0)
	for _, req := range reusable {
		if req == nil {
			continue
		}
		have += req.Exactly.Count
		mappings = append(mappings, v1.ContainerExtendedResourceRequest{ContainerName: c.Name, ResourceName: string(r.name), RequestName: req.Name})
		if have >= want {
			return nil, mappings
		}
	}
	names := make([]string, 0, len(c.Resources.Requests))
	for n := range c.Resources.Requests {
		names = append(names, string(n))
	}
	slices.Sort(names)
	name := fmt.Sprintf("container-%d-request-%d", i, slices.Index(names, string(r.name)))
	req := &resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{
		DeviceClassName: r.class.Name, AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: want - have,
	}}
	return req, append(mappings, v1.ContainerExtendedResourceRequest{ContainerName: c.Name, ResourceName: string(r.name), RequestName: name})
}

// ExtendedClaim is the extended resource claim a Plan creates for its pod (see extended.go).
type ExtendedClaim struct {
	// Claim is the claim to create: generateName, owner, annotation and spec. Its name is the
	// in-memory one (see inMemory), to be cleared for the create.
	Claim *resourcev1.ResourceClaim
	// Assumed is Claim with the finalizer, Allocation and the pod in reservedFor, as the cache
	// assumes it under the in-memory name until the claim is created.
	Assumed *resourcev1.ResourceClaim
	// Allocation is the claim's status.allocation.
	Allocation *resourcev1.AllocationResult
	// Mappings are the pod's status.extendedResourceClaimStatus.requestMappings.
	Mappings []v1.ContainerExtendedResourceRequest
}

// ExtendedResourceClaimStatus is the pod status the binding cycle writes once the claim called
// name was created and reserved.
func (x *ExtendedClaim) ExtendedResourceClaimStatus(name string) *v1.PodExtendedResourceClaimStatus {
	return &v1.PodExtendedResourceClaimStatus{RequestMappings: x.Mappings, ResourceClaimName: name}
}
