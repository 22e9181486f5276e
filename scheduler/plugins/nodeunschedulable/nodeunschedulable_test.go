package nodeunschedulable

import (
	"fmt"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.FilterPlugin = (*NodeUnschedulable)(nil)

func node(name string, cordoned bool) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{Unschedulable: cordoned}})
}

func pod(tols ...v1.Toleration) *snapshot.PodInfo {
	return snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1.PodSpec{Tolerations: tols}})
}

func TestFilter(t *testing.T) {
	reject := snapshot.Verdict{Reasons: []string{"node(s) were unschedulable"}, Unresolvable: true}
	tests := []struct {
		name        string
		pod         *snapshot.PodInfo
		node        *snapshot.NodeInfo
		want        snapshot.Verdict
		wantNoCheck bool // PreFilter returns a nil filter
	}{
		{name: "schedulable node", pod: pod(), node: node("n", false)},
		{name: "cordoned node", pod: pod(), node: node("n", true), want: reject},
		{name: "exact toleration", node: node("n", true), wantNoCheck: true,
			pod: pod(v1.Toleration{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule})},
		{name: "toleration without effect", node: node("n", true), wantNoCheck: true,
			pod: pod(v1.Toleration{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists})},
		{name: "wildcard toleration", node: node("n", true), wantNoCheck: true,
			pod: pod(v1.Toleration{Operator: v1.TolerationOpExists})},
		{name: "toleration for NoExecute only", node: node("n", true), want: reject,
			pod: pod(v1.Toleration{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute})},
		{name: "toleration with a value does not match the valueless taint", node: node("n", true), want: reject,
			pod: pod(v1.Toleration{Key: v1.TaintNodeUnschedulable, Value: "true"})},
		{name: "node object unknown", pod: pod(), node: snapshot.NewNodeInfo(nil)},
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
		nodes[i] = node(fmt.Sprintf("node-%d", i), i%10 == 0)
	}
	f, _ := New().PreFilter(pod(), snapshot.New(nodes, nil))
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nodes {
			f.Filter(n)
		}
	}
}

var _ decide.NodeObjectFilter = cordonFilter{}
