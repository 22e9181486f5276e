package dynamicresources

import (
	"fmt"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// BenchmarkFilter times one pod with one claim for one device through PreFilter and Filter on
// 500 nodes with 8 devices each (one slice per node), half the devices of each node allocated,
// the class and the request each with a selector.
func BenchmarkFilter(b *testing.B) {
	var nodes []*snapshot.NodeInfo
	objs := []any{class("gpu", "model=a100"), claim("c", exact("r", "gpu", 1, "true"))}
	for i := range 500 {
		name := fmt.Sprintf("n%03d", i)
		nodes = append(nodes, node(name))
		s := slice("s-"+name, name, "pool-"+name)
		for d := range 8 {
			s.Spec.Devices = append(s.Spec.Devices, dev(fmt.Sprintf("gpu%d", d), "model", "a100"))
			if d < 4 {
				objs = append(objs, allocated(claim(fmt.Sprintf("used-%s-%d", name, d)), nil, fmt.Sprintf("pool-%s/gpu%d", name, d)))
			}
		}
		objs = append(objs, s)
	}
	s := snap(nodes, objs...)
	pl := newPlugin(b)
	pod := snapshot.NewPodInfo(podWithClaims("c"))
	b.ReportAllocs()
	for b.Loop() {
		nf, v := pl.PreFilter(pod, s)
		if !v.Fits() {
			b.Fatal(v)
		}
		for _, n := range s.Nodes {
			if v := nf.Filter(n); !v.Fits() {
				b.Fatal(v)
			}
		}
	}
}

// TestFilterConcurrent runs Filter from several goroutines, as the decision does, on nodes where
// the pod fits and nodes where it does not (the race detector checks the shared state).
func TestFilterConcurrent(t *testing.T) {
	var nodes []*snapshot.NodeInfo
	objs := []any{class("gpu", "model=a100"), claim("c", exact("r", "gpu", 2, "true"))}
	for i := range 40 {
		name := fmt.Sprintf("n%02d", i)
		nodes = append(nodes, node(name))
		s := slice("s-"+name, name, "pool-"+name, dev("gpu0", "model", "a100"))
		if i%2 == 0 {
			s.Spec.Devices = append(s.Spec.Devices, dev("gpu1", "model", "a100"))
		}
		objs = append(objs, s)
	}
	s := snap(nodes, objs...)
	nf, v := newPlugin(t).PreFilter(snapshot.NewPodInfo(podWithClaims("c")), s)
	if !v.Fits() {
		t.Fatal(v)
	}
	done := make(chan error)
	for w := range 4 {
		go func() {
			var err error
			for round := range 20 {
				for i, n := range s.Nodes {
					if got := nf.Filter(n).Fits(); got != (i%2 == 0) && err == nil {
						err = fmt.Errorf("worker %d round %d: %s fits = %v", w, round, n.Name(), got)
					}
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
