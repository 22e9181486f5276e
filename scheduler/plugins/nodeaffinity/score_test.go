package nodeaffinity

import (
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestScore(t *testing.T) {
	nodes := []*snapshot.NodeInfo{
		node("n1", map[string]string{"zone": "a", "disk": "ssd"}),
		node("n2", map[string]string{"zone": "b", "disk": "ssd", "gpu": "yes"}),
		node("n3", map[string]string{"zone": "c"}),
	}
	inZone := func(z string) v1.NodeSelectorTerm { return exprTerm(expr("zone", v1.NodeSelectorOpIn, z)) }
	tests := []struct {
		name     string
		pod      *v1.Pod
		added    []v1.PreferredSchedulingTerm
		wantNil  bool
		wantRaw  []int64
		wantNorm []int64
	}{
		{name: "no preferred terms", pod: podWith(nil, nil), wantNil: true},
		{name: "no node matches", pod: podPreferring(preferred(3, inZone("z"))), wantRaw: []int64{0, 0, 0}, wantNorm: []int64{0, 0, 0}},
		{name: "only one node matches", pod: podPreferring(preferred(2, inZone("a"))), wantRaw: []int64{2, 0, 0}, wantNorm: []int64{100, 0, 0}},
		{name: "weights add up over matching terms", pod: podPreferring(
			preferred(2, exprTerm(expr("disk", v1.NodeSelectorOpIn, "ssd"))),
			preferred(4, exprTerm(expr("gpu", v1.NodeSelectorOpExists))),
			preferred(5, inZone("c")),
		), wantRaw: []int64{2, 6, 5}, wantNorm: []int64{33, 100, 83}},
		{name: "terms with weight 0 or no requirements are skipped", pod: podPreferring(
			preferred(0, inZone("a")), preferred(7, v1.NodeSelectorTerm{}), preferred(1, inZone("b")),
		), wantRaw: []int64{0, 1, 0}, wantNorm: []int64{0, 100, 0}},
		{name: "matchFields in a preferred term", pod: podPreferring(preferred(9, fieldTerm(nameIs(v1.NodeSelectorOpIn, "n3")))),
			wantRaw: []int64{0, 0, 9}, wantNorm: []int64{0, 0, 100}},
		{name: "added preferred terms alone", pod: podWith(nil, nil), added: []v1.PreferredSchedulingTerm{preferred(5, inZone("b"))},
			wantRaw: []int64{0, 5, 0}, wantNorm: []int64{0, 100, 0}},
		{name: "added and the pod's preferred terms add up", pod: podPreferring(preferred(3, inZone("a")), preferred(1, inZone("b"))),
			added: []v1.PreferredSchedulingTerm{preferred(5, inZone("b"))}, wantRaw: []int64{3, 6, 0}, wantNorm: []int64{50, 100, 0}},
		{name: "invalid preferred terms give no scorer", pod: podPreferring(preferred(3, exprTerm(expr("zone", "Near", "a")))), wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := Args{}
			if tt.added != nil {
				args.AddedAffinity = &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: tt.added}
			}
			pl, err := New(args)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			s := pl.PreScore(snapshot.NewPodInfo(tt.pod), nil, nodes)
			if tt.wantNil {
				if s != nil {
					t.Fatal("PreScore returned a scorer, want none")
				}
				return
			}
			if s == nil {
				t.Fatal("PreScore returned no scorer")
			}
			scores := make([]int64, len(nodes))
			for i, n := range nodes {
				scores[i] = s.Score(n)
			}
			if !slices.Equal(scores, tt.wantRaw) {
				t.Errorf("raw scores = %v, want %v", scores, tt.wantRaw)
			}
			s.(*scorer).Normalize(scores)
			if !slices.Equal(scores, tt.wantNorm) {
				t.Errorf("normalized scores = %v, want %v", scores, tt.wantNorm)
			}
		})
	}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    Args
		wantErr []string // substrings, all expected; nil means valid
	}{
		{name: "default", args: DefaultArgs()},
		{name: "valid added affinity", args: Args{AddedAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution:  &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpIn, "a"))}},
			PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{preferred(3, fieldTerm(nameIs(v1.NodeSelectorOpNotIn, "n1")))},
		}}},
		{name: "bad key in required, two names in preferred matchFields", args: Args{AddedAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{
				exprTerm(expr("zone", v1.NodeSelectorOpIn, "a")),
				exprTerm(expr("bad/label/key", v1.NodeSelectorOpIn, "x")),
			}},
			PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{preferred(1, fieldTerm(nameIs(v1.NodeSelectorOpIn, "n1", "n2")))},
		}}, wantErr: []string{
			"addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchExpressions[0].key: Invalid value: \"bad/label/key\"",
			"addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].matchFields[0].values: Invalid value",
		}},
		{name: "unknown operator", args: Args{AddedAffinity: requiredAffinity(exprTerm(expr("zone", "Near", "a")))},
			wantErr: []string{`addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: "Near"`}},
		{name: "Exists with values", args: Args{AddedAffinity: requiredAffinity(exprTerm(expr("zone", v1.NodeSelectorOpExists, "a")))},
			wantErr: []string{"nodeSelectorTerms[0].matchExpressions[0].values: Invalid value", "values set must be empty for exists and does not exist"}},
		{name: "required selector with no terms is valid", args: Args{AddedAffinity: requiredAffinity()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.args.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if _, err := New(tt.args); err != nil {
					t.Fatalf("New = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
			if _, err := New(tt.args); err == nil {
				t.Error("New accepted invalid args")
			}
		})
	}
}

func TestAddedRequiredWithNoTermsMatchesNothing(t *testing.T) {
	pl, err := New(Args{AddedAffinity: requiredAffinity()})
	if err != nil {
		t.Fatal(err)
	}
	f, v := pl.PreFilter(snapshot.NewPodInfo(podWith(nil, nil)), nil)
	if !v.Fits() || f == nil {
		t.Fatalf("PreFilter = %v, %+v", f, v)
	}
	if got := f.Filter(node("n1", map[string]string{"a": "b"})); !slices.Equal(got.Reasons, []string{ErrReasonEnforced}) {
		t.Errorf("Filter = %+v, want %q", got, ErrReasonEnforced)
	}
}
