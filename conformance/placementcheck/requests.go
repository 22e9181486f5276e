package placementcheck

import (
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Amounts are resource amounts as integers: cpu in millicores, everything else in its base unit
// (fractions rounded up, as resource.Quantity does). Amounts saturate at the int64 bounds
// instead of wrapping, so that absurd quantities stay ordered.
type Amounts map[v1.ResourceName]int64

var (
	maxMilli  = resource.NewMilliQuantity(math.MaxInt64, resource.DecimalSI)
	minMilli  = resource.NewMilliQuantity(math.MinInt64, resource.DecimalSI)
	maxAmount = resource.NewQuantity(math.MaxInt64, resource.DecimalSI)
	minAmount = resource.NewQuantity(math.MinInt64, resource.DecimalSI)
)

// Amount converts q, a quantity of resource name, saturating at the int64 bounds.
func Amount(name v1.ResourceName, q resource.Quantity) int64 {
	hi, lo, value := maxAmount, minAmount, q.Value
	if name == v1.ResourceCPU {
		hi, lo, value = maxMilli, minMilli, q.MilliValue
	}
	switch {
	case q.Cmp(*hi) >= 0:
		return math.MaxInt64
	case q.Cmp(*lo) <= 0:
		return math.MinInt64
	}
	return value()
}

// ToAmounts converts a resource list.
func ToAmounts(l v1.ResourceList) Amounts {
	out := Amounts{}
	for k, q := range l {
		out[k] = Amount(k, q)
	}
	return out
}

// Add adds b to a, saturating.
func (a Amounts) Add(b Amounts) {
	for k, v := range b {
		a[k] = addSaturating(a[k], v)
	}
}

// Max raises each amount of a to at least b's.
func (a Amounts) Max(b Amounts) {
	for k, v := range b {
		if v > a[k] {
			a[k] = v
		}
	}
}

// Clone returns a copy of a.
func (a Amounts) Clone() Amounts {
	out := Amounts{}
	out.Add(a)
	return out
}

func addSaturating(x, y int64) int64 {
	s := x + y
	switch {
	case x > 0 && y > 0 && s < 0:
		return math.MaxInt64
	case x < 0 && y < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

// PodRequests is what a pod asks of its node, as the API defines it: the sum of its containers
// and sidecars (restartable init containers, which keep running), or, if larger, the peak during
// start-up, when each ordinary init container runs beside the sidecars started before it; then
// the pod-level cpu and memory requests where set, then the overhead on top.
func PodRequests(p *v1.Pod) Amounts {
	total := Amounts{}
	for _, c := range p.Spec.Containers {
		total.Add(ToAmounts(c.Resources.Requests))
	}
	sidecars, peak := Amounts{}, Amounts{}
	for _, c := range p.Spec.InitContainers {
		req := ToAmounts(c.Resources.Requests)
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			total.Add(req)
			sidecars.Add(req)
			peak.Max(sidecars)
			continue
		}
		during := sidecars.Clone()
		during.Add(req)
		peak.Max(during)
	}
	total.Max(peak)
	if p.Spec.Resources != nil {
		for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			if q, ok := p.Spec.Resources.Requests[name]; ok {
				total[name] = Amount(name, q)
			}
		}
	}
	total.Add(ToAmounts(p.Spec.Overhead))
	return total
}

// HostPorts returns the host ports a pod holds on its node: those of its containers and of its
// sidecars (ordinary init containers have exited by the time the pod runs).
func HostPorts(p *v1.Pod) []v1.ContainerPort {
	var out []v1.ContainerPort
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
			continue
		}
		out = appendHostPorts(out, c.Ports)
	}
	for _, c := range p.Spec.Containers {
		out = appendHostPorts(out, c.Ports)
	}
	return out
}

func appendHostPorts(out, ps []v1.ContainerPort) []v1.ContainerPort {
	for _, p := range ps {
		if p.HostPort > 0 {
			out = append(out, p)
		}
	}
	return out
}

// portsConflict reports whether two host ports cannot share a node: same protocol (TCP when
// empty) and number, and the same address or either one bound to every address.
func portsConflict(a, b v1.ContainerPort) bool {
	proto := func(p v1.ContainerPort) v1.Protocol {
		if p.Protocol == "" {
			return v1.ProtocolTCP
		}
		return p.Protocol
	}
	ip := func(p v1.ContainerPort) string {
		if p.HostIP == "" {
			return "0.0.0.0"
		}
		return p.HostIP
	}
	if a.HostPort != b.HostPort || proto(a) != proto(b) {
		return false
	}
	return ip(a) == "0.0.0.0" || ip(b) == "0.0.0.0" || ip(a) == ip(b)
}
