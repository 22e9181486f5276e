package decide_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// A fuzz input is a script of 4-byte records: an opcode and three arguments, each argument an
// index into one of the small vocabularies below (taken modulo its length), so that random
// bytes mostly build valid objects whose labels, keys and values collide often. Node and
// existing-pod records edit the node or pod added last; pod records edit the one incoming pod.
// Mutating one record changes one thing, and a script that ends early is still a scenario.

// Opcodes. They and the vocabularies are the corpus format: changing them changes what the
// inputs in testdata/fuzz/FuzzDecide mean (a byte wraps modulo numOps or a vocabulary's length).
const (
	opNode            = iota // zone a, allocatable preset b, flags c (see addNode)
	opNodeLabel              // key a, value b
	opNodeTaint              // key a, value b, effect c
	opNodeAlloc              // resource a, quantity b
	opExisting               // on node a, namespace b, label set c
	opExistingRequest        // resource a, quantity b, where c (see addRequest)
	opExistingPort           // host port a (see addPort), container kind c
	opExistingTerm           // pod affinity term: topology key a, selector b, shape c (see addPodTerm)
	opExistingGone           // the existing pod is terminating
	opLabel                  // incoming pod label: key a, value b
	opNamespace              // incoming pod namespace a
	opRequest                // resource a, quantity b, where c (see addRequest)
	opNodeSelector           // key a, value b
	opNodeTerm               // node affinity requirement: key a, values b, shape c (see addNodeTerm)
	opToleration             // key a, value b, operator and effect c
	opPort                   // host port a (see addPort), container kind c
	opSpread                 // topology key a, selector b, shape c (see addSpread)
	opPodTerm                // pod affinity term: topology key a, selector b, shape c (see addPodTerm)
	opSeed                   // tie-breaking seed a<<16|b<<8|c
	opImage                  // image a of size b on the last node (c even) or in the pod's first container (c odd)
	numOps
)

// Limits keep one input cheap: the decision runs on every node.
const (
	maxNodes    = 16
	maxExisting = 48
	maxRecords  = 512
)

// scenario is a decoded fuzz input.
type scenario struct {
	nodes    []*v1.Node
	existing []*v1.Pod
	pod      *v1.Pod
	seed     uint64
	// valid is false when the incoming pod holds a selector schedulers cannot parse (an invalid
	// label selector, a Gt/Lt operand that is no label value): berth may then refuse it
	// everywhere, as kube-scheduler does, whatever the checker says.
	valid bool
}

// decode builds the scenario data describes. Every input decodes.
func decode(data []byte) *scenario {
	s := &scenario{valid: true, pod: &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "incoming", Namespace: "ns-a", UID: "incoming", Labels: map[string]string{}},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c0"}}},
	}}
	for i := 0; i+4 <= len(data) && i < 4*maxRecords; i += 4 {
		s.apply(data[i]%numOps, data[i+1], data[i+2], data[i+3])
	}
	for _, e := range s.existing {
		admitLabelKeys(e)
	}
	admitLabelKeys(s.pod)
	return s
}

func pick[T any](list []T, i byte) T { return list[int(i)%len(list)] }

func (s *scenario) lastNode() *v1.Node {
	if len(s.nodes) == 0 {
		return nil
	}
	return s.nodes[len(s.nodes)-1]
}

func (s *scenario) lastExisting() *v1.Pod {
	if len(s.existing) == 0 {
		return nil
	}
	return s.existing[len(s.existing)-1]
}

