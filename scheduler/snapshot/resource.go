package snapshot

import (
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Default requests assumed for a container that states none, used only for scoring so that
// request-less pods still count as using something (kube-scheduler's non-zero requests).
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of each schedulable resource: a node's allocatable, the sum of its pods'
// requests, or one pod's requests. CPU is in millicores, everything else in the quantity's base unit.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the pod count; meaningful for allocatable only.
	AllowedPodNumber int64
	// Scalar holds extended resources, hugepages-* and other scalar resources; nil when none.
	Scalar map[v1.ResourceName]int64
}

// IsScalarResourceName reports whether name is counted in Resource.Scalar: extended resources
// (a domain-prefixed name outside kubernetes.io), hugepages-*, prefixed native resources and
// attachable-volumes-*.
func IsScalarResourceName(name v1.ResourceName) bool {
	s := string(name)
	switch {
	case strings.HasPrefix(s, v1.ResourceHugePagesPrefix):
		return true
	case strings.HasPrefix(s, v1.ResourceAttachableVolumesPrefix):
		return true
	case strings.Contains(s, "kubernetes.io/"):
		return true // prefixed native resource
	case strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix):
		return false
	default:
		return strings.Contains(s, "/") // extended resource
	}
}

// Get returns the amount of the named resource.
func (r *Resource) Get(name v1.ResourceName) int64 {
	switch name {
	case v1.ResourceCPU:
		return r.MilliCPU
	case v1.ResourceMemory:
		return r.Memory
	case v1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case v1.ResourcePods:
		return r.AllowedPodNumber
	default:
		return r.Scalar[name]
	}
}

// maxQuantity caps any one quantity so that absurd requests (say 2^63 cores) neither overflow
// int64 when scaled to millis nor when summed: they simply exceed every node.
const maxQuantity int64 = 1 << 60

var maxQuantityMilli = resource.NewMilliQuantity(maxQuantity, resource.DecimalSI)

func clampedMilli(q resource.Quantity) int64 {
	if q.Cmp(*maxQuantityMilli) > 0 {
		return maxQuantity
	}
	return q.MilliValue()
}

func clampedValue(q resource.Quantity) int64 {
	if q.Cmp(*resource.NewQuantity(maxQuantity, resource.DecimalSI)) > 0 {
		return maxQuantity
	}
	return q.Value()
}

// AddList adds every schedulable quantity of rl to r.
func (r *Resource) AddList(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += clampedMilli(q)
		case v1.ResourceMemory:
			r.Memory += clampedValue(q)
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage += clampedValue(q)
		case v1.ResourcePods:
			r.AllowedPodNumber += clampedValue(q)
		default:
			if IsScalarResourceName(name) {
				r.addScalar(name, clampedValue(q))
			}
		}
	}
}

// Add adds o to r.
func (r *Resource) Add(o *Resource) { r.addSigned(o, 1) }

// Sub subtracts o from r.
func (r *Resource) Sub(o *Resource) { r.addSigned(o, -1) }

func (r *Resource) addSigned(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	r.AllowedPodNumber += sign * o.AllowedPodNumber
	for name, v := range o.Scalar {
		r.addScalar(name, sign*v)
	}
}

func (r *Resource) addScalar(name v1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = make(map[v1.ResourceName]int64, 1)
	}
	r.Scalar[name] += v
}

// maxWith raises each amount of r to at least o's.
func (r *Resource) maxWith(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	r.AllowedPodNumber = max(r.AllowedPodNumber, o.AllowedPodNumber)
	for name, v := range o.Scalar {
		if cur, ok := r.Scalar[name]; !ok || v > cur {
			if r.Scalar == nil {
				r.Scalar = make(map[v1.ResourceName]int64, 1)
			}
			r.Scalar[name] = v
		}
	}
}

// Clone returns a deep copy of r.
func (r *Resource) Clone() Resource {
	c := *r
	if r.Scalar != nil {
		c.Scalar = make(map[v1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// NewResource converts a ResourceList (a node's allocatable, say) into a Resource.
func NewResource(rl v1.ResourceList) Resource {
	var r Resource
	r.AddList(rl)
	return r
}

// podRequests computes what the pod asks of a node, as the kubelet will admit it: the sum of its
// app containers and sidecars (restartable init containers), or the peak of any init container
// running beside the sidecars started before it, whichever is larger; then pod-level requests
// (cpu, memory, hugepages) replace the container sum where set; then the pod overhead is added.
//
// With defaults true, a container that states no cpu or memory request counts as
// DefaultMilliCPURequest / DefaultMemoryRequest (the non-zero requests used for scoring).
func podRequests(pod *v1.Pod, defaults bool) Resource {
	var podLevel v1.ResourceList
	if pod.Spec.Resources != nil {
		for name, q := range pod.Spec.Resources.Requests {
			if isPodLevelResource(name) {
				if podLevel == nil {
					podLevel = v1.ResourceList{}
				}
				podLevel[name] = q
			}
		}
	}
	// With pod-level requests, defaults apply only to resources stated nowhere.
	defaultCPU, defaultMem := defaults, defaults
	if podLevel != nil && defaults {
		sum := containerRequests(pod, false, false)
		if _, ok := podLevel[v1.ResourceCPU]; ok || sum.hasCPU {
			defaultCPU = false
		}
		if _, ok := podLevel[v1.ResourceMemory]; ok || sum.hasMem {
			defaultMem = false
		}
	}
	agg := containerRequests(pod, defaultCPU, defaultMem)
	r := agg.Resource
	for name, q := range podLevel {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU = clampedMilli(q)
		case v1.ResourceMemory:
			r.Memory = clampedValue(q)
		default:
			if r.Scalar == nil {
				r.Scalar = make(map[v1.ResourceName]int64, 1)
			}
			r.Scalar[name] = clampedValue(q)
		}
	}
	r.AddList(pod.Spec.Overhead)
	return r
}

func isPodLevelResource(name v1.ResourceName) bool {
	return name == v1.ResourceCPU || name == v1.ResourceMemory ||
		strings.HasPrefix(string(name), v1.ResourceHugePagesPrefix)
}

type aggregate struct {
	Resource
	hasCPU, hasMem bool // some container states a cpu / memory request
}

// containerRequests aggregates container requests by the sidecar-aware rule described on podRequests.
func containerRequests(pod *v1.Pod, defaultCPU, defaultMem bool) aggregate {
	var out aggregate
	one := func(c *v1.Container) Resource {
		r := NewResource(c.Resources.Requests)
		_, cpu := c.Resources.Requests[v1.ResourceCPU]
		_, mem := c.Resources.Requests[v1.ResourceMemory]
		out.hasCPU = out.hasCPU || cpu
		out.hasMem = out.hasMem || mem
		if !cpu && defaultCPU {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if !mem && defaultMem {
			r.Memory = DefaultMemoryRequest
		}
		return r
	}
	for i := range pod.Spec.Containers {
		r := one(&pod.Spec.Containers[i])
		out.Add(&r)
	}
	var sidecars, initPeak Resource
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := one(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			out.Add(&r)
			sidecars.Add(&r)
			running := sidecars.Clone()
			initPeak.maxWith(&running)
			continue
		}
		r.Add(&sidecars)
		initPeak.maxWith(&r)
	}
	out.maxWith(&initPeak)
	return out
}
