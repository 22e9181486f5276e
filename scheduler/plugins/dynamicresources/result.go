package dynamicresources

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// allocationResult is the status.allocation upstream writes for claim ci of a solution on node:
// the devices, the class configs (each class's once, naming every request that used the class),
// then the claim's configs that apply, and the node selector. Each share of a device that allows
// multiple allocations gets a shareID from newShareID and, when the device has capacities, what
// it consumes of each (the amount asked for, rounded up by the policy, else the policy's default,
// else the whole capacity).
func (a *allocation) allocationResult(ci int, node string, newShareID func(claim types.UID, i int) types.UID) (resourcev1.AllocationResult, error) {
	p := a.claims[ci]
	var out resourcev1.AllocationResult
	out.Devices.Results = make([]resourcev1.DeviceRequestAllocationResult, len(a.results[ci]))
	for i, ch := range a.results[ci] {
		res := resourcev1.DeviceRequestAllocationResult{
			Request: ch.req.fullName(), Driver: ch.c.slice.Spec.Driver, Pool: ch.c.slice.Spec.Pool.Name, Device: ch.c.dev.Name,
			Tolerations:              ch.req.tolerations,
			BindingConditions:        ch.c.dev.BindingConditions,
			BindingFailureConditions: ch.c.dev.BindingFailureConditions,
		}
		if ch.req.admin {
			t := true
			res.AdminAccess = &t
		}
		if ch.shared {
			id := newShareID(p.claim.UID, i)
			res.ShareID = &id
			if len(ch.consumed) > 0 {
				res.ConsumedCapacity = make(capacities, len(ch.consumed))
				for name, q := range ch.consumed {
					res.ConsumedCapacity[name] = q.DeepCopy()
				}
			}
		}
		out.Devices.Results[i] = res
	}

	// The request (or picked subrequest) names, in claim order.
	picked := make([]*request, len(p.requests))
	for ri, ra := range p.requests {
		picked[ri] = ra.alts[a.subChosen[ci][ri]]
	}
	classConfigs := map[string][2]int{} // class name: its configs' range in out.Devices.Config
	for _, r := range picked {
		if rng, ok := classConfigs[r.class.Name]; ok {
			for i := rng[0]; i < rng[1]; i++ {
				out.Devices.Config[i].Requests = append(out.Devices.Config[i].Requests, r.fullName())
			}
			continue
		}
		start := len(out.Devices.Config)
		for _, c := range r.class.Spec.Config {
			out.Devices.Config = append(out.Devices.Config, resourcev1.DeviceAllocationConfiguration{
				Source: resourcev1.AllocationConfigSourceClass, Requests: []string{r.fullName()}, DeviceConfiguration: c.DeviceConfiguration,
			})
		}
		classConfigs[r.class.Name] = [2]int{start, len(out.Devices.Config)}
	}
	for _, c := range p.claim.Spec.Devices.Config {
		if configApplies(c.Requests, picked) {
			out.Devices.Config = append(out.Devices.Config, resourcev1.DeviceAllocationConfiguration{
				Source: resourcev1.AllocationConfigSourceClaim, Requests: c.Requests, DeviceConfiguration: c.DeviceConfiguration,
			})
		}
	}
	// A config naming every request applies to all: upstream clears its list.
	for i := range out.Devices.Config {
		if reqs := out.Devices.Config[i].Requests; len(reqs) > 0 && namesAll(reqs, picked) {
			out.Devices.Config[i].Requests = nil
		}
	}
	sel, err := nodeSelectorFor(a.results[ci], node)
	if err != nil {
		return out, fmt.Errorf("create NodeSelector for claim %s: %w", p.claim.Name, err)
	}
	out.NodeSelector = sel
	return out, nil
}

// configApplies reports whether a claim config with the request names reqs applies: to all
// requests when empty, else when it names a request or its picked subrequest.
func configApplies(reqs []string, picked []*request) bool {
	if len(reqs) == 0 {
		return true
	}
	for _, r := range picked {
		if slices.Contains(reqs, r.baseName()) || (r.parent != "" && slices.Contains(reqs, r.fullName())) {
			return true
		}
	}
	return false
}

// namesAll reports whether reqs names every request (or its picked subrequest).
func namesAll(reqs []string, picked []*request) bool {
	for _, r := range picked {
		if !slices.Contains(reqs, r.baseName()) && (r.parent == "" || !slices.Contains(reqs, r.fullName())) {
			return false
		}
	}
	return true
}

// nodeSelectorFor is the node selector of an allocation on node: that node alone when a device
// is local to it or binds to it, else the requirements of the slices' (or devices') node
// selectors in one term, or nil (available everywhere).
func nodeSelectorFor(devices []chosen, node string) (*v1.NodeSelector, error) {
	var term v1.NodeSelectorTerm
	for _, ch := range devices {
		s, d := ch.c.slice, ch.c.dev
		name, sel := s.Spec.NodeName, s.Spec.NodeSelector
		if s.Spec.PerDeviceNodeSelection != nil && *s.Spec.PerDeviceNodeSelection {
			name, sel = d.NodeName, d.NodeSelector
		}
		if name != nil || (d.BindsToNode != nil && *d.BindsToNode) {
			return &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{{
				Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{node},
			}}}}}, nil
		}
		if sel == nil {
			continue
		}
		switch len(sel.NodeSelectorTerms) {
		case 0:
		case 1:
			term.MatchFields = addRequirements(term.MatchFields, sel.NodeSelectorTerms[0].MatchFields)
			term.MatchExpressions = addRequirements(term.MatchExpressions, sel.NodeSelectorTerms[0].MatchExpressions)
		default:
			return nil, fmt.Errorf("unsupported ResourceSlice.NodeSelector with %d terms", len(sel.NodeSelectorTerms))
		}
	}
	if len(term.MatchFields) == 0 && len(term.MatchExpressions) == 0 {
		return nil, nil
	}
	return &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{term}}, nil
}

// addRequirements appends the requirements of from that to lacks (same key, operator and set of
// values).
func addRequirements(to, from []v1.NodeSelectorRequirement) []v1.NodeSelectorRequirement {
	for _, r := range from {
		if !slices.ContainsFunc(to, func(e v1.NodeSelectorRequirement) bool {
			return e.Key == r.Key && e.Operator == r.Operator && sameSet(e.Values, r.Values)
		}) {
			to = append(to, r)
		}
	}
	return to
}

func sameSet(a, b []string) bool {
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	for _, v := range b {
		if !slices.Contains(a, v) {
			return false
		}
	}
	return true
}
