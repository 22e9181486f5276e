package interpodaffinity

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The tests in this file compare the plugin with a direct, quadratic reading of the rules on a
// cluster big enough for PreFilter and PreScore to split their scans among goroutines.

type located struct {
	pod  *snapshot.PodInfo
	node map[string]string // labels of the node it runs on
}

func allPods(snap *snapshot.Snapshot) []located {
	var out []located
	for _, n := range snap.Nodes {
		for _, p := range n.Pods {
			out = append(out, located{p, n.Node.Labels})
		}
	}
	return out
}

func sameDomain(a, b map[string]string, key string) bool {
	va, ok := a[key]
	vb, ok2 := b[key]
	return ok && ok2 && va == vb
}

// naiveFilter judges pod on the node with labels node straight from the rules; pods are all the
// pods of snap.
func naiveFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot, pods []located, node map[string]string) snapshot.Verdict {
	aff, anti := newPodTerms(pod.RequiredAffinity), newPodTerms(pod.RequiredAntiAffinity)
	if len(aff) > 0 {
		var matching []located // pods matching every affinity term
		for _, e := range pods {
			if matchesAll(aff, e.pod.Pod, snap.NamespaceLabels) {
				matching = append(matching, e)
			}
		}
		satisfied, counted := true, false
		for i := range aff {
			key := aff[i].TopologyKey
			if _, ok := node[key]; !ok {
				return noAff
			}
			found := false
			for _, e := range matching {
				found = found || sameDomain(node, e.node, key)
				_, hasKey := e.node[key]
				counted = counted || hasKey
			}
			satisfied = satisfied && found
		}
		// The first pod of a group: no matching pod in any domain, and the pod matches itself.
		if !satisfied && (counted || !matchesAll(aff, pod.Pod, snap.NamespaceLabels)) {
			return noAff
		}
	}
	for i := range anti {
		for _, e := range pods {
			if anti[i].matches(e.pod.Pod, snap.NamespaceLabels) && sameDomain(node, e.node, anti[i].TopologyKey) {
				return noAnti
			}
		}
	}
	for _, e := range pods {
		for i := range e.pod.RequiredAntiAffinity {
			t := &e.pod.RequiredAntiAffinity[i]
			if t.Matches(pod.Pod, snap.Namespace(pod.Pod.Namespace)) && sameDomain(node, e.node, t.TopologyKey) {
				return noExisting
			}
		}
	}
	return fit
}

// naiveScore is the raw score of pod on node straight from the rules.
func naiveScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, pods []located, node map[string]string, hard int64) int64 {
	var sum int64
	add := func(e located, key string, w int64) {
		if sameDomain(node, e.node, key) {
			sum += w
		}
	}
	own := append(newWeightedPodTerms(pod.PreferredAffinity, 1), newWeightedPodTerms(pod.PreferredAntiAffinity, -1)...)
	nsl := snap.Namespace(pod.Pod.Namespace)
	for _, e := range pods {
		for i := range own {
			if own[i].matches(e.pod.Pod, snap.NamespaceLabels) {
				add(e, own[i].TopologyKey, own[i].weight)
			}
		}
		for _, t := range e.pod.RequiredAffinity {
			if t.Matches(pod.Pod, nsl) {
				add(e, t.TopologyKey, hard)
			}
		}
		for _, t := range e.pod.PreferredAffinity {
			if t.Matches(pod.Pod, nsl) {
				add(e, t.TopologyKey, int64(t.Weight))
			}
		}
		for _, t := range e.pod.PreferredAntiAffinity {
			if t.Matches(pod.Pod, nsl) {
				add(e, t.TopologyKey, -int64(t.Weight))
			}
		}
	}
	return sum
}

