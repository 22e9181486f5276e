package podtopologyspread

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestIndexedCountsMatchNodeByNode checks the topology index against the node-by-node count on
// random clusters (nodes missing keys, pods in other namespaces, terminating pods, shared and
// unique label sets), before and after the snapshot is updated with changed nodes.
func TestIndexedCountsMatchNodeByNode(t *testing.T) {
	constraintSets := []struct {
		name string
		cs   []v1.TopologySpreadConstraint
	}{
		{"zone", []v1.TopologySpreadConstraint{hard("zone", 1, appWeb)}},
		{"hostname", []v1.TopologySpreadConstraint{hard(hostKey, 1, appWeb)}},
		{"zone and hostname", []v1.TopologySpreadConstraint{hard("zone", 1, appWeb), hard(hostKey, 2, tierSelector)}},
		{"zone twice", []v1.TopologySpreadConstraint{hard("zone", 1, appWeb), hard("zone", 1, tierSelector)}},
		{"rack, often missing", []v1.TopologySpreadConstraint{hard("rack", 1, tierSelector)}},
		{"empty selector", []v1.TopologySpreadConstraint{hard("zone", 1, &metav1.LabelSelector{})}},
		{"nil selector", []v1.TopologySpreadConstraint{hard("zone", 1, nil)}},
	}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		nodes := make([]*snapshot.NodeInfo, 30+rng.IntN(40))
		for i := range nodes {
			nodes[i] = randomNode(rng, fmt.Sprintf("n%d", i))
		}
		s := snap(nodes...)
		for step := range 3 {
			for _, set := range constraintSets {
				t.Run(fmt.Sprintf("seed %d/step %d/%s", seed, step, set.name), func(t *testing.T) {
					pod := web(spread(set.cs...))
					cs, err := parseConstraints(pod.Spec.TopologySpreadConstraints, pod.Labels, v1.DoNotSchedule, "spec")
					if err != nil {
						t.Fatal(err)
					}
					f := &spreadFilter{namespace: pod.Namespace, constraints: cs, inclusion: newInclusion(pod, cs)}
					got, ok := indexedCounts(s, cs, &f.inclusion, pod.Namespace)
					if !ok {
						t.Fatal("indexedCounts declined a pod without node affinity")
					}
					want := countDomains(s.Nodes, len(cs), func(int) int { return 0 },
						func() *matcher { return newMatcher(cs, pod.Namespace) }, f.countNode)
					for i := range cs {
						if !maps.Equal(got[i], want[i]) {
							t.Errorf("constraint %d: indexed %v, node by node %v", i, got[i], want[i])
						}
					}
				})
			}
			// Change a few nodes as the cache would: clones with pods added, removed or terminating.
			var changed []*snapshot.NodeInfo
			for range 1 + rng.IntN(5) {
				n := s.Nodes[rng.IntN(len(s.Nodes))].Clone()
				changeNode(rng, n)
				changed = append(changed, n)
			}
			if !s.Update(changed) {
				t.Fatal("Update refused nodes of the snapshot")
			}
		}
	}
}

var tierSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
	{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}},
}}

func randomNode(rng *rand.Rand, name string) *snapshot.NodeInfo {
	kv := []string{hostKey, name}
	if rng.IntN(8) != 0 {
		kv = append(kv, "zone", fmt.Sprintf("z%d", rng.IntN(4)))
	}
	if rng.IntN(3) == 0 {
		kv = append(kv, "rack", fmt.Sprintf("r%d", rng.IntN(3)))
	}
	n := mkNode(name, kv)
	for range rng.IntN(6) {
		n.AddPod(snapshot.NewPodInfo(randomPod(rng, name)))
	}
	return n
}

func randomPod(rng *rand.Rand, node string) *v1.Pod {
	var opts []podOpt
	if rng.IntN(6) == 0 {
		opts = append(opts, inNamespace("other"))
	}
	if rng.IntN(8) == 0 {
		opts = append(opts, terminating())
	}
	kv := []string{"app", []string{"web", "db"}[rng.IntN(2)], "tier", []string{"a", "b", "c"}[rng.IntN(3)]}
	if rng.IntN(4) == 0 {
		kv = append(kv, "unique", fmt.Sprint(rng.Uint64()))
	}
	p := mkPod(kv, opts...)
	p.Spec.NodeName = node
	return p
}

// changeNode adds or removes pods of n, or swaps one for a terminating copy.
func changeNode(rng *rand.Rand, n *snapshot.NodeInfo) {
	switch rng.IntN(3) {
	case 0:
		n.AddPod(snapshot.NewPodInfo(randomPod(rng, n.Name())))
	case 1:
		if len(n.Pods) > 0 {
			n.RemovePod(n.Pods[rng.IntN(len(n.Pods))])
		}
	default:
		if len(n.Pods) > 0 {
			old := n.Pods[rng.IntN(len(n.Pods))]
			p := old.Pod.DeepCopy()
			now := metav1.Now()
			p.DeletionTimestamp = &now
			n.RemovePod(old)
			n.AddPod(snapshot.NewPodInfo(p))
		}
	}
}

// TestIndexedCountsDecline checks that pods whose node inclusion excludes nodes, and pods
// without a LabelsID on the nodes, are counted node by node.
func TestIndexedCountsDecline(t *testing.T) {
	withID := snap(zoned("a", "z1", web()), zoned("b", "z2"))
	noID := zoned("c", "z1")
	noID.AddPod(&snapshot.PodInfo{Pod: web()})
	tests := []struct {
		name string
		pod  *v1.Pod
		snap *snapshot.Snapshot
	}{
		{"node selector", web(spread(hard("zone", 1, appWeb)), nodeSelector("zone", "z1")), withID},
		{"taints honoured", web(spread(hard("zone", 1, appWeb, taintsPolicy(v1.NodeInclusionPolicyHonor)))), withID},
		{"pod without LabelsID", web(spread(hard("zone", 1, appWeb))), snap(noID)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := parseConstraints(tc.pod.Spec.TopologySpreadConstraints, tc.pod.Labels, v1.DoNotSchedule, "spec")
			if err != nil {
				t.Fatal(err)
			}
			in := newInclusion(tc.pod, cs)
			if _, ok := indexedCounts(tc.snap, cs, &in, tc.pod.Namespace); ok {
				t.Error("indexedCounts answered; want it to decline")
			}
		})
	}
	t.Run("node selector ignored by policy", func(t *testing.T) {
		pod := web(spread(hard("zone", 1, appWeb, affinityPolicy(v1.NodeInclusionPolicyIgnore))), nodeSelector("zone", "z1"))
		cs, _ := parseConstraints(pod.Spec.TopologySpreadConstraints, pod.Labels, v1.DoNotSchedule, "spec")
		in := newInclusion(pod, cs)
		got, ok := indexedCounts(withID, cs, &in, pod.Namespace)
		if want := map[string]int{"z1": 1, "z2": 0}; !ok || !maps.Equal(got[0], want) {
			t.Errorf("indexedCounts = %v, %v; want %v, true", got, ok, want)
		}
	})
}