func (s *scenario) apply(op, a, b, c byte) {
	n, e, p := s.lastNode(), s.lastExisting(), s.pod
	switch op {
	case opNode:
		s.addNode(a, b, c)
	case opNodeLabel:
		if n != nil {
			n.Labels[pick(labelKeys, a)] = pick(values, b)
		}
	case opNodeTaint:
		if n != nil {
			n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: pick(taintKeys, a), Value: pick(taintValues, b), Effect: pick(effects[:3], c)})
		}
	case opNodeAlloc:
		if n != nil {
			n.Status.Allocatable[pick(allocResources, a)] = resource.MustParse(pick(allocQuantities, b))
		}
	case opExisting:
		s.addExisting(a, b, c)
	case opExistingRequest:
		if e != nil {
			addRequest(e, a, b, c)
		}
	case opExistingPort:
		if e != nil {
			addPort(e, a, c)
		}
	case opExistingTerm:
		if e != nil {
			s.addPodTerm(e, a, b, c)
		}
	case opExistingGone:
		if e != nil {
			e.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
		}
	case opLabel:
		p.Labels[pick(podKeys, a)] = pick(podValues, b)
	case opNamespace:
		p.Namespace = pick(namespaces, a)
	case opRequest:
		addRequest(p, a, b, c)
	case opNodeSelector:
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		p.Spec.NodeSelector[pick(labelKeys, a)] = pick(values, b)
	case opNodeTerm:
		s.addNodeTerm(a, b, c)
	case opToleration:
		p.Spec.Tolerations = append(p.Spec.Tolerations, toleration(a, b, c))
	case opPort:
		addPort(p, a, c)
	case opSpread:
		s.addSpread(a, b, c)
	case opPodTerm:
		s.addPodTerm(p, a, b, c)
	case opSeed:
		s.seed = uint64(a)<<16 | uint64(b)<<8 | uint64(c)
	case opImage:
		switch {
		case c%2 == 1:
			p.Spec.Containers[0].Image = pick(images, a)
		case n != nil:
			n.Status.Images = append(n.Status.Images, v1.ContainerImage{Names: []string{pick(images, a)}, SizeBytes: pick(imageSizes, b)})
		}
	}
}

// addNode adds node n<i> in zone a with allocatable preset b. Flags c: bit 0 cordons it, bit 1
// leaves out the hostname label, bit 2 adds region r<zone>, bit 3 adds rack=r<i%2>.
func (s *scenario) addNode(a, b, c byte) {
	if len(s.nodes) == maxNodes {
		return
	}
	name := "n" + strconv.Itoa(len(s.nodes))
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Labels: map[string]string{}}}
	if c&2 == 0 {
		n.Labels[labelHostname] = name
	}
	switch z := pick(zones, a); z {
	case "":
	case "-":
		n.Labels[labelZone] = ""
	default:
		n.Labels[labelZone] = z
		if c&4 != 0 {
			n.Labels[labelRegion] = "r" + z
		}
	}
	if c&8 != 0 {
		n.Labels["rack"] = "r" + strconv.Itoa(len(s.nodes)%2)
	}
	n.Spec.Unschedulable = c&1 != 0
	n.Status.Allocatable = v1.ResourceList{}
	for r, q := range pick(allocPresets, b) {
		n.Status.Allocatable[r] = resource.MustParse(q)
	}
	n.Status.Capacity = n.Status.Allocatable
	s.nodes = append(s.nodes, n)
}

// addExisting binds pod e<i> to node a, in namespace b, with label set c: app (c%3: none, web,
// db) and role (c/3%3: none, x, y).
func (s *scenario) addExisting(a, b, c byte) {
	if len(s.nodes) == 0 || len(s.existing) == maxExisting {
		return
	}
	name := "e" + strconv.Itoa(len(s.existing))
	e := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pick(namespaces, b), UID: types.UID(name), Labels: map[string]string{}},
		Spec:       v1.PodSpec{NodeName: pick(s.nodes, a).Name, Containers: []v1.Container{{Name: "c0"}}},
	}
	if app := pick([]string{"", "web", "db"}, c); app != "" {
		e.Labels["app"] = app
	}
	if role := pick([]string{"", "x", "y"}, c/3); role != "" {
		e.Labels["role"] = role
	}
	s.existing = append(s.existing, e)
}

