package conformance

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/testenv"
)

// directedCase is one hand-written scenario: nodes (named by suffix), pods already bound (their
// NodeName is a suffix too; namespace "" is the home namespace, "other" the second one, labelled
// team=b) and one incoming pod. want lists the node suffixes the pod may land on; empty means it
// must stay pending.
type directedCase struct {
	name     string
	nodes    []testenv.NodeSpec
	existing []*v1.Pod
	pod      *v1.Pod
	want     []string
}

// restartAll gives the pod's container a restart rule with the RestartAllContainers action, which
// needs the node feature RestartAllContainersOnContainerExits.
func restartAll(p *v1.Pod) {
	never := v1.ContainerRestartPolicyNever
	c := &p.Spec.Containers[0]
	c.RestartPolicy = &never
	c.RestartPolicyRules = []v1.ContainerRestartRule{{Action: v1.ContainerRestartRuleActionRestartAllContainers,
		ExitCodes: &v1.ContainerRestartRuleOnExitCodes{Operator: v1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}}}}
}

// build turns the case into a scenario with a unique id.
func (c directedCase) build(id string) *scenario {
	s := &scenario{id: id, terminating: map[string]bool{}}
	for i, team := range []string{"a", "b"} {
		name := id + "-home"
		if i > 0 {
			name = id + "-other"
		}
		s.namespaces = append(s.namespaces, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{labelScenario: id, labelNS: name, labelTeam: team}}})
	}
	for _, spec := range c.nodes {
		spec.Name = id + "-" + spec.Name
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		spec.Labels[labelScenario] = id
		s.nodes = append(s.nodes, testenv.Node(spec))
	}
	for i, e := range c.existing {
		p := e.DeepCopy()
		p.Name = fmt.Sprintf("e%d", i)
		p.Namespace = s.namespaceNamed(p.Namespace)
		p.Spec.NodeName = id + "-" + p.Spec.NodeName
		p.Labels[labelScenario], p.Labels[labelKind] = id, "existing"
		s.existing = append(s.existing, p)
	}
	p := c.pod.DeepCopy()
	p.Name, p.Namespace = "pod", s.home()
	s.qualify(p)
	p.Labels[labelScenario], p.Labels[labelKind], p.Labels[labelGroup] = id, "incoming", "g0"
	s.groups = []*group{{name: "g0", kind: independent, pods: []*v1.Pod{p}}}
	return s
}

// qualify rewrites short names in a directed pod: matchFields node names and pod affinity term
// namespaces ("other", or "" for home) become the scenario's full names.
func (s *scenario) qualify(p *v1.Pod) {
	a := p.Spec.Affinity
	if a == nil {
		return
	}
	if a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, r := range term.MatchFields {
				for i, v := range r.Values {
					r.Values[i] = s.id + "-" + v
				}
			}
		}
	}
	if a.PodAffinity != nil {
		for _, term := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			for i, ns := range term.Namespaces {
				term.Namespaces[i] = s.namespaceNamed(ns)
			}
		}
	}
}

func (s *scenario) namespaceNamed(short string) string {
	if short == "other" {
		return s.namespaces[1].Name
	}
	return s.home()
}

// dPod is a pod for directed cases: one container requesting cpu (may be empty), labels k=v pairs.
func dPod(cpu string, kv ...string) *v1.Pod {
	p := newPod("", "", map[string]string{})
	for i := 0; i+1 < len(kv); i += 2 {
		p.Labels[kv[i]] = kv[i+1]
	}
	p.Spec.Containers = []v1.Container{container("c", requests("cpu", cpu))}
	return p
}

func on(node string, p *v1.Pod) *v1.Pod { p.Spec.NodeName = node; return p }

func with(p *v1.Pod, edit func(*v1.Pod)) *v1.Pod { edit(p); return p }

func inNamespace(ns string, p *v1.Pod) *v1.Pod { p.Namespace = ns; return p }

