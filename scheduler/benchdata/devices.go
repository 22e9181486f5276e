package benchdata

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A devices workload (Workload.Devices) gives each node DevicesPerNode devices of a test driver,
// published as one ResourceSlice per node (the pool named after the node, as a node-local DRA
// driver publishes it), and each pod its own ResourceClaim for exactly one device of DeviceClass,
// created before the run (see ResourceClaims), as an operator pre-creates claims; pods name their
// claim in spec.resourceClaims. Placing such a pod means allocating a device on the node chosen:
// the scheduler writes the claim's status.allocation and status.reservedFor, then binds the pod.
const (
	// Driver is the DRA driver of the slices.
	Driver = "gpu.bench.berth"
	// DeviceClass selects the devices of Driver by CEL.
	DeviceClass = "bench-gpu"
	// DevicesPerNode is how many devices each node's slice holds.
	DevicesPerNode = 8
	// DeviceRequest is the name of each claim's one request, and PodClaimName the name under
	// which a pod refers to its claim in spec.resourceClaims.
	DeviceRequest = "gpu"
	PodClaimName  = "gpu"
)

// DeviceClasses returns the class a devices workload's claims name, to be created before them;
// nil for other workloads.
func (w Workload) DeviceClasses() []*resourcev1.DeviceClass {
	if !w.Devices {
		return nil
	}
	return []*resourcev1.DeviceClass{{
		ObjectMeta: metav1.ObjectMeta{Name: DeviceClass},
		Spec: resourcev1.DeviceClassSpec{Selectors: []resourcev1.DeviceSelector{{
			CEL: &resourcev1.CELDeviceSelector{Expression: fmt.Sprintf("device.driver == %q", Driver)},
		}}},
	}}
}

// ResourceSlices returns, for a devices workload, one slice per node of nodes (by name): pool
// and slice named after the node, DevicesPerNode devices DeviceName(0..) of Driver. Nil for other
// workloads.
func (w Workload) ResourceSlices(nodes []*v1.Node) []*resourcev1.ResourceSlice {
	if !w.Devices {
		return nil
	}
	out := make([]*resourcev1.ResourceSlice, len(nodes))
	for i, n := range nodes {
		devices := make([]resourcev1.Device, DevicesPerNode)
		for d := range devices {
			devices[d] = resourcev1.Device{Name: DeviceName(d)}
		}
		node := n.Name
		out[i] = &resourcev1.ResourceSlice{
			ObjectMeta: metav1.ObjectMeta{Name: SliceName(node)},
			Spec: resourcev1.ResourceSliceSpec{
				Driver:   Driver,
				Pool:     resourcev1.ResourcePool{Name: node, Generation: 1, ResourceSliceCount: 1},
				NodeName: &node,
				Devices:  devices,
			},
		}
	}
	return out
}

// SliceName names the slice of node.
func SliceName(node string) string { return node + "-gpu-bench-berth" }

// DeviceName names device d of a node's slice.
func DeviceName(d int) string { return fmt.Sprintf("gpu-%d", d) }

// ResourceClaims returns, for a devices workload, the claims of Pods(ns, s) in pod order: one per
// pod of shape WithDevice, named DeviceClaimName(pod), for exactly one device of DeviceClass. Nil
// for other workloads.
func (w Workload) ResourceClaims(ns string, s Size) []*resourcev1.ResourceClaim {
	if !w.Devices {
		return nil
	}
	var out []*resourcev1.ResourceClaim
	for i := range s.Pods {
		if w.Shapes[i%len(w.Shapes)] != WithDevice {
			continue
		}
		out = append(out, &resourcev1.ResourceClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: DeviceClaimName(PodName(i))},
			Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{
				Name: DeviceRequest,
				Exactly: &resourcev1.ExactDeviceRequest{
					DeviceClassName: DeviceClass,
					AllocationMode:  resourcev1.DeviceAllocationModeExactCount,
					Count:           1,
				},
			}}}},
		})
	}
	return out
}

// DeviceClaimName names the claim of the pod called pod: gpu-<pod>.
func DeviceClaimName(pod string) string { return PodClaimName + "-" + pod }

// addDeviceClaim makes p use its own claim, DeviceClaimName(p.Name), in its one container.
func addDeviceClaim(p *v1.Pod) {
	claim := DeviceClaimName(p.Name)
	p.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: PodClaimName, ResourceClaimName: &claim}}
	p.Spec.Containers[0].Resources.Claims = []v1.ResourceClaim{{Name: PodClaimName}}
}
