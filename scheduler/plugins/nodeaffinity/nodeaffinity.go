// Package nodeaffinity implements kube-scheduler's NodeAffinity plugin: a pod may only go to nodes
// that carry its spec.nodeSelector labels and match its required node affinity (and the
// scheduler-wide addedAffinity of the plugin's args); among those, nodes matching more of its
// preferred node affinity terms score higher.
//
// Everything about a pod's selectors is compiled once in PreFilter/PreScore; judging a node then
// reads its labels and name without allocating. The package also exports RequiredMatcher, the
// compiled required selector, for plugins that must know which nodes a pod could go to
// (PodTopologySpread's nodeAffinityPolicy).
//
//	pl, err := nodeaffinity.New(nodeaffinity.DefaultArgs())
//	f, v := pl.PreFilter(pod, snap) // v rejects pods with unusable selectors; f may be nil
//	verdict := f.Filter(nodeInfo)
package nodeaffinity

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Name is the plugin's name in kube-scheduler's configuration.
const Name = "NodeAffinity"

// Reasons, in kube-scheduler's words.
const (
	// ErrReasonPod: the node does not match the pod's nodeSelector or required node affinity.
	ErrReasonPod = "node(s) didn't match Pod's node affinity/selector"
	// ErrReasonEnforced: the node does not match the plugin's addedAffinity.
	ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity"
	// ErrReasonConflict: the pod's terms each name nodes by metadata.name, and none can match.
	ErrReasonConflict = "pod affinity terms conflict"
)

var (
	reasonsPod      = []string{ErrReasonPod}
	reasonsEnforced = []string{ErrReasonEnforced}

	preferredAffinityPath = field.NewPath("spec", "affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
)

// NodeAffinity is the plugin. It holds only the compiled args and is safe for concurrent use.
type NodeAffinity struct {
	addedRequired  *nodeSelector  // nil: no added required affinity
	addedPreferred []weightedTerm // empty: no added preferred terms
}

// New returns the plugin configured by args, or an error naming the first bad field of args.
func New(args Args) (*NodeAffinity, error) {
	required, preferred, err := args.compile()
	if err != nil {
		return nil, fmt.Errorf("validating NodeAffinityArgs: %w", err)
	}
	return &NodeAffinity{addedRequired: required, addedPreferred: preferred}, nil
}

// Name returns "NodeAffinity".
func (pl *NodeAffinity) Name() string { return Name }

// PreFilter compiles the pod's required selectors. It returns a nil NodeFilter when neither the
// pod nor the args constrain nodes. It rejects the pod, unresolvably, when its matchFields terms
// name node sets that cannot intersect (ErrReasonConflict), when every required affinity term is
// unparseable, or when a preferred term is unparseable (kube-scheduler fails such a pod at
// PreScore with an error; here it is refused up front).
//
// The returned filter also has a NodeNames() []string method: when every required term names
// nodes with a metadata.name In requirement it returns the union of those names (the only nodes
// that can pass, kube-scheduler's PreFilterResult), otherwise nil.
func (pl *NodeAffinity) PreFilter(pod *snapshot.PodInfo, _ *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	p := pod.Pod
	if _, errs := compilePreferred(preferredTerms(p), preferredAffinityPath); len(errs) > 0 {
		return nil, snapshot.RejectUnresolvable(fmt.Sprintf("invalid node affinity: %v", utilerrors.Flatten(utilerrors.NewAggregate(errs))))
	}
	required := requiredNodeSelector(p)
	if required == nil && pl.addedRequired == nil && p.Spec.NodeSelector == nil {
		return nil, snapshot.Verdict{}
	}
	names, conflict := nodeNames(required)
	if conflict {
		return nil, snapshot.RejectUnresolvable(ErrReasonConflict)
	}
	m, err := NewRequiredMatcher(p)
	if m.matchesNothing() {
		return nil, snapshot.RejectUnresolvable(err.Error())
	}
	return &nodeFilter{added: pl.addedRequired, required: m, names: names, pod: p}, snapshot.Verdict{}
}

// nodeFilter is the NodeAffinity check prepared for one pod. Read-only once built.
type nodeFilter struct {
	added    *nodeSelector
	required *RequiredMatcher
	names    []string
	pod      *v1.Pod // what required was compiled from
}

// NodeObjectOnly marks the filter as judging the node object alone (see decide.NodeOnlyFilter).
func (*nodeFilter) NodeObjectOnly() {}

// AppendKey appends the pod's node selector and required node affinity (the added affinity is
// the plugin's, the same for every pod).
func (f *nodeFilter) AppendKey(b []byte) ([]byte, bool) {
	sel := f.pod.Spec.NodeSelector
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = decide.AppendKeyString(decide.AppendKeyString(b, k), sel[k])
	}
	if req := requiredNodeSelector(f.pod); req != nil {
		data, err := req.Marshal() // deterministic: a NodeSelector holds no maps
		if err != nil {
			return b, false
		}
		return decide.AppendKeyString(append(b, 1), string(data)), true
	}
	return append(b, 0), true
}