func zone(z string, extra ...string) map[string]string {
	m := map[string]string{labelZone: z}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// TestPluginEffects shows each filter's effect on a real placement by both schedulers; the
// scenario machinery also compares them and runs the checker.
func TestPluginEffects(t *testing.T) {
	noSched := []v1.Taint{{Key: taintDedicated, Value: "a", Effect: v1.TaintEffectNoSchedule}}
	noExec := []v1.Taint{{Key: taintDedicated, Value: "b", Effect: v1.TaintEffectNoExecute}}
	webSpread := func(extra func(*v1.TopologySpreadConstraint)) func(*v1.Pod) {
		return func(p *v1.Pod) {
			c := v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: labelZone, WhenUnsatisfiable: v1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelApp: "web"}}}
			if extra != nil {
				extra(&c)
			}
			p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{c}
		}
	}
	podTerm := func(anti bool, key string, sel map[string]string, edit func(*v1.PodAffinityTerm)) func(*v1.Pod) {
		return func(p *v1.Pod) {
			term := v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: key}
			if edit != nil {
				edit(&term)
			}
			p.Spec.Affinity = withPodTerms(p.Spec.Affinity, anti, term)
		}
	}
	tests := []directedCase{
		{name: "NodeUnschedulable avoids the cordoned node",
			nodes: []testenv.NodeSpec{{Name: "a", Unschedulable: true}, {Name: "b"}}, pod: dPod("100m"), want: []string{"b"}},
		{name: "TaintToleration avoids NoSchedule and NoExecute taints",
			nodes: []testenv.NodeSpec{{Name: "a", Taints: noSched}, {Name: "b", Taints: noExec}, {Name: "c"}}, pod: dPod("100m"), want: []string{"c"}},
		{name: "TaintToleration admits a tolerated taint",
			nodes: []testenv.NodeSpec{{Name: "a", Taints: noSched}, {Name: "b", Taints: noExec}},
			pod: with(dPod("100m"), func(p *v1.Pod) {
				p.Spec.Tolerations = []v1.Toleration{{Key: taintDedicated, Operator: v1.TolerationOpEqual, Value: "a", Effect: v1.TaintEffectNoSchedule}}
			}), want: []string{"a"}},
		{name: "NodeAffinity nodeSelector",
			nodes: []testenv.NodeSpec{{Name: "a"}, {Name: "b", Labels: map[string]string{labelDisk: "ssd"}}},
			pod:   with(dPod("100m"), func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{labelDisk: "ssd"} }), want: []string{"b"}},
		{name: "NodeAffinity Gt on a numeric label",
			nodes: []testenv.NodeSpec{{Name: "a", Labels: map[string]string{labelGen: "1"}}, {Name: "b", Labels: map[string]string{labelGen: "5"}}, {Name: "c", Labels: map[string]string{labelGen: "3"}}},
			pod:   with(dPod("100m"), nodeTerms(expr(labelGen, v1.NodeSelectorOpGt, "4"))), want: []string{"b"}},
		{name: "NodeAffinity matchFields metadata.name",
			nodes: []testenv.NodeSpec{{Name: "a"}, {Name: "b"}, {Name: "c"}},
			pod: with(dPod("100m"), nodeTerms(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
				{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"c"}}}})), want: []string{"c"}},
		{name: "NodePorts avoids a taken host port",
			nodes:    []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			existing: []*v1.Pod{on("a", with(dPod(""), withPorts(port(8080, ""))))},
			pod:      with(dPod("100m"), withPorts(port(8080, "10.0.0.1"))), want: []string{"b"}},
		{name: "NodeResourcesFit cpu",
			nodes:    []testenv.NodeSpec{{Name: "a", CPU: "2"}, {Name: "b", CPU: "4"}},
			existing: []*v1.Pod{on("a", dPod("1500m"))},
			pod:      dPod("1"), want: []string{"b"}},
		{name: "NodeResourcesFit init container beside a sidecar",
			nodes: []testenv.NodeSpec{{Name: "a", CPU: "1900m"}, {Name: "b", CPU: "2"}},
			pod:   with(dPod("500m"), initContainer(true, requests("cpu", "500m"))), want: []string{"a", "b"}},
		{name: "NodeResourcesFit init peak",
			nodes: []testenv.NodeSpec{{Name: "a", CPU: "1900m"}, {Name: "b", CPU: "2"}},
			pod: with(dPod("500m"), func(p *v1.Pod) {
				initContainer(true, requests("cpu", "500m"))(p)
				initContainer(false, requests("cpu", "1500m"))(p)
			}),
			want: []string{"b"}},
		{name: "NodeResourcesFit RuntimeClass overhead",
			nodes: []testenv.NodeSpec{{Name: "a", CPU: "1"}, {Name: "b", CPU: "2"}},
			pod:   with(dPod("900m"), func(p *v1.Pod) { rc := rcOverhead; p.Spec.RuntimeClassName = &rc }), want: []string{"b"}},
		{name: "NodeResourcesFit extended resource",
			nodes: []testenv.NodeSpec{{Name: "a"}, {Name: "b", Extra: v1.ResourceList{resGPU: resource.MustParse("1")}}},
			pod:   with(dPod("100m"), func(p *v1.Pod) { p.Spec.Containers[0] = container("c", requests(string(resGPU), "1")) }), want: []string{"b"}},
		{name: "NodeResourcesFit ephemeral-storage",
			nodes: []testenv.NodeSpec{{Name: "a", Extra: v1.ResourceList{v1.ResourceEphemeralStorage: resource.MustParse("1Gi")}},
				{Name: "b", Extra: v1.ResourceList{v1.ResourceEphemeralStorage: resource.MustParse("10Gi")}}},
			pod: with(dPod("100m"), func(p *v1.Pod) { p.Spec.Containers[0] = container("c", requests("ephemeral-storage", "5Gi")) }), want: []string{"b"}},
		{name: "NodeResourcesFit pod count",
			nodes:    []testenv.NodeSpec{{Name: "a", Pods: 1}, {Name: "b"}},
			existing: []*v1.Pod{on("a", dPod(""))}, pod: dPod(""), want: []string{"b"}},
		{name: "PodTopologySpread fills the emptier zone",
			nodes:    []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z1")}, {Name: "c", Labels: zone("z2")}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web")), on("b", dPod("", labelApp, "web"))},
			pod:      with(dPod("100m", labelApp, "web"), webSpread(nil)), want: []string{"c"}},
		{name: "PodTopologySpread minDomains above the zone count",
			nodes:    []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z2")}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web")), on("b", dPod("", labelApp, "web"))},
			pod:      with(dPod("100m", labelApp, "web"), webSpread(func(c *v1.TopologySpreadConstraint) { c.MinDomains = ptrTo(int32(3)) }))},
		{name: "PodTopologySpread counts a tainted zone by default",
			nodes:    []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z2"), Taints: noSched}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web"))},
			pod:      with(dPod("100m", labelApp, "web"), webSpread(nil))},
		{name: "PodTopologySpread nodeTaintsPolicy Honor",
			nodes:    []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z2"), Taints: noSched}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web"))},
			pod: with(dPod("100m", labelApp, "web"), webSpread(func(c *v1.TopologySpreadConstraint) {
				c.NodeTaintsPolicy = ptrTo(v1.NodeInclusionPolicyHonor)
			})), want: []string{"a"}},
		{name: "PodTopologySpread nodeAffinityPolicy Ignore",
			nodes:    []testenv.NodeSpec{{Name: "a", Labels: zone("z1", labelDisk, "ssd")}, {Name: "b", Labels: zone("z2")}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web"))},
			pod: with(dPod("100m", labelApp, "web"), func(p *v1.Pod) {
				p.Spec.NodeSelector = map[string]string{labelDisk: "ssd"}
				webSpread(func(c *v1.TopologySpreadConstraint) { c.NodeAffinityPolicy = ptrTo(v1.NodeInclusionPolicyIgnore) })(p)
			})},
		{name: "PodTopologySpread matchLabelKeys",
			nodes: []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "c", Labels: zone("z2")}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web", labelRole, "x")),
				on("c", dPod("", labelApp, "web", labelRole, "y")), on("c", dPod("", labelApp, "web", labelRole, "y"))},
			pod: with(dPod("100m", labelApp, "web", labelRole, "x"), webSpread(func(c *v1.TopologySpreadConstraint) {
				c.MatchLabelKeys = []string{labelRole}
			})), want: []string{"c"}},
		{name: "InterPodAffinity required affinity",
			nodes:    []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			existing: []*v1.Pod{on("b", dPod("", labelApp, "db"))},
			pod:      with(dPod("100m"), podTerm(false, labelHostname, map[string]string{labelApp: "db"}, nil)), want: []string{"b"}},
		{name: "InterPodAffinity first pod of a self-affine series",
			nodes: []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: map[string]string{}}},
			pod:   with(dPod("100m", labelApp, "web"), podTerm(false, labelZone, map[string]string{labelApp: "web"}, nil)), want: []string{"a"}},
		{name: "InterPodAffinity anti-affinity per zone",
			nodes:    []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z1")}, {Name: "c", Labels: zone("z2")}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web"))},
			pod:      with(dPod("100m"), podTerm(true, labelZone, map[string]string{labelApp: "web"}, nil)), want: []string{"c"}},
		{name: "InterPodAffinity an existing pod's anti-affinity",
			nodes:    []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			existing: []*v1.Pod{on("a", with(dPod(""), podTerm(true, labelHostname, map[string]string{labelRole: "x"}, nil)))},
			pod:      dPod("100m", labelRole, "x"), want: []string{"b"}},
		{name: "InterPodAffinity namespaceSelector",
			nodes:    []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "db")), on("b", inNamespace("other", dPod("", labelApp, "db")))},
			pod: with(dPod("100m"), podTerm(false, labelHostname, map[string]string{labelApp: "db"}, func(t *v1.PodAffinityTerm) {
				t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{labelTeam: "b"}}
			})), want: []string{"b"}},
		{name: "InterPodAffinity namespaces list",
			nodes:    []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "db")), on("b", inNamespace("other", dPod("", labelApp, "db")))},
			pod: with(dPod("100m"), podTerm(false, labelHostname, map[string]string{labelApp: "db"}, func(t *v1.PodAffinityTerm) {
				t.Namespaces = []string{"other"}
			})), want: []string{"b"}},
		{name: "NodeDeclaredFeatures only the declaring node",
			nodes: []testenv.NodeSpec{{Name: "a", DeclaredFeatures: []string{"RestartAllContainersOnContainerExits"}}, {Name: "b"},
				{Name: "c", DeclaredFeatures: []string{"SomethingElse"}}},
			pod: with(dPod("100m"), restartAll), want: []string{"a"}},
		{name: "NodeDeclaredFeatures no node declares it",
			nodes: []testenv.NodeSpec{{Name: "a", DeclaredFeatures: []string{"SomethingElse"}}, {Name: "b"}},
			pod:   with(dPod("100m"), restartAll)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.build(fmt.Sprintf("d%d", i))
			up, be := runScenario(t, s)
			if up == nil || be == nil {
				return
			}
			compare(t, s, up, be)
			for _, ph := range []*phase{up, be} {
				got := strings.TrimPrefix(ph.outcome()["pod"], s.id+"-")
				if (len(tc.want) == 0 && got != "") || (len(tc.want) > 0 && !contains(tc.want, got)) {
					t.Errorf("%s placed the pod on %q, want one of %v (empty: pending)\n%s", ph.scheduler, got, tc.want, ph)
				}
			}
		})
	}
}