// randomCluster has nodes in a few zones (some without a zone label) running pods of a few apps,
// some of them with terms of their own.
func randomCluster(t *testing.T, rng *rand.Rand, nodes int) *snapshot.Snapshot {
	t.Helper()
	keys := []string{hostKey, zoneKey}
	apps := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	placedNodes := make([]placed, nodes)
	for i := range placedNodes {
		name := fmt.Sprintf("node-%d", i)
		pairs := []string{hostKey, name}
		if rng.IntN(10) > 0 {
			pairs = append(pairs, zoneKey, fmt.Sprintf("z%d", rng.IntN(6)))
		}
		var pods []*v1.Pod
		for j := range rng.IntN(3) {
			b := testPod(fmt.Sprintf("p-%d-%d", i, j)).labels("app", apps[rng.IntN(len(apps))])
			if rng.IntN(40) == 0 {
				b.in("other")
			}
			sel := labelsAre("app", apps[rng.IntN(len(apps))])
			key := keys[rng.IntN(len(keys))]
			switch rng.IntN(60) {
			case 0:
				b.anti(term(key, sel))
			case 1:
				b.affinity(term(key, sel))
			case 2:
				b.prefer(int32(1+rng.IntN(100)), term(key, sel))
			case 3:
				b.avoid(int32(1+rng.IntN(100)), term(key, sel))
			}
			pods = append(pods, b.obj())
		}
		placedNodes[i] = on(mkNode(name, pairs...), pods...)
	}
	return buildSnapshot(t, placedNodes, nil)
}

func TestAgainstNaiveRules(t *testing.T) {
	old := workers
	workers = func() int { return 2 } // split the scans whatever this machine's CPUs
	t.Cleanup(func() { workers = old })
	rng := rand.New(rand.NewPCG(7, 11))
	// 600 nodes: enough for two goroutines per scan.
	snap := randomCluster(t, rng, 2*minNodesPerChunk+88)
	pods := allPods(snap)
	sel := func(app string) *metav1.LabelSelector { return labelsAre("app", app) }
	incoming := []*v1.Pod{
		testPod("x1").labels("app", "a").anti(term(zoneKey, sel("b"))).obj(),
		testPod("x2").labels("app", "c").anti(term(hostKey, sel("c")), term(zoneKey, sel("d"))).obj(),
		testPod("x3").labels("app", "e").affinity(term(zoneKey, sel("e"))).obj(),
		testPod("x4").labels("app", "zz").affinity(term(zoneKey, sel("zz"))).obj(),
		testPod("x5").labels("app", "f").affinity(term(zoneKey, sel("g")), term(hostKey, labelsAre())).obj(),
		testPod("x6").labels("app", "h").prefer(30, term(zoneKey, sel("a"))).avoid(70, term(hostKey, sel("b"))).obj(),
		testPod("x7").labels("app", "b").obj(),
	}
	pl := newPlugin(t, Args{HardPodAffinityWeight: 3})
	for _, pod := range incoming {
		t.Run(pod.Name, func(t *testing.T) {
			pi := snapshot.NewPodInfo(pod)
			f, v := pl.PreFilter(pi, snap)
			if !v.Fits() {
				t.Fatalf("PreFilter verdict %+v", v)
			}
			got := filterAll(t, f, snap)
			want := verdicts{}
			for _, n := range snap.Nodes {
				want[n.Name()] = naiveFilter(pi, snap, pods, n.Node.Labels)
			}
			tally := map[string]int{}
			for _, v := range got {
				tally[fmt.Sprint(v.Reasons)]++
			}
			t.Logf("verdicts: %v", tally)
			if !reflect.DeepEqual(got, want) {
				for name := range want {
					if !reflect.DeepEqual(got[name], want[name]) {
						t.Errorf("%s: got %v, want %v", name, got[name], want[name])
					}
				}
			}

			s := pl.PreScore(pi, snap, snap.Nodes)
			var nonZero int
			for _, n := range snap.Nodes {
				var raw int64
				if s != nil {
					raw = s.Score(n)
				}
				if want := naiveScore(pi, snap, pods, n.Node.Labels, 3); raw != want {
					t.Errorf("raw score on %s = %d, want %d", n.Name(), raw, want)
				}
				if raw != 0 {
					nonZero++
				}
			}
			t.Logf("%d nodes with a non-zero raw score", nonZero)
		})
	}
}
