package podtopologyspread

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// constraint is a v1.TopologySpreadConstraint prepared for one pod: selector parsed (with the
// pod's matchLabelKeys merged in) and optional fields resolved to kube-scheduler's defaults.
type constraint struct {
	maxSkew     int32
	topologyKey string
	selector    labels.Selector
	// countsNothing is true when the selector is empty (matches everything): kube-scheduler then
	// counts no existing pod, although the incoming pod still matches itself.
	countsNothing bool
	minDomains    int32
	honorAffinity bool // nodeAffinityPolicy Honor (the default)
	honorTaints   bool // nodeTaintsPolicy Honor (Ignore is the default)
	// self is 1 when the selector matches the incoming pod itself (set by PreFilter), else 0.
	self int
}

// parseConstraints prepares the constraints of cs whose whenUnsatisfiable is action. path names
// cs in errors.
func parseConstraints(cs []v1.TopologySpreadConstraint, podLabels map[string]string, action v1.UnsatisfiableConstraintAction, path string) ([]constraint, error) {
	var out []constraint
	for i := range cs {
		c := &cs[i]
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("%s[%d].labelSelector: %w", path, i, err)
		}
		out = append(out, constraint{
			maxSkew:       c.MaxSkew,
			topologyKey:   c.TopologyKey,
			selector:      withMatchLabelKeys(sel, c.MatchLabelKeys, podLabels),
			minDomains:    deref(c.MinDomains, 1),
			honorAffinity: c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == v1.NodeInclusionPolicyHonor,
			honorTaints:   c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == v1.NodeInclusionPolicyHonor,
		})
		out[len(out)-1].countsNothing = out[len(out)-1].selector.Empty()
	}
	return out, nil
}

// withMatchLabelKeys ANDs sel with key=value for each of keys the pod has a label for. The API
// server may already have merged these into the labelSelector at pod creation; kube-scheduler
// merges them again, which changes nothing but is repeated here for pods created otherwise.
// A selector that matches nothing (a nil labelSelector) is returned unchanged.
func withMatchLabelKeys(sel labels.Selector, keys []string, podLabels map[string]string) labels.Selector {
	set := labels.Set{}
	for _, k := range keys {
		if v, ok := podLabels[k]; ok {
			set[k] = v
		}
	}
	if len(set) == 0 {
		return sel
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return sel
	}
	return labels.SelectorFromSet(set).Add(reqs...)
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// hasTopologyKeys reports whether nodeLabels has every constraint's topology key.
func hasTopologyKeys(nodeLabels map[string]string, cs []constraint) bool {
	for i := range cs {
		if _, ok := nodeLabels[cs[i].topologyKey]; !ok {
			return false
		}
	}
	return true
}

// nodeHasTopologyKeys is hasTopologyKeys for a node of the snapshot (see NodeInfo.Label).
func nodeHasTopologyKeys(n *snapshot.NodeInfo, cs []constraint) bool {
	for i := range cs {
		if _, ok := n.Label(cs[i].topologyKey); !ok {
			return false
		}
	}
	return true
}

// countMatching counts the pods of pods that c selects: in namespace ns and not terminating.
func countMatching(pods []*snapshot.PodInfo, c *constraint, ns string) int {
	if c.countsNothing {
		return 0
	}
	n := 0
	for _, pi := range pods {
		if pi.Pod.DeletionTimestamp == nil && c.selects(pi.Pod, ns) {
			n++
		}
	}
	return n
}

// selects reports whether c selects pod, an incoming pod in namespace ns being the one whose
// constraint it is: same namespace and matching labels.
func (c *constraint) selects(pod *v1.Pod, ns string) bool {
	return pod.Namespace == ns && c.selector.Matches(labels.Set(pod.Labels))
}

// matcher counts the pods that an incoming pod's constraints select, like countMatching, but
// remembers per LabelsID which constraints select a pod, so that pods with equal labels (the
// replicas of a workload) are matched once per decision instead of once each. One matcher per
// goroutine: it is not safe for concurrent use.
type matcher struct {
	cs []constraint
	ns string
	// memo maps a LabelsID to a bit set of the constraints selecting it (bit i: cs[i]); nil when
	// there are too many constraints for the bit set.
	memo map[snapshot.LabelsID]uint64
}

func newMatcher(cs []constraint, ns string) *matcher {
	m := &matcher{cs: cs, ns: ns}
	if len(cs) <= 64 {
		m.memo = map[snapshot.LabelsID]uint64{}
	}
	return m
}

// count returns how many pods of pods constraint i selects.
func (m *matcher) count(pods []*snapshot.PodInfo, i int) int {
	c := &m.cs[i]
	if c.countsNothing {
		return 0
	}
	if m.memo == nil {
		return countMatching(pods, c, m.ns)
	}
	n := 0
	for _, pi := range pods {
		if pi.Pod.DeletionTimestamp != nil {
			continue
		}
		var selected bool
		if pi.LabelsID.Known() {
			selected = m.selected(pi)&(1<<i) != 0
		} else { // built without NewPodInfo: matched directly
			selected = c.selects(pi.Pod, m.ns)
		}
		if selected {
			n++
		}
	}
	return n
}

// selected returns the bit set of the constraints selecting pi, from the memo when known.
func (m *matcher) selected(pi *snapshot.PodInfo) uint64 {
	if bits, ok := m.memo[pi.LabelsID]; ok {
		return bits
	}
	var bits uint64
	for i := range m.cs {
		if m.cs[i].selects(pi.Pod, m.ns) {
			bits |= 1 << i
		}
	}
	m.memo[pi.LabelsID] = bits
	return bits
}

// inclusion decides which nodes count towards a constraint's domains, per its node inclusion
// policies, for one incoming pod.
type inclusion struct {
	affinity    *nodeaffinity.RequiredMatcher // the incoming pod's nodeSelector and required affinity
	tolerations []v1.Toleration
	// needAffinity and needTaints say whether any constraint honors the policy, to skip the work
	// otherwise.
	needAffinity, needTaints bool
}

func newInclusion(pod *v1.Pod, cs []constraint) inclusion {
	in := inclusion{tolerations: pod.Spec.Tolerations}
	for i := range cs {
		in.needAffinity = in.needAffinity || cs[i].honorAffinity
		in.needTaints = in.needTaints || cs[i].honorTaints
	}
	if in.needAffinity {
		// Like kube-scheduler, unparseable affinity terms simply match no node.
		in.affinity, _ = nodeaffinity.NewRequiredMatcher(pod)
	}
	return in
}

// nodeVerdict is what inclusion concluded about one node, for every constraint.
type nodeVerdict struct{ affinityOK, taintsOK bool }

func (in *inclusion) judge(node *v1.Node) nodeVerdict {
	return nodeVerdict{
		affinityOK: !in.needAffinity || in.affinity.Match(node),
		taintsOK:   !in.needTaints || tolerated(node.Spec.Taints, in.tolerations),
	}
}

// tolerated reports whether tolerations tolerate every NoSchedule and NoExecute taint of taints.
func tolerated(taints []v1.Taint, tolerations []v1.Toleration) bool {
	_, untolerated := tainttoleration.FindUntoleratedTaint(taints, tolerations)
	return !untolerated
}

// counts reports whether node, judged as v, counts towards c.
func (v nodeVerdict) counts(c *constraint) bool {
	return (!c.honorAffinity || v.affinityOK) && (!c.honorTaints || v.taintsOK)
}
