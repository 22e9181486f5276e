package interpodaffinity

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// The scans of PreFilter and PreScore visit every existing pod (or every pod with affinity terms)
// for each decision. Existing pods are mostly replicas: many share their labels, and their terms,
// with each other. The memos below let one scan match a selector once per distinct LabelsID or
// TermID instead of once per pod. A memo belongs to one scan on one goroutine; a nil memo
// remembers nothing, and pods or terms whose ID was not computed are always matched directly.

// termMemo remembers whether existing pods' terms select the incoming pod, per TermID.
type termMemo map[snapshot.TermID]bool

// selects reports whether t selects pod, whose namespace has labels nsLabels.
func (m termMemo) selects(t *snapshot.AffinityTerm, pod *v1.Pod, nsLabels labels.Set) bool {
	if m == nil || !t.ID.Known() {
		return t.Matches(pod, nsLabels)
	}
	got, ok := m[t.ID]
	if !ok {
		got = t.Matches(pod, nsLabels)
		m[t.ID] = got
	}
	return got
}

// podMemo remembers, per LabelsID of existing pods, a bit set of which of the incoming pod's
// terms select them.
type podMemo map[snapshot.LabelsID]uint64

// selected returns match(p.Pod), remembered by p's LabelsID.
func (m podMemo) selected(p *snapshot.PodInfo, match func(*v1.Pod) uint64) uint64 {
	if m == nil || !p.LabelsID.Known() {
		return match(p.Pod)
	}
	bits, ok := m[p.LabelsID]
	if !ok {
		bits = match(p.Pod)
		m[p.LabelsID] = bits
	}
	return bits
}
