package decide

import (
	"errors"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// planned is a filter that passes every node and plans to reserve the node's name there.
type planned struct{ byName }

type namePlan string

func (namePlan) PluginName() string { return "planned" }

func (p planned) PreFilter(*snapshot.PodInfo, *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return p, snapshot.Verdict{}
}
func (p planned) Reserve(n *snapshot.NodeInfo) Plan { return namePlan(n.Node.Name) }

func TestErrorsAndPlans(t *testing.T) {
	broke := errors.New("storageclass \"x\" not found")
	tests := []struct {
		name      string
		filters   []FilterPlugin
		wantErr   string
		wantPlans int
	}{
		{"a plan for the chosen node", []FilterPlugin{planned{byName{name: "planned"}}}, "", 1},
		{"a PreFilter failure ends the decision",
			[]FilterPlugin{byName{name: "vb", preFilterErr: snapshot.Fail(broke)}, planned{byName{name: "planned"}}},
			`running PreFilter plugin "vb": storageclass "x" not found`, 0},
		{"a Filter failure on one node ends the decision",
			[]FilterPlugin{byName{name: "vb", reject: map[string]snapshot.Verdict{"b": snapshot.Fail(broke)}}},
			`running "vb" filter plugin: storageclass "x" not found`, 0},
		{"a plain rejection is no failure",
			[]FilterPlugin{byName{name: "vb", reject: map[string]snapshot.Verdict{"b": snapshot.Reject("no")}}, planned{byName{name: "planned"}}},
			"", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters, PercentageOfNodesToScore: 100})
			if err != nil {
				t.Fatal(err)
			}
			res := d.Decide(pod, nodes("a", "b", "c"))
			if tc.wantErr != "" {
				if res.Err == nil || res.Err.Error() != tc.wantErr || res.Node != "" {
					t.Fatalf("result %+v, want the error %q and no node", res, tc.wantErr)
				}
				return
			}
			if res.Err != nil || res.Node == "" || len(res.Plans) != tc.wantPlans {
				t.Fatalf("result %+v, want a node and %d plans", res, tc.wantPlans)
			}
			if tc.wantPlans > 0 && string(res.Plans[0].(namePlan)) != res.Node {
				t.Errorf("plan %v is not for the chosen node %s", res.Plans[0], res.Node)
			}
		})
	}
}
