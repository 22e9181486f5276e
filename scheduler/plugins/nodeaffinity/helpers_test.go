package nodeaffinity

import (
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var (
	_ decide.FilterPlugin = (*NodeAffinity)(nil)
	_ decide.ScorePlugin  = (*NodeAffinity)(nil)
	_ decide.Normalizer   = (*scorer)(nil)
)

func node(name string, labels map[string]string) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
}

func expr(key string, op v1.NodeSelectorOperator, values ...string) v1.NodeSelectorRequirement {
	return v1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func nameIs(op v1.NodeSelectorOperator, values ...string) v1.NodeSelectorRequirement {
	return expr(metav1.ObjectNameField, op, values...)
}

// exprTerm is a term of match expressions only.
func exprTerm(reqs ...v1.NodeSelectorRequirement) v1.NodeSelectorTerm {
	return v1.NodeSelectorTerm{MatchExpressions: reqs}
}

// fieldTerm is a term of match fields only.
func fieldTerm(reqs ...v1.NodeSelectorRequirement) v1.NodeSelectorTerm {
	return v1.NodeSelectorTerm{MatchFields: reqs}
}

// podWith returns a pod with the given nodeSelector and required node affinity terms. A nil terms
// slice means no required affinity; an empty non-nil one means a selector with no terms.
func podWith(nodeSelector map[string]string, terms []v1.NodeSelectorTerm) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
	p.Spec.NodeSelector = nodeSelector
	if terms != nil {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
	return p
}

func preferred(weight int32, t v1.NodeSelectorTerm) v1.PreferredSchedulingTerm {
	return v1.PreferredSchedulingTerm{Weight: weight, Preference: t}
}

func podPreferring(terms ...v1.PreferredSchedulingTerm) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
	p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: terms}}
	return p
}
