package decide

import (
	"slices"
	"strings"
	"testing"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// proposer is a byName filter that, as a PostFilterer, proposes a plan naming the nodes it was
// given (with their reasons), or nothing when it was given none.
type proposer struct{ byName }

func (p proposer) PreFilter(*snapshot.PodInfo, *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return p, snapshot.Verdict{}
}

func (p proposer) PostFilter(rejected []Rejection) Plan {
	if len(rejected) == 0 {
		return nil
	}
	var names []string
	for _, r := range rejected {
		names = append(names, r.Node.Name()+":"+r.Verdict.Reasons[0])
	}
	return namePlan(strings.Join(names, " "))
}

// TestPostFilterProposals checks Result.PostFilter: a PostFilterer is asked once the pod fits no
// node, given only the nodes it rejected itself (those an earlier filter rejected, it never saw),
// and not asked when the pod fits somewhere or a PreFilter rejected it.
func TestPostFilterProposals(t *testing.T) {
	no := snapshot.RejectUnresolvable
	tests := []struct {
		name    string
		filters []FilterPlugin
		want    []string // the plans, in filter order
	}{
		{name: "the pod fits somewhere: not asked",
			filters: []FilterPlugin{proposer{byName{name: "p", reject: map[string]snapshot.Verdict{"a": no("x")}}}}},
		{name: "fits nowhere: the nodes it rejected", filters: []FilterPlugin{
			byName{name: "first", reject: map[string]snapshot.Verdict{"b": no("earlier")}},
			proposer{byName{name: "p", reject: map[string]snapshot.Verdict{"a": no("x"), "c": no("y")}}}},
			want: []string{"a:x c:y"}},
		{name: "an earlier filter rejected every node: nothing proposed", filters: []FilterPlugin{
			byName{name: "first", reject: map[string]snapshot.Verdict{"a": no("e"), "b": no("e"), "c": no("e")}},
			proposer{byName{name: "p", reject: map[string]snapshot.Verdict{"a": no("x"), "b": no("x"), "c": no("x")}}}}},
		{name: "two proposers, in filter order", filters: []FilterPlugin{
			proposer{byName{name: "p1", reject: map[string]snapshot.Verdict{"a": no("x")}}},
			proposer{byName{name: "p2", reject: map[string]snapshot.Verdict{"b": no("y"), "c": no("z")}}}},
			want: []string{"a:x", "b:y c:z"}},
		{name: "a PreFilter rejection: not asked", filters: []FilterPlugin{
			byName{name: "first", preFilterErr: no("everywhere")},
			proposer{byName{name: "p", reject: map[string]snapshot.Verdict{"a": no("x"), "b": no("x"), "c": no("x")}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters, PercentageOfNodesToScore: 100})
			if err != nil {
				t.Fatal(err)
			}
			res := d.Decide(pod, nodes("a", "b", "c"))
			var got []string
			for _, p := range res.PostFilter {
				got = append(got, string(p.(namePlan)))
			}
			// The search starts at a rotating node: compare each plan's names sorted.
			if !slices.Equal(normalise(got), normalise(tc.want)) {
				t.Errorf("PostFilter plans %q, want %q", got, tc.want)
			}
		})
	}
}

// normalise sorts the node names inside each plan.
func normalise(plans []string) []string {
	out := make([]string, len(plans))
	for i, p := range plans {
		f := strings.Fields(p)
		slices.Sort(f)
		out[i] = strings.Join(f, " ")
	}
	return out
}
