package nodeaffinity

import (
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestFilter(t *testing.T) {
	zoneA := map[string]string{"zone": "a", "disk": "ssd", "cores": "8"}
	tests := []struct {
		name         string
		pod          *v1.Pod
		added        *v1.NodeAffinity
		nodeName     string
		nodeLabels   map[string]string
		wantNoFilter bool   // PreFilter has nothing to check
		wantPreFail  string // PreFilter rejects with a reason containing this
		want         string // Filter's reason; "" means the pod fits
		wantNames    []string
	}{
		{name: "no selector and no affinity", pod: podWith(nil, nil), nodeLabels: zoneA, wantNoFilter: true},
		{name: "nodeSelector label missing on node", pod: podWith(map[string]string{"gpu": "yes"}, nil), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "nodeSelector equals node labels", pod: podWith(map[string]string{"zone": "a", "disk": "ssd", "cores": "8"}, nil), nodeLabels: zoneA},
		{name: "node labels are a superset of nodeSelector", pod: podWith(map[string]string{"disk": "ssd"}, nil), nodeLabels: zoneA},
		{name: "node labels are a subset of nodeSelector", pod: podWith(map[string]string{"disk": "ssd", "gpu": "yes"}, nil), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "nodeSelector value differs", pod: podWith(map[string]string{"zone": "b"}, nil), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "empty nodeSelector value needs the label present", pod: podWith(map[string]string{"gpu": ""}, nil), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "In matches", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpIn, "b", "a"))}), nodeLabels: zoneA},
		{name: "In does not match", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpIn, "b", "c"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "In on a missing label", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("rack", v1.NodeSelectorOpIn, "r1"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "NotIn matches a different value", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpNotIn, "b"))}), nodeLabels: zoneA},
		{name: "NotIn matches a missing label", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("rack", v1.NodeSelectorOpNotIn, "r1"))}), nodeLabels: zoneA},
		{name: "NotIn rejects a listed value", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpNotIn, "a"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "Exists matches", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("disk", v1.NodeSelectorOpExists))}), nodeLabels: zoneA},
		{name: "Exists on a missing label", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("gpu", v1.NodeSelectorOpExists))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "DoesNotExist matches", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("gpu", v1.NodeSelectorOpDoesNotExist))}), nodeLabels: zoneA},
		{name: "DoesNotExist rejects a present label", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("disk", v1.NodeSelectorOpDoesNotExist))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "Gt matches", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("cores", v1.NodeSelectorOpGt, "4"))}), nodeLabels: zoneA},
		{name: "Gt is strict", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("cores", v1.NodeSelectorOpGt, "8"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "Lt matches", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("cores", v1.NodeSelectorOpLt, "16"))}), nodeLabels: zoneA},
		{name: "Lt is strict", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("cores", v1.NodeSelectorOpLt, "8"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "Gt on a non-integer node label", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpGt, "1"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "Gt on a missing label", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("mem", v1.NodeSelectorOpGt, "1"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "expressions in a term are ANDed: all hold", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(
			expr("zone", v1.NodeSelectorOpIn, "a"), expr("disk", v1.NodeSelectorOpExists), expr("gpu", v1.NodeSelectorOpDoesNotExist))}), nodeLabels: zoneA},
		{name: "expressions in a term are ANDed: one fails", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(
			expr("zone", v1.NodeSelectorOpIn, "a"), expr("gpu", v1.NodeSelectorOpExists))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "terms are ORed", pod: podWith(nil, []v1.NodeSelectorTerm{
			exprTerm(expr("zone", v1.NodeSelectorOpIn, "b")), exprTerm(expr("disk", v1.NodeSelectorOpIn, "ssd"))}), nodeLabels: zoneA},
		{name: "a term with an empty expression list matches nothing", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm()}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "an empty term list matches nothing", pod: podWith(nil, []v1.NodeSelectorTerm{}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "affinity without a required selector allows every node", pod: func() *v1.Pod {
			p := podWith(nil, nil)
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{}}
			return p
		}(), nodeLabels: zoneA, wantNoFilter: true},
		{name: "nodeSelector and affinity both hold", pod: podWith(map[string]string{"disk": "ssd"}, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpExists))}), nodeLabels: zoneA},
		{name: "affinity holds but nodeSelector does not", pod: podWith(map[string]string{"disk": "hdd"}, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpExists))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "nodeSelector holds but affinity does not", pod: podWith(map[string]string{"disk": "ssd"}, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpIn, "z"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "the only term has an invalid value", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpNotIn, "no spaces allowed!"))}), nodeLabels: zoneA,
			wantPreFail: "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0][zone]: Invalid value"},
		{name: "the only term has an unknown operator", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", "Near", "a"))}), nodeLabels: zoneA,
			wantPreFail: `nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: "Near"`},
		{name: "Gt with a non-integer value", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("cores", v1.NodeSelectorOpGt, "many"))}), nodeLabels: zoneA,
			wantPreFail: "the value must be an integer"},
		{name: "In without values", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("zone", v1.NodeSelectorOpIn))}), nodeLabels: zoneA,
			wantPreFail: "values set can't be empty"},
		{name: "an invalid term is skipped when another term matches", pod: podWith(nil, []v1.NodeSelectorTerm{
			exprTerm(expr("zone", "Near", "a")), exprTerm(expr("zone", v1.NodeSelectorOpIn, "a"))}), nodeLabels: zoneA},
		{name: "an invalid term next to a valid term that does not match", pod: podWith(nil, []v1.NodeSelectorTerm{
			exprTerm(expr("zone", "Near", "a")), exprTerm(expr("zone", v1.NodeSelectorOpIn, "b"))}), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "matchFields In matches the node name", pod: podWith(nil, []v1.NodeSelectorTerm{fieldTerm(nameIs(v1.NodeSelectorOpIn, "n1"))}),
			nodeName: "n1", wantNames: []string{"n1"}},
		{name: "matchFields In does not match another node", pod: podWith(nil, []v1.NodeSelectorTerm{fieldTerm(nameIs(v1.NodeSelectorOpIn, "n1"))}),
			nodeName: "n2", want: ErrReasonPod, wantNames: []string{"n1"}},
		{name: "matchFields NotIn", pod: podWith(nil, []v1.NodeSelectorTerm{fieldTerm(nameIs(v1.NodeSelectorOpNotIn, "n1"))}), nodeName: "n2"},
		{name: "matchFields NotIn rejects the named node", pod: podWith(nil, []v1.NodeSelectorTerm{fieldTerm(nameIs(v1.NodeSelectorOpNotIn, "n1"))}), nodeName: "n1", want: ErrReasonPod},
		{name: "matchFields on another field reads as empty", pod: podWith(nil, []v1.NodeSelectorTerm{fieldTerm(expr("metadata.uid", v1.NodeSelectorOpIn, "n1"))}),
			nodeName: "n1", want: ErrReasonPod},
		{name: "matchFields with two values is invalid", pod: podWith(nil, []v1.NodeSelectorTerm{fieldTerm(nameIs(v1.NodeSelectorOpIn, "n1", "n2"))}),
			nodeName: "n1", wantPreFail: "matchFields[0].values: Invalid value"},
		{name: "matchFields with Exists is invalid", pod: podWith(nil, []v1.NodeSelectorTerm{fieldTerm(nameIs(v1.NodeSelectorOpExists))}),
			nodeName: "n1", wantPreFail: `matchFields[0].operator: Unsupported value: "Exists"`},
		{name: "fields miss in one term, expressions match in another", pod: podWith(nil, []v1.NodeSelectorTerm{
			fieldTerm(nameIs(v1.NodeSelectorOpIn, "n9")), exprTerm(expr("zone", v1.NodeSelectorOpIn, "a"))}), nodeName: "n1", nodeLabels: zoneA},
		{name: "fields miss, expressions match, same term", pod: podWith(nil, []v1.NodeSelectorTerm{{
			MatchFields: []v1.NodeSelectorRequirement{nameIs(v1.NodeSelectorOpIn, "n9")}, MatchExpressions: []v1.NodeSelectorRequirement{expr("zone", v1.NodeSelectorOpIn, "a")}}}),
			nodeName: "n1", nodeLabels: zoneA, want: ErrReasonPod, wantNames: []string{"n9"}},
		{name: "fields and expressions match, same term", pod: podWith(nil, []v1.NodeSelectorTerm{{
			MatchFields: []v1.NodeSelectorRequirement{nameIs(v1.NodeSelectorOpIn, "n1")}, MatchExpressions: []v1.NodeSelectorRequirement{expr("zone", v1.NodeSelectorOpIn, "a")}}}),
			nodeName: "n1", nodeLabels: zoneA, wantNames: []string{"n1"}},
		{name: "two terms naming nodes: names are unioned", pod: podWith(nil, []v1.NodeSelectorTerm{
			fieldTerm(nameIs(v1.NodeSelectorOpIn, "n2")), fieldTerm(nameIs(v1.NodeSelectorOpIn, "n1"))}), nodeName: "n2", wantNames: []string{"n1", "n2"}},
		{name: "two terms, both miss", pod: podWith(nil, []v1.NodeSelectorTerm{
			fieldTerm(nameIs(v1.NodeSelectorOpIn, "n2")), exprTerm(expr("zone", v1.NodeSelectorOpIn, "b"))}), nodeName: "n1", nodeLabels: zoneA, want: ErrReasonPod},
		{name: "conflicting name requirements in one term", pod: podWith(nil, []v1.NodeSelectorTerm{
			fieldTerm(nameIs(v1.NodeSelectorOpIn, "n1"), nameIs(v1.NodeSelectorOpIn, "n2"))}), nodeName: "n1", wantPreFail: ErrReasonConflict},
		{name: "added affinity and the pod's both match", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("disk", v1.NodeSelectorOpIn, "ssd"))}),
			added: requiredAffinity(exprTerm(expr("zone", v1.NodeSelectorOpIn, "a"))), nodeLabels: zoneA},
		{name: "added affinity matches, the pod's does not", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("disk", v1.NodeSelectorOpIn, "hdd"))}),
			added: requiredAffinity(exprTerm(expr("zone", v1.NodeSelectorOpIn, "a"))), nodeLabels: zoneA, want: ErrReasonPod},
		{name: "added affinity does not match", pod: podWith(nil, nil),
			added: requiredAffinity(exprTerm(expr("zone", v1.NodeSelectorOpIn, "b"))), nodeLabels: zoneA, want: ErrReasonEnforced},
		{name: "added affinity is checked before the pod's", pod: podWith(map[string]string{"gpu": "yes"}, nil),
			added: requiredAffinity(exprTerm(expr("zone", v1.NodeSelectorOpIn, "b"))), nodeLabels: zoneA, want: ErrReasonEnforced},
		{name: "added preferred terms alone do not filter", pod: podWith(nil, nil),
			added:      &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{preferred(1, exprTerm(expr("zone", v1.NodeSelectorOpIn, "b")))}},
			nodeLabels: zoneA, wantNoFilter: true},
		{name: "invalid preferred term rejects the pod", pod: podPreferring(preferred(5, exprTerm(expr("zone", v1.NodeSelectorOpGt, "x")))),
			nodeLabels: zoneA, wantPreFail: "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].matchExpressions[0].values[0]"},
		{name: "invalid preferred term with weight 0 is ignored", pod: podPreferring(preferred(0, exprTerm(expr("zone", v1.NodeSelectorOpGt, "x")))),
			nodeLabels: zoneA, wantNoFilter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := New(Args{AddedAffinity: tt.added})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			name := tt.nodeName
			if name == "" {
				name = "n1"
			}
			f, v := pl.PreFilter(snapshot.NewPodInfo(tt.pod), nil)
			if tt.wantPreFail != "" {
				if v.Fits() || !v.Unresolvable || !strings.Contains(strings.Join(v.Reasons, "; "), tt.wantPreFail) {
					t.Fatalf("PreFilter verdict = %+v, want unresolvable containing %q", v, tt.wantPreFail)
				}
				return
			}
			if !v.Fits() {
				t.Fatalf("PreFilter rejected: %+v", v)
			}
			if tt.wantNoFilter {
				if f != nil {
					t.Fatalf("PreFilter returned a filter, want none")
				}
				return
			}
			if f == nil {
				t.Fatal("PreFilter returned no filter")
			}
			if got := f.(*nodeFilter).NodeNames(); !slices.Equal(got, tt.wantNames) {
				t.Errorf("NodeNames = %v, want %v", got, tt.wantNames)
			}
			got := f.Filter(node(name, tt.nodeLabels))
			if tt.want == "" {
				if !got.Fits() {
					t.Errorf("Filter = %+v, want fit", got)
				}
				return
			}
			if !slices.Equal(got.Reasons, []string{tt.want}) || !got.Unresolvable {
				t.Errorf("Filter = %+v, want unresolvable %q", got, tt.want)
			}
		})
	}
}

