// Package noderesources implements kube-scheduler's NodeResourcesFit and
// NodeResourcesBalancedAllocation plugins.
//
// NodeResourcesFit filters out nodes without room for the pod: one pod slot, and the pod's
// requests of cpu, memory, ephemeral-storage and every scalar resource (extended resources,
// hugepages) against allocatable minus what the node's pods already request. Each shortfall is one
// reason ("Too many pods", "Insufficient cpu", ...); the verdict is unresolvable when some request
// exceeds the node's whole allocatable, since evicting pods cannot help then. It also scores nodes
// by one of three strategies (LeastAllocated, MostAllocated, RequestedToCapacityRatio) over
// weighted resources, counting cpu and memory with the scheduler's non-zero defaults.
//
// NodeResourcesBalancedAllocation scores nodes by how evenly the pod would leave their resources
// used (the standard deviation of the used fractions, before and after placing the pod).
//
// An extended resource that a DeviceClass provides (DRAExtendedResource) is the device plugin's on
// a node that advertises it in allocatable, and is checked and scored as any other there; on a
// node that does not, DynamicResources allocates devices for it, so the filter skips it and the
// scorers count the class's devices instead (dra.go).
//
// Build plugins with NewFit(DefaultFitArgs()) and NewBalancedAllocation(DefaultBalancedAllocationArgs()),
// or from user args after SetDefaults. Plugins are immutable and safe for concurrent use.
package noderesources

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// FitName is NodeResourcesFit's name in kube-scheduler configuration.
	FitName = "NodeResourcesFit"
	// ReasonTooManyPods is the reason for a node with no pod slot left.
	ReasonTooManyPods = "Too many pods"
)

// Reasons for the fixed resources, preallocated: a Verdict's reasons are shared and read-only.
var (
	tooManyPods           = []string{ReasonTooManyPods}
	insufficientCPU       = []string{"Insufficient cpu"}
	insufficientMemory    = []string{"Insufficient memory"}
	insufficientEphemeral = []string{"Insufficient ephemeral-storage"}
)

// Fit is the NodeResourcesFit plugin: a filter and a scorer. It is immutable after NewFit and safe
// for concurrent use; the filters and scorers it returns are read-only too.
type Fit struct {
	ignoredResources map[string]bool
	ignoredGroups    map[string]bool
	scoring          allocationScorer
}

// NewFit validates args (see NodeResourcesFitArgs.Validate) and builds the plugin. Pass
// DefaultFitArgs(), or user args after SetDefaults: a nil strategy or empty resources are errors here.
func NewFit(args NodeResourcesFitArgs) (*Fit, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("validating %s args: %w", FitName, err)
	}
	s := args.ScoringStrategy
	if len(s.Resources) == 0 {
		return nil, fmt.Errorf("validating %s args: scoringStrategy.resources: Required value: no resources to score (apply SetDefaults)", FitName)
	}
	f := &Fit{
		ignoredResources: toSet(args.IgnoredResources),
		ignoredGroups:    toSet(args.IgnoredResourceGroups),
		scoring:          allocationScorer{resources: newScoredResources(s.Resources)},
	}
	switch s.Type {
	case LeastAllocated:
		f.scoring.kind = strategyLeastAllocated
	case MostAllocated:
		f.scoring.kind = strategyMostAllocated
	case RequestedToCapacityRatio:
		f.scoring.kind = strategyRequestedToCapacityRatio
		f.scoring.shape = newShapeStrategy(s.RequestedToCapacityRatio.Shape)
	}
	return f, nil
}

func toSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Name returns "NodeResourcesFit".
func (*Fit) Name() string { return FitName }

// PreFilter prepares the pod's requests for the node checks: the fixed resources, and the scalar
// resources it requests that are not ignored, in name order (kube-scheduler walks a map there, so
// its order is random; ours is stable). It never rejects a pod outright.
//
// A scalar resource some DeviceClass provides (DRAExtendedResource: by spec.extendedResourceName,
// or as deviceclass.resource.kubernetes.io/CLASS) is checked only on nodes that advertise it in
// allocatable; on the others DynamicResources allocates devices for it.
func (f *Fit) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	r := &pod.Requests
	ff := &fitFilter{cpu: r.MilliCPU, memory: r.Memory, ephemeral: r.EphemeralStorage}
	for name, q := range r.Scalar {
		if q <= 0 || f.ignored(name) {
			continue
		}
		dra := snap != nil && snap.Devices != nil && snap.Devices.ExtendedResourceClass(name) != nil
		ff.scalars = append(ff.scalars, scalarRequest{name: name, quantity: q, reason: []string{"Insufficient " + string(name)}, dra: dra})
	}
	slices.SortFunc(ff.scalars, func(a, b scalarRequest) int { return strings.Compare(string(a.name), string(b.name)) })
	return ff, snapshot.Verdict{}
}

// ignored reports whether name is an extended resource the args tell the filter to skip. Only
// extended resources can be ignored; hugepages and kubernetes.io resources are always checked.
func (f *Fit) ignored(name v1.ResourceName) bool {
	if (len(f.ignoredResources) == 0 && len(f.ignoredGroups) == 0) || !isExtendedResourceName(name) {
		return false
	}
	group, _, _ := strings.Cut(string(name), "/")
	return f.ignoredResources[string(name)] || f.ignoredGroups[group]
}

// isExtendedResourceName reports whether name is an extended resource: domain-prefixed outside
// kubernetes.io, not a quota "requests." name, and valid as a quota resource name.
func isExtendedResourceName(name v1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, v1.ResourceDefaultNamespacePrefix) ||
		strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(v1.DefaultResourceRequestsPrefix+s)) == 0
}

