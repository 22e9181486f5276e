package conformance

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Label, taint and resource names the scenarios use.
const (
	labelZone     = "topology.kubernetes.io/zone"
	labelHostname = "kubernetes.io/hostname"
	labelDisk     = "conf.berth.test/disk"
	labelGen      = "conf.berth.test/gen" // integer-valued, for Gt/Lt
	labelPool     = "conf.berth.test/pool"

	// labelApp is carried only by pre-existing pods: independent incoming pods select on it.
	labelApp = "app"
	// labelRole is carried by incoming and existing pods: existing pods' anti-affinity selects it.
	labelRole = "role"
	// labelGroup names an incoming pod's group; group constraints select their own group.
	labelGroup = "conf.berth.test/grp"
	// labelScenario marks every object of a scenario (namespaces, nodes, pods).
	labelScenario = "conf.berth.test/scn"
	// labelKind is "existing", "incoming" or "probe" on pods.
	labelKind = "conf.berth.test/kind"
	// labelTeam and labelNS are namespace labels for namespaceSelector.
	labelTeam = "conf.berth.test/team"
	labelNS   = "conf.berth.test/ns"

	taintDedicated = "conf.berth.test/dedicated"
	taintGPU       = "conf.berth.test/gpu"
	taintSoft      = "conf.berth.test/soft"

	resGPU       v1.ResourceName = "example.com/gpu"
	resHugePages v1.ResourceName = "hugepages-2Mi"

	// holdFinalizer keeps a deleted existing pod around as terminating.
	holdFinalizer = "conf.berth.test/hold"

	// RuntimeClasses created once per package: overhead only, and overhead plus scheduling.
	rcOverhead = "conf-overhead"
	rcPinned   = "conf-pinned"
)

// Overheads of the two RuntimeClasses, and the scheduling rcPinned adds.
var (
	rcOverheadCPU, rcOverheadMem = resource.MustParse("250m"), resource.MustParse("64Mi")
	rcPinnedCPU, rcPinnedMem     = resource.MustParse("100m"), resource.MustParse("32Mi")
	rcPinnedSelector             = map[string]string{labelDisk: "ssd"}
	rcPinnedToleration           = v1.Toleration{Key: taintDedicated, Operator: v1.TolerationOpEqual, Value: "a", Effect: v1.TaintEffectNoSchedule}
)

// groupKind says how the pods of a group can interact with each other.
type groupKind int

const (
	// independent: one pod whose placement depends only on the fixed cluster.
	independent groupKind = iota
	// antiGroup: identical pods with required anti-affinity to their own group.
	antiGroup
	// affinityGroup: identical pods with required affinity to their own group.
	affinityGroup
	// spreadGroup: identical pods with a DoNotSchedule constraint selecting their own group.
	spreadGroup
	// portGroup: identical pods asking for the same host port.
	portGroup
)

func (k groupKind) String() string {
	return [...]string{"independent", "anti-affinity group", "affinity group", "spread group", "host-port group"}[k]
}

// group is a set of identical incoming pods. pods[i] differ only in name.
type group struct {
	name string
	kind groupKind
	pods []*v1.Pod
}

// scenario is everything one seed generates. Objects carry their final names and labels; incoming
// pods get their schedulerName when a phase creates them.
type scenario struct {
	seed       uint64
	id         string
	namespaces []*v1.Namespace // [0] holds the incoming pods
	nodes      []*v1.Node
	existing   []*v1.Pod // bound with spec.nodeName; the last one is the barrier anchor
	// terminating names existing pods that are deleted (held by a finalizer) before the phases.
	terminating map[string]bool
	// changed names nodes and existing pods that are first created different (see draftNode,
	// draftPod) and then updated to what they are, so that caches must apply updates.
	changed map[string]bool
	groups  []*group
}

func (s *scenario) home() string { return s.namespaces[0].Name }

// incoming returns every incoming pod, groups in order.
func (s *scenario) incoming() []*v1.Pod {
	var out []*v1.Pod
	for _, g := range s.groups {
		out = append(out, g.pods...)
	}
	return out
}

