package snapshot

import v1 "k8s.io/api/core/v1"

// HostPort is one host port binding: address, protocol and port.
type HostPort struct {
	IP       string // "0.0.0.0" when the pod states none
	Protocol v1.Protocol
	Port     int32
}

// wildcardIP is the address a host port binds to when its hostIP is empty.
const wildcardIP = "0.0.0.0"

// HostPorts counts the host ports in use on a node. The zero value is empty and ready to use.
type HostPorts struct {
	used map[HostPort]int
}

// PodHostPorts lists the host ports pod asks for: those of its app containers and of its sidecars
// (init containers with restartPolicy Always, which run beside them), with defaults filled in:
// protocol TCP, address 0.0.0.0.
func PodHostPorts(pod *v1.Pod) []HostPort {
	var out []HostPort
	add := func(c *v1.Container) {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				out = append(out, normalizePort(p))
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	return out
}

func normalizePort(p v1.ContainerPort) HostPort {
	hp := HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort}
	if hp.IP == "" {
		hp.IP = wildcardIP
	}
	if hp.Protocol == "" {
		hp.Protocol = v1.ProtocolTCP
	}
	return hp
}

func (h *HostPorts) addPod(pod *v1.Pod, delta int) {
	for _, hp := range PodHostPorts(pod) {
		if h.used == nil {
			h.used = make(map[HostPort]int)
		}
		h.used[hp] += delta
		if h.used[hp] <= 0 {
			delete(h.used, hp)
		}
	}
}

// Len returns how many distinct host ports are in use.
func (h *HostPorts) Len() int { return len(h.used) }

// Conflicts reports whether binding want would clash with a port in use: the same protocol and
// port on the same address, or on any address when either side binds the wildcard address.
func (h *HostPorts) Conflicts(want HostPort) bool {
	if len(h.used) == 0 {
		return false
	}
	if want.IP == wildcardIP {
		for used := range h.used {
			if used.Port == want.Port && used.Protocol == want.Protocol {
				return true
			}
		}
		return false
	}
	if h.used[want] > 0 {
		return true
	}
	wild := want
	wild.IP = wildcardIP
	return h.used[wild] > 0
}

// Clone returns an independent copy.
func (h *HostPorts) Clone() HostPorts {
	if len(h.used) == 0 {
		return HostPorts{}
	}
	c := HostPorts{used: make(map[HostPort]int, len(h.used))}
	for k, v := range h.used {
		c.used[k] = v
	}
	return c
}
