package noderesources

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var (
	_ decide.FilterPlugin = (*Fit)(nil)
	_ decide.ScorePlugin  = (*Fit)(nil)
	_ decide.ScorePlugin  = (*BalancedAllocation)(nil)
)

// rl builds a ResourceList from name, quantity pairs.
func rl(kv ...string) v1.ResourceList {
	out := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

var podSeq int

// podWith returns a pod with one app container requesting kv (name, quantity pairs).
func podWith(kv ...string) *snapshot.PodInfo {
	return podSpec(v1.PodSpec{Containers: []v1.Container{{Name: "app", Resources: v1.ResourceRequirements{Requests: rl(kv...)}}}})
}

func podSpec(spec v1.PodSpec) *snapshot.PodInfo {
	podSeq++
	name := fmt.Sprintf("pod-%d", podSeq)
	return snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)}, Spec: spec})
}

// nodeWith returns a node with the given allocatable and pods.
func nodeWith(name string, alloc v1.ResourceList, pods ...*snapshot.PodInfo) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status:     v1.NodeStatus{Allocatable: alloc, Capacity: alloc},
	}, pods...)
}

func mustFit(t testing.TB, args NodeResourcesFitArgs) *Fit {
	t.Helper()
	f, err := NewFit(args)
	if err != nil {
		t.Fatalf("NewFit: %v", err)
	}
	return f
}

func mustBalanced(t testing.TB, args NodeResourcesBalancedAllocationArgs) *BalancedAllocation {
	t.Helper()
	b, err := NewBalancedAllocation(args)
	if err != nil {
		t.Fatalf("NewBalancedAllocation: %v", err)
	}
	return b
}

// scoreAll runs PreScore and Score over nodes; nil scorer gives all zeros and ok false.
func scoreAll(pl decide.ScorePlugin, pod *snapshot.PodInfo, nodes []*snapshot.NodeInfo) (scores []int64, ok bool) {
	snap := snapshot.New(nodes, nil)
	s := pl.PreScore(pod, snap, snap.Nodes)
	scores = make([]int64, len(nodes))
	if s == nil {
		return scores, false
	}
	for i, n := range nodes {
		scores[i] = s.Score(n)
	}
	return scores, true
}
