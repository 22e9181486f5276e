package interpodaffinity

import (
	"github.com/berth-scheduler/berth/scheduler/snapshot"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// podTerm is one of the incoming pod's terms, ready to be matched against existing pods.
//
// kube-scheduler resolves the incoming pod's namespace selectors into namespace names it knows,
// so a pod in a namespace missing from the snapshot is matched by name only, unless the selector
// is empty (every namespace). Existing pods' terms are not resolved: they are evaluated on the
// incoming pod's namespace labels with snapshot.AffinityTerm.Matches.
type podTerm struct {
	*snapshot.AffinityTerm
	// anyNamespace is set when the namespace selector is empty: the term spans every namespace.
	anyNamespace bool
	// bySelector is set when the namespace selector has requirements to evaluate.
	bySelector bool
}

func newPodTerms(terms []snapshot.AffinityTerm) []podTerm {
	if len(terms) == 0 {
		return nil
	}
	out := make([]podTerm, len(terms))
	for i := range terms {
		out[i] = newPodTerm(&terms[i])
	}
	return out
}

func newPodTerm(t *snapshot.AffinityTerm) podTerm {
	pt := podTerm{AffinityTerm: t}
	if t.NamespaceSelector == nil {
		return pt
	}
	pt.anyNamespace = t.NamespaceSelector.Empty()
	// labels.Nothing() (no selector in the spec) reports no requirements and matches nothing.
	_, pt.bySelector = t.NamespaceSelector.Requirements()
	return pt
}

// matches reports whether pod is selected by the term; namespaces are the snapshot's known
// namespaces and their labels.
func (t *podTerm) matches(pod *v1.Pod, namespaces map[string]labels.Set) bool {
	if _, named := t.Namespaces[pod.Namespace]; !named && !t.anyNamespace {
		if !t.bySelector {
			return false
		}
		nsLabels, known := namespaces[pod.Namespace]
		if !known || !t.NamespaceSelector.Matches(nsLabels) {
			return false
		}
	}
	return t.Selector != nil && t.Selector.Matches(labels.Set(pod.Labels))
}

// matchesAll reports whether pod is selected by every term; false when there are no terms.
func matchesAll(terms []podTerm, pod *v1.Pod, namespaces map[string]labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(pod, namespaces) {
			return false
		}
	}
	return true
}

// weightedPodTerm is one of the incoming pod's preferred terms with its signed weight.
type weightedPodTerm struct {
	podTerm
	weight int64
}

func newWeightedPodTerms(terms []snapshot.WeightedAffinityTerm, sign int64) []weightedPodTerm {
	out := make([]weightedPodTerm, len(terms))
	for i := range terms {
		out[i] = weightedPodTerm{podTerm: newPodTerm(&terms[i].AffinityTerm), weight: sign * int64(terms[i].Weight)}
	}
	return out
}
