package decide

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestCheck(t *testing.T) {
	cpu := snapshot.Reject("Insufficient cpu")
	tests := []struct {
		name    string
		filters []FilterPlugin
		node    string
		want    string // first reason; empty: fits
	}{
		{name: "no filters", node: "a"},
		{name: "passes", filters: []FilterPlugin{byName{name: "f", reject: map[string]snapshot.Verdict{"b": cpu}}}, node: "a"},
		{name: "rejected on the node", filters: []FilterPlugin{byName{name: "f", reject: map[string]snapshot.Verdict{"a": cpu}}}, node: "a", want: "Insufficient cpu"},
		{name: "rejected before any node", filters: []FilterPlugin{byName{name: "f", preFilterErr: snapshot.Reject("bad")}}, node: "a", want: "bad"},
		{name: "a later filter rejects", filters: []FilterPlugin{byName{name: "f"}, byName{name: "g", reject: map[string]snapshot.Verdict{"a": cpu}}}, node: "a", want: "Insufficient cpu"},
		{name: "restricted to other nodes", filters: []FilterPlugin{restricted{name: "r", nodes: []string{"b"}}}, node: "a", want: "node(s) didn't satisfy plugin(s) [r]"},
		{name: "restricted to it", filters: []FilterPlugin{restricted{name: "r", nodes: []string{"a"}}}, node: "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			snap := nodes("a", "b")
			v := d.Prepare(pod, snap).Check(snap.Get(tc.node), nil)
			if got := fmt.Sprint(v.Reasons); (tc.want == "" && !v.Fits()) || (tc.want != "" && got != "["+tc.want+"]") {
				t.Errorf("Check = %+v, want %q", v, tc.want)
			}
		})
	}
}

// countingFilter rejects a node while it counts any pod with label "blocks" on it; it is a
// PodChanger, so what-if checks tell it about pods added and removed.
type countingFilter struct{ counts map[string]int }

func (countingFilter) Name() string { return "Counting" }
func (countingFilter) PreFilter(_ *snapshot.PodInfo, snap *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	f := &countingFilter{counts: map[string]int{}}
	for _, n := range snap.Nodes {
		for _, p := range n.Pods {
			f.AddPod(p, n)
		}
	}
	return f, snapshot.Verdict{}
}
func (f *countingFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if f.counts[n.Name()] > 0 {
		return snapshot.Reject("blocked")
	}
	return snapshot.Verdict{}
}
func (f *countingFilter) Clone() NodeFilter {
	c := &countingFilter{counts: map[string]int{}}
	for k, v := range f.counts {
		c.counts[k] = v
	}
	return c
}
func (f *countingFilter) AddPod(p *snapshot.PodInfo, n *snapshot.NodeInfo) {
	if p.Pod.Labels["blocks"] != "" {
		f.counts[n.Name()]++
	}
}
func (f *countingFilter) RemovePod(p *snapshot.PodInfo, n *snapshot.NodeInfo) {
	if p.Pod.Labels["blocks"] != "" {
		f.counts[n.Name()]--
	}
}

// cpuFilter is a node-local filter on cpu requests.
type cpuFilter struct{}

func (cpuFilter) Name() string { return "CPU" }
func (cpuFilter) PreFilter(p *snapshot.PodInfo, _ *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return cpuCheck{p}, snapshot.Verdict{}
}

type cpuCheck struct{ p *snapshot.PodInfo }

func (c cpuCheck) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.Requested.MilliCPU+c.p.Requests.MilliCPU > n.Allocatable.MilliCPU {
		return snapshot.Reject("Insufficient cpu")
	}
	return snapshot.Verdict{}
}

func testPod(name string, prio int32, cpu string, labels map[string]string) *snapshot.PodInfo {
	return snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Labels: labels},
		Spec: v1.PodSpec{Priority: &prio, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}}}})
}

func cpuNode(name, cpu string, pods ...*snapshot.PodInfo) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}, pods...)
}

func TestCheckCountsRemovedPodsAsGone(t *testing.T) {
	blocker := testPod("blocker", 0, "1", map[string]string{"blocks": "yes"})
	other := testPod("other", 0, "1", nil)
	snap := snapshot.New([]*snapshot.NodeInfo{cpuNode("a", "4", blocker, other)}, nil)
	d, err := New(Profile{Filters: []FilterPlugin{countingFilter{}, cpuFilter{}}})
	if err != nil {
		t.Fatal(err)
	}
	p := d.Prepare(testPod("in", 10, "1", nil), snap)
	if v := p.Check(snap.Get("a"), nil); fmt.Sprint(v.Reasons) != "[blocked]" {
		t.Fatalf("unchanged node: %+v, want blocked", v)
	}
	trial := snap.Get("a").Clone()
	trial.RemovePod(blocker)
	if v := p.Check(trial, []*snapshot.PodInfo{blocker}); !v.Fits() {
		t.Errorf("blocker removed: %+v, want a fit", v)
	}
	if v := p.Check(snap.Get("a"), nil); fmt.Sprint(v.Reasons) != "[blocked]" {
		t.Errorf("the prepared state was changed by a what-if check: %+v", v)
	}
}

