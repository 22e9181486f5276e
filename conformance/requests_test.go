package conformance

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// amounts are resource amounts as integers: cpu in millicores, everything else in its base unit.
type amounts map[v1.ResourceName]int64

func amount(name v1.ResourceName, q resource.Quantity) int64 {
	if name == v1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

func toAmounts(l v1.ResourceList) amounts {
	out := amounts{}
	for k, q := range l {
		out[k] = amount(k, q)
	}
	return out
}

func (a amounts) add(b amounts) {
	for k, v := range b {
		a[k] += v
	}
}

func (a amounts) max(b amounts) {
	for k, v := range b {
		if v > a[k] {
			a[k] = v
		}
	}
}

func (a amounts) clone() amounts {
	out := amounts{}
	out.add(a)
	return out
}

// toList converts amounts back to quantities (cpu as millicores, memory-like as binary units).
func (a amounts) toList() v1.ResourceList {
	out := v1.ResourceList{}
	for k, v := range a {
		switch k {
		case v1.ResourceCPU:
			out[k] = *resource.NewMilliQuantity(v, resource.DecimalSI)
		case v1.ResourceMemory, v1.ResourceEphemeralStorage, resHugePages:
			out[k] = *resource.NewQuantity(v, resource.BinarySI)
		default:
			out[k] = *resource.NewQuantity(v, resource.DecimalSI)
		}
	}
	return out
}

// podRequests is what a pod asks of its node, as the API defines it: the sum of its containers
// and sidecars (restartable init containers, which keep running), or, if larger, the peak during
// start-up, when each ordinary init container runs beside the sidecars started before it; then
// the pod-level requests where set, then the RuntimeClass overhead on top.
func podRequests(p *v1.Pod) amounts {
	total := amounts{}
	for _, c := range p.Spec.Containers {
		total.add(toAmounts(c.Resources.Requests))
	}
	sidecars, peak := amounts{}, amounts{}
	for _, c := range p.Spec.InitContainers {
		req := toAmounts(c.Resources.Requests)
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			total.add(req)
			sidecars.add(req)
			peak.max(sidecars)
			continue
		}
		during := sidecars.clone()
		during.add(req)
		peak.max(during)
	}
	total.max(peak)
	if p.Spec.Resources != nil {
		for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			if q, ok := p.Spec.Resources.Requests[name]; ok {
				total[name] = amount(name, q)
			}
		}
	}
	total.add(toAmounts(p.Spec.Overhead))
	return total
}

// hostPorts returns the host ports a pod holds on its node: those of its containers and of its
// sidecars (ordinary init containers have exited by the time the pod runs).
func hostPorts(p *v1.Pod) []v1.ContainerPort {
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
