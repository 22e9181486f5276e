package dynamicresources

import (
	"cmp"
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// pool is one resource pool as a node sees it (upstream's GatherPools): the slices of its newest
// generation that publish devices for the node, sorted by name, and, for partitionable devices,
// its counter sets and the pool's other slices (whose allocated devices consume counters too).
type pool struct {
	id snapshot.PoolID
	// incomplete: not every slice of the generation is known yet; invalid: the slices
	// contradict each other (invalidReason says how). Neither kind is allocated from.
	incomplete, invalid bool
	invalidReason       string
	slices              []*resourcev1.ResourceSlice
	others              []*resourcev1.ResourceSlice
	counterSets         map[string]*resourcev1.CounterSet
	bindingConditions   bool
}

// poolScratch holds gatherPools' buffers between calls.
type poolScratch struct {
	groups []poolGroup
	pools  []pool
	out    []*pool
	cond   []*pool
}

func (sc *poolScratch) reset() {
	for i := range sc.groups[:cap(sc.groups)] {
		g := &sc.groups[:cap(sc.groups)][i]
		clear(g.slices[:cap(g.slices)])
	}
	for i := range sc.pools[:cap(sc.pools)] {
		p := &sc.pools[:cap(sc.pools)][i]
		clear(p.slices[:cap(p.slices)])
		clear(p.others[:cap(p.others)])
		p.counterSets = nil
	}
	clear(sc.out[:cap(sc.out)])
	clear(sc.cond[:cap(sc.cond)])
}

// gatherPools returns the pools with devices for node, ordered by driver and pool name, the
// pools with devices that have binding conditions last (so they are tried last). The result
// lives in sc until its next use.
func gatherPools(devs *snapshot.Devices, node *v1.Node, sels *nodeSelectorCache, sc *poolScratch) []*pool {
	groups := sc.groups[:0]
	for _, s := range devs.NodeSlices(node.Name) {
		if !usesCompatibilityGroups(s) {
			groups = addSlice(groups, s)
		}
	}
	for _, s := range devs.SelectingSlices() {
		if !usesCompatibilityGroups(s) && sliceSelects(s, node, sels) {
			groups = addSlice(groups, s)
		}
	}
	sc.groups = groups
	sc.pools = resizeKeep(sc.pools, len(groups))
	out, withConditions := sc.out[:0], sc.cond[:0]
	for i, g := range groups {
		p := &sc.pools[i]
		if !buildPool(devs, g, p) {
			continue // an obsolete generation
		}
		if p.bindingConditions {
			withConditions = append(withConditions, p)
		} else {
			out = append(out, p)
		}
	}
	byID := func(a, b *pool) int {
		return cmp.Or(cmp.Compare(a.id.Driver, b.id.Driver), cmp.Compare(a.id.Pool, b.id.Pool))
	}
	slices.SortFunc(out, byID)
	slices.SortFunc(withConditions, byID)
	sc.out, sc.cond = append(out, withConditions...), withConditions
	return sc.out
}

// resizeKeep returns s with length n, keeping the elements' own buffers for reuse.
func resizeKeep[T any](s []T, n int) []T {
	if cap(s) < n {
		return append(s[:cap(s)], make([]T, n-cap(s))...)
	}
	return s[:n]
}

// sliceSelects reports whether a slice without spec.nodeName has devices for node: by its node
// selector or allNodes, or, with per-device node selection, by one of its devices. A slice that
// sets none of these is of an unknown kind and is ignored.
func sliceSelects(s *resourcev1.ResourceSlice, node *v1.Node, sels *nodeSelectorCache) bool {
	if (s.Spec.AllNodes != nil && *s.Spec.AllNodes) || s.Spec.NodeSelector != nil {
		return sels.nodeMatches(node, nil, s.Spec.AllNodes, s.Spec.NodeSelector)
	}
	if s.Spec.PerDeviceNodeSelection != nil && *s.Spec.PerDeviceNodeSelection {
		for i := range s.Spec.Devices {
			d := &s.Spec.Devices[i]
			if sels.nodeMatches(node, d.NodeName, d.AllNodes, d.NodeSelector) {
				return true
			}
		}
	}
	return false
}

// usesCompatibilityGroups reports whether a device of s declares compatibility groups: with
// DRADeviceCompatibilityGroups off (v1.37's default) upstream ignores such slices, which leaves
// their pool incomplete.
func usesCompatibilityGroups(s *resourcev1.ResourceSlice) bool {
	for i := range s.Spec.Devices {
		for _, c := range s.Spec.Devices[i].ConsumesCounters {
			if len(c.CompatibilityGroups) > 0 {
				return true
			}
		}
	}
	return false
}

// poolGroup is the slices of one pool's newest generation seen so far for a node.
type poolGroup struct {
	id     snapshot.PoolID
	slices []*resourcev1.ResourceSlice
}

// addSlice adds s to its pool's group: a newer generation replaces the older slices, an older one
// is ignored. Groups beyond len(groups) keep their buffers for reuse.
func addSlice(groups []poolGroup, s *resourcev1.ResourceSlice) []poolGroup {
	id := snapshot.PoolID{Driver: s.Spec.Driver, Pool: s.Spec.Pool.Name}
	for i := range groups {
		g := &groups[i]
		if g.id != id {
			continue
		}
		switch gen := g.slices[0].Spec.Pool.Generation; {
		case s.Spec.Pool.Generation > gen:
			g.slices = append(g.slices[:0], s)
		case s.Spec.Pool.Generation == gen:
			g.slices = append(g.slices, s)
		}
		return groups
	}
	groups = resizeKeep(groups, len(groups)+1)
	g := &groups[len(groups)-1]
	g.id, g.slices = id, append(g.slices[:0], s)
	return groups
}

// buildPool judges a pool's completeness and validity into p. It returns false when the
// generation the node sees is being replaced by a newer one (the pool is then ignored).
func buildPool(devs *snapshot.Devices, g poolGroup, p *pool) bool {
	*p = pool{id: g.id, slices: p.slices[:0], others: p.others[:0]}
	first := g.slices[0].Spec.Pool
	var all []*resourcev1.ResourceSlice // the whole generation, when some slices are not for the node
	if int64(len(g.slices)) != first.ResourceSliceCount {
		for _, s := range devs.PoolSlices(g.id) {
			switch {
			case s.Spec.Pool.Generation > first.Generation:
				return false
			case s.Spec.Pool.Generation == first.Generation && !usesCompatibilityGroups(s):
				all = append(all, s)
			}
		}
		if int64(len(all)) != first.ResourceSliceCount {
			p.incomplete = true
			return true
		}
	}
	mine := g.slices
	if len(mine) > 1 {
		slices.SortFunc(mine, func(a, b *resourcev1.ResourceSlice) int { return cmp.Compare(a.Name, b.Name) })
	}
	var counterSlices []*resourcev1.ResourceSlice
	for _, s := range mine {
		if len(s.Spec.SharedCounters) > 0 {
			counterSlices = append(counterSlices, s)
		} else {
			p.slices = append(p.slices, s)
		}
	}
	for _, s := range all {
		if slices.Contains(mine, s) {
			continue
		}
		if len(s.Spec.SharedCounters) > 0 {
			counterSlices = append(counterSlices, s)
		} else {
			p.others = append(p.others, s)
		}
	}
	invalid := func(err error) bool {
		*p = pool{id: g.id, slices: p.slices[:0], others: p.others[:0], invalid: true, invalidReason: err.Error()}
		return true
	}
	if err := uniqueDeviceNames(p.slices); err != nil {
		return invalid(err)
	}
	if err := p.collectCounterSets(counterSlices); err != nil {
		return invalid(err)
	}
	for _, list := range [2][]*resourcev1.ResourceSlice{p.slices, p.others} {
		if err := p.checkConsumption(list); err != nil {
			return invalid(err)
		}
	}
	for _, s := range p.slices {
		for i := range s.Spec.Devices {
			if s.Spec.Devices[i].BindingConditions != nil {
				p.bindingConditions = true
			}
		}
	}
	return true
}

// uniqueDeviceNames checks that no device name repeats in the pool's slices for the node.
func uniqueDeviceNames(list []*resourcev1.ResourceSlice) error {
	n := 0
	for _, s := range list {
		n += len(s.Spec.Devices)
	}
	if len(list) == 1 && n <= 16 { // the common case, without a map
		ds := list[0].Spec.Devices
		for i := range ds {
			for j := range i {
				if ds[i].Name == ds[j].Name {
					return fmt.Errorf("duplicate device name %s", ds[i].Name)
				}
			}
		}
		return nil
	}
	seen := make(map[string]bool, n)
	for _, s := range list {
		for i := range s.Spec.Devices {
			name := s.Spec.Devices[i].Name
			if seen[name] {
				return fmt.Errorf("duplicate device name %s", name)
			}
			seen[name] = true
		}
	}
	return nil
}

// collectCounterSets gathers the pool's counter sets; a name declared twice makes it invalid.
func (p *pool) collectCounterSets(list []*resourcev1.ResourceSlice) error {
	for _, s := range list {
		for i := range s.Spec.SharedCounters {
			cs := &s.Spec.SharedCounters[i]
			if _, dup := p.counterSets[cs.Name]; dup {
				return fmt.Errorf("duplicate counter set name %s", cs.Name)
			}
			if p.counterSets == nil {
				p.counterSets = map[string]*resourcev1.CounterSet{}
			}
			p.counterSets[cs.Name] = cs
		}
	}
	return nil
}

// checkConsumption checks that the devices of list consume only counters the pool declares.
func (p *pool) checkConsumption(list []*resourcev1.ResourceSlice) error {
	for _, s := range list {
		for i := range s.Spec.Devices {
			for _, c := range s.Spec.Devices[i].ConsumesCounters {
				set := p.counterSets[c.CounterSet]
				if set == nil {
					return fmt.Errorf("counter set %s not found", c.CounterSet)
				}
				for name := range c.Counters {
					if _, ok := set.Counters[name]; !ok {
						return fmt.Errorf("counter %s not found in counter set %s", name, set.Name)
					}
				}
			}
		}
	}
	return nil
}
