package dynamicresources

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// This file is the structured allocator: for one node, it searches devices for the pod's pending
// claims as upstream's (v1.37, the "incubating" implementation for its default features) does:
// claims, then requests, then devices in pool, slice and device order, the first complete
// solution wins, and a later request backtracks into an earlier one's choices. Within a request
// only combinations are tried (devices in ascending order), never permutations. A device picked
// whole is in use for every later request; a device that allows multiple allocations is shared
// instead, and only its capacity limits how many requests get it (capacity.go).

// The outcome of a search that found nothing, besides a solution or an error.
const (
	noFit = iota
	// invalidPools: nothing fits and some pool was invalid (upstream's "invalid resource pools
	// were encountered").
	invalidPools
)

// errMaxSize is returned inside the search when a claim would exceed AllocationResultsMaxSize
// devices, so that a firstAvailable request moves to an alternative needing fewer.
var errMaxSize = errors.New("allocation result max size exceeded")

// candidate is a device of a usable pool for the node, in search order.
type candidate struct {
	dev    *resourcev1.Device
	slice  *resourcev1.ResourceSlice
	pool   int // index in allocation.pools
	taints []resourcev1.DeviceTaint
}

// id names the candidate's device.
func (c *candidate) id() snapshot.DeviceID {
	return snapshot.DeviceID{Driver: c.slice.Spec.Driver, Pool: c.slice.Spec.Pool.Name, Device: c.dev.Name}
}

// pick is a device picked whole for claim ci (shares are in allocation.shares).
type pick struct {
	c  *candidate
	ci int
}

// chosen is a device picked for a request. A share of a device that allows multiple
// allocations has shared set and what it consumes of the device's capacities in consumed.
type chosen struct {
	req      *request
	c        *candidate
	shared   bool
	consumed capacities
}

// allocation is the search for one node. It is used by one goroutine.
type allocation struct {
	devs     *snapshot.Devices
	node     *v1.Node
	nodeSels *nodeSelectorCache
	claims   []*pending
	pools    []*pool
	cands    []candidate
	// selectable caches, per request id and candidate, what the device is to the request (see
	// match); memo is their storage.
	selectable [][]int8
	memo       []int8
	// all holds the devices of each All-mode request (nil entry: not an All request).
	all [][]*candidate
	// picked are the devices picked whole so far, with the claims (indexes) they were picked
	// for; shares holds what the shares picked so far consume, per device (see capacity.go).
	picked    []pick
	shares    map[*candidate]*shareUse
	results   [][]chosen
	subChosen [][]int // per claim and request, the firstAvailable alternative picked
	cons      [][]constraintState
	counters  map[int]*poolCounters
	scratch   poolScratch
	// limit bounds the search in time (filterTimeout, see timeout.go).
	limit deadline
}

// allocations recycles the search state (and its buffers) between Filter calls: a search
// allocates nothing per node once its buffers have grown.
var allocations = sync.Pool{New: func() any { return new(allocation) }}

// newAllocation prepares a search for claims on node; release it when done with its results.
func newAllocation(devs *snapshot.Devices, node *v1.Node, nodeSels *nodeSelectorCache, claims []*pending, numRequests int) *allocation {
	a := allocations.Get().(*allocation)
	a.devs, a.node, a.nodeSels, a.claims = devs, node, nodeSels, claims
	a.pools = gatherPools(devs, node, nodeSels, &a.scratch)
	rules := devs.HasTaintRules()
	a.cands = a.cands[:0]
	for pi, p := range a.pools {
		if p.incomplete || p.invalid {
			continue
		}
		for _, s := range p.slices {
			for i := range s.Spec.Devices {
				d := &s.Spec.Devices[i]
				c := candidate{dev: d, slice: s, pool: pi, taints: d.Taints}
				if rules {
					if extra := devs.RuleTaints(c.id()); len(extra) > 0 {
						c.taints = append(append([]resourcev1.DeviceTaint(nil), d.Taints...), extra...)
					}
				}
				a.cands = append(a.cands, c)
			}
		}
	}
	nc := len(a.cands)
	a.memo = resize(a.memo, numRequests*nc)
	a.selectable = resize(a.selectable, numRequests)
	for i := range a.selectable {
		a.selectable[i] = a.memo[i*nc : (i+1)*nc : (i+1)*nc]
	}
	a.all = resizeKeep(a.all, numRequests)
	a.picked = a.picked[:0]
	clear(a.shares)
	a.results = resizeKeep(a.results, len(claims))
	a.subChosen = resizeKeep(a.subChosen, len(claims))
	a.cons = resizeKeep(a.cons, len(claims))
	for ci, p := range claims {
		a.results[ci] = a.results[ci][:0]
		a.subChosen[ci] = resize(a.subChosen[ci], len(p.requests))
		a.cons[ci] = resize(a.cons[ci], len(p.constraints))
		for k := range p.constraints {
			a.cons[ci][k] = constraintState{spec: &p.constraints[k], values: a.cons[ci][k].values[:0]}
		}
	}
	clear(a.counters)
	return a
}

