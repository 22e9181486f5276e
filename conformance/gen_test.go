package conformance

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/testenv"
)

// Vocabularies the generator draws from.
var (
	zones         = []string{"z1", "z2", "z3"}
	disks         = []string{"ssd", "hdd"}
	gens          = []string{"1", "2", "3", "4", "5"}
	pools         = []string{"a", "b", ""} // an empty value is still a value
	teams         = []string{"a", "b"}
	apps          = []string{"web", "db", "cache"}
	roles         = []string{"x", "y"}
	existingPorts = []int32{8080, 8081, 8082}
)

// gen builds one scenario from one seed. Same seed, same scenario: it draws from one PCG source
// and iterates only over slices.
type gen struct {
	r *rand.Rand
	s *scenario
	// freePorts are the existing pods' port numbers no incoming pod has taken yet; nextPort is a
	// number nobody else uses.
	freePorts []int32
	nextPort  int32
}

// generate returns the scenario of seed.
func generate(seed uint64) *scenario {
	g := &gen{
		r:         rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		s:         &scenario{seed: seed, id: fmt.Sprintf("s%d", seed), terminating: map[string]bool{}},
		freePorts: append([]int32(nil), existingPorts...),
		nextPort:  30000,
	}
	g.namespaces()
	for i := range 3 + g.r.IntN(6) {
		g.s.nodes = append(g.s.nodes, g.node(i))
	}
	for range g.r.IntN(9) {
		g.existingPod(nil)
	}
	g.incoming()
	g.fitCapacity()
	g.s.changed = map[string]bool{}
	for i, n := range g.s.nodes {
		// Not the newest node: a probe bound there must prove its final version was seen.
		g.s.changed[n.Name] = g.chance(0.15) && i < len(g.s.nodes)-1
	}
	for _, p := range g.s.existing {
		g.s.changed[p.Name] = g.chance(0.15)
	}
	return g.s
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, list []T) T { return list[g.r.IntN(len(list))] }

func (g *gen) namespaces() {
	n := 2 + g.r.IntN(2)
	for i := range n {
		name := g.s.id + "-home"
		if i > 0 {
			name = fmt.Sprintf("%s-o%d", g.s.id, i)
		}
		g.s.namespaces = append(g.s.namespaces, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{labelScenario: g.s.id, labelNS: name, labelTeam: pick(g, teams)}}})
	}
}

func (g *gen) node(i int) *v1.Node {
	spec := testenv.NodeSpec{
		Name:   fmt.Sprintf("%s-n%d", g.s.id, i),
		CPU:    pick(g, []string{"2", "4", "8", "8"}),
		Memory: pick(g, []string{"4Gi", "8Gi", "16Gi"}),
		Labels: map[string]string{labelScenario: g.s.id},
		Extra:  v1.ResourceList{},
	}
	optional := []struct {
		key  string
		p    float64
		vals []string
	}{{labelZone, 0.9, zones}, {labelDisk, 0.7, disks}, {labelGen, 0.7, gens}, {labelPool, 0.5, pools}}
	for _, o := range optional {
		if g.chance(o.p) {
			spec.Labels[o.key] = pick(g, o.vals)
		}
	}
	if g.chance(0.25) {
		spec.Taints = g.taints()
	}
	spec.Unschedulable = g.chance(0.08)
	if g.chance(0.8) {
		spec.Extra[v1.ResourceEphemeralStorage] = resource.MustParse(pick(g, []string{"20Gi", "100Gi"}))
	}
	if g.chance(0.4) {
		spec.Extra[resGPU] = *resource.NewQuantity(int64(pick(g, []int{1, 2, 4})), resource.DecimalSI)
	}
	if g.chance(0.3) {
		spec.Extra[resHugePages] = resource.MustParse(pick(g, []string{"4Mi", "64Mi"}))
	}
	n := testenv.Node(spec)
	// Conditions do not filter (only taints do, and no controller adds them here).
	switch x := g.r.IntN(100); {
	case x < 8:
		n.Status.Conditions[0].Status = v1.ConditionFalse
	case x < 13:
		n.Status.Conditions = append(n.Status.Conditions, v1.NodeCondition{Type: v1.NodeMemoryPressure, Status: v1.ConditionTrue})
	}
	return n
}

