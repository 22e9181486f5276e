package interpodaffinity

import (
	"fmt"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
)

const (
	benchNodes       = 5000
	benchPodsPerNode = 10
	benchZones       = 10
	benchApps        = 50
)

// benchCluster is 5000 nodes in 10 zones, 10 pods each from 50 apps; every 20th pod keeps its app
// off its node by required anti-affinity and every 7th prefers its app's zone.
func benchCluster(b *testing.B) *snapshot.Snapshot {
	b.Helper()
	nodes := make([]placed, benchNodes)
	k := 0
	for i := range nodes {
		name := fmt.Sprintf("node-%d", i)
		n := mkNode(name, hostKey, name, zoneKey, fmt.Sprintf("zone-%d", i%benchZones), regionKey, "r1")
		pods := make([]*v1.Pod, benchPodsPerNode)
		for j := range pods {
			app := fmt.Sprintf("app-%d", k%benchApps)
			pb := testPod(fmt.Sprintf("p-%d", k)).labels("app", app, "tier", fmt.Sprintf("t%d", k%3))
			if k%20 == 0 {
				pb.anti(term(hostKey, labelsAre("app", app)))
			}
			if k%7 == 0 {
				pb.prefer(10, term(zoneKey, labelsAre("app", app)))
			}
			pods[j] = pb.obj()
			k++
		}
		nodes[i] = on(n, pods...)
	}
	return buildSnapshot(b, nodes, nil)
}

// benchPod has required anti-affinity on hostname and on zone.
func benchPod() *snapshot.PodInfo {
	return snapshot.NewPodInfo(testPod("incoming").labels("app", "app-3", "tier", "t1").
		anti(term(hostKey, labelsAre("app", "app-3")), term(zoneKey, labelsAre("app", "app-3", "tier", "t2"))).
		prefer(20, term(zoneKey, labelsAre("tier", "t0"))).obj())
}

func BenchmarkPreFilter(b *testing.B) {
	snap, pod, pl := benchCluster(b), benchPod(), newPlugin(b, DefaultArgs())
	b.ReportAllocs()
	for b.Loop() {
		pl.PreFilter(pod, snap)
	}
}

// BenchmarkFilter filters all 5000 nodes per iteration.
func BenchmarkFilter(b *testing.B) {
	snap, pod, pl := benchCluster(b), benchPod(), newPlugin(b, DefaultArgs())
	f, v := pl.PreFilter(pod, snap)
	if f == nil || !v.Fits() {
		b.Fatalf("PreFilter = %v, %+v", f, v)
	}
	fits := 0
	for _, n := range snap.Nodes {
		if f.Filter(n).Fits() {
			fits++
		}
	}
	b.Logf("%d of %d nodes fit", fits, len(snap.Nodes))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, n := range snap.Nodes {
			f.Filter(n)
		}
	}
}

func BenchmarkPreScore(b *testing.B) {
	snap, pod, pl := benchCluster(b), benchPod(), newPlugin(b, DefaultArgs())
	b.ReportAllocs()
	for b.Loop() {
		pl.PreScore(pod, snap, snap.Nodes)
	}
}

// BenchmarkScore scores and normalises all 5000 nodes per iteration.
func BenchmarkScore(b *testing.B) {
	snap, pod, pl := benchCluster(b), benchPod(), newPlugin(b, DefaultArgs())
	s := pl.PreScore(pod, snap, snap.Nodes)
	if s == nil {
		b.Fatal("PreScore returned nil")
	}
	scores := make([]int64, len(snap.Nodes))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, n := range snap.Nodes {
			scores[i] = s.Score(n)
		}
		s.(*scorer).Normalize(scores)
	}
}
