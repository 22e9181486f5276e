package nodename

import (
	"fmt"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.FilterPlugin = (*NodeName)(nil)

func node(name string) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

func pod(nodeName string) *snapshot.PodInfo {
	return snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1.PodSpec{NodeName: nodeName}})
}

func TestFilter(t *testing.T) {
	reject := snapshot.Verdict{Reasons: []string{"node(s) didn't match the requested node name"}, Unresolvable: true}
	tests := []struct {
		name        string
		pod         *snapshot.PodInfo
		node        *snapshot.NodeInfo
		want        snapshot.Verdict
		wantNoCheck bool
	}{
		{name: "no node name: nothing to check", pod: pod(""), node: node("a"), wantNoCheck: true},
		{name: "named node fits", pod: pod("a"), node: node("a")},
		{name: "other node rejected", pod: pod("a"), node: node("b"), want: reject},
		{name: "prefix is not a match", pod: pod("node-1"), node: node("node-10"), want: reject},
		{name: "node object unknown", pod: pod("a"), node: snapshot.NewNodeInfo(nil), want: reject},
	}
	pl := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, v := pl.PreFilter(tc.pod, snapshot.New([]*snapshot.NodeInfo{tc.node}, nil))
			if !v.Fits() {
				t.Fatalf("PreFilter rejected the pod: %+v", v)
			}
			if (f == nil) != tc.wantNoCheck {
				t.Fatalf("PreFilter filter nil = %v, want %v", f == nil, tc.wantNoCheck)
			}
			if f == nil {
				return
			}
			if got := f.Filter(tc.node); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func BenchmarkFilter5000(b *testing.B) {
	nodes := make([]*snapshot.NodeInfo, 5000)
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("node-%d", i))
	}
	f, _ := New().PreFilter(pod("node-4999"), snapshot.New(nodes, nil))
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nodes {
			f.Filter(n)
		}
	}
}

var _ decide.NodeObjectFilter = nameFilter("")
