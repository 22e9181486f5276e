package placementcheck

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Extended resources backed by DRA (DRAExtendedResource): a container's request for an extended
// resource that a DeviceClass provides (spec.extendedResourceName, or the implicit
// deviceclass.resource.kubernetes.io/CLASS) is served by the device plugin on a node that
// advertises the resource in allocatable, and else by devices: a ResourceClaim the scheduler made
// for the pod.

// provider returns the DeviceClass that provides extended resource r, or nil: of the classes
// naming it, the most recently created, then the lowest name; else the class the implicit name
// names.
func (d *Devices) provider(r v1.ResourceName) *resourcev1.DeviceClass {
	if d == nil {
		return nil
	}
	var best *resourcev1.DeviceClass
	for _, c := range d.Classes {
		if c.Spec.ExtendedResourceName == nil || *c.Spec.ExtendedResourceName != string(r) {
			continue
		}
		if best == nil || c.CreationTimestamp.After(best.CreationTimestamp.Time) ||
			(c.CreationTimestamp.Equal(&best.CreationTimestamp) && c.Name < best.Name) {
			best = c
		}
	}
	if best != nil {
		return best
	}
	if name, ok := strings.CutPrefix(string(r), resourcev1.ResourceDeviceClassPrefix); ok {
		return d.Classes[name]
	}
	return nil
}

// servedByDevices reports whether r is served by devices on n: some class provides it, and n's
// allocatable has none of it.
func (d *Devices) servedByDevices(r v1.ResourceName, n *v1.Node) bool {
	if d.provider(r) == nil {
		return false
	}
	q, ok := n.Status.Allocatable[r]
	return !ok || q.IsZero()
}

// checkExtended judges the bound incoming pods whose extended resources are served by devices on
// their node: the pod's status.extendedResourceClaimStatus names a claim that exists, carries the
// annotation resource.kubernetes.io/extended-resource-claim "true", is controlled by the pod, is
// allocated and reserved for it, is valid on the node (as any claim, see checkAllocation), and
// whose requests, as the status maps them, give each container at least the devices it asks for,
// of the class that provides the resource. Nothing when w.Devices is nil.
func checkExtended(w *World, all []placed) []Violation {
	d := w.Devices
	if d == nil {
		return nil
	}
	var inv map[deviceKey]published
	var out []Violation
	for _, pl := range all {
		if !pl.incoming {
			continue
		}
		var served []v1.ResourceName
		for r, v := range PodRequests(pl.pod) {
			if v > 0 && d.servedByDevices(r, pl.node) {
				served = append(served, r)
			}
		}
		if len(served) == 0 {
			continue
		}
		slices.Sort(served)
		bad := func(format string, args ...any) {
			out = append(out, Violation{podName(pl.pod), pl.node.Name, "DynamicResources", fmt.Sprintf(format, args...)})
		}
		st := pl.pod.Status.ExtendedResourceClaimStatus
		if st == nil || st.ResourceClaimName == "" {
			bad("requests %v, which the node does not advertise, and has no extended resource claim in its status", served)
			continue
		}
		c := d.Claims[pl.pod.Namespace+"/"+st.ResourceClaimName]
		if c == nil {
			bad("extended resource claim %s does not exist", st.ResourceClaimName)
			continue
		}
		if c.Annotations[resourcev1.ExtendedResourceClaimAnnotation] != "true" {
			bad("extended resource claim %s lacks the annotation %s: \"true\"", c.Name, resourcev1.ExtendedResourceClaimAnnotation)
		}
		if ref := metav1.GetControllerOf(c); ref == nil || ref.Kind != "Pod" || ref.Name != pl.pod.Name || (pl.pod.UID != "" && ref.UID != pl.pod.UID) {
			bad("extended resource claim %s is not controlled by the pod", c.Name)
		}
		if c.Status.Allocation == nil {
			bad("extended resource claim %s is not allocated", c.Name)
			continue
		}
		if !slices.ContainsFunc(c.Status.ReservedFor, func(r resourcev1.ResourceClaimConsumerReference) bool {
			return r.Resource == "pods" && r.Name == pl.pod.Name && (pl.pod.UID == "" || r.UID == pl.pod.UID)
		}) {
			bad("extended resource claim %s is not reserved for the pod", c.Name)
		}
		if ns := c.Status.Allocation.NodeSelector; ns != nil && !nodeSelectorMatches(ns, pl.node) {
			bad("extended resource claim %s: its allocation's node selector does not select the node", c.Name)
		}
		if inv == nil {
			inv = d.inventory()
		}
		for _, msg := range checkAllocation(d, inv, c, pl.node) {
			bad("extended resource claim %s: %s", c.Name, msg)
		}
		for _, msg := range checkMappings(d, pl.pod, c, st.RequestMappings, served) {
			bad("extended resource claim %s: %s", c.Name, msg)
		}
	}
	return out
}

// checkMappings checks that every container asking for a resource in served gets, through the
// mappings, requests of c for the resource's class whose counts add up to what it asks for.
func checkMappings(d *Devices, pod *v1.Pod, c *resourcev1.ResourceClaim, mappings []v1.ContainerExtendedResourceRequest, served []v1.ResourceName) []string {
	var out []string
	for _, ctr := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		for _, r := range served {
			q, ok := ctr.Resources.Requests[r]
			if !ok || q.IsZero() {
				continue
			}
			class := d.provider(r).Name
			got := int64(0)
			for _, m := range mappings {
				if m.ContainerName != ctr.Name || m.ResourceName != string(r) {
					continue
				}
				i := slices.IndexFunc(c.Spec.Devices.Requests, func(dr resourcev1.DeviceRequest) bool { return dr.Name == m.RequestName })
				if i < 0 {
					out = append(out, fmt.Sprintf("container %s, %s: mapped to request %s, which the claim lacks", ctr.Name, r, m.RequestName))
					continue
				}
				e := c.Spec.Devices.Requests[i].Exactly
				if e == nil || e.DeviceClassName != class {
					out = append(out, fmt.Sprintf("container %s, %s: request %s is not for class %s", ctr.Name, r, m.RequestName, class))
					continue
				}
				got += e.Count
			}
			if got < q.Value() {
				out = append(out, fmt.Sprintf("container %s asks for %s %d, its mapped requests give %d", ctr.Name, r, q.Value(), got))
			}
		}
	}
	return out
}
