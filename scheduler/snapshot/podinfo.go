package snapshot

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// PodInfo is a pod with what the scheduler derives from its spec computed once: its requests and
// its parsed inter-pod affinity terms. It is built for incoming pods and for pods already on nodes,
// and is read-only once built.
type PodInfo struct {
	Pod *v1.Pod
	// LabelsID identifies the pod's namespace and labels (zero when not built by NewPodInfo).
	LabelsID LabelsID
	// Requests is what the pod asks of a node (see podRequests for the rule).
	Requests Resource
	// NonZeroCPU and NonZeroMemory are the requests with defaults for containers that state none;
	// used by scoring only.
	NonZeroCPU, NonZeroMemory int64

	RequiredAffinity      []AffinityTerm
	RequiredAntiAffinity  []AffinityTerm
	PreferredAffinity     []WeightedAffinityTerm
	PreferredAntiAffinity []WeightedAffinityTerm
	// AffinityErr is set when a label selector in the pod's affinity could not be parsed; the
	// affected term lists are then empty and the pod must be treated as unschedulable.
	AffinityErr error
}

// AffinityTerm is a parsed v1.PodAffinityTerm: which pods it selects and over which topology.
type AffinityTerm struct {
	// Namespaces are the namespaces named by the term (the owning pod's own namespace when the term
	// names none and has no namespace selector).
	Namespaces map[string]struct{}
	// NamespaceSelector matches namespaces by label; labels.Nothing() when the term has none.
	NamespaceSelector labels.Selector
	// Selector matches pods by label; labels.Nothing() when the term has no label selector.
	Selector    labels.Selector
	TopologyKey string
	// ID identifies what the term selects (zero when not built by NewPodInfo).
	ID TermID
}

// WeightedAffinityTerm is a parsed preferred affinity term.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// Matches reports whether pod, whose namespace has labels nsLabels, is selected by the term.
func (t *AffinityTerm) Matches(pod *v1.Pod, nsLabels labels.Set) bool {
	if _, ok := t.Namespaces[pod.Namespace]; !ok && !t.NamespaceSelector.Matches(nsLabels) {
		return false
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// NewPodInfo precomputes what the scheduler needs of pod. It never fails: a bad label selector is
// recorded in AffinityErr.
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, LabelsID: NewLabelsID(pod.Namespace, pod.Labels), Requests: podRequests(pod, false)}
	pi.NonZeroCPU, pi.NonZeroMemory = pi.Requests.MilliCPU, pi.Requests.Memory
	if !statesCPUAndMemory(pod) { // else no default applies: the non-zero requests are the requests
		nz := podRequests(pod, true)
		pi.NonZeroCPU, pi.NonZeroMemory = nz.MilliCPU, nz.Memory
	}

	aff := pod.Spec.Affinity
	if aff == nil {
		return pi
	}
	var err error
	if a := aff.PodAffinity; a != nil {
		if pi.RequiredAffinity, err = affinityTerms(pod, a.RequiredDuringSchedulingIgnoredDuringExecution); err != nil {
			pi.AffinityErr = fmt.Errorf("spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution: %w", err)
		}
		if pi.PreferredAffinity, err = weightedTerms(pod, a.PreferredDuringSchedulingIgnoredDuringExecution); err != nil && pi.AffinityErr == nil {
			pi.AffinityErr = fmt.Errorf("spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution: %w", err)
		}
	}
	if a := aff.PodAntiAffinity; a != nil {
		if pi.RequiredAntiAffinity, err = affinityTerms(pod, a.RequiredDuringSchedulingIgnoredDuringExecution); err != nil && pi.AffinityErr == nil {
			pi.AffinityErr = fmt.Errorf("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution: %w", err)
		}
		if pi.PreferredAntiAffinity, err = weightedTerms(pod, a.PreferredDuringSchedulingIgnoredDuringExecution); err != nil && pi.AffinityErr == nil {
			pi.AffinityErr = fmt.Errorf("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution: %w", err)
		}
	}
	return pi
}

// statesCPUAndMemory reports whether every container of pod (init containers too) states a cpu
// and a memory request, as most pods' do.
func statesCPUAndMemory(pod *v1.Pod) bool {
	states := func(cs []v1.Container) bool {
		for i := range cs {
			r := cs[i].Resources.Requests
			if _, ok := r[v1.ResourceCPU]; !ok {
				return false
			}
			if _, ok := r[v1.ResourceMemory]; !ok {
				return false
			}
		}
		return true
	}
	return states(pod.Spec.Containers) && states(pod.Spec.InitContainers)
}

// HasScoringTerms reports whether the pod has terms that score other pods' placement: required
// affinity or preferred (anti-)affinity.
func (pi *PodInfo) HasScoringTerms() bool {
	return len(pi.RequiredAffinity)+len(pi.PreferredAffinity)+len(pi.PreferredAntiAffinity) > 0
}

func affinityTerms(pod *v1.Pod, terms []v1.PodAffinityTerm) ([]AffinityTerm, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	out := make([]AffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i])
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func weightedTerms(pod *v1.Pod, terms []v1.WeightedPodAffinityTerm) ([]WeightedAffinityTerm, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	out := make([]WeightedAffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			return nil, fmt.Errorf("[%d].podAffinityTerm: %w", i, err)
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out, nil
}

func newAffinityTerm(pod *v1.Pod, term *v1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("labelSelector: %w", err)
	}
	nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("namespaceSelector: %w", err)
	}
	ns := make(map[string]struct{}, max(1, len(term.Namespaces)))
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		ns[pod.Namespace] = struct{}{}
	}
	for _, n := range term.Namespaces {
		ns[n] = struct{}{}
	}
	return AffinityTerm{Namespaces: ns, NamespaceSelector: nsSel, Selector: sel, TopologyKey: term.TopologyKey,
		ID: newTermID(ns, nsSel, sel)}, nil
}
