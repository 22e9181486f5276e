package podtopologyspread

import (
	"sync"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// minNodesPerWorker keeps small clusters on the calling goroutine: below this many nodes per
// worker, starting goroutines and merging their maps costs more than it saves.
const minNodesPerWorker = 1024

// workers is the goroutine budget of a count; tests replace it to split counts on any machine.
var workers = decide.Workers

// countDomains calls count for every node of nodes, giving it per-constraint maps (one per
// constraint, of domain to count) to add the node's matching pods into and a matcher of its own
// (from newM), and returns the sums. A domain a count call touches is present in the result, even
// with a count of 0.
//
// Counting visits every pod of the cluster, so large clusters are split into contiguous chunks
// counted concurrently (up to workers() goroutines, each with its own maps and matcher) and
// joined before countDomains returns. count must only read shared state.
func countDomains[V int | int64](nodes []*snapshot.NodeInfo, constraints int, sizeHint func(i int) int,
	newM func() *matcher, count func(n *snapshot.NodeInfo, into []map[string]V, m *matcher)) []map[string]V {
	workers := min(workers(), len(nodes)/minNodesPerWorker)
	if workers <= 1 {
		into, m := newCountMaps[V](constraints, sizeHint, 1), newM()
		for _, n := range nodes {
			count(n, into, m)
		}
		return into
	}
	parts := make([][]map[string]V, workers)
	for w := range parts {
		parts[w] = newCountMaps[V](constraints, sizeHint, workers)
	}
	chunk := (len(nodes) + workers - 1) / workers
	countChunk := func(w int) {
		m := newM()
		for _, n := range nodes[w*chunk : min((w+1)*chunk, len(nodes))] {
			count(n, parts[w], m)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { countChunk(w) })
	}
	countChunk(0)
	wg.Wait()
	for _, part := range parts[1:] {
		for i, m := range part {
			for domain, c := range m {
				parts[0][i][domain] += c
			}
		}
	}
	return parts[0]
}

func newCountMaps[V int | int64](constraints int, sizeHint func(i int) int, workers int) []map[string]V {
	out := make([]map[string]V, constraints)
	for i := range out {
		out[i] = make(map[string]V, sizeHint(i)/workers)
	}
	return out
}
