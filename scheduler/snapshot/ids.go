package snapshot

import (
	"maps"
	"slices"
	"strings"
	"unique"

	"k8s.io/apimachinery/pkg/labels"
)

// LabelsID identifies a pod's namespace and labels, interned: pods with equal LabelsIDs are
// selected alike by every label selector and namespace rule, so one decision can match a selector
// once per distinct LabelsID instead of once per pod. The zero LabelsID is "not computed" (a
// PodInfo that NewPodInfo did not build); such pods must be matched one by one.
type LabelsID struct{ h unique.Handle[labelsKey] }

type labelsKey struct{ namespace, labels string }

// NewLabelsID returns the LabelsID of a pod in namespace ns with labels l.
//
// It runs for every pod the informer delivers (50,000 at a large cluster's cold start), so it
// sorts the keys of up to maxStackLabels labels on the stack and builds the key in one allocation.
func NewLabelsID(ns string, l map[string]string) LabelsID {
	var stack [maxStackLabels]string
	keys, size := stack[:0], 0
	for k, v := range l {
		keys = append(keys, k)
		size += len(k) + len(v) + 2
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(size)
	for _, k := range keys {
		// Label keys and values never contain NUL, so the encoding is unambiguous.
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return LabelsID{unique.Make(labelsKey{namespace: ns, labels: b.String()})}
}

// maxStackLabels is how many labels NewLabelsID sorts without allocating.
const maxStackLabels = 16

// Known reports whether id was computed.
func (id LabelsID) Known() bool { return id != LabelsID{} }

// TermID identifies what an AffinityTerm selects (its namespaces, namespace selector and label
// selector; not its topology key), interned: terms with equal TermIDs select the same pods. The
// zero TermID is "not computed".
type TermID struct{ h unique.Handle[termKey] }

type termKey struct {
	namespaces         string // sorted, NUL-separated
	nsSelector         string
	selector           string
	nsNothing, nothing bool // the selector is labels.Nothing(), whose String() is "" like Everything's
}

// newTermID returns the TermID of a term naming namespaces and selecting with nsSel and sel.
// Selectors print canonically (requirements sorted by key, values sorted), so equal strings mean
// equal selection; selectors that select alike but print differently merely get distinct IDs.
func newTermID(namespaces map[string]struct{}, nsSel, sel labels.Selector) TermID {
	k := termKey{namespaces: strings.Join(slices.Sorted(maps.Keys(namespaces)), "\x00")}
	k.nsSelector, k.nsNothing = selectorKey(nsSel)
	k.selector, k.nothing = selectorKey(sel)
	return TermID{unique.Make(k)}
}

func selectorKey(s labels.Selector) (string, bool) {
	if _, selectable := s.Requirements(); !selectable {
		return "", true
	}
	return s.String(), false
}

// Known reports whether id was computed.
func (id TermID) Known() bool { return id != TermID{} }