func requiredAffinity(terms ...v1.NodeSelectorTerm) *v1.NodeAffinity {
	return &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}
}

func TestRequiredMatcher(t *testing.T) {
	tests := []struct {
		name    string
		pod     *v1.Pod
		labels  map[string]string
		want    bool
		wantErr string
	}{
		{name: "no constraints match every node", pod: podWith(nil, nil), want: true},
		{name: "nodeSelector", pod: podWith(map[string]string{"a": "1"}, nil), labels: map[string]string{"a": "1"}, want: true},
		{name: "nodeSelector mismatch", pod: podWith(map[string]string{"a": "1"}, nil), labels: map[string]string{"a": "2"}},
		{name: "lenient: invalid term ignored, valid term matches", pod: podWith(nil, []v1.NodeSelectorTerm{
			exprTerm(expr("a", v1.NodeSelectorOpLt)), exprTerm(expr("a", v1.NodeSelectorOpExists))}),
			labels: map[string]string{"a": "1"}, want: true, wantErr: "nodeSelectorTerms[0].matchExpressions[0].values"},
		{name: "every term invalid", pod: podWith(nil, []v1.NodeSelectorTerm{exprTerm(expr("a/b/c", v1.NodeSelectorOpExists))}),
			labels: map[string]string{"a": "1"}, wantErr: "nodeSelectorTerms[0].matchExpressions[0].key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewRequiredMatcher(tt.pod)
			if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if got := m.Match(node("n1", tt.labels).Node); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			if m.Match(nil) {
				t.Error("Match(nil) = true")
			}
		})
	}
}
