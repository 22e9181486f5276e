package interpodaffinity

import "github.com/berth-scheduler/berth/scheduler/snapshot"

// topologyCounts counts pods per topology domain, as topology key → value → count. An entry that
// reaches zero is removed, so the map is empty exactly when no domain holds a counted pod.
type topologyCounts map[string]map[string]int64

// add adds delta to the domain of key that nodeLabels place the node in; nothing when the node
// lacks the key.
func (c topologyCounts) add(nodeLabels map[string]string, key string, delta int64) {
	if value, ok := nodeLabels[key]; ok {
		c.addValue(key, value, delta)
	}
}

// addValue adds delta to the domain key=value.
func (c topologyCounts) addValue(key, value string, delta int64) {
	values := c[key]
	if values == nil {
		values = make(map[string]int64, 1)
		c[key] = values
	}
	n := values[value] + delta
	if n != 0 {
		values[value] = n
		return
	}
	delete(values, value)
	if len(values) == 0 {
		delete(c, key)
	}
}

// anyOnNode reports whether any domain node n belongs to has a positive count.
func (c topologyCounts) anyOnNode(n *snapshot.NodeInfo) bool {
	for key, values := range c {
		if value, ok := n.Label(key); ok && values[value] > 0 {
			return true
		}
	}
	return false
}

func (c topologyCounts) clone() topologyCounts {
	out := make(topologyCounts, len(c))
	for key, values := range c {
		vs := make(map[string]int64, len(values))
		for v, n := range values {
			vs[v] = n
		}
		out[key] = vs
	}
	return out
}

// merge adds every count of other into c.
func (c topologyCounts) merge(other topologyCounts) {
	for key, values := range other {
		for value, n := range values {
			c.addValue(key, value, n)
		}
	}
}
