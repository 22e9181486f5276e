package scheduler

import (
	"reflect"

	v1 "k8s.io/api/core/v1"
)

// Trim drops, in place, the fields of pods and nodes that no part of berth reads, before the
// objects enter the informer caches. A large cluster's pods and nodes are most of a scheduler's
// memory, and most of each object is for the kubelet: container commands, environments, probes,
// mounts, security contexts and statuses; node conditions, addresses and system info. Other
// objects pass through unchanged. main installs it on the informers.
//
// Kept, because scheduling reads it: all metadata (labels, owners, deletion timestamp, ...);
// the pod spec except the dropped container fields (volumes, affinity, tolerations, spreading,
// gates, priority, overhead, pod-level resources, ...); each container's name, image, ports,
// requests, restart policy and rules, and its volume mounts' bind mount options (node-declared
// features); the pod status apart from container details (phase, conditions,
// nominated node, start time), and of each container status only its name and its allocated
// and actual resources; the node spec, allocatable resources, images and declared features.
//
// Container limits are kept for /metrics/resources (kube_pod_resource_limit); no plugin reads
// them. A container whose limits equal its requests (the common Guaranteed pod) shares the
// requests' map, so they cost nothing: informer objects are never modified. For the same reason
// pods share equal labels, resource lists, tolerations, container ports, topology spread
// constraints, affinities and empty security contexts (see resourceLists). Adding a plugin that
// reads a dropped field means keeping it here.
func Trim(obj any) {
	switch o := obj.(type) {
	case *v1.Pod:
		trimPod(o)
	case *v1.Node:
		trimNode(o)
	}
}

// emptySecurityContext is the security context of every pod whose own is empty, as the API
// server leaves most pods' (see resourceLists on sharing).
var emptySecurityContext = &v1.PodSecurityContext{}

func trimPod(p *v1.Pod) {
	for i := range p.Spec.InitContainers {
		trimContainer(&p.Spec.InitContainers[i])
	}
	for i := range p.Spec.Containers {
		trimContainer(&p.Spec.Containers[i])
	}
	// Ephemeral containers request nothing and may not declare ports; only their bind mount
	// options can matter (a node-declared feature).
	ephemeral := p.Spec.EphemeralContainers[:0]
	for i := range p.Spec.EphemeralContainers {
		if mounts := bindMounts(p.Spec.EphemeralContainers[i].VolumeMounts); mounts != nil {
			ephemeral = append(ephemeral, v1.EphemeralContainer{EphemeralContainerCommon: v1.EphemeralContainerCommon{
				Name: p.Spec.EphemeralContainers[i].Name, VolumeMounts: mounts}})
		}
	}
	p.Spec.EphemeralContainers = nil
	if len(ephemeral) > 0 {
		p.Spec.EphemeralContainers = ephemeral
	}
	p.Labels = internLabels(p.Labels)
	p.Spec.Tolerations = internTolerations(p.Spec.Tolerations)
	p.Spec.TopologySpreadConstraints = internSpread(p.Spec.TopologySpreadConstraints)
	p.Spec.Affinity = internAffinity(p.Spec.Affinity)
	if sc := p.Spec.SecurityContext; sc != nil && reflect.ValueOf(*sc).IsZero() {
		p.Spec.SecurityContext = emptySecurityContext
	}
	s := &p.Status
	s.InitContainerStatuses = trimStatuses(s.InitContainerStatuses)
	s.ContainerStatuses = trimStatuses(s.ContainerStatuses)
	s.EphemeralContainerStatuses = nil
}

func trimContainer(c *v1.Container) {
	requests := internList(c.Resources.Requests)
	*c = v1.Container{
		Name:          c.Name,
		Image:         c.Image,
		Ports:         internPorts(c.Ports),
		Resources:     v1.ResourceRequirements{Requests: requests, Limits: limits(requests, c.Resources.Limits), Claims: c.Resources.Claims},
		ResizePolicy:  c.ResizePolicy,
		RestartPolicy: c.RestartPolicy,
		// Restart rules and bind mount options tell which node-declared features the pod needs.
		RestartPolicyRules: c.RestartPolicyRules,
		VolumeMounts:       bindMounts(c.VolumeMounts),
	}
}

// limits returns the container's limits, or its requests' map when both hold the same
// quantities, or else the interned list equal to them (see resourceLists).
func limits(requests, limits v1.ResourceList) v1.ResourceList {
	if len(limits) == 0 || len(limits) != len(requests) {
		return internList(limits)
	}
	for name, q := range limits {
		if req, ok := requests[name]; !ok || req.Cmp(q) != 0 {
			return internList(limits)
		}
	}
	return requests
}

// bindMounts returns the mounts that have bind mount options, reduced to their name and those
// options; nil when none has.
func bindMounts(ms []v1.VolumeMount) []v1.VolumeMount {
	var out []v1.VolumeMount
	for i := range ms {
		if len(ms[i].BindMountOptions) > 0 {
			out = append(out, v1.VolumeMount{Name: ms[i].Name, BindMountOptions: ms[i].BindMountOptions})
		}
	}
	return out
}

func trimStatuses(ss []v1.ContainerStatus) []v1.ContainerStatus {
	for i := range ss {
		ss[i] = v1.ContainerStatus{Name: ss[i].Name, AllocatedResources: ss[i].AllocatedResources, Resources: ss[i].Resources}
	}
	return ss
}

func trimNode(n *v1.Node) {
	s := &n.Status
	*s = v1.NodeStatus{Allocatable: s.Allocatable, Images: s.Images, Phase: s.Phase, DeclaredFeatures: s.DeclaredFeatures}
}
