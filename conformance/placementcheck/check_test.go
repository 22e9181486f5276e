package placementcheck

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Builders for the checker's table: nodes n1 (zone a), n2 (zone a), n3 (zone b), 4 cpu, 8Gi,
// 10 pods each unless changed; pods in namespace "ns" unless changed.

const (
	labelZone     = "topology.kubernetes.io/zone"
	labelHostname = "kubernetes.io/hostname"
	labelDisk     = "test/disk"
	labelGen      = "test/gen" // integer-valued, for Gt/Lt
	labelApp      = "app"
	labelRole     = "role"
	labelTeam     = "test/team" // a namespace label

	resGPU v1.ResourceName = "example.com/gpu"
)

type nodeOpt func(*v1.Node)
type podOpt func(*v1.Pod)

func tNode(name, zone string, opts ...nodeOpt) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelHostname: name, labelZone: zone}}}
	n.Status.Allocatable = v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("10")}
	for _, o := range opts {
		o(n)
	}
	return n
}

func taint(key, value string, effect v1.TaintEffect) nodeOpt {
	return func(n *v1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: key, Value: value, Effect: effect})
	}
}
func cordoned() nodeOpt             { return func(n *v1.Node) { n.Spec.Unschedulable = true } }
func nodeLabel(k, v string) nodeOpt { return func(n *v1.Node) { n.Labels[k] = v } }
func noLabel(k string) nodeOpt      { return func(n *v1.Node) { delete(n.Labels, k) } }
func alloc(name v1.ResourceName, q string) nodeOpt {
	return func(n *v1.Node) { n.Status.Allocatable[name] = resource.MustParse(q) }
}

func tPod(name, node string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{}},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c"}}}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func inNS(ns string) podOpt       { return func(p *v1.Pod) { p.Namespace = ns } }
func podLabel(k, v string) podOpt { return func(p *v1.Pod) { p.Labels[k] = v } }
func tolerate(t v1.Toleration) podOpt {
	return func(p *v1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, t) }
}
func selectNode(k, v string) podOpt {
	return func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{k: v} }
}
func terminatingPod() podOpt {
	return func(p *v1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)} }
}
func request(kv ...string) podOpt {
	return func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests = requests(kv...) }
}
func overhead(kv ...string) podOpt { return func(p *v1.Pod) { p.Spec.Overhead = requests(kv...) } }
func port(n int32, ip string) v1.ContainerPort {
	return v1.ContainerPort{ContainerPort: n, HostPort: n, HostIP: ip, Protocol: v1.ProtocolTCP}
}
func withPorts(ps ...v1.ContainerPort) podOpt {
	return func(p *v1.Pod) { p.Spec.Containers[0].Ports = ps }
}
func initContainer(sidecar bool, req v1.ResourceList, ps ...v1.ContainerPort) podOpt {
	return func(p *v1.Pod) {
		c := container(fmt.Sprintf("i%d", len(p.Spec.InitContainers)), req)
		c.Ports = ps
		if sidecar {
			always := v1.ContainerRestartPolicyAlways
			c.RestartPolicy = &always
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}
func nodeTerms(terms ...v1.NodeSelectorTerm) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}}
	}
}
func expr(key string, op v1.NodeSelectorOperator, vals ...string) v1.NodeSelectorTerm {
	return v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: op, Values: vals}}}
}
func podTermOpt(anti bool, key string, sel map[string]string, edit ...func(*v1.PodAffinityTerm)) podOpt {
	return func(p *v1.Pod) {
		t := v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: key}
		for _, e := range edit {
			e(&t)
		}
		p.Spec.Affinity = withPodTerms(p.Spec.Affinity, anti, t)
	}
}
func spread(key string, maxSkew int32, sel *metav1.LabelSelector, edit ...func(*v1.TopologySpreadConstraint)) podOpt {
	return func(p *v1.Pod) {
		c := v1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: sel}
		for _, e := range edit {
			e(&c)
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	}
}

func container(name string, req v1.ResourceList) v1.Container {
	return v1.Container{Name: name, Resources: v1.ResourceRequirements{Requests: req}}
}

