package devicecel

import (
	"sync"

	resourceapi "k8s.io/api/resource/v1"
)

// CostLimit is the runtime cost limit of one evaluation, upstream's
// resourceapi.CELSelectorExpressionMaxCost.
const CostLimit = resourceapi.CELSelectorExpressionMaxCost

// evalEnv is the state of one Match: the device, the variables of macros and bindings, and the
// cost spent so far. Programs share nothing else, so that Match may run concurrently.
type evalEnv struct {
	driver string
	dev    *resourceapi.Device
	cost   uint64
	vars   []value
}

var envPool = sync.Pool{New: func() any { return new(evalEnv) }}

// charge adds n to the cost and reports whether the limit still holds.
func (e *evalEnv) charge(n uint64) bool {
	e.cost += n
	return e.cost <= CostLimit
}

// mapGet returns m[key]. The device's outer maps (attributes, capacity) answer an unknown
// domain with an empty map, as upstream's do.
func (e *evalEnv) mapGet(m, key value) (value, bool) {
	switch m.n {
	case viewAttributes, viewCapacity:
		if key.k != kString {
			return value{}, false
		}
		view := uint64(viewAttrDomain)
		if m.n == viewCapacity {
			view = viewCapDomain
		}
		return value{k: kMap, n: view, s: key.s}, true
	case viewAttrDomain:
		if key.k != kString {
			return value{}, false
		}
		return e.attribute(m.s, key.s)
	case viewCapDomain:
		if key.k != kString {
			return value{}, false
		}
		return e.capacity(m.s, key.s)
	}
	return m.r.(*mapValue).find(key)
}

// mapContains reports whether key is in m (for the in operator: unlike mapGet, it does not
// invent empty domains).
func (e *evalEnv) mapContains(m, key value) bool {
	switch m.n {
	case viewAttributes:
		return key.k == kString && hasDomain(e.dev.Attributes, e.driver, key.s)
	case viewCapacity:
		return key.k == kString && hasDomain(e.dev.Capacity, e.driver, key.s)
	case viewAttrDomain, viewCapDomain:
		_, ok := e.mapGet(m, key)
		return ok
	}
	_, ok := m.r.(*mapValue).find(key)
	return ok
}

// mapKeys returns the keys of m in a stable order.
func (e *evalEnv) mapKeys(m value) []value {
	var keys []string
	switch m.n {
	case viewAttributes:
		keys = domains(e.dev.Attributes, e.driver)
	case viewCapacity:
		keys = domains(e.dev.Capacity, e.driver)
	case viewAttrDomain:
		keys = names(e.dev.Attributes, e.driver, m.s)
	case viewCapDomain:
		keys = names(e.dev.Capacity, e.driver, m.s)
	default:
		return m.r.(*mapValue).keys
	}
	out := make([]value, len(keys))
	for i, k := range keys {
		out[i] = stringVal(k)
	}
	return out
}

func (e *evalEnv) mapSize(m value) int {
	if m.n == viewNone {
		return len(m.r.(*mapValue).keys)
	}
	return len(e.mapKeys(m))
}

// materialize returns m as a mapValue (copying a view of the device).
func (e *evalEnv) materialize(m value) *mapValue {
	if m.n == viewNone {
		return m.r.(*mapValue)
	}
	keys := e.mapKeys(m)
	out := &mapValue{keys: keys, vals: make([]value, len(keys))}
	for i, k := range keys {
		out.vals[i], _ = e.mapGet(m, k)
	}
	return out
}