// taints returns one or two taints with distinct key and effect pairs.
func (g *gen) taints() []v1.Taint {
	options := []v1.Taint{
		{Key: taintDedicated, Value: pick(g, []string{"a", "b"}), Effect: v1.TaintEffectNoSchedule},
		{Key: taintDedicated, Value: pick(g, []string{"a", "b"}), Effect: v1.TaintEffectNoExecute},
		{Key: taintGPU, Effect: v1.TaintEffectNoSchedule},
		{Key: taintSoft, Value: "x", Effect: v1.TaintEffectPreferNoSchedule},
		// Every pod tolerates this one: the DefaultTolerationSeconds admission plugin adds it.
		{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute},
	}
	var out []v1.Taint
	for range 1 + g.r.IntN(2) {
		t := pick(g, options)
		dup := false
		for _, o := range out {
			dup = dup || (o.Key == t.Key && o.Effect == t.Effect)
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

// newPod returns a pod with no containers yet, grace period 0 (deleting it never waits for a
// kubelet), in namespace ns.
func newPod(ns, name string, lbls map[string]string) *v1.Pod {
	zero := int64(0)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       v1.PodSpec{TerminationGracePeriodSeconds: &zero},
	}
}

// container returns a pause container requesting req (extended resources and huge pages also as
// limits, as the API requires).
func container(name string, req v1.ResourceList) v1.Container {
	c := v1.Container{Name: name, Image: "registry.k8s.io/pause:3.10", Resources: v1.ResourceRequirements{Requests: req}}
	for _, r := range []v1.ResourceName{resGPU, resHugePages} {
		if q, ok := req[r]; ok {
			if c.Resources.Limits == nil {
				c.Resources.Limits = v1.ResourceList{}
			}
			c.Resources.Limits[r] = q
		}
	}
	return c
}

// requests builds a request list from "name=quantity" choices; empty quantities are left out.
func requests(kv ...string) v1.ResourceList {
	out := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
	}
	return out
}

// existingPod adds a pod bound to a random node. member, when not nil, makes it a pre-existing
// member of an incoming group (its label and namespace); otherwise it is a typical workload pod.
func (g *gen) existingPod(member *group) *v1.Pod {
	i := len(g.s.existing)
	ns := pick(g, g.s.namespaces).Name
	if g.chance(0.5) {
		ns = g.s.home()
	}
	lbls := map[string]string{labelScenario: g.s.id, labelKind: "existing"}
	p := newPod(ns, fmt.Sprintf("e%d", i), lbls)
	p.Spec.NodeName = pick(g, g.s.nodes).Name
	p.Spec.SchedulerName = "conformance-none"
	req := requests("cpu", pick(g, []string{"", "100m", "250m", "500m", "1"}), "memory", pick(g, []string{"", "128Mi", "1Gi", "2Gi"}))
	if g.chance(0.15) {
		req[v1.ResourceEphemeralStorage] = resource.MustParse("5Gi")
	}
	if g.chance(0.15) {
		req[resGPU] = resource.MustParse("1")
	}
	c := container("app", req)
	switch {
	case member != nil:
		lbls[labelGroup] = member.name
		if member.kind == spreadGroup && g.chance(0.8) {
			p.Namespace = g.s.home()
		}
		if r, ok := member.pods[0].Labels[labelRole]; ok && g.chance(0.7) {
			lbls[labelRole] = r
		}
	default:
		if g.chance(0.8) {
			lbls[labelApp] = pick(g, apps)
		}
		if g.chance(0.4) {
			lbls[labelRole] = pick(g, roles)
		}
		if g.chance(0.25) {
			c.Ports = []v1.ContainerPort{g.hostPort(pick(g, existingPorts))}
		}
		if g.chance(0.15) {
			sel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: labelRole, Operator: metav1.LabelSelectorOpIn, Values: []string{pick(g, roles)}}}}
			if g.chance(0.25) {
				sel.MatchExpressions[0] = metav1.LabelSelectorRequirement{Key: labelRole, Operator: metav1.LabelSelectorOpExists}
			}
			p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{g.term(sel, pick(g, []string{labelHostname, labelZone, labelDisk}))}}}
		}
		if g.chance(0.08) { // an existing pod's required affinity binds only itself, never others
			p.Spec.Affinity = withPodTerms(p.Spec.Affinity, false, g.term(
				&metav1.LabelSelector{MatchLabels: map[string]string{labelRole: pick(g, roles)}}, labelHostname))
		}
	}
	p.Spec.Containers = []v1.Container{c}
	if g.chance(0.1) {
		g.s.terminating[p.Name] = true
	}
	g.s.existing = append(g.s.existing, p)
	return p
}

// hostPort returns a host port with a random protocol and address.
func (g *gen) hostPort(n int32) v1.ContainerPort {
	proto := v1.ProtocolTCP
	if g.chance(0.3) {
		proto = v1.ProtocolUDP
	}
	ip := ""
	if g.chance(0.4) {
		ip = pick(g, []string{"127.0.0.1", "10.0.0.1"})
	}
	return v1.ContainerPort{ContainerPort: 8000 + n%1000, HostPort: n, Protocol: proto, HostIP: ip}
}

// term returns a pod affinity term with a random namespace scope: the owner's namespace, a list,
// a namespaceSelector on the team label, all namespaces ({}), or a list plus a selector.
func (g *gen) term(sel *metav1.LabelSelector, key string) v1.PodAffinityTerm {
	t := v1.PodAffinityTerm{LabelSelector: sel, TopologyKey: key}
	teamSel := &metav1.LabelSelector{MatchLabels: map[string]string{labelTeam: pick(g, teams)}}
	switch g.r.IntN(5) {
	case 1:
		t.Namespaces = []string{pick(g, g.s.namespaces).Name}
	case 2:
		t.NamespaceSelector = teamSel
	case 3:
		t.NamespaceSelector = &metav1.LabelSelector{}
	case 4:
		t.Namespaces = []string{pick(g, g.s.namespaces).Name}
		t.NamespaceSelector = teamSel
	}
	return t
}

// nodeSelectorValue returns a plausible value for a node label key (sometimes one no node has).
func (g *gen) nodeSelectorValue(key string) string {
	switch key {
	case labelZone:
		return pick(g, append(zones, "z9"))
	case labelDisk:
		return pick(g, disks)
	case labelGen:
		return pick(g, gens)
	case labelPool:
		return pick(g, pools)
	case labelHostname:
		return pick(g, g.s.nodes).Name
	}
	return "none"
}

func itoa(i int) string { return strconv.Itoa(i) }
