package podtopologyspread

import (
	"fmt"
	"maps"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestCountDomainsInParallel checks that splitting a large cluster over goroutines counts the
// same as counting by hand, including domains whose count is 0.
func TestCountDomainsInParallel(t *testing.T) {
	splitScans(t, 3)
	const nodes = 3 * minNodesPerWorker
	infos := make([]*snapshot.NodeInfo, nodes)
	wantZone := map[string]int{}
	for i := range infos {
		zone := fmt.Sprintf("z%d", i%7)
		var pods []*v1.Pod
		if i%3 != 0 { // zone z0 still gets nodes without matching pods
			pods = append(pods, web(), other())
			wantZone[zone]++
		}
		wantZone[zone] += 0
		infos[i] = zoned(fmt.Sprintf("n%d", i), zone, pods...)
	}
	// Two constraints on different keys: zone (few domains) and hostname (one per node).
	pod := web(spread(hard("zone", 5, appWeb), hard(hostKey, 5, appWeb)), spread(soft("zone", 1, appWeb)))
	s := snap(infos...)
	nf, v := mustNew(t, DefaultArgs(), nil).PreFilter(snapshot.NewPodInfo(pod), s)
	if !v.Fits() {
		t.Fatalf("PreFilter rejected: %+v", v)
	}
	f := nf.(*spreadFilter)
	if !maps.Equal(f.counts[0], wantZone) {
		t.Errorf("zone counts = %v, want %v", f.counts[0], wantZone)
	}
	if len(f.counts[1]) != nodes {
		t.Errorf("hostname domains = %d, want %d", len(f.counts[1]), nodes)
	}
	total := 0
	for _, c := range f.counts[1] {
		total += c
	}
	if want := nodes - nodes/3; total != want {
		t.Errorf("hostname total = %d, want %d", total, want)
	}
	if f.minCount(1) != 0 {
		t.Errorf("hostname minimum = %d, want 0", f.minCount(1))
	}

	sc := mustNew(t, DefaultArgs(), nil).PreScore(snapshot.NewPodInfo(pod), s, s.Nodes).(*spreadScorer)
	for zone, want := range wantZone {
		if got := sc.counts[0][zone]; got != int64(want) {
			t.Errorf("score counts[%s] = %d, want %d", zone, got, want)
		}
	}
}

// splitScans lets scans use k goroutines for the rest of the test, whatever this machine's CPUs.
func splitScans(t *testing.T, k int) {
	old := workers
	workers = func() int { return k }
	t.Cleanup(func() { workers = old })
}
