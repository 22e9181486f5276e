package conformance

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

// incoming adds 5 to 17 incoming pods in groups. Every pod gets node-level constraints; independent
// pods add constraints that look only at pre-existing pods; groups add one constraint among
// themselves (see the package doc for why this keeps "pending" well defined).
func (g *gen) incoming() {
	target := 5 + g.r.IntN(12)
	for count, i := 0, 0; count < target; i++ {
		kind := g.kind()
		size := 1
		if kind != independent {
			size = min(2+g.r.IntN(3), max(2, target-count))
		}
		g.s.groups = append(g.s.groups, g.group(fmt.Sprintf("g%d", i), kind, size))
		count += size
	}
}

func (g *gen) kind() groupKind {
	switch x := g.r.IntN(100); {
	case x < 50:
		return independent
	case x < 65:
		return spreadGroup
	case x < 77:
		return antiGroup
	case x < 87:
		return affinityGroup
	default:
		return portGroup
	}
}

func (g *gen) group(name string, kind groupKind, size int) *group {
	gr := &group{name: name, kind: kind}
	p := newPod(g.s.home(), name+"-0", map[string]string{labelScenario: g.s.id, labelKind: "incoming", labelGroup: name})
	if g.chance(0.5) {
		p.Labels[labelRole] = pick(g, roles)
	}
	g.resources(p)
	g.nodeConstraints(p)
	g.softConstraints(p)
	gr.pods = []*v1.Pod{p}
	switch kind {
	case independent:
		g.independent(p)
	case antiGroup:
		p.Spec.Affinity = withPodTerms(p.Spec.Affinity, true, g.groupTerm(name, []string{labelHostname, labelHostname, labelZone, labelZone, labelDisk}))
	case affinityGroup:
		p.Spec.Affinity = withPodTerms(p.Spec.Affinity, false, g.groupTerm(name, []string{labelZone, labelZone, labelHostname, labelDisk}))
	case spreadGroup:
		c := g.spreadConstraint(pick(g, []string{labelZone, labelZone, labelHostname}), &metav1.LabelSelector{MatchLabels: map[string]string{labelGroup: name}}, p)
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	case portGroup:
		n := g.portNumber(0.4)
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports,
			v1.ContainerPort{ContainerPort: 80, HostPort: n, Protocol: v1.ProtocolTCP})
	}
	if kind != independent && kind != portGroup {
		for range g.r.IntN(3) {
			g.existingPod(gr)
		}
	}
	for i := 1; i < size; i++ {
		c := p.DeepCopy()
		c.Name = fmt.Sprintf("%s-%d", name, i)
		gr.pods = append(gr.pods, c)
	}
	return gr
}

// resources gives p one or two containers, sometimes init containers and sidecars, and
// sometimes a RuntimeClass with overhead.
func (g *gen) resources(p *v1.Pod) {
	cpu := []string{"", "100m", "100m", "250m", "250m", "500m", "1", "3"}
	mem := []string{"", "64Mi", "256Mi", "256Mi", "1Gi", "1Gi", "6Gi"}
	for i := range 1 + g.r.IntN(2) {
		req := requests("cpu", pick(g, cpu), "memory", pick(g, mem))
		if g.chance(0.1) {
			req[v1.ResourceEphemeralStorage] = resource.MustParse(pick(g, []string{"1Gi", "10Gi", "40Gi"}))
		}
		if g.chance(0.07) {
			req[resGPU] = resource.MustParse(pick(g, []string{"1", "1", "2"}))
		}
		if g.chance(0.05) { // the API wants cpu or memory beside huge pages
			req[resHugePages] = resource.MustParse(pick(g, []string{"2Mi", "8Mi"}))
			req[v1.ResourceMemory] = resource.MustParse("64Mi")
		}
		p.Spec.Containers = append(p.Spec.Containers, container(fmt.Sprintf("c%d", i), req))
	}
	if g.chance(0.25) {
		always := v1.ContainerRestartPolicyAlways
		for i := range 1 + g.r.IntN(2) {
			req := requests("cpu", pick(g, []string{"100m", "500m", "1", "3"}), "memory", pick(g, []string{"", "128Mi", "2Gi"}))
			if g.chance(0.05) {
				req[resGPU] = resource.MustParse("1")
			}
			c := container(fmt.Sprintf("init%d", i), req)
			if g.chance(0.5) {
				c.RestartPolicy = &always
			}
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
		}
	}
	if g.chance(0.15) {
		rc := pick(g, []string{rcOverhead, rcPinned})
		p.Spec.RuntimeClassName = &rc
	}
	if g.chance(0.06) { // pod-level requests: at least what the containers ask, replacing it
		sum := placementcheck.PodRequests(p)
		extra := requests("cpu", pick(g, []string{"", "250m", "1"}), "memory", pick(g, []string{"", "512Mi"}))
		level := placementcheck.Amounts{v1.ResourceCPU: sum[v1.ResourceCPU], v1.ResourceMemory: sum[v1.ResourceMemory]}
		level.Add(placementcheck.ToAmounts(extra))
		if g.chance(0.3) {
			delete(level, v1.ResourceMemory)
		}
		p.Spec.Resources = &v1.ResourceRequirements{Requests: resourceList(level)}
	}
}

