package interpodaffinity

import (
	"sync"

	"github.com/berth-scheduler/berth/scheduler/decide"
)

// minNodesPerChunk keeps small clusters on one goroutine, where starting others costs more than
// the scan they would share.
const minNodesPerChunk = 256

// workers is the goroutine budget of a scan; tests replace it to split scans on any machine.
var workers = decide.Workers

// chunks splits n nodes into at most workers() contiguous ranges of at least minNodesPerChunk
// (one range when n is small) and returns how many there are.
func chunks(n int) int {
	return max(1, min(workers(), n/minNodesPerChunk))
}

// inParallel calls work(i, lo, hi) for each of k contiguous ranges [lo, hi) covering 0..n, one
// goroutine per range, and returns when all calls have returned. With k == 1 it runs inline.
func inParallel(n, k int, work func(i, lo, hi int)) {
	if k <= 1 {
		work(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range k {
		lo, hi := i*n/k, (i+1)*n/k
		wg.Go(func() { work(i, lo, hi) })
	}
	wg.Wait()
}