// fitFilter is one pod's requests, read-only after PreFilter.
type fitFilter struct {
	cpu, memory, ephemeral int64
	scalars                []scalarRequest
}

// scalarRequest is one positive scalar resource request and its preallocated reason.
type scalarRequest struct {
	name     v1.ResourceName
	quantity int64
	reason   []string
	// dra: a DeviceClass provides the resource, so a node that does not advertise it leaves it to
	// DynamicResources.
	dra bool
}

// byDRA reports whether node n leaves the request to DynamicResources: a DeviceClass provides the
// resource and n's allocatable has none of it.
func (s *scalarRequest) byDRA(n *snapshot.NodeInfo) bool {
	return s.dra && n.Allocatable.Scalar[s.name] <= 0
}

// Filter checks the pod slot, then cpu, memory, ephemeral-storage and the scalar resources,
// giving one reason per shortfall in that order. Resources the pod does not request are not checked.
func (f *fitFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	var out shortfalls
	alloc, used := &n.Allocatable, &n.Requested
	if int64(len(n.Pods))+1 > alloc.AllowedPodNumber {
		out.add(tooManyPods, false)
	}
	if f.cpu > 0 && f.cpu > alloc.MilliCPU-used.MilliCPU {
		out.add(insufficientCPU, f.cpu > alloc.MilliCPU)
	}
	if f.memory > 0 && f.memory > alloc.Memory-used.Memory {
		out.add(insufficientMemory, f.memory > alloc.Memory)
	}
	if f.ephemeral > 0 && f.ephemeral > alloc.EphemeralStorage-used.EphemeralStorage {
		out.add(insufficientEphemeral, f.ephemeral > alloc.EphemeralStorage)
	}
	for i := range f.scalars {
		s := &f.scalars[i]
		if s.byDRA(n) {
			continue
		}
		capacity := alloc.Scalar[s.name]
		if s.quantity > capacity-used.Scalar[s.name] {
			out.add(s.reason, s.quantity > capacity)
		}
	}
	return out.verdict()
}

// shortfalls gathers a node's failed checks without allocating for the common single reason.
type shortfalls struct {
	first        []string // the first reason, as a shared one-element slice
	all          []string // every reason, once there are two or more
	unresolvable bool
}

func (s *shortfalls) add(reason []string, unresolvable bool) {
	s.unresolvable = s.unresolvable || unresolvable
	switch {
	case s.first == nil:
		s.first = reason
	case s.all == nil:
		s.all = append(make([]string, 0, 4), s.first[0], reason[0])
	default:
		s.all = append(s.all, reason[0])
	}
}

func (s *shortfalls) verdict() snapshot.Verdict {
	switch {
	case s.all != nil:
		return snapshot.Verdict{Reasons: s.all, Unresolvable: s.unresolvable}
	case s.first != nil:
		return snapshot.Verdict{Reasons: s.first, Unresolvable: s.unresolvable}
	default:
		return snapshot.Verdict{}
	}
}

// PreScore prepares the pod's scored requests (cpu and memory with non-zero defaults). It always
// returns a scorer.
func (f *Fit) PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	return &fitScorer{scoring: &f.scoring, podRequests: f.scoring.podRequests(pod), dra: f.scoring.draScoringFor(snap)}
}

// WithDeviceMatcher makes the plugin score extended resources backed by DRA (see dra.go) with m
// evaluating the DeviceClasses' selectors. Call it before the plugin is used.
func (f *Fit) WithDeviceMatcher(m DeviceMatcher) *Fit {
	f.scoring.matcher = m
	return f
}

// fitScorer is one pod's scored requests under the plugin's strategy.
type fitScorer struct {
	scoring     *allocationScorer
	podRequests []int64
	dra         *draScoring
}

// Score returns 0..100 by the configured strategy.
func (s *fitScorer) Score(n *snapshot.NodeInfo) int64 {
	return s.scoring.score(s.podRequests, n, s.dra)
}

var _ decide.Shortfaller = (*fitFilter)(nil)

// Shortfalls says, for each check Filter fails on n, what the pod requests and what n has free,
// in Filter's order (explain's "cpu: requests 2, free 0.5").
func (f *fitFilter) Shortfalls(n *snapshot.NodeInfo) []decide.Shortfall {
	var out []decide.Shortfall
	alloc, used := &n.Allocatable, &n.Requested
	check := func(name v1.ResourceName, want, capacity, inUse int64) {
		if free := capacity - inUse; want > 0 && want > free {
			out = append(out, decide.Shortfall{Resource: name, Requested: want, Free: free, ExceedsAllocatable: want > capacity})
		}
	}
	if free := alloc.AllowedPodNumber - int64(len(n.Pods)); free < 1 {
		out = append(out, decide.Shortfall{Resource: v1.ResourcePods, Requested: 1, Free: free})
	}
	check(v1.ResourceCPU, f.cpu, alloc.MilliCPU, used.MilliCPU)
	check(v1.ResourceMemory, f.memory, alloc.Memory, used.Memory)
	check(v1.ResourceEphemeralStorage, f.ephemeral, alloc.EphemeralStorage, used.EphemeralStorage)
	for i := range f.scalars {
		if s := &f.scalars[i]; !s.byDRA(n) {
			check(s.name, s.quantity, alloc.Scalar[s.name], used.Scalar[s.name])
		}
	}
	return out
}
