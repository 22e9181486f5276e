package dynamicresources

import (
	resourcev1 "k8s.io/api/resource/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// PreScore prepares upstream's scoring (DRAPrioritizedList, on in v1.37): a node earns, for each
// firstAvailable alternative its allocation uses, 8 minus the alternative's position, summed over
// the pod's claims, then scaled so the best node gets decide.MaxNodeScore. It returns nil when
// every node would score 0: no claim to allocate (upstream then scores 0 everywhere), or no
// firstAvailable request among the pod's claims.
func (pl *DynamicResources) PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	nf, v := pl.PreFilter(pod, snap)
	p, ok := nf.(*prepared)
	if !ok || !v.Fits() || p.fail != nil || len(p.pending) == 0 || !p.hasFirstAvailable() {
		return nil
	}
	return &scorer{p: p}
}

func (p *prepared) hasFirstAvailable() bool {
	for _, c := range p.claims {
		for _, r := range c.Spec.Devices.Requests {
			if len(r.FirstAvailable) > 0 {
				return true
			}
		}
	}
	return false
}

type scorer struct{ p *prepared }

// Score allocates the pending claims on n again (the search is deterministic, so this is the
// allocation Filter found) and scores the alternatives used.
func (s *scorer) Score(n *snapshot.NodeInfo) int64 {
	if n.Node == nil {
		return 0
	}
	pending, numRequests, _, v := s.p.pendingOn(n)
	if !v.Fits() {
		return 0
	}
	a, v := s.p.search(n.Node, pending, numRequests)
	if !v.Fits() {
		return 0
	}
	defer a.release()
	var score int64
	next := 0
	for _, c := range s.p.claims {
		used := map[string]bool{}
		if al := c.Status.Allocation; al != nil {
			for _, r := range al.Devices.Results {
				used[r.Request] = true
			}
		} else {
			for _, ch := range a.results[next] {
				used[ch.req.fullName()] = true
			}
			next++
		}
		score += alternativesScore(c, used)
	}
	return score
}

// alternativesScore scores the firstAvailable alternatives of claim c that the allocation uses
// (used: the request names of its results).
func alternativesScore(c *resourcev1.ResourceClaim, used map[string]bool) int64 {
	var score int64
	for _, r := range c.Spec.Devices.Requests {
		for i, sub := range r.FirstAvailable {
			if used[r.Name+"/"+sub.Name] {
				score += int64(resourcev1.FirstAvailableDeviceRequestMaxSize - i)
			}
		}
	}
	return score
}

// Normalize scales scores so that the highest becomes decide.MaxNodeScore (all stay 0 when the
// highest is 0), as kube-scheduler's DefaultNormalizeScore.
func (s *scorer) Normalize(scores []int64) { decide.NormalizeToMax(scores) }