// TestFailedSchedulingMessage compares berth's FailedScheduling message with upstream's for pods
// no node takes, each failing on the nodes for different reasons, and checks berth's event.
func TestFailedSchedulingMessage(t *testing.T) {
	ssd := map[string]string{labelDisk: "ssd"}
	noSched := []v1.Taint{{Key: taintDedicated, Value: "a", Effect: v1.TaintEffectNoSchedule}}
	matchName := func(name string) func(*v1.Pod) {
		return nodeTerms(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{name}}}})
	}
	tests := []directedCase{
		{name: "each node fails a different filter",
			nodes: []testenv.NodeSpec{{Name: "a", Unschedulable: true, Labels: ssd}, {Name: "b", Taints: noSched, Labels: ssd}, {Name: "c"}, {Name: "d", CPU: "500m", Labels: ssd}},
			pod:   with(dPod("1"), func(p *v1.Pod) { p.Spec.NodeSelector = ssd })},
		{name: "several resources short on one node",
			nodes: []testenv.NodeSpec{{Name: "a", CPU: "500m", Memory: "1Gi"}},
			pod:   with(dPod(""), func(p *v1.Pod) { p.Spec.Containers[0] = container("c", requests("cpu", "1", "memory", "2Gi")) })},
		{name: "too many pods and a missing extended resource",
			nodes:    []testenv.NodeSpec{{Name: "a", Pods: 1, Extra: v1.ResourceList{resGPU: resource.MustParse("1")}}, {Name: "b"}},
			existing: []*v1.Pod{on("a", dPod(""))},
			pod:      with(dPod(""), func(p *v1.Pod) { p.Spec.Containers[0] = container("c", requests(string(resGPU), "1")) })},
		{name: "matchFields leaves the other nodes out",
			nodes: []testenv.NodeSpec{{Name: "a", Taints: noSched}, {Name: "b"}, {Name: "c"}},
			pod:   with(dPod("100m"), matchName("a"))},
		{name: "matchFields requirements that no node meets together",
			nodes: []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			pod: with(dPod("100m"), nodeTerms(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
				{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"a"}},
				{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"b"}}}}))},
		{name: "matchFields names no node",
			nodes: []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			pod:   with(dPod("100m"), matchName("nowhere"))},
		{name: "topology spread skew and a missing key",
			nodes:    []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z2")}, {Name: "c"}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web")), on("b", dPod("", labelApp, "web"))},
			pod: with(dPod("100m", labelApp, "web"), spread(labelZone, 1, appSel("web"), func(c *v1.TopologySpreadConstraint) {
				c.MinDomains = ptrTo(int32(3))
			}))},
		{name: "ports, anti-affinity and existing anti-affinity",
			nodes: []testenv.NodeSpec{{Name: "a"}, {Name: "b"}, {Name: "c"}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web")),
				on("b", with(dPod(""), podTermOpt(true, labelHostname, map[string]string{labelRole: "x"}))),
				on("c", with(dPod(""), withPorts(port(9000, ""))))},
			pod: with(dPod("100m", labelRole, "x"), func(p *v1.Pod) {
				withPorts(port(9000, ""))(p)
				podTermOpt(true, labelHostname, map[string]string{labelApp: "web"})(p)
			})},
		{name: "affinity unmet",
			nodes:    []testenv.NodeSpec{{Name: "a"}, {Name: "b"}},
			existing: []*v1.Pod{on("a", dPod("", labelApp, "web"))},
			pod:      with(dPod("100m"), podTermOpt(false, labelHostname, map[string]string{labelApp: "db"}))},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.build(fmt.Sprintf("m%d", i))
			up, be := runScenario(t, s)
			if up == nil || be == nil {
				return
			}
			compare(t, s, up, be)
			for _, ph := range []*phase{up, be} {
				if node := ph.outcome()["pod"]; node != "" {
					t.Fatalf("%s placed the pod on %s; the case wants it pending", ph.scheduler, node)
				}
			}
			want := unschedulableMessage(be.pods[0])
			if !strings.HasPrefix(want, fmt.Sprintf("0/%d nodes are available: ", len(s.nodes))) {
				t.Errorf("berth's message %q does not start with \"0/%d nodes are available: \"", want, len(s.nodes))
			}
			ev := schedulerEvents(t, s.home(), be.pods[0].UID)
			if len(ev) == 0 {
				t.Fatalf("berth recorded no event for the pending pod")
			}
			for _, e := range ev {
				if e.Reason != "FailedScheduling" || e.Type != v1.EventTypeWarning || e.Action != "Scheduling" || e.ReportingController != berthName {
					t.Errorf("berth event reason=%s type=%s action=%s controller=%s, want FailedScheduling Warning Scheduling %s",
						e.Reason, e.Type, e.Action, e.ReportingController, berthName)
				}
				if e.Note != want {
					t.Errorf("berth event note %q differs from its PodScheduled message %q", e.Note, want)
				}
			}
		})
	}
}
