package noderesources

import (
	"fmt"
	"math"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// BalancedAllocationName is NodeResourcesBalancedAllocation's name in kube-scheduler configuration.
const BalancedAllocationName = "NodeResourcesBalancedAllocation"

// BalancedAllocation is the NodeResourcesBalancedAllocation score plugin. It scores by plain
// requests (no non-zero defaults), and rewards a pod for making a node's resource use more even:
// 50 + (50 + balance with the pod - balance without it) / 2, where balance is 100 × (1 - the
// standard deviation of the used fractions of the scored resources, each capped at 1).
type BalancedAllocation struct {
	scoring allocationScorer
}

// NewBalancedAllocation validates args (see NodeResourcesBalancedAllocationArgs.Validate) and
// builds the plugin. Pass DefaultBalancedAllocationArgs(), or user args after SetDefaults: empty
// resources are an error here.
func NewBalancedAllocation(args NodeResourcesBalancedAllocationArgs) (*BalancedAllocation, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("validating %s args: %w", BalancedAllocationName, err)
	}
	if len(args.Resources) == 0 {
		return nil, fmt.Errorf("validating %s args: resources: Required value: no resources to score (apply SetDefaults)", BalancedAllocationName)
	}
	return &BalancedAllocation{scoring: allocationScorer{
		resources:    newScoredResources(args.Resources),
		kind:         strategyBalanced,
		useRequested: true,
	}}, nil
}

// Name returns "NodeResourcesBalancedAllocation".
func (*BalancedAllocation) Name() string { return BalancedAllocationName }

// PreScore returns nil (every node scores 0 from this plugin) for a pod that requests none of the
// scored resources, as kube-scheduler skips such a pod; otherwise the pod's scorer.
func (b *BalancedAllocation) PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	reqs := b.scoring.podRequests(pod)
	for _, r := range reqs {
		if r != 0 {
			return &balancedScorer{scoring: &b.scoring, podRequests: reqs, dra: b.scoring.draScoringFor(snap)}
		}
	}
	return nil
}

// WithDeviceMatcher makes the plugin score extended resources backed by DRA (see dra.go) with m
// evaluating the DeviceClasses' selectors. Call it before the plugin is used.
func (b *BalancedAllocation) WithDeviceMatcher(m DeviceMatcher) *BalancedAllocation {
	b.scoring.matcher = m
	return b
}

// balancedScorer is one pod's requests of the scored resources.
type balancedScorer struct {
	scoring     *allocationScorer
	podRequests []int64
	dra         *draScoring
}

// Score returns 0..100.
func (s *balancedScorer) Score(n *snapshot.NodeInfo) int64 {
	return s.scoring.score(s.podRequests, n, s.dra)
}

// balancedScore is BalancedAllocation's score from the amounts with the pod (requested) and
// without it (used).
func balancedScore(requested, used, capacity []int64) int64 {
	const half = decide.MaxNodeScore / 2
	return half + (half+balance(requested, capacity)-balance(used, capacity))/2
}

// balance returns 100 × (1 - σ) over the fractions amount/capacity (capped at 1) of the resources
// with a capacity. With two resources σ is half their difference; with one or none it is 0.
func balance(amount, capacity []int64) int64 {
	var buf [maxScoredResources]float64
	fractions := buf[:0]
	var total float64
	for i := range amount {
		if capacity[i] == 0 {
			continue
		}
		f := float64(amount[i]) / float64(capacity[i])
		if f > 1 {
			f = 1
		}
		total += f
		fractions = append(fractions, f)
	}
	std := 0.0
	switch {
	case len(fractions) == 2:
		std = math.Abs((fractions[0] - fractions[1]) / 2)
	case len(fractions) > 2:
		mean := total / float64(len(fractions))
		var sum float64
		for _, f := range fractions {
			sum = sum + (f-mean)*(f-mean)
		}
		std = math.Sqrt(sum / float64(len(fractions)))
	}
	return int64((1 - std) * float64(decide.MaxNodeScore))
}