// addRequest sets request a to quantity b. Where c: 0 the first container, 1 a second one, 2
// an init container, 3 a sidecar, 4 the overhead, 5 pod-level (cpu and memory only).
func addRequest(p *v1.Pod, a, b, c byte) {
	r, q := pick(resources, a), resource.MustParse(pick(quantities, b))
	var list *v1.ResourceList
	switch c % 6 {
	case 0:
		list = &p.Spec.Containers[0].Resources.Requests
	case 1:
		if len(p.Spec.Containers) == 1 {
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "c1"})
		}
		list = &p.Spec.Containers[1].Resources.Requests
	case 2, 3:
		list = &initContainer(p, c%6 == 3).Resources.Requests
	case 4:
		list = &p.Spec.Overhead
	case 5:
		if r != v1.ResourceCPU && r != v1.ResourceMemory {
			return
		}
		if p.Spec.Resources == nil {
			p.Spec.Resources = &v1.ResourceRequirements{}
		}
		list = &p.Spec.Resources.Requests
	}
	if *list == nil {
		*list = v1.ResourceList{}
	}
	(*list)[r] = q
}

// initContainer returns the pod's first sidecar (restartPolicy Always) or ordinary init
// container, adding it.
func initContainer(p *v1.Pod, sidecar bool) *v1.Container {
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		if (c.RestartPolicy != nil) == sidecar {
			return c
		}
	}
	c := v1.Container{Name: "i" + strconv.Itoa(len(p.Spec.InitContainers))}
	if sidecar {
		always := v1.ContainerRestartPolicyAlways
		c.RestartPolicy = &always
	}
	p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	return &p.Spec.InitContainers[len(p.Spec.InitContainers)-1]
}

// addPort adds host port a: number a%4, protocol a/4%4, address a/16%5. Container kind c: 0 the
// first container, 1 an init container (whose port is released before the pod runs), 2 a sidecar.
func addPort(p *v1.Pod, a, c byte) {
	port := v1.ContainerPort{HostPort: pick(ports, a), Protocol: pick(protocols, a/4), HostIP: pick(hostIPs, a/16)}
	port.ContainerPort = port.HostPort
	var ct *v1.Container
	switch c % 3 {
	case 0:
		ct = &p.Spec.Containers[0]
	default:
		ct = initContainer(p, c%3 == 2)
	}
	ct.Ports = append(ct.Ports, port)
}

// addNodeTerm adds a node affinity requirement. Shape c: bit 0 preferred (else required), bit
// 1 a new term (else the last one), c/4%8 the operator (In, NotIn, Exists, DoesNotExist, Gt,
// Lt, matchFields on metadata.name; 7 adds nothing, which leaves a new term empty), c/32%2 one
// or two values. Key a; values from b.
func (s *scenario) addNodeTerm(a, b, c byte) {
	p := s.pod
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &v1.Affinity{}
	}
	if p.Spec.Affinity.NodeAffinity == nil {
		p.Spec.Affinity.NodeAffinity = &v1.NodeAffinity{}
	}
	na := p.Spec.Affinity.NodeAffinity
	var term *v1.NodeSelectorTerm
	if c&1 == 0 {
		if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			na.RequiredDuringSchedulingIgnoredDuringExecution = &v1.NodeSelector{}
		}
		terms := &na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if c&2 != 0 || len(*terms) == 0 {
			*terms = append(*terms, v1.NodeSelectorTerm{})
		}
		term = &(*terms)[len(*terms)-1]
	} else {
		terms := &na.PreferredDuringSchedulingIgnoredDuringExecution
		if c&2 != 0 || len(*terms) == 0 {
			*terms = append(*terms, v1.PreferredSchedulingTerm{Weight: int32(b%100) + 1})
		}
		term = &(*terms)[len(*terms)-1].Preference
	}
	key := pick(labelKeys, a)
	vals := []string{pick(values, b)}
	if c/32%2 == 1 {
		vals = append(vals, pick(values, b/16))
	}
	switch ops := c / 4 % 8; ops {
	case 0, 1:
		op := []v1.NodeSelectorOperator{v1.NodeSelectorOpIn, v1.NodeSelectorOpNotIn}[ops]
		term.MatchExpressions = append(term.MatchExpressions, v1.NodeSelectorRequirement{Key: key, Operator: op, Values: vals})
	case 2, 3:
		op := []v1.NodeSelectorOperator{v1.NodeSelectorOpExists, v1.NodeSelectorOpDoesNotExist}[ops-2]
		term.MatchExpressions = append(term.MatchExpressions, v1.NodeSelectorRequirement{Key: key, Operator: op})
	case 4, 5:
		op := []v1.NodeSelectorOperator{v1.NodeSelectorOpGt, v1.NodeSelectorOpLt}[ops-4]
		v := pick(intValues, b)
		s.valid = s.valid && v != "-1"
		term.MatchExpressions = append(term.MatchExpressions, v1.NodeSelectorRequirement{Key: key, Operator: op, Values: []string{v}})
	case 6: // metadata.name takes exactly one value
		op := pick([]v1.NodeSelectorOperator{v1.NodeSelectorOpIn, v1.NodeSelectorOpNotIn}, c/32)
		name := "n" + strconv.Itoa(int(b)%(maxNodes+1)) // sometimes a node that does not exist
		term.MatchFields = append(term.MatchFields, v1.NodeSelectorRequirement{Key: metav1.ObjectNameField, Operator: op, Values: []string{name}})
	}
}