// nodeConstraints adds a nodeSelector, required node affinity (with matchFields) and tolerations.
func (g *gen) nodeConstraints(p *v1.Pod) {
	keys := []string{labelZone, labelDisk, labelGen, labelPool, labelHostname}
	if g.chance(0.15) {
		k := pick(g, keys)
		p.Spec.NodeSelector = map[string]string{k: g.nodeSelectorValue(k)}
	}
	if p.Spec.RuntimeClassName != nil && *p.Spec.RuntimeClassName == rcPinned {
		delete(p.Spec.NodeSelector, labelDisk) // the RuntimeClass sets it; a different value is refused
	}
	if g.chance(0.25) {
		req := &v1.NodeSelector{}
		for range 1 + g.r.IntN(2) {
			var term v1.NodeSelectorTerm
			for range 1 + g.r.IntN(2) {
				term.MatchExpressions = append(term.MatchExpressions, g.nodeRequirement(pick(g, append(keys, "conf.berth.test/missing"))))
			}
			if g.chance(0.2) {
				op := pick(g, []v1.NodeSelectorOperator{v1.NodeSelectorOpIn, v1.NodeSelectorOpNotIn})
				name := pick(g, append(nodeNames(g.s.nodes), "nowhere"))
				term.MatchFields = []v1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: op, Values: []string{name}}}
			}
			req.NodeSelectorTerms = append(req.NodeSelectorTerms, term)
		}
		if g.chance(0.15) { // a term of only matchFields
			req.NodeSelectorTerms = append(req.NodeSelectorTerms, v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
				{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{pick(g, g.s.nodes).Name}}}})
		}
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: req}}
	}
	if g.chance(0.4) {
		sixty := int64(60)
		options := []v1.Toleration{
			{Key: taintDedicated, Operator: v1.TolerationOpEqual, Value: "a", Effect: v1.TaintEffectNoSchedule},
			{Key: taintDedicated, Operator: v1.TolerationOpEqual, Value: "b"},
			{Key: taintDedicated, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: &sixty},
			{Key: taintGPU, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule},
			{Key: taintGPU, Operator: v1.TolerationOpEqual},
			{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule},
			{Key: taintSoft, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectPreferNoSchedule},
		}
		for range 1 + g.r.IntN(3) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, pick(g, options))
		}
		if g.chance(0.08) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Operator: v1.TolerationOpExists})
		}
	}
}

func (g *gen) nodeRequirement(key string) v1.NodeSelectorRequirement {
	r := v1.NodeSelectorRequirement{Key: key}
	switch x := g.r.IntN(6); {
	case x == 0:
		r.Operator = v1.NodeSelectorOpIn
		r.Values = []string{g.nodeSelectorValue(key), g.nodeSelectorValue(key)}
	case x == 1:
		r.Operator = v1.NodeSelectorOpNotIn
		r.Values = []string{g.nodeSelectorValue(key)}
	case x == 2:
		r.Operator = v1.NodeSelectorOpExists
	case x == 3:
		r.Operator = v1.NodeSelectorOpDoesNotExist
	default: // Gt/Lt: meaningful on the integer-valued gen label, never true on others
		if g.chance(0.7) {
			r.Key = labelGen
		}
		r.Operator = pick(g, []v1.NodeSelectorOperator{v1.NodeSelectorOpGt, v1.NodeSelectorOpLt})
		r.Values = []string{itoa(g.r.IntN(6))}
	}
	if len(r.Values) == 2 && r.Values[0] == r.Values[1] {
		r.Values = r.Values[:1]
	}
	return r
}

// softConstraints adds preferences, which must not change whether a pod can be placed.
func (g *gen) softConstraints(p *v1.Pod) {
	if g.chance(0.15) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &v1.Affinity{}
		}
		if p.Spec.Affinity.NodeAffinity == nil {
			p.Spec.Affinity.NodeAffinity = &v1.NodeAffinity{}
		}
		p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []v1.PreferredSchedulingTerm{{
			Weight: 10, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{g.nodeRequirement(labelDisk)}}}}
	}
	if g.chance(0.1) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, v1.TopologySpreadConstraint{
			MaxSkew: 1, TopologyKey: labelHostname, WhenUnsatisfiable: v1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelApp: pick(g, apps)}}})
	}
}