// requests builds a request list from name, quantity pairs.
func requests(kv ...string) v1.ResourceList {
	out := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func withPodTerms(a *v1.Affinity, anti bool, t v1.PodAffinityTerm) *v1.Affinity {
	if a == nil {
		a = &v1.Affinity{}
	}
	if anti {
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &v1.PodAntiAffinity{}
		}
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
		return a
	}
	if a.PodAffinity == nil {
		a.PodAffinity = &v1.PodAffinity{}
	}
	a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
	return a
}

func ptrTo[T any](v T) *T { return &v }

func appSel(v string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{labelApp: v}}
}

// TestCheck shows the checker catches each broken rule and accepts the legal look-alikes.
func TestCheck(t *testing.T) {
	three := func(opts ...nodeOpt) []*v1.Node {
		return []*v1.Node{tNode("n1", "a", opts...), tNode("n2", "a"), tNode("n3", "b")}
	}
	web := podLabel(labelApp, "web")
	tests := []struct {
		name     string
		nodes    []*v1.Node
		existing []*v1.Pod
		incoming []*v1.Pod
		want     []string // rules broken, sorted and unique
	}{
		{name: "pending pods are not checked", nodes: three(taint("k", "v", v1.TaintEffectNoSchedule)),
			incoming: []*v1.Pod{tPod("p", "")}},
		{name: "bound to a node outside the scenario", nodes: three(), incoming: []*v1.Pod{tPod("p", "n9")}, want: []string{"NodeName"}},
		{name: "untolerated NoSchedule taint", nodes: three(taint("k", "v", v1.TaintEffectNoSchedule)),
			incoming: []*v1.Pod{tPod("p", "n1")}, want: []string{"TaintToleration"}},
		{name: "untolerated NoExecute taint", nodes: three(taint("k", "v", v1.TaintEffectNoExecute)),
			incoming: []*v1.Pod{tPod("p", "n1", tolerate(v1.Toleration{Key: "k", Value: "v", Effect: v1.TaintEffectNoSchedule}))}, want: []string{"TaintToleration"}},
		{name: "toleration of every taint", nodes: three(taint("k", "v", v1.TaintEffectNoExecute)),
			incoming: []*v1.Pod{tPod("p", "n1", tolerate(v1.Toleration{Operator: v1.TolerationOpExists}))}},
		{name: "toleration with the wrong value", nodes: three(taint("k", "v", v1.TaintEffectNoSchedule)),
			incoming: []*v1.Pod{tPod("p", "n1", tolerate(v1.Toleration{Key: "k", Value: "w"}))}, want: []string{"TaintToleration"}},
		{name: "PreferNoSchedule does not filter", nodes: three(taint("k", "v", v1.TaintEffectPreferNoSchedule)),
			incoming: []*v1.Pod{tPod("p", "n1")}},
		{name: "cordoned node", nodes: three(cordoned()), incoming: []*v1.Pod{tPod("p", "n1")}, want: []string{"NodeUnschedulable"}},
		{name: "cordon tolerated", nodes: three(cordoned()),
			incoming: []*v1.Pod{tPod("p", "n1", tolerate(v1.Toleration{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists}))}},
		{name: "nodeSelector mismatch", nodes: three(), incoming: []*v1.Pod{tPod("p", "n1", selectNode(labelZone, "b"))}, want: []string{"NodeAffinity"}},
		{name: "Gt on an integer label", nodes: three(nodeLabel(labelGen, "3")),
			incoming: []*v1.Pod{tPod("p", "n1", nodeTerms(expr(labelGen, v1.NodeSelectorOpGt, "2")))}},
		{name: "Lt on a label that is not an integer", nodes: three(nodeLabel(labelGen, "x")),
			incoming: []*v1.Pod{tPod("p", "n1", nodeTerms(expr(labelGen, v1.NodeSelectorOpLt, "9")))}, want: []string{"NodeAffinity"}},
		{name: "NotIn holds where the label is missing", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", nodeTerms(expr(labelDisk, v1.NodeSelectorOpNotIn, "ssd")))}},
		{name: "second term matches", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", nodeTerms(expr(labelDisk, v1.NodeSelectorOpExists), expr(labelZone, v1.NodeSelectorOpIn, "a")))}},
		{name: "matchFields names another node", nodes: three(), incoming: []*v1.Pod{tPod("p", "n1", nodeTerms(v1.NodeSelectorTerm{
			MatchFields: []v1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"n2"}}}}))},
			want: []string{"NodeAffinity"}},
		{name: "empty term matches no node", nodes: three(), incoming: []*v1.Pod{tPod("p", "n1", nodeTerms(v1.NodeSelectorTerm{}))}, want: []string{"NodeAffinity"}},
		{name: "host port taken on every address", nodes: three(), existing: []*v1.Pod{tPod("e", "n1", withPorts(port(80, "")))},
			incoming: []*v1.Pod{tPod("p", "n1", withPorts(port(80, "10.0.0.1")))}, want: []string{"NodePorts"}},
		{name: "host port on other addresses", nodes: three(), existing: []*v1.Pod{tPod("e", "n1", withPorts(port(80, "10.0.0.2")))},
			incoming: []*v1.Pod{tPod("p", "n1", withPorts(port(80, "10.0.0.1")))}},
		{name: "host port on another protocol", nodes: three(), existing: []*v1.Pod{tPod("e", "n1", withPorts(v1.ContainerPort{HostPort: 80, Protocol: v1.ProtocolUDP}))},
			incoming: []*v1.Pod{tPod("p", "n1", withPorts(port(80, "")))}},
		{name: "two incoming pods on one port", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", withPorts(port(80, ""))), tPod("q", "n1", withPorts(port(80, "")))}, want: []string{"NodePorts"}},
		{name: "an init container's port is released", nodes: three(), existing: []*v1.Pod{tPod("e", "n1", withPorts(port(80, "")))},
			incoming: []*v1.Pod{tPod("p", "n1", initContainer(false, nil, port(80, "")))}},
		{name: "a sidecar's port is held", nodes: three(), existing: []*v1.Pod{tPod("e", "n1", withPorts(port(80, "")))},
			incoming: []*v1.Pod{tPod("p", "n1", initContainer(true, nil, port(80, "")))}, want: []string{"NodePorts"}},
		{name: "init container beside a sidecar peaks over cpu", nodes: three(alloc(v1.ResourceCPU, "1900m")),
			incoming: []*v1.Pod{tPod("p", "n1", request("cpu", "500m"), initContainer(true, requests("cpu", "500m")), initContainer(false, requests("cpu", "1500m")))},
			want:     []string{"NodeResourcesFit"}},
		{name: "init container peak fits", nodes: three(alloc(v1.ResourceCPU, "2")),
			incoming: []*v1.Pod{tPod("p", "n1", request("cpu", "500m"), initContainer(true, requests("cpu", "500m")), initContainer(false, requests("cpu", "1500m")))}},
		{name: "overhead counts", nodes: three(alloc(v1.ResourceCPU, "1")),
			incoming: []*v1.Pod{tPod("p", "n1", request("cpu", "900m"), overhead("cpu", "200m"))}, want: []string{"NodeResourcesFit"}},
		{name: "summed requests over memory", nodes: three(), existing: []*v1.Pod{tPod("e", "n1", request("memory", "6Gi"))},
			incoming: []*v1.Pod{tPod("p", "n1", request("memory", "3Gi"))}, want: []string{"NodeResourcesFit"}},
		{name: "extended resource the node lacks", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", request(string(resGPU), "1"))}, want: []string{"NodeResourcesFit"}},
		{name: "over-committed resource the pod does not ask for", nodes: three(), existing: []*v1.Pod{tPod("e", "n1", request("cpu", "8"))},
			incoming: []*v1.Pod{tPod("p", "n1", request("memory", "1Gi"))}},
		{name: "requests beyond int64 on a node beyond int64", nodes: three(alloc(v1.ResourceMemory, "1e30"), alloc(v1.ResourceCPU, "8E")),
			existing: []*v1.Pod{tPod("e", "n1", request("memory", "9E", "cpu", "8E"))},
			incoming: []*v1.Pod{tPod("p", "n1", request("memory", "9E", "cpu", "1"))}},
		{name: "requests beyond int64 on an int64 node", nodes: three(alloc(v1.ResourceMemory, "7E")),
			existing: []*v1.Pod{tPod("e", "n1", request("memory", "5E"))},
			incoming: []*v1.Pod{tPod("p", "n1", request("memory", "5E"))}, want: []string{"NodeResourcesFit"}},
		{name: "exabytes compared exactly", nodes: three(alloc(v1.ResourceMemory, "2E")),
			incoming: []*v1.Pod{tPod("p", "n1", request("memory", "3E"))}, want: []string{"NodeResourcesFit"}},
		{name: "too many pods", nodes: three(alloc(v1.ResourcePods, "1")), existing: []*v1.Pod{tPod("e", "n1")},
			incoming: []*v1.Pod{tPod("p", "n1")}, want: []string{"NodeResourcesFit"}},
		{name: "anti-affinity to a pod in the zone", nodes: three(), existing: []*v1.Pod{tPod("e", "n2", web)},
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(true, labelZone, map[string]string{labelApp: "web"}))}, want: []string{"InterPodAffinity"}},
		{name: "anti-affinity looks only in the pod's namespace", nodes: three(), existing: []*v1.Pod{tPod("e", "n2", web, inNS("other"))},
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(true, labelZone, map[string]string{labelApp: "web"}))}},
		{name: "anti-affinity with a namespaceSelector", nodes: three(), existing: []*v1.Pod{tPod("e", "n2", web, inNS("other"))},
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(true, labelZone, map[string]string{labelApp: "web"}, func(t *v1.PodAffinityTerm) {
				t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{labelTeam: "b"}}
			}))}, want: []string{"InterPodAffinity"}},
		{name: "anti-affinity on a key the node lacks", nodes: three(noLabel(labelZone)), existing: []*v1.Pod{tPod("e", "n1", web)},
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(true, labelZone, map[string]string{labelApp: "web"}))}},
		{name: "an existing pod's anti-affinity", nodes: three(), existing: []*v1.Pod{tPod("e", "n2", podTermOpt(true, labelZone, map[string]string{labelRole: "x"}))},
			incoming: []*v1.Pod{tPod("p", "n1", podLabel(labelRole, "x"))}, want: []string{"InterPodAffinity"}},
		{name: "an incoming pod's anti-affinity against a later one", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(true, labelHostname, map[string]string{labelRole: "x"})), tPod("q", "n1", podLabel(labelRole, "x"))},
			want:     []string{"InterPodAffinity"}},
		{name: "affinity met in the zone", nodes: three(), existing: []*v1.Pod{tPod("e", "n2", web)},
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(false, labelZone, map[string]string{labelApp: "web"}))}},
		{name: "affinity unmet", nodes: three(), existing: []*v1.Pod{tPod("e", "n3", web)},
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(false, labelZone, map[string]string{labelApp: "web"}))}, want: []string{"InterPodAffinity"}},
		{name: "affinity on a key the node lacks", nodes: three(noLabel(labelZone)), existing: []*v1.Pod{tPod("e", "n1", web)},
			incoming: []*v1.Pod{tPod("p", "n1", podTermOpt(false, labelZone, map[string]string{labelApp: "web"}))}, want: []string{"InterPodAffinity"}},
		{name: "first pod of a self-affine series", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", web, podTermOpt(false, labelZone, map[string]string{labelApp: "web"}))}},
		{name: "two firsts of one series", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", web, podTermOpt(false, labelZone, map[string]string{labelApp: "web"})),
				tPod("q", "n3", web, podTermOpt(false, labelZone, map[string]string{labelApp: "web"}))},
			want: []string{"InterPodAffinity"}},
		{name: "not first: a matching pod existed", nodes: three(), existing: []*v1.Pod{tPod("e", "n3", web)},
			incoming: []*v1.Pod{tPod("p", "n1", web, podTermOpt(false, labelZone, map[string]string{labelApp: "web"}))}, want: []string{"InterPodAffinity"}},
		{name: "spread beyond maxSkew", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web), tPod("e2", "n2", web)},
			incoming: []*v1.Pod{tPod("p", "n1", spread(labelZone, 1, appSel("web")))}, want: []string{"PodTopologySpread"}},
		{name: "spread within maxSkew", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web)},
			incoming: []*v1.Pod{tPod("p", "n1", spread(labelZone, 1, appSel("web")))}},
		{name: "minDomains above the domain count", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web), tPod("e2", "n3", web)},
			incoming: []*v1.Pod{tPod("p", "n1", web, spread(labelZone, 1, appSel("web"), func(c *v1.TopologySpreadConstraint) { c.MinDomains = ptrTo(int32(3)) }))},
			want:     []string{"PodTopologySpread"}},
		{name: "minDomains met", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web), tPod("e2", "n3", web)},
			incoming: []*v1.Pod{tPod("p", "n1", web, spread(labelZone, 1, appSel("web"), func(c *v1.TopologySpreadConstraint) { c.MinDomains = ptrTo(int32(2)) }))}},
		{name: "empty selector counts no pods", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web), tPod("e2", "n2", web)},
			incoming: []*v1.Pod{tPod("p", "n1", spread(labelZone, 1, &metav1.LabelSelector{}))}},
		{name: "terminating pods are not counted", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web, terminatingPod()), tPod("e2", "n2", web, terminatingPod())},
			incoming: []*v1.Pod{tPod("p", "n1", spread(labelZone, 1, appSel("web")))}},
		{name: "tainted domain counted by default", nodes: []*v1.Node{tNode("n1", "a"), tNode("n3", "b", taint("k", "v", v1.TaintEffectNoSchedule))},
			existing: []*v1.Pod{tPod("e1", "n1", web)}, incoming: []*v1.Pod{tPod("p", "n1", web, spread(labelZone, 1, appSel("web")))},
			want: []string{"PodTopologySpread"}},
		{name: "nodeTaintsPolicy Honor drops the tainted domain", nodes: []*v1.Node{tNode("n1", "a"), tNode("n3", "b", taint("k", "v", v1.TaintEffectNoSchedule))},
			existing: []*v1.Pod{tPod("e1", "n1", web)}, incoming: []*v1.Pod{tPod("p", "n1", web, spread(labelZone, 1, appSel("web"), func(c *v1.TopologySpreadConstraint) {
				c.NodeTaintsPolicy = ptrTo(v1.NodeInclusionPolicyHonor)
			}))}},
		{name: "nodeAffinityPolicy Ignore counts the unselected domain", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web)},
			incoming: []*v1.Pod{tPod("p", "n1", web, selectNode(labelZone, "a"), spread(labelZone, 1, appSel("web"), func(c *v1.TopologySpreadConstraint) {
				c.NodeAffinityPolicy = ptrTo(v1.NodeInclusionPolicyIgnore)
			}))}, want: []string{"PodTopologySpread"}},
		{name: "nodeAffinityPolicy Honor by default", nodes: three(), existing: []*v1.Pod{tPod("e1", "n1", web)},
			incoming: []*v1.Pod{tPod("p", "n1", web, selectNode(labelZone, "a"), spread(labelZone, 1, appSel("web")))}},
		{name: "spread on a key the node lacks", nodes: three(noLabel(labelZone)),
			incoming: []*v1.Pod{tPod("p", "n1", spread(labelZone, 1, appSel("web")))}, want: []string{"PodTopologySpread"}},
		{name: "identical pods piled into one domain", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", web, spread(labelZone, 1, appSel("web"))), tPod("q", "n2", web, spread(labelZone, 1, appSel("web")))},
			want:     []string{"PodTopologySpread"}},
		{name: "identical pods spread out", nodes: three(),
			incoming: []*v1.Pod{tPod("p", "n1", web, spread(labelZone, 1, appSel("web"))), tPod("q", "n3", web, spread(labelZone, 1, appSel("web")))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &World{Nodes: map[string]*v1.Node{}, Existing: tc.existing, Incoming: tc.incoming,
				NamespaceLabels: map[string]map[string]string{"ns": {labelTeam: "a"}, "other": {labelTeam: "b"}}}
			for _, n := range tc.nodes {
				w.Nodes[n.Name] = n
			}
			vs := Check(w)
			var got []string
			for _, v := range vs {
				if !slices.Contains(got, v.Rule) {
					got = append(got, v.Rule)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("broken rules %v, want %v; violations: %v", got, tc.want, vs)
			}
		})
	}
}
