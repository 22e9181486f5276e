package preempt

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestEligible(t *testing.T) {
	never := v1.PreemptNever
	terminating := func(name string, prio int32, reason string) *snapshot.PodInfo {
		p := pod(name, prio, 100, 1)
		p.Pod.DeletionTimestamp = &metav1.Time{Time: t0}
		if reason != "" {
			p.Pod.Status.Conditions = []v1.PodCondition{{Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: reason}}
		}
		return p
	}
	n1 := snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}},
		terminating("victim", 1, v1.PodReasonPreemptionByScheduler), terminating("other", 1, "DeletionByTaintManager"))
	n2 := snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, terminating("peer", 10, v1.PodReasonPreemptionByScheduler))
	snap := snapshot.New([]*snapshot.NodeInfo{n1, n2}, nil)
	preemptor := func(prio int32, nominated string, policy *v1.PreemptionPolicy) *v1.Pod {
		p := pod("p", prio, 100, -1).Pod
		p.Status.NominatedNodeName, p.Spec.PreemptionPolicy = nominated, policy
		return p
	}
	tests := []struct {
		name         string
		pod          *v1.Pod
		unresolvable bool
		want         bool
		reason       string
	}{
		{name: "not nominated", pod: preemptor(10, "", nil), want: true},
		{name: "preemptionPolicy Never", pod: preemptor(10, "", &never), reason: NotEligibleNever},
		{name: "a victim still terminating on the nominated node", pod: preemptor(10, "n1", nil), reason: NotEligibleTerminating},
		{name: "the nominated node ruled out for good", pod: preemptor(10, "n1", nil), unresolvable: true, want: true},
		{name: "terminating pods of equal or higher priority do not hold it", pod: preemptor(10, "n2", nil), want: true},
		{name: "a nominated node that is gone", pod: preemptor(10, "gone", nil), want: true},
		{name: "lower priority than the terminating pod", pod: preemptor(1, "n1", nil), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := Eligible(tc.pod, tc.pod.Status.NominatedNodeName, snap, tc.unresolvable)
			if ok != tc.want || reason != tc.reason {
				t.Errorf("Eligible = %v %q, want %v %q", ok, reason, tc.want, tc.reason)
			}
		})
	}
}

func TestNumCandidates(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		pct, abs int32
		want     int
	}{
		{"defaults on 5000 nodes: 10%", 5000, 10, 100, 500},
		{"defaults on 500 nodes: the absolute floor", 500, 10, 100, 100},
		{"no more than there are nodes", 30, 10, 100, 30},
		{"zero floor", 50, 10, 0, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NumCandidates(tc.n, tc.pct, tc.abs); got != tc.want {
				t.Errorf("NumCandidates = %d, want %d", got, tc.want)
			}
		})
	}
}