// release returns the allocation for reuse; neither it nor its results may be used afterwards.
func (a *allocation) release() {
	a.devs, a.node, a.nodeSels, a.claims, a.pools = nil, nil, nil, nil, nil
	a.limit = deadline{}
	clear(a.cands)
	for _, l := range a.all {
		clear(l[:cap(l)])
	}
	for _, r := range a.results {
		clear(r[:cap(r)])
	}
	clear(a.shares)
	a.scratch.reset()
	allocations.Put(a)
}

// resize returns s with length n and every element zero, reusing its array when large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// run searches a solution: true when found (see results), else why nothing fits, or an error
// (upstream's allocator error: the scheduling attempt fails).
func (a *allocation) run() (bool, int, error) {
	if err := a.prepareAll(); err != nil {
		return false, 0, err
	}
	ok, err := a.search(0, 0, 0, 0, false, 0)
	if errors.Is(err, errMaxSize) {
		err = nil
	}
	if err != nil {
		return false, 0, err
	}
	if !ok {
		for _, p := range a.pools {
			if p.invalid {
				return false, invalidPools, nil
			}
		}
		return false, noFit, nil
	}
	return true, 0, nil
}

// prepareAll collects the devices of every All-mode request, as upstream does before searching:
// every pool must be complete and valid, and the claim's device count must stay in bounds.
func (a *allocation) prepareAll() error {
	for ci, p := range a.claims {
		key := func() string { return p.claim.Namespace + "/" + p.claim.Name } // for errors only
		minTotal := 0
		for _, ra := range p.requests {
			minReq := -1
			for _, r := range ra.alts {
				n := r.count
				if r.all {
					for _, pl := range a.pools {
						if pl.incomplete {
							return fmt.Errorf("claim %s, request %s: asks for all devices, but resource pool %s is currently being updated", key(), r.name, pl.id)
						}
						if pl.invalid {
							return fmt.Errorf("claim %s, request %s: asks for all devices, but resource pool %s is currently invalid", key(), r.name, pl.id)
						}
					}
					list := a.all[r.id][:0]
					for k := range a.cands {
						ok, err := a.isSelectable(ci, r, k)
						if err != nil {
							return err
						}
						if !ok {
							continue
						}
						// The device's capacity alone: what other allocations consume is
						// checked when it is taken, so that a matching device without room
						// makes the request fail rather than shrink.
						d := a.cands[k].dev
						_, fits, err := capacityFits(r, d, nil, nil)
						if err != nil {
							return fmt.Errorf("claim %s, request %s: checking capacity for device %s: %w", key(), r.name, d.Name, err)
						}
						if fits {
							list = append(list, &a.cands[k])
						}
					}
					a.all[r.id] = list
					n = len(list)
				}
				if minReq < 0 || n < minReq {
					minReq = n
				}
			}
			if minReq > resourcev1.AllocationResultsMaxSize-minTotal {
				return fmt.Errorf("claim %s, request %s: adding %d devices exceeds the claim limit of %d, with %d already accounted for",
					key(), ra.alts[0].baseName(), minReq, resourcev1.AllocationResultsMaxSize, minTotal)
			}
			minTotal += minReq
		}
		if cap(a.results[ci]) < minTotal {
			a.results[ci] = make([]chosen, 0, minTotal)
		}
	}
	return nil
}

// baseName is the name of the claim's request r belongs to.
func (r *request) baseName() string {
	if r.parent != "" {
		return r.parent
	}
	return r.name
}