func TestNominatedPods(t *testing.T) {
	nominee := func(prio int32, labels map[string]string) *snapshot.PodInfo {
		return testPod("nominee", prio, "3", labels)
	}
	tests := []struct {
		name      string
		incoming  *snapshot.PodInfo
		nominated map[string][]*snapshot.PodInfo
		filters   []FilterPlugin
		want      string // chosen node; "" when none
	}{
		{name: "a lower-priority pod does not take the nominated room", incoming: testPod("in", 5, "2", nil),
			nominated: map[string][]*snapshot.PodInfo{"a": {nominee(10, nil)}}, want: "b"},
		{name: "an equal-priority nomination counts too", incoming: testPod("in", 10, "2", nil),
			nominated: map[string][]*snapshot.PodInfo{"a": {nominee(10, nil)}}, want: "b"},
		{name: "a lower-priority nomination does not count", incoming: testPod("in", 20, "2", nil),
			nominated: map[string][]*snapshot.PodInfo{"a": {nominee(10, nil)}}, want: "a"},
		{name: "the pod's own nomination does not count against it; its node is tried first", incoming: testPod("nominee", 10, "3", nil),
			nominated: map[string][]*snapshot.PodInfo{"b": {nominee(10, nil)}}, want: "b"},
		{name: "no room anywhere with the nominee counted", incoming: testPod("in", 5, "2", nil),
			nominated: map[string][]*snapshot.PodInfo{"a": {nominee(10, nil)}, "b": {testPod("n2", 10, "2", nil)}}, want: ""},
		{name: "cross-node state counts the nominee (PodChanger)", incoming: testPod("in", 5, "100m", nil),
			nominated: map[string][]*snapshot.PodInfo{"a": {testPod("n3", 10, "100m", map[string]string{"blocks": "yes"})}},
			filters:   []FilterPlugin{countingFilter{}, cpuFilter{}}, want: "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// a has 4 cpu free, b 3; the incoming pod prefers a by score.
			snap := snapshot.New([]*snapshot.NodeInfo{cpuNode("a", "4"), cpuNode("b", "4", testPod("x", 100, "1", nil))}, nil)
			snap.SetNominated(tc.nominated)
			filters := tc.filters
			if filters == nil {
				filters = []FilterPlugin{cpuFilter{}}
			}
			d, err := New(Profile{Filters: filters, Scorers: []WeightedScorer{{scoreTable{"a": 100, "b": 0}, 1}}})
			if err != nil {
				t.Fatal(err)
			}
			if res := d.Decide(tc.incoming, snap); res.Node != tc.want {
				t.Errorf("placed on %q, want %q (diagnosis %+v)", res.Node, tc.want, res.Diagnosis)
			}
		})
	}
}

// TestNominatedPodMustFitWithAndWithout: a pod that fits only because of a nominated pod (a
// filter that wants a "blocks" pod present) is rejected, as kube-scheduler checks both ways.
func TestNominatedPodMustFitWithAndWithout(t *testing.T) {
	snap := snapshot.New([]*snapshot.NodeInfo{cpuNode("a", "4")}, nil)
	snap.SetNominated(map[string][]*snapshot.PodInfo{"a": {testPod("nominee", 10, "1", map[string]string{"needed": "yes"})}})
	d, err := New(Profile{Filters: []FilterPlugin{needsPod{}}})
	if err != nil {
		t.Fatal(err)
	}
	if res := d.Decide(testPod("in", 1, "1", nil), snap); res.Node != "" {
		t.Errorf("placed on %q; a pod that fits only with the nominee there must not be placed", res.Node)
	}
}

// needsPod passes only on nodes running a pod labelled "needed".
type needsPod struct{}

func (needsPod) Name() string { return "NeedsPod" }
func (needsPod) PreFilter(*snapshot.PodInfo, *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return needsPod{}, snapshot.Verdict{}
}
func (needsPod) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	for _, p := range n.Pods {
		if p.Pod.Labels["needed"] != "" {
			return snapshot.Verdict{}
		}
	}
	return snapshot.Reject("no needed pod")
}
