package preempt

import (
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// pod is a pod of cpu millicores and priority, started at minute start (-1: not started).
func pod(name string, prio int32, cpu int64, start int, lbls ...string) *snapshot.PodInfo {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{}},
		Spec: v1.PodSpec{Priority: &prio, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI)}}}}}}
	for i := 0; i+1 < len(lbls); i += 2 {
		p.Labels[lbls[i]] = lbls[i+1]
	}
	if start >= 0 {
		p.Status.StartTime = &metav1.Time{Time: t0.Add(time.Duration(start) * time.Minute)}
	}
	return snapshot.NewPodInfo(p)
}

func node(cpu int64, pods ...*snapshot.PodInfo) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: v1.NodeStatus{
		Allocatable: v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI), v1.ResourcePods: resource.MustParse("110")}}}, pods...)
}

// cpuFits is a filter on cpu alone.
func cpuFits(preemptor *snapshot.PodInfo) Filter {
	return func(n *snapshot.NodeInfo, removed []*snapshot.PodInfo) snapshot.Verdict {
		if n.Requested.MilliCPU+preemptor.Requests.MilliCPU > n.Allocatable.MilliCPU {
			return snapshot.Reject("Insufficient cpu")
		}
		return snapshot.Verdict{}
	}
}

func names(ps []*snapshot.PodInfo) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Pod.Name)
	}
	return out
}

func budget(allowed int32, app string, disrupted ...string) PDB {
	b := PDB{Namespace: "ns", Selector: labels.SelectorFromSet(labels.Set{"app": app}), DisruptionsAllowed: allowed, DisruptedPods: map[string]bool{}}
	for _, d := range disrupted {
		b.DisruptedPods[d] = true
	}
	return b
}

func TestSelectVictims(t *testing.T) {
	full := func() []*snapshot.PodInfo { // 4 cpus, full, priorities 1..4, started in priority order
		return []*snapshot.PodInfo{pod("p1", 1, 1000, 1, "app", "low"), pod("p2", 2, 1000, 2, "app", "low"),
			pod("p3", 3, 1000, 3, "app", "high"), pod("p4", 4, 1000, 4, "app", "high")}
	}
	tests := []struct {
		name       string
		preemptor  *snapshot.PodInfo
		pods       []*snapshot.PodInfo
		fits       func(preemptor *snapshot.PodInfo) Filter
		pdbs       []PDB
		nodeCPU    int64 // 0: 4000
		wantOK     bool
		wantReason string
		victims    []string
		violations int
	}{
		{name: "the least important pods make room", preemptor: pod("big", 10, 2000, -1), pods: full(), fits: cpuFits,
			wantOK: true, victims: []string{"p2", "p1"}},
		{name: "no pod of lower priority", preemptor: pod("big", 1, 2000, -1), pods: full()[:1], fits: cpuFits,
			wantReason: NoVictims},
		{name: "equal priority is not lower", preemptor: pod("big", 4, 2000, -1), pods: full()[3:], fits: cpuFits,
			wantReason: NoVictims},
		{name: "does not fit without every lower-priority pod", preemptor: pod("big", 3, 3000, -1), pods: full(), fits: cpuFits,
			wantReason: "Insufficient cpu"},
		{name: "budgets spare covered pods, even more important ones are evicted instead", preemptor: pod("big", 10, 2000, -1), pods: full(),
			fits: cpuFits, pdbs: []PDB{budget(0, "low")}, wantOK: true, victims: []string{"p4", "p3"}},
		{name: "a budget that cannot be kept counts its violations", preemptor: pod("big", 10, 4000, -1), pods: full(),
			fits: cpuFits, pdbs: []PDB{budget(0, "low")}, wantOK: true, victims: []string{"p4", "p3", "p2", "p1"}, violations: 2},
		{name: "a budget allowing one disruption covers the most important first", preemptor: pod("big", 10, 4000, -1), pods: full(),
			fits: cpuFits, pdbs: []PDB{budget(1, "low")}, wantOK: true, victims: []string{"p4", "p3", "p2", "p1"}, violations: 1},
		{name: "pods the budget already counts as disrupted do not use it up", preemptor: pod("big", 10, 4000, -1), pods: full(),
			fits: cpuFits, pdbs: []PDB{budget(0, "low", "p1", "p2")}, wantOK: true, victims: []string{"p4", "p3", "p2", "p1"}},
		{name: "a budget of another namespace covers nothing", preemptor: pod("big", 10, 4000, -1), pods: full(),
			fits: cpuFits, pdbs: []PDB{{Namespace: "other", Selector: labels.Everything(), DisruptedPods: map[string]bool{}}},
			wantOK: true, victims: []string{"p4", "p3", "p2", "p1"}},
		{name: "equal priorities: the later started is evicted", preemptor: pod("big", 10, 1000, -1),
			pods: []*snapshot.PodInfo{pod("late", 1, 1000, 9), pod("early", 1, 1000, 2)}, fits: cpuFits, nodeCPU: 2000, wantOK: true, victims: []string{"late"}},
		{name: "a pod not started yet counts as started now", preemptor: pod("big", 10, 1000, -1),
			pods: []*snapshot.PodInfo{pod("pending", 1, 1000, -1), pod("running", 1, 1000, 2)}, fits: cpuFits, nodeCPU: 2000, wantOK: true, victims: []string{"pending"}},
		{name: "affinity to a lower-priority pod: no candidate (as upstream)", preemptor: pod("web", 10, 1000, -1),
			pods: []*snapshot.PodInfo{pod("db", 1, 1000, 1), pod("x", 1, 1000, 1)},
			fits: func(pre *snapshot.PodInfo) Filter {
				return func(n *snapshot.NodeInfo, removed []*snapshot.PodInfo) snapshot.Verdict {
					for _, p := range n.Pods {
						if p.Pod.Name == "db" {
							return cpuFits(pre)(n, removed)
						}
					}
					return snapshot.RejectUnresolvable("node(s) didn't match pod affinity rules")
				}
			}, wantReason: "node(s) didn't match pod affinity rules"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cpu := tc.nodeCPU
			if cpu == 0 {
				cpu = 4000
			}
			n := node(cpu, tc.pods...)
			before := names(n.Pods)
			fits := tc.fits(tc.preemptor)
			// Every call must name exactly the pods missing from the trial node as removed.
			checked := func(trial *snapshot.NodeInfo, removed []*snapshot.PodInfo) snapshot.Verdict {
				missing := map[string]bool{}
				for _, p := range n.Pods {
					missing[p.Pod.Name] = true
				}
				for _, p := range trial.Pods {
					delete(missing, p.Pod.Name)
				}
				gone := map[string]bool{}
				for _, p := range removed {
					gone[p.Pod.Name] = true
				}
				if !reflect.DeepEqual(missing, gone) {
					t.Errorf("filter called with removed %v; the trial node lacks %v", gone, missing)
				}
				return fits(trial, removed)
			}
			c, v := SelectVictims(tc.preemptor, n, checked, tc.pdbs, t0.Add(time.Hour))
			ok, reason := v.Fits(), strings.Join(v.Reasons, ", ")
			if ok != tc.wantOK || reason != tc.wantReason {
				t.Fatalf("candidate %v (%q), want %v %q", ok, reason, tc.wantOK, tc.wantReason)
			}
			if !reflect.DeepEqual(names(n.Pods), before) {
				t.Errorf("the node was changed: %v", names(n.Pods))
			}
			if !ok {
				return
			}
			if got := names(c.Victims); !reflect.DeepEqual(got, tc.victims) || c.PDBViolations != tc.violations || c.Node != n {
				t.Errorf("victims %v, %d violations; want %v, %d", got, c.PDBViolations, tc.victims, tc.violations)
			}
		})
	}
}