// toleration builds a valid toleration: key a (or none, which needs Exists), value b, operator
// c%2 (Equal, Exists; Exists has no value), effect c/2.
func toleration(a, b, c byte) v1.Toleration {
	t := v1.Toleration{Key: pick(tolerationKeys, a), Operator: v1.TolerationOpEqual,
		Value: pick(taintValues, b), Effect: pick(effects, c/2)}
	if c%2 == 1 || t.Key == "" {
		t.Operator, t.Value = v1.TolerationOpExists, ""
	}
	if c/8%2 == 1 && t.Operator == v1.TolerationOpEqual {
		t.Operator = "" // Equal by default
	}
	return t
}

// addSpread adds a topology spread constraint on key a with selector b (see selector).
// Shape c: bit 0 ScheduleAnyway (else DoNotSchedule), bits 1-2 maxSkew-1, bits 3-4 minDomains
// (0 none; DoNotSchedule only), c/32%3 nodeAffinityPolicy (unset, Honor, Ignore). Bits 4-5
// of b matchLabelKeys (none, app, role, both), b/64%3 nodeTaintsPolicy (unset, Honor, Ignore).
func (s *scenario) addSpread(a, b, c byte) {
	sel, ok := selector(b)
	s.valid = s.valid && ok
	cst := v1.TopologySpreadConstraint{
		MaxSkew:           int32(c/2%4) + 1,
		TopologyKey:       pick(topoKeys, a),
		WhenUnsatisfiable: v1.DoNotSchedule,
		LabelSelector:     sel,
	}
	if c&1 != 0 {
		cst.WhenUnsatisfiable = v1.ScheduleAnyway
	} else if m := int32(c / 8 % 4); m > 0 {
		cst.MinDomains = &m
	}
	policies := []*v1.NodeInclusionPolicy{nil, ptrTo(v1.NodeInclusionPolicyHonor), ptrTo(v1.NodeInclusionPolicyIgnore)}
	cst.NodeAffinityPolicy = pick(policies, c/32)
	cst.NodeTaintsPolicy = pick(policies, b/64)
	if sel != nil {
		cst.MatchLabelKeys = pick([][]string{nil, {"app"}, {"role"}, {"app", "role"}}, b/16)
	}
	s.pod.Spec.TopologySpreadConstraints = append(s.pod.Spec.TopologySpreadConstraints, cst)
}

