package decide

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestExplainTraceCoversEveryNode: whatever path the decision takes, every node of the trace
// has the verdict the decider's own check gives it.
func TestExplainTraceCoversEveryNode(t *testing.T) {
	cpu := snapshot.Reject("Insufficient cpu")
	nominated := snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "p"},
		Status: v1.PodStatus{NominatedNodeName: "b"}})
	tests := []struct {
		name     string
		filters  []FilterPlugin
		pod      *snapshot.PodInfo
		wantNode string
	}{
		{name: "search", pod: pod, wantNode: "c",
			filters: []FilterPlugin{byName{name: "F", reject: map[string]snapshot.Verdict{"a": cpu}}}},
		{name: "restricted", pod: pod, wantNode: "b",
			filters: []FilterPlugin{restricted{"NodeAffinity", []string{"a", "b"}}, byName{name: "F", reject: map[string]snapshot.Verdict{"a": cpu}}}},
		{name: "nominated and restricted", pod: nominated, wantNode: "b",
			filters: []FilterPlugin{restricted{"NodeAffinity", []string{"a", "b"}}, byName{name: "F", reject: map[string]snapshot.Verdict{"a": cpu}}}},
		{name: "prefilter rejection", pod: pod,
			filters: []FilterPlugin{byName{name: "F", preFilterErr: snapshot.RejectUnresolvable("bad spec")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters, Scorers: []WeightedScorer{{scoreTable{"a": 3, "b": 1, "c": 2}, 1}}})
			if err != nil {
				t.Fatal(err)
			}
			snap := nodes("a", "b", "c")
			res, tr := d.Explain(tc.pod, snap)
			if res.Node != tc.wantNode {
				t.Errorf("chose %q, want %q", res.Node, tc.wantNode)
			}
			p := d.Prepare(tc.pod, snap)
			for _, nt := range tr.Nodes {
				if v := p.Check(nt.Node, nil); v.Fits() != nt.Feasible() || (!v.Fits() && nt.RejectedBy == "") {
					t.Errorf("node %s: trace %v by %q, check %v", nt.Node.Name(), nt.Verdict.Reasons, nt.RejectedBy, v.Reasons)
				}
			}
		})
	}
}