func TestPickNode(t *testing.T) {
	cand := func(name string, violations int, victims ...*snapshot.PodInfo) Candidate {
		return Candidate{Node: snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}), Victims: victims, PDBViolations: violations}
	}
	tests := []struct {
		name  string
		cands []Candidate
		want  string
	}{
		{name: "fewest budget violations first", want: "b", cands: []Candidate{
			cand("a", 1, pod("v", 1, 0, 1)), cand("b", 0, pod("v", 100, 0, 1), pod("w", 100, 0, 1))}},
		{name: "then the lowest top victim priority", want: "b", cands: []Candidate{
			cand("a", 0, pod("v", 5, 0, 1)), cand("b", 0, pod("v", 4, 0, 1), pod("w", 4, 0, 1), pod("x", 4, 0, 1))}},
		{name: "then the smallest priority sum", want: "a", cands: []Candidate{
			cand("a", 0, pod("v", 5, 0, 1), pod("w", 1, 0, 1)), cand("b", 0, pod("v", 5, 0, 1), pod("w", 2, 0, 1))}},
		{name: "negative priorities: fewer victims sum lower", want: "a", cands: []Candidate{
			cand("a", 0, pod("v", -5, 0, 1)), cand("b", 0, pod("v", -5, 0, 1), pod("w", -5, 0, 1))}},
		{name: "then the fewest victims", want: "b", cands: []Candidate{
			cand("a", 0, pod("v", 3, 0, 1), pod("w", 0, 0, 1), pod("x", 0, 0, 1)), cand("b", 0, pod("v", 3, 0, 1), pod("w", 0, 0, 1))}},
		{name: "then the latest start of the top victims", want: "b", cands: []Candidate{
			cand("a", 0, pod("v", 3, 0, 5), pod("w", 3, 0, 1)), cand("b", 0, pod("v", 3, 0, 4), pod("w", 3, 0, 3))}},
		{name: "then the first", want: "a", cands: []Candidate{
			cand("a", 0, pod("v", 3, 0, 1)), cand("b", 0, pod("v", 3, 0, 1))}},
		{name: "one candidate", want: "a", cands: []Candidate{cand("a", 7, pod("v", 3, 0, 1))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PickNode(tc.cands, t0.Add(time.Hour))
			if got == nil || got.Node.Name() != tc.want {
				t.Errorf("picked %v, want %s", got, tc.want)
			}
		})
	}
	if PickNode(nil, t0) != nil {
		t.Error("no candidates: picked one")
	}
}
