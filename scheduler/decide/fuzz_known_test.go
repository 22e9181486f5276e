package decide_test

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

// Known berth bugs FuzzDecide looks past, so that a long run finds new ones. Each has a
// regression input in testdata/fuzz/FuzzDecide, skipped (with the bug's name) until it is fixed;
// then its case here goes.

// bugQuantityClamp: snapshot's Resource clamps every quantity at 2^60 (maxQuantity in
// scheduler/snapshot/resource.go), the node's allocatable included. Beyond 2^60 a request and an
// allocatable compare equal, so a pod asking 3E of memory is placed on a node with 2E (upstream,
// which compares the exact int64 values, reports Insufficient memory), and a node with 2E free is
// refused two pods of 1E. Regression inputs: testdata/fuzz/FuzzDecide/quantity-clamp-placed and
// quantity-clamp-refused.
const bugQuantityClamp = "known bug: quantities beyond 2^60 are clamped to 2^60, allocatable included, so they compare equal (scheduler/snapshot/resource.go)"

// knownBug names the known bug that explains why placing the scenario's pod on node breaks vs
// (or, with vs empty, why berth refused a node where it fits); "" when none does.
func knownBug(s *scenario, node string, vs []placementcheck.Violation) string {
	for _, v := range vs {
		if v.Rule != "NodeResourcesFit" {
			return ""
		}
	}
	if clampInvolved(s, node) {
		return bugQuantityClamp
	}
	return ""
}

// clampInvolved reports whether a quantity on node (its allocatable, or a request of a pod
// there or of the incoming pod) exceeds 2^60 (2^60 millicores for cpu).
func clampInvolved(s *scenario, node string) bool {
	limit := resource.NewQuantity(1<<60, resource.DecimalSI)
	milliLimit := resource.NewMilliQuantity(1<<60, resource.DecimalSI)
	over := func(l v1.ResourceList) bool {
		for name, q := range l {
			if (name == v1.ResourceCPU && q.Cmp(*milliLimit) > 0) || q.Cmp(*limit) > 0 {
				return true
			}
		}
		return false
	}
	pods := []*v1.Pod{s.pod}
	for _, e := range s.existing {
		if e.Spec.NodeName == node {
			pods = append(pods, e)
		}
	}
	for _, n := range s.nodes {
		if n.Name == node && over(n.Status.Allocatable) {
			return true
		}
	}
	for _, p := range pods {
		lists := []v1.ResourceList{p.Spec.Overhead}
		if p.Spec.Resources != nil {
			lists = append(lists, p.Spec.Resources.Requests)
		}
		for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
			lists = append(lists, c.Resources.Requests)
		}
		for _, l := range lists {
			if over(l) {
				return true
			}
		}
	}
	return false
}
