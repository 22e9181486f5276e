package preempt

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestPreempt(t *testing.T) {
	never := v1.PreemptNever
	mk := func(name string, prio int32) *snapshot.NodeInfo {
		n := node(2000, pod(name+"-p", prio, 2000, 1))
		n.Node = n.Node.DeepCopy()
		n.Node.Name = name
		return n
	}
	low, high, other := mk("low", 1), mk("high", 9), mk("other", 1)
	snap := snapshot.New([]*snapshot.NodeInfo{low, high, other}, nil)
	tests := []struct {
		name      string
		preemptor *snapshot.PodInfo
		potential []*snapshot.NodeInfo
		want      string // the chosen node, "" for none
		msg       string
	}{
		{name: "evicts on a node with a lower-priority pod", preemptor: pod("p", 5, 1000, -1),
			potential: []*snapshot.NodeInfo{high, low}, want: "low"},
		{name: "no victims anywhere", preemptor: pod("p", 1, 1000, -1), potential: []*snapshot.NodeInfo{low, high},
			msg: "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."},
		{name: "nowhere it might help", preemptor: pod("p", 5, 1000, -1),
			msg: "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."},
		{name: "does not fit even with the victims gone", preemptor: pod("p", 5, 3000, -1), potential: []*snapshot.NodeInfo{low},
			msg: "preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 Preemption is not helpful for scheduling."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, msg, eligible := Preempt(Request{Preemptor: tc.preemptor, Snapshot: snap, Potential: tc.potential,
				Filter: cpuFits(tc.preemptor), Args: DefaultArgs(), Offset: func(int) int { return 0 }, Now: t0})
			got := ""
			if c != nil {
				got = c.Node.Name()
			}
			if got != tc.want || msg != tc.msg || !eligible {
				t.Errorf("Preempt = %q, %q\nwant       %q, %q", got, msg, tc.want, tc.msg)
			}
		})
	}
	p := pod("p", 5, 1000, -1)
	p.Pod.Spec.PreemptionPolicy = &never
	if c, msg, eligible := Preempt(Request{Preemptor: p, Snapshot: snap, Potential: []*snapshot.NodeInfo{low}, Filter: cpuFits(p),
		Args: DefaultArgs(), Offset: func(int) int { return 0 }, Now: t0}); c != nil || eligible || msg != "preemption: "+NotEligibleNever {
		t.Errorf("preemptionPolicy Never: %v, %q", c, msg)
	}
}
