package conformance

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

// resourceList converts amounts back to quantities (cpu as millicores, memory-like as binary
// units).
func resourceList(a placementcheck.Amounts) v1.ResourceList {
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
