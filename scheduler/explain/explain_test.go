package explain_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/explain"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// cluster is a test cluster: nodes, and the pods already running on them.
type cluster struct {
	nodes []*v1.Node
	pods  []*v1.Pod
}

func (c cluster) snapshot() *snapshot.Snapshot {
	var list []*snapshot.NodeInfo
	for _, n := range c.nodes {
		ni := snapshot.NewNodeInfo(n)
		for _, p := range c.pods {
			if p.Spec.NodeName == n.Name {
				ni.AddPod(snapshot.NewPodInfo(p))
			}
		}
		list = append(list, ni)
	}
	return snapshot.New(list, nil)
}

func node(name, cpu, zone string, opts ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone, v1.LabelHostname: name}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110"),
		}},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func tainted(key, value string) func(*v1.Node) {
	return func(n *v1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: key, Value: value, Effect: v1.TaintEffectNoSchedule})
	}
}

func cordoned(n *v1.Node) { n.Spec.Unschedulable = true }

func pod(name, cpu, nodeName string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.PodSpec{NodeName: nodeName, SchedulerName: scheduler.DefaultSchedulerName, Containers: []v1.Container{{
			Name: "c", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}},
		}}},
	}
}

func withSelector(k, v string) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{k: v} }
}

func newDecider(t testing.TB) *decide.Decider {
	t.Helper()
	prof, err := scheduler.DefaultProfile(scheduler.DefaultSchedulerName, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	return prof.Decider.(*decide.Decider)
}

// hint is a hint the report must give, and the change it suggests, applied to a copy of the
// cluster and the pod: after it the real decision must place the pod on one of fitsOn.
type hint struct {
	text   string
	change func(c *cluster, p *v1.Pod)
	fitsOn []string
}

func TestBuild(t *testing.T) {
	mixed := cluster{
		nodes: []*v1.Node{
			node("full-1", "4", "eu-1a"), node("full-2", "4", "eu-1a"),
			node("gpu-1", "8", "eu-1b", tainted("dedicated", "gpu")),
			node("cordoned", "8", "eu-1b", cordoned),
			node("small", "500m", "eu-1b"),
		},
		pods: []*v1.Pod{pod("big-1", "3700m", "full-1"), pod("big-2", "3700m", "full-2")},
	}
	tests := []struct {
		name       string
		cluster    cluster
		pod        *v1.Pod
		podOpts    []func(*v1.Pod)
		wantNode   string // "" fits nowhere
		wantGroups map[string]int
		wantMiss   map[string]string // node -> one Missing line
		hints      []hint
	}{
		{
			name: "mixed reasons", cluster: mixed, pod: pod("p", "600m", ""),
			wantGroups: map[string]int{
				"NodeResourcesFit: Insufficient cpu": 3, "TaintToleration: node(s) had untolerated taint(s)": 1,
				"NodeUnschedulable: node(s) were unschedulable": 1,
			},
			wantMiss: map[string]string{"full-1": "cpu: requests 600m, free 300m", "small": "cpu: requests 600m, free 500m"},
			hints: []hint{
				{text: "1 node lacks only 100m cpu (small)", fitsOn: []string{"small"},
					change: func(_ *cluster, p *v1.Pod) {
						p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse("500m")
					}},
				{text: "2 nodes lack only 300m cpu (full-1, full-2)", fitsOn: []string{"full-1", "full-2", "small"},
					change: func(_ *cluster, p *v1.Pod) {
						p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse("300m")
					}},
				{text: "1 node would fit if the taint dedicated=gpu:NoSchedule were tolerated (gpu-1)", fitsOn: []string{"gpu-1"},
					change: func(_ *cluster, p *v1.Pod) {
						*p = *explain.Tolerating(p, v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule})
					}},
				{text: "1 node would fit if it were uncordoned (cordoned)", fitsOn: []string{"cordoned"},
					change: func(c *cluster, _ *v1.Pod) { c.nodes[3].Spec.Unschedulable = false }},
			},
		},
		{
			name: "zone nobody has", cluster: mixed, pod: pod("p", "100m", ""), podOpts: []func(*v1.Pod){withSelector(v1.LabelTopologyZone, "eu-1c")},
			wantGroups: map[string]int{"NodeAffinity: node(s) didn't match Pod's node affinity/selector": 3,
				"TaintToleration: node(s) had untolerated taint(s)": 1, "NodeUnschedulable: node(s) were unschedulable": 1},
			hints: []hint{
				{text: "3 nodes would fit if they had zone eu-1c, or if the pod's nodeSelector did not require it (full-1, full-2, small)",
					fitsOn: []string{"full-1", "full-2", "small"},
					change: func(_ *cluster, p *v1.Pod) { delete(p.Spec.NodeSelector, v1.LabelTopologyZone) }},
				{text: "no node has zone eu-1c", fitsOn: []string{"small"},
					change: func(c *cluster, _ *v1.Pod) { c.nodes[4].Labels[v1.LabelTopologyZone] = "eu-1c" }},
			},
		},
		{
			name: "fits", cluster: mixed, pod: pod("p", "100m", ""), wantNode: "any",
			wantGroups: map[string]int{"TaintToleration: node(s) had untolerated taint(s)": 1, "NodeUnschedulable: node(s) were unschedulable": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pod.DeepCopy()
			for _, o := range tc.podOpts {
				o(p)
			}
			snap := tc.cluster.snapshot()
			r := explain.Build(explain.Input{Pod: p, Profile: scheduler.DefaultSchedulerName, Decider: newDecider(t), Snapshot: snap})
			want := newDecider(t).Decide(snapshot.NewPodInfo(p), snap)
			if r.Decision.Node != want.Node {
				t.Fatalf("explain chose %q, the decision %q", r.Decision.Node, want.Node)
			}
			if (tc.wantNode == "") != (r.Decision.Node == "") {
				t.Fatalf("decision %q, want a node: %v", r.Decision.Node, tc.wantNode != "")
			}
			groups := map[string]int{}
			for _, g := range r.Summary.Groups {
				groups[g.Plugin+": "+g.Reason] = g.Count
			}
			if fmt.Sprint(groups) != fmt.Sprint(tc.wantGroups) {
				t.Errorf("groups = %v, want %v", groups, tc.wantGroups)
			}
			for name, line := range tc.wantMiss {
				i := slices.IndexFunc(r.Rejected, func(n explain.Node) bool { return n.Name == name })
				if i < 0 || !slices.Contains(r.Rejected[i].Missing, line) {
					t.Errorf("node %s: missing %v, want %q", name, r.Rejected, line)
				}
			}
			checkHints(t, tc.cluster, p, r.Summary.Hints, tc.hints)
			checkFeasibleAreFeasible(t, r, p, snap)
			var text bytes.Buffer
			if err := r.Text(&text); err != nil || !strings.Contains(text.String(), "pod ns/p") {
				t.Errorf("text rendering: %v\n%s", err, text.String())
			}
			if _, err := json.Marshal(r); err != nil {
				t.Error(err)
			}
		})
	}
}