// independent adds constraints that read only pre-existing pods: host ports no other incoming pod
// uses, and spreading and (anti-)affinity selecting the app label.
func (g *gen) independent(p *v1.Pod) {
	if g.chance(0.25) {
		port := g.hostPort(g.portNumber(0.6))
		switch {
		case len(p.Spec.InitContainers) > 0 && g.chance(0.4):
			// On a sidecar it holds the port; on an ordinary init container it does not.
			p.Spec.InitContainers[0].Ports = append(p.Spec.InitContainers[0].Ports, port)
		default:
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, port)
		}
	}
	if g.chance(0.3) {
		keys := []string{labelZone, labelHostname, labelDisk}
		first := pick(g, keys)
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, g.spreadConstraint(first, g.appSelector(true), p))
		if second := pick(g, keys); g.chance(0.3) && second != first {
			p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, g.spreadConstraint(second, g.appSelector(true), p))
		}
	}
	for _, anti := range []bool{false, true} {
		if !g.chance(0.22) {
			continue
		}
		var terms []v1.PodAffinityTerm
		for range 1 + g.r.IntN(2) {
			t := g.term(g.appSelector(false), pick(g, []string{labelZone, labelHostname, labelDisk}))
			switch x := g.r.IntN(10); {
			case selectorUses(t.LabelSelector, labelRole): // the API refuses a key in both
			case x == 0:
				t.MatchLabelKeys = []string{labelRole}
			case x == 1:
				t.MismatchLabelKeys = []string{labelRole}
			}
			terms = append(terms, t)
		}
		p.Spec.Affinity = withPodTerms(p.Spec.Affinity, anti, terms...)
	}
}

// appSelector returns a selector that only pods carrying the app label can match (so never an
// incoming pod). For spreading it may also be {} (which upstream counts as matching no pod) or
// nil (matching nothing).
func (g *gen) appSelector(spread bool) *metav1.LabelSelector {
	if spread {
		switch g.r.IntN(20) {
		case 0:
			return &metav1.LabelSelector{}
		case 1:
			return nil
		}
	}
	switch g.r.IntN(5) {
	case 0:
		return &metav1.LabelSelector{MatchLabels: map[string]string{labelApp: pick(g, apps)}}
	case 1:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: labelApp, Operator: metav1.LabelSelectorOpIn, Values: []string{pick(g, apps), pick(g, apps)}}}}
	case 2:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: labelApp, Operator: metav1.LabelSelectorOpExists}}}
	case 3:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: labelApp, Operator: metav1.LabelSelectorOpExists},
			{Key: labelApp, Operator: metav1.LabelSelectorOpNotIn, Values: []string{pick(g, apps)}}}}
	default:
		return &metav1.LabelSelector{MatchLabels: map[string]string{labelApp: pick(g, apps)},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: labelRole, Operator: metav1.LabelSelectorOpIn, Values: []string{pick(g, roles)}}}}
	}
}

// spreadConstraint returns a DoNotSchedule constraint on key with sel and random maxSkew,
// minDomains, inclusion policies and matchLabelKeys (role, when p has it and sel does not use it).
func (g *gen) spreadConstraint(key string, sel *metav1.LabelSelector, p *v1.Pod) v1.TopologySpreadConstraint {
	c := v1.TopologySpreadConstraint{MaxSkew: int32(1 + g.r.IntN(2)), TopologyKey: key, WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: sel}
	if g.chance(0.3) {
		c.MinDomains = ptrTo(int32(1 + g.r.IntN(4)))
	}
	policies := []v1.NodeInclusionPolicy{v1.NodeInclusionPolicyHonor, v1.NodeInclusionPolicyIgnore}
	if g.chance(0.3) {
		c.NodeAffinityPolicy = ptrTo(pick(g, policies))
	}
	if g.chance(0.35) {
		c.NodeTaintsPolicy = ptrTo(pick(g, policies))
	}
	if _, has := p.Labels[labelRole]; has && sel != nil && g.chance(0.3) && !selectorUses(sel, labelRole) {
		c.MatchLabelKeys = []string{labelRole}
	}
	return c
}

// groupTerm is a required term selecting the group's own label, with a namespace scope that
// usually includes the pods' own namespace.
func (g *gen) groupTerm(name string, keys []string) v1.PodAffinityTerm {
	t := g.term(&metav1.LabelSelector{MatchLabels: map[string]string{labelGroup: name}}, pick(g, keys))
	if g.chance(0.5) { // mostly the default scope, the pods' own namespace
		t.Namespaces, t.NamespaceSelector = nil, nil
	}
	return t
}

// portNumber returns a host port number no other incoming pod uses: with probability fromExisting
// one that existing pods may hold, else a fresh one.
func (g *gen) portNumber(fromExisting float64) int32 {
	if len(g.freePorts) > 0 && g.chance(fromExisting) {
		i := g.r.IntN(len(g.freePorts))
		n := g.freePorts[i]
		g.freePorts = append(g.freePorts[:i], g.freePorts[i+1:]...)
		return n
	}
	g.nextPort++
	return g.nextPort
}

func withPodTerms(a *v1.Affinity, anti bool, terms ...v1.PodAffinityTerm) *v1.Affinity {
	if a == nil {
		a = &v1.Affinity{}
	}
	if anti {
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &v1.PodAntiAffinity{}
		}
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
		return a
	}
	if a.PodAffinity == nil {
		a.PodAffinity = &v1.PodAffinity{}
	}
	a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	return a
}

func selectorUses(s *metav1.LabelSelector, key string) bool {
	if _, ok := s.MatchLabels[key]; ok {
		return true
	}
	for _, e := range s.MatchExpressions {
		if e.Key == key {
			return true
		}
	}
	return false
}

func nodeNames(nodes []*v1.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
