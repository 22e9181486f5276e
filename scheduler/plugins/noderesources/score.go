package noderesources

import (
	"math"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// resourceKind says where a scored resource's amounts live in a snapshot.Resource.
type resourceKind uint8

const (
	kindCPU resourceKind = iota
	kindMemory
	kindEphemeralStorage
	kindScalar // extended resources, hugepages: Resource.Scalar
	kindOther  // anything else (e.g. "pods"): never has an amount, so never scored
)

// scoredResource is one configured resource with its weight, classified once.
type scoredResource struct {
	name   v1.ResourceName
	kind   resourceKind
	weight int64
}

func newScoredResources(specs []ResourceSpec) []scoredResource {
	out := make([]scoredResource, len(specs))
	for i, s := range specs {
		name := v1.ResourceName(s.Name)
		kind := kindOther
		switch {
		case name == v1.ResourceCPU:
			kind = kindCPU
		case name == v1.ResourceMemory:
			kind = kindMemory
		case name == v1.ResourceEphemeralStorage:
			kind = kindEphemeralStorage
		case snapshot.IsScalarResourceName(name):
			kind = kindScalar
		}
		out[i] = scoredResource{name: name, kind: kind, weight: s.Weight}
	}
	return out
}

// strategyKind selects how a node's per-resource amounts become its score. A closed set switched
// on, rather than an interface, so the per-node arrays stay on the stack.
type strategyKind uint8

const (
	strategyLeastAllocated strategyKind = iota
	strategyMostAllocated
	strategyRequestedToCapacityRatio
	strategyBalanced
)

// maxScoredResources bounds the per-node arrays kept on the stack; longer lists fall back to the heap.
const maxScoredResources = 8

// allocationScorer is the scoring shared by NodeResourcesFit's strategies and
// NodeResourcesBalancedAllocation. It is immutable after construction.
type allocationScorer struct {
	resources []scoredResource
	kind      strategyKind
	shape     shapeStrategy // RequestedToCapacityRatio only
	// useRequested scores cpu and memory by plain requests (BalancedAllocation) instead of the
	// non-zero requests that count a container without requests as 100m cpu and 200Mi memory.
	useRequested bool
	// matcher evaluates DeviceClass selectors for extended resources backed by DRA (see dra.go);
	// nil: such resources are scored as the node advertises them.
	matcher DeviceMatcher
}

// podRequests returns the pod's request of each scored resource, cpu in millicores.
func (a *allocationScorer) podRequests(pod *snapshot.PodInfo) []int64 {
	out := make([]int64, len(a.resources))
	for i, r := range a.resources {
		switch r.kind {
		case kindCPU:
			out[i] = pod.NonZeroCPU
			if a.useRequested {
				out[i] = pod.Requests.MilliCPU
			}
		case kindMemory:
			out[i] = pod.NonZeroMemory
			if a.useRequested {
				out[i] = pod.Requests.Memory
			}
		case kindEphemeralStorage:
			out[i] = pod.Requests.EphemeralStorage
		case kindScalar:
			out[i] = pod.Requests.Scalar[r.name]
		}
	}
	return out
}

// nodeAmounts returns the node's allocatable of resource r and what its pods already use of it.
// ok is false when the resource is left out of this node's score: a scalar resource the pod does
// not request, a resource the node does not have, or one with zero allocatable. A scalar resource
// the node does not advertise but a DeviceClass provides is counted in devices (dra, see dra.go;
// nil: none).
func (a *allocationScorer) nodeAmounts(r *scoredResource, podRequest int64, n *snapshot.NodeInfo, dra *draScoring) (capacity, used int64, ok bool) {
	inUse := &n.NonZeroRequested
	if a.useRequested {
		inUse = &n.Requested
	}
	switch r.kind {
	case kindCPU:
		capacity, used = n.Allocatable.MilliCPU, inUse.MilliCPU
	case kindMemory:
		capacity, used = n.Allocatable.Memory, inUse.Memory
	case kindEphemeralStorage:
		capacity, used = n.Allocatable.EphemeralStorage, n.Requested.EphemeralStorage
	case kindScalar:
		if podRequest == 0 {
			return 0, 0, false
		}
		var exists bool
		capacity, exists = n.Allocatable.Scalar[r.name]
		if capacity == 0 && dra != nil {
			if c, u := dra.amounts(r.name, n.Node); c > 0 {
				return c, u, true
			}
		}
		if !exists {
			return 0, 0, false
		}
		used = n.Requested.Scalar[r.name]
	default:
		return 0, 0, false
	}
	return capacity, used, capacity != 0
}

// score fills, per resource, the node's capacity, its pods' use (used) and what would be requested
// with the pod placed (requested = used + the pod's request), and hands them to the strategy.
// Resources left out of this node's score have all three at 0; strategies skip capacity 0. dra
// scores extended resources backed by DRA (nil: none).
func (a *allocationScorer) score(podRequests []int64, n *snapshot.NodeInfo, dra *draScoring) int64 {
	var reqBuf, usedBuf, capBuf [maxScoredResources]int64
	requested, used, capacity := reqBuf[:0], usedBuf[:0], capBuf[:0]
	for i := range a.resources {
		c, u, ok := a.nodeAmounts(&a.resources[i], podRequests[i], n, dra)
		if !ok {
			requested, used, capacity = append(requested, 0), append(used, 0), append(capacity, 0)
			continue
		}
		requested, used, capacity = append(requested, u+podRequests[i]), append(used, u), append(capacity, c)
	}
	switch a.kind {
	case strategyMostAllocated:
		return mostAllocatedScore(a.resources, requested, capacity)
	case strategyRequestedToCapacityRatio:
		return a.shape.score(a.resources, requested, capacity)
	case strategyBalanced:
		return balancedScore(requested, used, capacity)
	default:
		return leastAllocatedScore(a.resources, requested, capacity)
	}
}

// weightedMean scores each resource with per and returns the integer weighted mean (0 when no
// resource counts).
func weightedMean(resources []scoredResource, requested, capacity []int64, per func(requested, capacity int64) int64) int64 {
	var sum, weights int64
	for i := range resources {
		if capacity[i] == 0 {
			continue
		}
		sum += per(requested[i], capacity[i]) * resources[i].weight
		weights += resources[i].weight
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}

// leastAllocatedScore scores the free share: (capacity - requested) / capacity, 0 when over-committed.
func leastAllocatedScore(resources []scoredResource, requested, capacity []int64) int64 {
	return weightedMean(resources, requested, capacity, func(req, c int64) int64 {
		if req > c {
			return 0
		}
		return (c - req) * decide.MaxNodeScore / c
	})
}

// mostAllocatedScore scores the used share: requested / capacity, capped at 100.
func mostAllocatedScore(resources []scoredResource, requested, capacity []int64) int64 {
	return weightedMean(resources, requested, capacity, func(req, c int64) int64 {
		return min(req, c) * decide.MaxNodeScore / c
	})
}

// shapePoint is a RequestedToCapacityRatio point scaled to node scores (0..100).
type shapePoint struct {
	utilization, score int64
}

// shapeStrategy scores each resource's utilisation percentage through a piecewise linear shape;
// resources scoring 0 are left out of the weighted mean, which is rounded to the nearest integer.
type shapeStrategy struct {
	points []shapePoint
}

func newShapeStrategy(shape []UtilizationShapePoint) shapeStrategy {
	pts := make([]shapePoint, len(shape))
	for i, p := range shape {
		pts[i] = shapePoint{utilization: int64(p.Utilization), score: int64(p.Score) * (decide.MaxNodeScore / maxShapeScore)}
	}
	return shapeStrategy{points: pts}
}

// at interpolates the shape at utilisation u: the first point's score at or below it, the last
// point's above the last point.
func (s shapeStrategy) at(u int64) int64 {
	for i, p := range s.points {
		if u > p.utilization {
			continue
		}
		if i == 0 {
			return p.score
		}
		prev := s.points[i-1]
		return prev.score + (p.score-prev.score)*(u-prev.utilization)/(p.utilization-prev.utilization)
	}
	return s.points[len(s.points)-1].score
}

func (s shapeStrategy) score(resources []scoredResource, requested, capacity []int64) int64 {
	var sum, weights int64
	for i := range resources {
		if capacity[i] == 0 {
			continue
		}
		u := int64(100)
		if requested[i] <= capacity[i] {
			u = requested[i] * 100 / capacity[i]
		}
		rs := s.at(u)
		if rs <= 0 {
			continue
		}
		sum += rs * resources[i].weight
		weights += resources[i].weight
	}
	if weights == 0 {
		return 0
	}
	return int64(math.Round(float64(sum) / float64(weights)))
}

// Shape is a utilization-to-score shape (RequestedToCapacityRatio's, also VolumeBinding's
// storage capacity scoring), its scores scaled to 0..decide.MaxNodeScore.
type Shape struct{ s shapeStrategy }

// NewShape compiles shape, whose points must be valid (sorted by utilization, scores 0..10).
func NewShape(shape []UtilizationShapePoint) Shape { return Shape{newShapeStrategy(shape)} }

// At interpolates the shape at utilization u (percent).
func (s Shape) At(u int64) int64 { return s.s.at(u) }
