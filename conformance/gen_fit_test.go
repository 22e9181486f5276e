package conformance

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

// fitResources are the resources whose capacity fitCapacity adjusts.
var fitResources = []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage, resGPU, resHugePages, v1.ResourcePods}

// fitCapacity makes capacity decide placements pod by pod: on every node, for every resource,
// the incoming pods that would fit alone on the free amount must also fit all together. Where
// they do not, the node's allocatable is either raised until they do (a roomy node) or lowered
// just below the smallest of them (a node too small for any of them). Then whether a pod fits a
// node never depends on which other incoming pods went there first. The newest node always keeps
// room for one pod: the barrier's probe pods run there.
func (g *gen) fitCapacity() {
	incoming := g.s.incoming()
	want := make([]placementcheck.Amounts, len(incoming))
	for i, p := range incoming {
		want[i] = requestsAfterAdmission(p)
		want[i][v1.ResourcePods] = 1
	}
	for ni, n := range g.s.nodes {
		alloc := placementcheck.ToAmounts(n.Status.Allocatable)
		used := placementcheck.Amounts{}
		for _, p := range g.s.existing {
			if p.Spec.NodeName == n.Name {
				used.Add(placementcheck.PodRequests(p))
				used[v1.ResourcePods]++
			}
		}
		last := ni == len(g.s.nodes)-1
		if !last && g.chance(0.08) { // a node already full of pods
			alloc[v1.ResourcePods] = used[v1.ResourcePods]
		}
		for _, r := range fitResources {
			raise := g.chance(0.9) || (last && r == v1.ResourcePods)
			for {
				free := alloc[r] - used[r]
				var sum, smallest int64
				for _, w := range want {
					if v := w[r]; v > 0 && v <= free {
						sum += v
						if smallest == 0 || v < smallest {
							smallest = v
						}
					}
				}
				if sum == 0 || sum <= free {
					break
				}
				if raise {
					alloc[r] += sum - free
					continue
				}
				alloc[r] = used[r] + smallest - unit(r)
				break
			}
			if last && r == v1.ResourcePods && alloc[r]-used[r] < 1 {
				alloc[r] = used[r] + 1
			}
		}
		for r, v := range alloc {
			if v == 0 && r != v1.ResourcePods {
				delete(alloc, r) // a resource the node does not have at all
			}
		}
		n.Status.Allocatable = resourceList(alloc)
		n.Status.Capacity = resourceList(alloc)
	}
}

// unit is the smallest step fitCapacity lowers a capacity by below a request.
func unit(r v1.ResourceName) int64 {
	switch r {
	case v1.ResourceMemory, v1.ResourceEphemeralStorage, resHugePages:
		return 1 << 20
	default:
		return 1
	}
}

// requestsAfterAdmission is placementcheck.PodRequests of p as the API server will store it: the RuntimeClass
// admission plugin adds the class's overhead.
func requestsAfterAdmission(p *v1.Pod) placementcheck.Amounts {
	out := placementcheck.PodRequests(p)
	if p.Spec.RuntimeClassName == nil {
		return out
	}
	switch *p.Spec.RuntimeClassName {
	case rcOverhead:
		out[v1.ResourceCPU] += rcOverheadCPU.MilliValue()
		out[v1.ResourceMemory] += rcOverheadMem.Value()
	case rcPinned:
		out[v1.ResourceCPU] += rcPinnedCPU.MilliValue()
		out[v1.ResourceMemory] += rcPinnedMem.Value()
	}
	return out
}