// addPodTerm adds an inter-pod affinity term to p on topology key a with selector b. Shape c:
// bit 0 anti-affinity, bit 1 preferred, c/4%6 the namespaces (the pod's own; ns-b; ns-a and
// ns-c; selector {} (all); selector team=b; ns-c and selector team=a), c/24%3 the label keys
// (none, matchLabelKeys app, mismatchLabelKeys role). As the API server does at admission,
// matchLabelKeys and mismatchLabelKeys are merged into the selector.
func (s *scenario) addPodTerm(p *v1.Pod, a, b, c byte) {
	sel, ok := selector(b)
	switch {
	case p == s.pod:
		s.valid = s.valid && ok
	case !ok:
		return // the API server stores no pod with an invalid selector
	}
	t := v1.PodAffinityTerm{LabelSelector: sel, TopologyKey: pick(topoKeys, a)}
	switch c / 4 % 6 {
	case 1:
		t.Namespaces = []string{"ns-b"}
	case 2:
		t.Namespaces = []string{"ns-a", "ns-c"}
	case 3:
		t.NamespaceSelector = &metav1.LabelSelector{}
	case 4:
		t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "b"}}
	case 5:
		t.Namespaces = []string{"ns-c"}
		t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	}
	if sel != nil {
		switch c / 24 % 3 {
		case 1:
			t.MatchLabelKeys = []string{"app"}
		case 2:
			t.MismatchLabelKeys = []string{"role"}
		}
	}
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &v1.Affinity{}
	}
	aff := p.Spec.Affinity
	anti, preferred := c&1 != 0, c&2 != 0
	weighted := v1.WeightedPodAffinityTerm{Weight: int32(c%100) + 1, PodAffinityTerm: t}
	switch {
	case anti:
		if aff.PodAntiAffinity == nil {
			aff.PodAntiAffinity = &v1.PodAntiAffinity{}
		}
		if preferred {
			aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, weighted)
		} else {
			aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
		}
	default:
		if aff.PodAffinity == nil {
			aff.PodAffinity = &v1.PodAffinity{}
		}
		if preferred {
			aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, weighted)
		} else {
			aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
		}
	}
}

// admitLabelKeys merges the matchLabelKeys ("key in (the pod's value)") and mismatchLabelKeys
// ("key notin (the pod's value)") of p's inter-pod affinity terms into their selectors, as
// kube-apiserver does when it stores a pod; keys the pod lacks add nothing. Schedulers read the
// merged selectors (the checker merges again, which changes nothing).
func admitLabelKeys(p *v1.Pod) {
	a := p.Spec.Affinity
	if a == nil {
		return
	}
	var terms []*v1.PodAffinityTerm
	add := func(req []v1.PodAffinityTerm, pref []v1.WeightedPodAffinityTerm) {
		for i := range req {
			terms = append(terms, &req[i])
		}
		for i := range pref {
			terms = append(terms, &pref[i].PodAffinityTerm)
		}
	}
	if a.PodAffinity != nil {
		add(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if a.PodAntiAffinity != nil {
		add(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	for _, t := range terms {
		if t.LabelSelector == nil {
			continue
		}
		sel := t.LabelSelector.DeepCopy()
		merge := func(keys []string, op metav1.LabelSelectorOperator) {
			for _, k := range keys {
				if v, ok := p.Labels[k]; ok {
					sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: op, Values: []string{v}})
				}
			}
		}
		merge(t.MatchLabelKeys, metav1.LabelSelectorOpIn)
		merge(t.MismatchLabelKeys, metav1.LabelSelectorOpNotIn)
		t.LabelSelector = sel
	}
}

func ptrTo[T any](v T) *T { return &v }

// String describes the scenario for failure messages: one line per object, in JSON.
func (s *scenario) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tie-breaking seed %d, valid %v\n", s.seed, s.valid)
	line := func(kind string, obj any) {
		j, err := json.Marshal(obj)
		if err != nil {
			j = []byte(err.Error())
		}
		fmt.Fprintf(&b, "%s %s\n", kind, j)
	}
	for _, n := range s.nodes {
		line("node", map[string]any{"name": n.Name, "labels": n.Labels, "unschedulable": n.Spec.Unschedulable,
			"taints": n.Spec.Taints, "allocatable": n.Status.Allocatable})
	}
	pod := func(p *v1.Pod) map[string]any {
		return map[string]any{"name": p.Namespace + "/" + p.Name, "labels": p.Labels, "terminating": p.DeletionTimestamp != nil, "spec": p.Spec}
	}
	for _, e := range s.existing {
		line("existing", pod(e))
	}
	line("incoming", pod(s.pod))
	return b.String()
}