// search picks device di of alternative si of request ri of claim ci, then everything after
// it; start is the first candidate to consider (devices of one request are picked in candidate
// order). inSub is set while one firstAvailable alternative is being tried.
func (a *allocation) search(ci, ri, si, di int, inSub bool, start int) (bool, error) {
	if ci >= len(a.claims) {
		return true, nil
	}
	p := a.claims[ci]
	if ri >= len(p.requests) {
		ok, err := a.search(ci+1, 0, 0, 0, false, 0)
		if errors.Is(err, errMaxSize) {
			return false, nil // another choice in this claim may still fit
		}
		return ok, err
	}
	ra := &p.requests[ri]
	if ra.firstAvailable && !inSub {
		allExceeded := true
		for alt := range ra.alts {
			ok, err := a.search(ci, ri, alt, 0, true, 0)
			if errors.Is(err, errMaxSize) {
				continue
			}
			allExceeded = false
			if err != nil {
				return false, err
			}
			if ok {
				a.subChosen[ci][ri] = alt
				return true, nil
			}
		}
		if allExceeded {
			return false, errMaxSize
		}
		return false, nil
	}
	r := ra.alts[si]
	need := r.count
	if r.all {
		if len(a.all[r.id]) == 0 {
			return false, nil
		}
		need = len(a.all[r.id])
	}
	if di >= need {
		return a.search(ci, ri+1, 0, 0, false, 0)
	}
	if need-di > resourcev1.AllocationResultsMaxSize-len(a.results[ci]) {
		return false, errMaxSize
	}
	if r.all {
		c := a.all[r.id][di]
		ok, undo, err := a.take(ci, r, c, true)
		if err != nil || !ok {
			return false, err
		}
		done, err := a.search(ci, ri, si, di+1, inSub, 0)
		if err != nil || !done {
			a.undo(undo)
			return false, err
		}
		return true, nil
	}
	for k := start; k < len(a.cands); k++ {
		if a.limit.passed() {
			return false, errTimedOut
		}
		c := &a.cands[k]
		if r.admin && a.pickedFor(c, ci) {
			continue
		}
		if !r.admin && a.inUse(c) {
			continue
		}
		ok, err := a.isSelectable(ci, r, k)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		_, fits, err := a.capacityLeft(r, c)
		if err != nil {
			cl := a.claims[ci].claim
			return false, fmt.Errorf("claim %s/%s, request %s: checking capacity for device %s: %w", cl.Namespace, cl.Name, r.name, c.id(), err)
		}
		if !fits {
			continue
		}
		ok, undo, err := a.take(ci, r, c, false)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		done, err := a.search(ci, ri, si, di+1, inSub, k+1)
		if err == nil && done {
			return true, nil
		}
		a.undo(undo)
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

// inUse reports whether a device is allocated whole cluster-wide or picked whole for any claim of
// the pod. Shares do not make a device in use: its capacity decides (see capacityLeft).
func (a *allocation) inUse(c *candidate) bool {
	for _, p := range a.picked {
		if p.c == c {
			return true
		}
	}
	return a.devs.Allocated(c.id())
}

// pickedFor reports whether the device was picked whole for claim ci already.
func (a *allocation) pickedFor(c *candidate, ci int) bool {
	for _, p := range a.picked {
		if p.c == c && p.ci == ci {
			return true
		}
	}
	return false
}

// What a device is to a request (cached in allocation.selectable).
const (
	unknown int8 = iota
	match
	noMatch
)

// isSelectable judges candidate k for request r: its class's selectors, its own, and, for a slice
// with per-device node selection, the device's node selection.
func (a *allocation) isSelectable(ci int, r *request, k int) (bool, error) {
	memo := a.selectable[r.id]
	if memo[k] != unknown {
		return memo[k] == match, nil
	}
	ok, err := a.matches(ci, r, &a.cands[k])
	if err != nil {
		return false, err
	}
	memo[k] = noMatch
	if ok {
		memo[k] = match
	}
	return ok, nil
}

func (a *allocation) matches(ci int, r *request, c *candidate) (bool, error) {
	for i, sel := range r.classSel {
		ok, err := sel.Match(c.slice.Spec.Driver, c.dev)
		if err != nil {
			return false, fmt.Errorf("class %s: selector #%d on device %s: CEL runtime error: %w", r.class.Name, i, c.id(), withKeyHint(err))
		}
		if !ok {
			return false, nil
		}
	}
	for i, sel := range r.sel {
		ok, err := sel.Match(c.slice.Spec.Driver, c.dev)
		if err != nil {
			cl := a.claims[ci].claim
			return false, fmt.Errorf("claim %s/%s: selector #%d on device %s: CEL runtime error: %w", cl.Namespace, cl.Name, i, c.id(), withKeyHint(err))
		}
		if !ok {
			return false, nil
		}
	}
	if s := c.slice.Spec.PerDeviceNodeSelection; s != nil && *s {
		return a.nodeSels.nodeMatches(a.node, c.dev.NodeName, c.dev.AllNodes, c.dev.NodeSelector), nil
	}
	return true, nil
}

// keyHint is what upstream appends to a selector's "no such key" error (a device without the
// attribute or capacity the expression reads), in the pod's message too.
const keyHint = ". consider using CEL optional chaining (.? followed by orValue()) or guarding the check with has() for optional fields"

// withKeyHint returns err with keyHint appended when it is a missing key error, else err.
func withKeyHint(err error) error {
	if strings.Contains(err.Error(), "no such key:") {
		return fmt.Errorf("%w%s", err, keyHint)
	}
	return err
}

// capacityLeft checks request r against what is still free of c's capacities after the
// allocations cluster-wide and the shares picked in this search (see capacityFits).
func (a *allocation) capacityLeft(r *request, c *candidate) (capacities, bool, error) {
	if len(c.dev.Capacity) == 0 && r.capacity == nil {
		return nil, true, nil
	}
	return capacityFits(r, c.dev, a.devs.Consumed(c.id()), a.picking(c))
}

// taken records what take did, for undo.
type taken struct {
	ci      int
	c       *candidate
	base    string
	sub     string
	added   int // constraints the device was added to
	counted bool
	share   capacities // what a share consumes; nil when the device was picked whole
	shared  bool
}

// take picks candidate c for request r of claim ci if nothing forbids it (in use, counters,
// taints, constraints, capacity) and returns how to undo it. A device that allows multiple
// allocations is not picked whole but shared: only its capacity limits how often. must (All
// mode) makes a violated constraint an error, as upstream does.
func (a *allocation) take(ci int, r *request, c *candidate, must bool) (bool, taken, error) {
	t := taken{ci: ci, c: c, base: r.name, shared: allowsMultiple(c.dev)}
	if r.parent != "" {
		t.base, t.sub = r.parent, r.name
	}
	if !t.shared && r.admin && a.pickedFor(c, ci) {
		return false, t, nil
	}
	if !r.admin && a.inUse(c) {
		return false, t, nil
	}
	// A shared device's counters are consumed once, by its first share.
	if len(c.dev.ConsumesCounters) > 0 && !(t.shared && a.shareInUse(c)) {
		if !a.reserveCounters(c) {
			return false, t, nil
		}
		t.counted = true
	}
	if taintPrevents(c.taints, r.tolerations) {
		a.undoConstraintsAndCounters(t)
		return false, t, nil
	}
	for k := range a.cons[ci] {
		if !a.cons[ci][k].add(t.base, t.sub, c) {
			a.undoConstraintsAndCounters(t)
			if must {
				cl := a.claims[ci].claim
				return false, t, fmt.Errorf("claim %s/%s, request %s: cannot add device %s because a claim constraint would not be satisfied", cl.Namespace, cl.Name, r.name, c.id())
			}
			return false, t, nil
		}
		t.added++
	}
	need, fits, err := a.capacityLeft(r, c)
	if err != nil || !fits {
		a.undoConstraintsAndCounters(t)
		if err != nil {
			cl := a.claims[ci].claim
			return false, t, fmt.Errorf("claim %s/%s, request %s: rechecking capacity for device %s: %w", cl.Namespace, cl.Name, r.name, c.id(), err)
		}
		return false, t, nil
	}
	ch := chosen{req: r, c: c}
	if t.shared {
		if need == nil {
			need = capacities{} // a device without capacities: the share consumes nothing
		}
		a.addShare(c, need)
		t.share = need
		ch.shared, ch.consumed = true, need
	} else {
		a.picked = append(a.picked, pick{c: c, ci: ci})
	}
	a.results[ci] = append(a.results[ci], ch)
	return true, t, nil
}

// undo reverses a successful take (the last one not yet undone).
func (a *allocation) undo(t taken) {
	a.results[t.ci] = a.results[t.ci][:len(a.results[t.ci])-1]
	if t.shared {
		a.removeShare(t.c, t.share)
	} else {
		a.picked = a.picked[:len(a.picked)-1]
	}
	a.undoConstraintsAndCounters(t)
}

func (a *allocation) undoConstraintsAndCounters(t taken) {
	for j := t.added - 1; j >= 0; j-- {
		a.cons[t.ci][j].remove(t.base, t.sub)
	}
	if t.counted {
		a.releaseCounters(t.c)
	}
}

// taintPrevents reports whether a NoSchedule or NoExecute taint is not tolerated (other effects,
// None included, do not prevent allocation).
func taintPrevents(taints []resourcev1.DeviceTaint, tolerations []resourcev1.DeviceToleration) bool {
	for _, t := range taints {
		if t.Effect != resourcev1.DeviceTaintEffectNoSchedule && t.Effect != resourcev1.DeviceTaintEffectNoExecute {
			continue
		}
		tolerated := false
		for _, tol := range tolerations {
			if tolerates(tol, t) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return true
		}
	}
	return false
}

// tolerates is upstream's device toleration rule.
func tolerates(tol resourcev1.DeviceToleration, t resourcev1.DeviceTaint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != t.Key {
		return false
	}
	switch tol.Operator {
	case "", resourcev1.DeviceTolerationOpEqual:
		return tol.Value == t.Value
	case resourcev1.DeviceTolerationOpExists:
		return true
	}
	return false
}

// poolCounters are a pool's counters during one search: what its counter sets offer minus what
// allocated devices consume (fixed), and what the devices picked so far consume.
type poolCounters struct {
	available map[string]map[string]resource.Quantity
	consumed  map[string]map[string]resource.Quantity
}

// reserveCounters adds c's counter consumption to its pool's and reports whether every counter
// still fits; when not, nothing is changed.
func (a *allocation) reserveCounters(c *candidate) bool {
	pc := a.poolCounters(c.pool)
	for _, cc := range c.dev.ConsumesCounters {
		set := pc.consumed[cc.CounterSet]
		if set == nil {
			set = map[string]resource.Quantity{}
			pc.consumed[cc.CounterSet] = set
		}
		for name, v := range cc.Counters {
			q := set[name].DeepCopy()
			q.Add(v.Value)
			set[name] = q
		}
	}
	for setName, avail := range pc.available {
		for name, q := range avail {
			used := pc.consumed[setName][name]
			if q.Cmp(used) < 0 {
				a.releaseCounters(c)
				return false
			}
		}
	}
	return true
}

// releaseCounters subtracts c's counter consumption again.
func (a *allocation) releaseCounters(c *candidate) {
	pc := a.counters[c.pool]
	for _, cc := range c.dev.ConsumesCounters {
		set := pc.consumed[cc.CounterSet]
		for name, v := range cc.Counters {
			q := set[name].DeepCopy()
			q.Sub(v.Value)
			set[name] = q
		}
	}
}

// poolCounters returns the counters of pool i, computing what allocated devices of the whole pool
// (its slices for other nodes too) consume on first use.
func (a *allocation) poolCounters(i int) *poolCounters {
	if pc := a.counters[i]; pc != nil {
		return pc
	}
	p := a.pools[i]
	pc := &poolCounters{available: map[string]map[string]resource.Quantity{}, consumed: map[string]map[string]resource.Quantity{}}
	for name, cs := range p.counterSets {
		m := make(map[string]resource.Quantity, len(cs.Counters))
		for cn, c := range cs.Counters {
			m[cn] = c.Value.DeepCopy()
		}
		pc.available[name] = m
	}
	for _, list := range [2][]*resourcev1.ResourceSlice{p.slices, p.others} {
		for _, s := range list {
			for di := range s.Spec.Devices {
				d := &s.Spec.Devices[di]
				id := snapshot.DeviceID{Driver: s.Spec.Driver, Pool: s.Spec.Pool.Name, Device: d.Name}
				if !a.devs.Allocated(id) && !a.devs.Shared(id) {
					continue
				}
				for _, cc := range d.ConsumesCounters {
					set := pc.available[cc.CounterSet]
					for cn, v := range cc.Counters {
						if q, ok := set[cn]; ok {
							q.Sub(v.Value)
							set[cn] = q
						}
					}
				}
			}
		}
	}
	if a.counters == nil {
		a.counters = map[int]*poolCounters{}
	}
	a.counters[i] = pc // cleared when the allocation is reused
	return pc
}