// String renders the scenario compactly for failure reports.
func (s *scenario) String() string {
	var b strings.Builder
	if s.seed != 0 {
		fmt.Fprintf(&b, "scenario seed=%d (rerun: go test ./conformance -run 'TestConformance$' -conformance.seed=%d -v)\n", s.seed, s.seed)
	} else {
		fmt.Fprintf(&b, "directed scenario %s\n", s.id)
	}
	b.WriteString("namespaces:")
	for _, ns := range s.namespaces {
		fmt.Fprintf(&b, " %s%s", ns.Name, labelString(ns.Labels, labelScenario, labelNS))
	}
	b.WriteString("\nnodes:\n")
	for _, n := range s.nodes {
		fmt.Fprintf(&b, "  %s%s\n", describeNode(n), s.changedMark(n.Name))
	}
	b.WriteString("existing pods:\n")
	for _, p := range s.existing {
		extra := ""
		if s.terminating[p.Name] {
			extra = " TERMINATING"
		}
		fmt.Fprintf(&b, "  %s/%s on %s%s%s: %s\n", p.Namespace, p.Name, p.Spec.NodeName, extra, s.changedMark(p.Name), describePod(p))
	}
	b.WriteString("incoming groups:\n")
	for _, g := range s.groups {
		fmt.Fprintf(&b, "  %s: %s x%d: %s\n", g.name, g.kind, len(g.pods), describePod(g.pods[0]))
	}
	return b.String()
}

func (s *scenario) changedMark(name string) string {
	if s.changed[name] {
		return " (created as a draft, then updated)"
	}
	return ""
}

func describeNode(n *v1.Node) string {
	var b strings.Builder
	b.WriteString(n.Name)
	b.WriteString(labelString(n.Labels, labelScenario, labelHostname))
	if n.Spec.Unschedulable {
		b.WriteString(" UNSCHEDULABLE")
	}
	for _, c := range n.Status.Conditions {
		if (c.Type == v1.NodeReady) != (c.Status == v1.ConditionTrue) {
			fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
		}
	}
	for _, t := range n.Spec.Taints {
		fmt.Fprintf(&b, " taint(%s=%s:%s)", t.Key, t.Value, t.Effect)
	}
	b.WriteString(" alloc" + quantities(n.Status.Allocatable))
	return b.String()
}

// describePod lists the fields a scheduler looks at, skipping empty ones.
func describePod(p *v1.Pod) string {
	var parts []string
	add := func(name string, v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			raw = []byte(fmt.Sprintf("%+v", v))
		}
		parts = append(parts, name+"="+string(raw))
	}
	parts = append(parts, "labels"+labelString(p.Labels, labelScenario, labelKind))
	for _, c := range p.Spec.InitContainers {
		kind := "init"
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			kind = "sidecar"
		}
		parts = append(parts, kind+quantities(c.Resources.Requests)+ports(c.Ports))
	}
	for _, c := range p.Spec.Containers {
		parts = append(parts, "container"+quantities(c.Resources.Requests)+ports(c.Ports))
	}
	if p.Spec.Resources != nil {
		parts = append(parts, "podLevel"+quantities(p.Spec.Resources.Requests))
	}
	if p.Spec.RuntimeClassName != nil {
		parts = append(parts, "runtimeClass="+*p.Spec.RuntimeClassName)
	}
	if len(p.Spec.Overhead) > 0 {
		parts = append(parts, "overhead"+quantities(p.Spec.Overhead))
	}
	if len(p.Spec.NodeSelector) > 0 {
		parts = append(parts, "nodeSelector"+labelString(p.Spec.NodeSelector))
	}
	if a := p.Spec.Affinity; a != nil {
		if a.NodeAffinity != nil {
			add("nodeAffinity", a.NodeAffinity)
		}
		if a.PodAffinity != nil {
			add("podAffinity", a.PodAffinity)
		}
		if a.PodAntiAffinity != nil {
			add("podAntiAffinity", a.PodAntiAffinity)
		}
	}
	if len(p.Spec.Tolerations) > 0 {
		add("tolerations", p.Spec.Tolerations)
	}
	if len(p.Spec.TopologySpreadConstraints) > 0 {
		add("spread", p.Spec.TopologySpreadConstraints)
	}
	return strings.Join(parts, " ")
}

// labelString renders labels sorted, leaving out the given keys.
func labelString(m map[string]string, skip ...string) string {
	var kv []string
	for k, v := range m {
		if contains(skip, k) {
			continue
		}
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func quantities(l v1.ResourceList) string {
	var kv []string
	for k, v := range l {
		kv = append(kv, string(k)+"="+v.String())
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func ports(ps []v1.ContainerPort) string {
	var out []string
	for _, p := range ps {
		if p.HostPort == 0 {
			continue
		}
		ip := p.HostIP
		if ip == "" {
			ip = "*"
		}
		out = append(out, fmt.Sprintf("%s:%d/%s", ip, p.HostPort, p.Protocol))
	}
	if len(out) == 0 {
		return ""
	}
	return "ports" + fmt.Sprint(out)
}

func contains[T comparable](list []T, x T) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

func podName(p *v1.Pod) string { return p.Namespace + "/" + p.Name }
