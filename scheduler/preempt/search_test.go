package preempt

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestPDBsFrom(t *testing.T) {
	web := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}
	budget := func(sel *metav1.LabelSelector, allowed int32, disrupted ...string) *policyv1.PodDisruptionBudget {
		b := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns"},
			Spec:   policyv1.PodDisruptionBudgetSpec{Selector: sel, MinAvailable: &intstr.IntOrString{IntVal: 1}},
			Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, DisruptedPods: map[string]metav1.Time{}}}
		for _, d := range disrupted {
			b.Status.DisruptedPods[d] = metav1.Now()
		}
		return b
	}
	webPod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "ns", Labels: map[string]string{"app": "web"}}}
	tests := []struct {
		name   string
		budget *policyv1.PodDisruptionBudget
		covers bool
	}{
		{"selector matches", budget(web, 0), true},
		{"no selector covers nothing", budget(nil, 0), false},
		{"empty selector covers nothing", budget(&metav1.LabelSelector{}, 0), false},
		{"invalid selector covers nothing", budget(bad, 0), false},
		{"already disrupted", budget(web, 0, "w"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PDBsFrom([]*policyv1.PodDisruptionBudget{tc.budget})
			if len(got) != 1 || got[0].covers(webPod) != tc.covers || got[0].DisruptionsAllowed != tc.budget.Status.DisruptionsAllowed {
				t.Errorf("PDBsFrom = %+v; covers the pod: want %v", got, tc.covers)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	// Five 2-cpu nodes: n0 and n3 run only equal-priority pods, the rest one low-priority pod of
	// 2 cpus; the preemptor needs 1 cpu at priority 5.
	mk := func(name string, prio int32, app string) *snapshot.NodeInfo {
		n := node(2000, pod(name+"-p", prio, 2000, 1, "app", app))
		n.Node = n.Node.DeepCopy()
		n.Node.Name = name
		return n
	}
	nodes := []*snapshot.NodeInfo{mk("n0", 5, "a"), mk("n1", 1, "a"), mk("n2", 1, "guarded"), mk("n3", 5, "a"), mk("n4", 1, "a")}
	preemptor := pod("big", 5, 1000, -1)
	guard := []PDB{budget(0, "guarded")}
	names := func(cs []Candidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Node.Name())
		}
		return out
	}
	tests := []struct {
		name     string
		offset   int
		want     int
		cands    []string
		rejected []string
	}{
		{name: "stops after enough", offset: 0, want: 1, cands: []string{"n1"}, rejected: []string{"n0"}},
		{name: "starts at the offset and wraps", offset: 3, want: 2, cands: []string{"n4", "n1"}, rejected: []string{"n3", "n0"}},
		{name: "candidates that all violate a budget do not stop the search", offset: 2, want: 1, cands: []string{"n4", "n2"}, rejected: []string{"n3"}},
		{name: "with one candidate without violations, those with count too", offset: 1, want: 2, cands: []string{"n1", "n2"}},
		{name: "candidates with violations come last", offset: 2, want: 3, cands: []string{"n4", "n1", "n2"}, rejected: []string{"n3", "n0"}},
		{name: "tries every node at most once", offset: 0, want: 10, cands: []string{"n1", "n4", "n2"}, rejected: []string{"n0", "n3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cands, rejected := Search(preemptor, nodes, tc.offset, tc.want, cpuFits(preemptor), guard, t0)
			if got := names(cands); !slices.Equal(got, tc.cands) {
				t.Errorf("candidates %v, want %v", got, tc.cands)
			}
			if len(rejected) != len(tc.rejected) {
				t.Errorf("rejected %v, want %v", rejected, tc.rejected)
			}
			for _, n := range tc.rejected {
				if v, ok := rejected[n]; !ok || v.Reasons[0] != NoVictims {
					t.Errorf("%s: rejected %+v, want %q", n, v, NoVictims)
				}
			}
		})
	}
	if c, r := Search(preemptor, nil, 0, 3, cpuFits(preemptor), nil, t0); c != nil || r != nil {
		t.Error("no nodes: found something")
	}
}