// Filter rejects, unresolvably, a node that misses the added affinity or the pod's own.
func (f *nodeFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	node := n.Node
	if node == nil {
		return snapshot.Verdict{Reasons: reasonsPod, Unresolvable: true}
	}
	if f.added != nil && !f.added.matches(node) {
		return snapshot.Verdict{Reasons: reasonsEnforced, Unresolvable: true}
	}
	if !f.required.Match(node) {
		return snapshot.Verdict{Reasons: reasonsPod, Unresolvable: true}
	}
	return snapshot.Verdict{}
}

// NodeNames returns, sorted, the only node names that can pass this filter, or nil when any node
// might. Callers must not modify the slice.
func (f *nodeFilter) NodeNames() []string { return f.names }

// nodeNames works out kube-scheduler's PreFilterResult: when every required term has
// metadata.name In requirements, the nodes named by each term (intersected within the term) are
// the only candidates (unioned across terms). conflict is true when that union is empty.
func nodeNames(ns *v1.NodeSelector) (names []string, conflict bool) {
	if ns == nil || len(ns.NodeSelectorTerms) == 0 {
		return nil, false
	}
	union := map[string]struct{}{}
	for i := range ns.NodeSelectorTerms {
		var inTerm map[string]struct{}
		for _, r := range ns.NodeSelectorTerms[i].MatchFields {
			if r.Key != metav1.ObjectNameField || r.Operator != v1.NodeSelectorOpIn {
				continue
			}
			vals := make(map[string]struct{}, len(r.Values))
			for _, v := range r.Values {
				if inTerm == nil {
					vals[v] = struct{}{}
				} else if _, ok := inTerm[v]; ok {
					vals[v] = struct{}{}
				}
			}
			inTerm = vals
		}
		if inTerm == nil {
			return nil, false // this term does not restrict node names, and terms are ORed
		}
		for v := range inTerm {
			union[v] = struct{}{}
		}
	}
	if len(union) == 0 {
		return nil, true
	}
	names = make([]string, 0, len(union))
	for v := range union {
		names = append(names, v)
	}
	slices.Sort(names)
	return names, false
}

// PreScore compiles the pod's preferred node affinity terms. It returns nil when neither the pod
// nor the args have any (every node then scores 0), or when they cannot be parsed (PreFilter has
// already refused such a pod).
func (pl *NodeAffinity) PreScore(pod *snapshot.PodInfo, _ *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	terms, errs := compilePreferred(preferredTerms(pod.Pod), preferredAffinityPath)
	if len(errs) > 0 || (len(terms) == 0 && len(pl.addedPreferred) == 0) {
		return nil
	}
	return &scorer{added: pl.addedPreferred, pod: terms}
}

// scorer scores one pod's preferred node affinity. Read-only once built.
type scorer struct {
	added, pod []weightedTerm
}

// Score returns the sum of the weights of the added and the pod's preferred terms n matches.
func (s *scorer) Score(n *snapshot.NodeInfo) int64 {
	if n.Node == nil {
		return 0
	}
	return scorePreferred(s.added, n.Node) + scorePreferred(s.pod, n.Node)
}

// Normalize scales scores linearly so that the highest becomes decide.MaxNodeScore (all stay 0
// when the highest is 0), as kube-scheduler's DefaultNormalizeScore.
func (s *scorer) Normalize(scores []int64) { decide.NormalizeToMax(scores) }

func preferredTerms(p *v1.Pod) []v1.PreferredSchedulingTerm {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil {
		return nil
	}
	return a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
}