// checkHints checks that got are the texts of want, in order, and that each hint is true: its
// change, applied to a copy of the cluster and of p, makes the real decision place p on one of
// the nodes the hint names.
func checkHints(t *testing.T, cl cluster, p *v1.Pod, got []string, want []hint) {
	t.Helper()
	var texts []string
	for _, h := range want {
		texts = append(texts, h.text)
	}
	if !slices.Equal(got, texts) {
		t.Errorf("hints = %q, want %q", got, texts)
	}
	for _, h := range want {
		c := cluster{}
		for _, n := range cl.nodes {
			c.nodes = append(c.nodes, n.DeepCopy())
		}
		for _, q := range cl.pods {
			c.pods = append(c.pods, q.DeepCopy())
		}
		changed := p.DeepCopy()
		h.change(&c, changed)
		res := newDecider(t).Decide(snapshot.NewPodInfo(changed), c.snapshot())
		if !slices.Contains(h.fitsOn, res.Node) {
			t.Errorf("after %q the pod goes to %q, want one of %v", h.text, res.Node, h.fitsOn)
		}
	}
}

// checkFeasibleAreFeasible checks every node the report lists as feasible with the decider's
// own filters, and that ranked nodes' totals are the weighted sums of their scores.
func checkFeasibleAreFeasible(t *testing.T, r *explain.Report, p *v1.Pod, snap *snapshot.Snapshot) {
	t.Helper()
	prep := newDecider(t).Prepare(snapshot.NewPodInfo(p), snap)
	for _, n := range r.Feasible {
		if v := prep.Check(snap.Get(n.Name), nil); !v.Fits() {
			t.Errorf("explain says %s is feasible; the decider: %v", n.Name, v.Reasons)
		}
		var total int64
		for _, s := range n.Scores {
			total += s.Normalized * s.Weight
		}
		if n.Ranked && total != n.Total {
			t.Errorf("node %s: total %d, weighted sum of its scores %d", n.Name, n.Total, total)
		}
	}
	for _, n := range r.Rejected {
		if v := prep.Check(snap.Get(n.Name), nil); v.Fits() {
			t.Errorf("explain says %s is rejected (%v); the decider lets the pod pass", n.Name, n.Reasons)
		}
	}
}

func TestBuildBoundAndListing(t *testing.T) {
	var nodes []*v1.Node
	for i := range 30 {
		nodes = append(nodes, node(fmt.Sprintf("n%02d", i), "4", "eu-1a"))
	}
	for i := range 15 {
		nodes = append(nodes, node(fmt.Sprintf("t%02d", i), "4", "eu-1a", tainted("team", "x")))
	}
	c := cluster{nodes: nodes}
	bound := pod("p", "100m", "n03")
	r := explain.Build(explain.Input{Pod: bound, Profile: "default-scheduler", Decider: newDecider(t), Snapshot: c.snapshot()})
	if !r.Recomputed || r.BoundTo != "n03" || r.Decision.Node == "" {
		t.Errorf("bound pod: recomputed %v, bound to %q, decision %q", r.Recomputed, r.BoundTo, r.Decision.Node)
	}
	if len(r.Feasible) != explain.ListLimit || len(r.Rejected) != explain.ListLimit || r.Omitted != 45-2*explain.ListLimit {
		t.Errorf("listed %d feasible, %d rejected, omitted %d", len(r.Feasible), len(r.Rejected), r.Omitted)
	}
	if !r.Feasible[0].Chosen {
		t.Errorf("first feasible %s is not the chosen node %s", r.Feasible[0].Name, r.Decision.Node)
	}
	r = explain.Build(explain.Input{Pod: bound, Decider: newDecider(t), Snapshot: c.snapshot(), Nodes: []string{"t01", "n05", "nope"}})
	if len(r.Feasible) != 1 || len(r.Rejected) != 1 || r.Rejected[0].Name != "t01" {
		t.Errorf("?nodes=t01,n05,nope listed %v and %v", r.Feasible, r.Rejected)
	}
}
