package volumebinding

import (
	"fmt"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// BenchmarkFilter5000Nodes filters a pod with one claim to provision and one to match against
// static PVs over 5000 nodes.
func BenchmarkFilter5000Nodes(b *testing.B) {
	var nodes []*snapshot.NodeInfo
	objs := []any{newClaim("dyn", "dyn", "1Gi"), class("dyn", wffc, "csi.example"),
		newClaim("static", "local", "1Gi"), class("local", wffc, notSupportedProvision)}
	for i := range 5000 {
		name := fmt.Sprintf("n%04d", i)
		nodes = append(nodes, node(name, "z"))
		if i%10 == 0 {
			objs = append(objs, newPV("pv-"+name, "local", "1Gi", name))
		}
	}
	snap := snapshot.New(nodes, nil)
	snap.Storage = snapshot.StorageOf(nil, objs...)
	pl, _ := New(DefaultArgs())
	pi := snapshot.NewPodInfo(pod("dyn", "static"))
	b.ReportAllocs()
	for b.Loop() {
		nf, _ := pl.PreFilter(pi, snap)
		for _, n := range nodes {
			nf.Filter(n)
		}
	}
}
