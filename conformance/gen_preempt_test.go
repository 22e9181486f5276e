package conformance

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
	"github.com/berth-scheduler/berth/testenv"
)

// Labels of the preemption scenarios.
const (
	// labelCopy is "u" on the upstream copy's nodes, "b" on berth's; preemptors select their copy.
	labelCopy = "conf.berth.test/copy"
	// labelPDB names the PodDisruptionBudget that covers an existing pod.
	labelPDB = "conf.berth.test/pdb"
)

// prioClass is one of the PriorityClasses TestPreemption creates once per package.
type prioClass struct {
	name  string
	value int32
	never bool // preemptionPolicy Never
}

// prioClasses are the priority tiers. Only these values occur, and fewer than ten pods of a
// tier share a node, so the sum of a set of victims' priorities tells how many of each tier it
// holds (see the package doc).
var prioClasses = []prioClass{
	{"conf-prio-0", 0, false},
	{"conf-prio-100", 100, false},
	{"conf-prio-1000", 1000, false},
	{"conf-prio-10000", 10000, false},
	{"conf-prio-1000-never", 1000, true},
	{"conf-prio-10000-never", 10000, true},
}

// classFor returns the name of the class of value (with preemptionPolicy Never when never).
func classFor(value int32, never bool) string {
	for _, c := range prioClasses {
		if c.value == value && c.never == never {
			return c.name
		}
	}
	panic(fmt.Sprintf("no priority class for %d (never=%v)", value, never))
}

// classOf returns the class a generated pod names; the API server's Priority admission copies
// its value and preemption policy into the pod's spec.
func classOf(p *v1.Pod) prioClass {
	for _, c := range prioClasses {
		if c.name == p.Spec.PriorityClassName {
			return c
		}
	}
	panic(fmt.Sprintf("pod %s names no known priority class %q", p.Name, p.Spec.PriorityClassName))
}

// startBase is the start time of the oldest existing pod; the others started a whole number of
// minutes later (status.startTime keeps seconds only), every pod at a different minute.
var startBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// preemptorStart is the start time the test, playing the kubelet, gives preemptor k once bound:
// later than every existing pod, and the same in both copies.
func preemptorStart(k int) metav1.Time {
	return metav1.NewTime(startBase.Add(time.Duration(1000+k) * time.Minute))
}

// preemptScenario is what one seed generates for TestPreemption. Names are short (nodes n0..,
// existing pods e0.., preemptors p0..) and namespaces empty ("" is the main namespace, "side"
// the second one): copyFor turns them into one copy's objects.
type preemptScenario struct {
	seed uint64
	id   string
	// nodes are the scenario's nodes; the last one takes the barrier's probe pods.
	nodes []*v1.Node
	// existing pods are bound by spec.nodeName, each with its own status.startTime.
	existing []*v1.Pod
	// pdbs have their status (disruptionsAllowed) set by the test; no pod matches two of them.
	pdbs []*policyv1.PodDisruptionBudget
	// preemptors are created one at a time, each once the one before has settled.
	preemptors []*v1.Pod
}

// pgen builds a preemption scenario, drawing from the same kind of seeded source as gen.
type pgen struct {
	*gen
	s *preemptScenario
}

// generatePreempt returns the preemption scenario of seed. Same seed, same scenario.
func generatePreempt(seed uint64) *preemptScenario {
	g := &pgen{
		gen: &gen{r: rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))},
		s:   &preemptScenario{seed: seed, id: fmt.Sprintf("q%d", seed)},
	}
	for i := range 3 + g.r.IntN(4) {
		g.s.nodes = append(g.s.nodes, g.node(i))
	}
	for _, n := range g.s.nodes {
		g.fill(n)
	}
	g.startTimes()
	g.budgets()
	g.limitPods()
	count := 1
	if g.chance(0.5) {
		count++
		if g.chance(0.3) {
			count++
		}
	}
	for k := range count {
		g.s.preemptors = append(g.s.preemptors, g.preemptor(k))
	}
	return g.s
}

// node returns node i: 2 or 4 cpus, a zone, sometimes a disk label, an untolerated taint or a
// cordon (nodes where preemption cannot help).
func (g *pgen) node(i int) *v1.Node {
	spec := testenv.NodeSpec{
		Name:   fmt.Sprintf("n%d", i),
		CPU:    pick(g.gen, []string{"2", "4", "4"}),
		Memory: "8Gi",
		Labels: map[string]string{labelZone: pick(g.gen, zones)},
	}
	if g.chance(0.5) {
		spec.Labels[labelDisk] = pick(g.gen, disks)
	}
	if g.chance(0.12) {
		spec.Taints = []v1.Taint{{Key: taintDedicated, Value: "a", Effect: v1.TaintEffectNoSchedule}}
	}
	spec.Unschedulable = g.chance(0.06)
	return testenv.Node(spec)
}

// fill binds one to four pods to n, of random tiers, as long as their cpu fits.
func (g *pgen) fill(n *v1.Node) {
	free := n.Status.Allocatable.Cpu().MilliValue()
	for range 1 + g.r.IntN(4) {
		cpu := resource.MustParse(pick(g.gen, []string{"250m", "500m", "500m", "1", "1", "1500m"}))
		if cpu.MilliValue() > free {
			continue
		}
		free -= cpu.MilliValue()
		g.existing(n.Name, cpu.String())
	}
}

// existing adds an existing pod on node: a tier (weighted towards the low ones), an app and a
// role label for the preemptors' anti-affinity and spreading, sometimes a required
// anti-affinity of its own against role=x.
func (g *pgen) existing(node, cpu string) {
	var value int32
	switch x := g.r.IntN(100); {
	case x < 30:
		value = 0
	case x < 60:
		value = 100
	case x < 85:
		value = 1000
	default:
		value = 10000
	}
	p := newPod("", fmt.Sprintf("e%d", len(g.s.existing)), map[string]string{labelKind: "existing"})
	if g.chance(0.7) {
		p.Labels[labelApp] = pick(g.gen, apps)
	}
	if g.chance(0.25) {
		p.Labels[labelRole] = pick(g.gen, roles)
	}
	p.Spec.NodeName = node
	p.Spec.SchedulerName = "conformance-none"
	p.Spec.PriorityClassName = classFor(value, false)
	p.Spec.Containers = []v1.Container{container("app", requests("cpu", cpu, "memory", pick(g.gen, []string{"", "256Mi", "1Gi"})))}
	if g.chance(0.1) {
		key := labelHostname
		if g.chance(0.3) {
			key = labelZone
		}
		p.Spec.Affinity = withPodTerms(nil, true, v1.PodAffinityTerm{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelRole: "x"}}, TopologyKey: key})
	}
	g.s.existing = append(g.s.existing, p)
}

// startTimes gives every existing pod a different start time, in an order unrelated to their
// names: with no two start times equal, kube-scheduler's order of victims, and of candidate
// nodes, is total.
func (g *pgen) startTimes() {
	for i, m := range g.r.Perm(len(g.s.existing)) {
		t := metav1.NewTime(startBase.Add(time.Duration(m) * time.Minute))
		g.s.existing[i].Status = v1.PodStatus{Phase: v1.PodRunning, StartTime: &t}
	}
}

// budgets adds up to two PodDisruptionBudgets over disjoint sets of one to three existing pods,
// allowing 0, 1 or 2 disruptions, and sometimes a decoy in the side namespace with the same
// selector (a budget covers only pods of its own namespace).
func (g *pgen) budgets() {
	free := g.r.Perm(len(g.s.existing))
	for i := range g.r.IntN(3) {
		name := fmt.Sprintf("b%d", i)
		for range 1 + g.r.IntN(3) {
			if len(free) == 0 {
				break
			}
			g.s.existing[free[0]].Labels[labelPDB] = name
			free = free[1:]
		}
		g.s.pdbs = append(g.s.pdbs, pdb("", name, pick(g.gen, []int32{0, 0, 1, 2})))
		if i == 0 && g.chance(0.3) {
			g.s.pdbs = append(g.s.pdbs, pdb("side", name, 0))
		}
	}
}

func pdb(ns, name string, allowed int32) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{labelPDB: name}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed, CurrentHealthy: 1 + allowed, DesiredHealthy: 1, ExpectedPods: 1 + allowed},
	}
}

// limitPods sometimes caps a node's pod count at the pods it holds ("Too many pods", which
// preemption resolves). Never the last node: the probe pods go there.
func (g *pgen) limitPods() {
	for _, n := range g.s.nodes[:len(g.s.nodes)-1] {
		if !g.chance(0.1) {
			continue
		}
		var count int64
		for _, p := range g.s.existing {
			if p.Spec.NodeName == n.Name {
				count++
			}
		}
		n.Status.Allocatable[v1.ResourcePods] = *resource.NewQuantity(count, resource.DecimalSI)
		n.Status.Capacity[v1.ResourcePods] = *resource.NewQuantity(count, resource.DecimalSI)
	}
}

// preemptor returns preemptor k: priority 1000 or 10000, sometimes preemptionPolicy Never,
// sometimes a required anti-affinity or a spread constraint over the existing pods' app label,
// the role label existing pods' anti-affinity selects, or a disk selector; and a cpu request no
// node has free for it at the start (see fitNowhere).
func (g *pgen) preemptor(k int) *v1.Pod {
	p := newPod("", fmt.Sprintf("p%d", k), map[string]string{labelKind: "preemptor"})
	p.Spec.PriorityClassName = classFor(pick(g.gen, []int32{1000, 10000, 10000}), g.chance(0.15))
	if g.chance(0.3) {
		p.Spec.Affinity = withPodTerms(nil, true, v1.PodAffinityTerm{
			LabelSelector: appSel(pick(g.gen, apps)), TopologyKey: labelHostname})
	}
	if g.chance(0.15) {
		app := pick(g.gen, apps)
		p.Labels[labelApp] = app
		p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1,
			TopologyKey: pick(g.gen, []string{labelHostname, labelZone}), WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: appSel(app)}}
	}
	if g.chance(0.25) {
		p.Labels[labelRole] = "x"
	}
	if g.chance(0.12) {
		p.Spec.NodeSelector = map[string]string{labelDisk: "ssd"}
	}
	cpu := pick(g.gen, []string{"500m", "1", "1500m", "2", "3"})
	p.Spec.Containers = []v1.Container{container("c", requests("cpu", cpu, "memory", "256Mi"))}
	if !g.fitNowhere(p) {
		// Ask for more than the roomiest node it fits has free, and mostly no more than the
		// largest node has at all: beyond that, upstream deems preemption hopeless.
		var most, largest int64
		for _, n := range g.s.nodes {
			if g.fits(p, n) {
				most = max(most, freeCPU(n, g.s.existing))
			}
			largest = max(largest, n.Status.Allocatable.Cpu().MilliValue())
		}
		want := most + 250
		if largest > most && g.chance(0.85) {
			want = most + 1 + g.r.Int64N(largest-most)
		}
		p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = *resource.NewMilliQuantity(want, resource.DecimalSI)
	}
	return p
}

// fitNowhere tells whether p fits no node of the scenario as it starts, judged by
// placementcheck (exact for a single incoming pod).
func (g *pgen) fitNowhere(p *v1.Pod) bool {
	for _, n := range g.s.nodes {
		if g.fits(p, n) {
			return false
		}
	}
	return true
}

func (g *pgen) fits(p *v1.Pod, n *v1.Node) bool {
	return len(placementcheck.Check(g.s.world(p, n.Name))) == 0
}

// world is the scenario at its start with p bound to node, for the checker.
func (s *preemptScenario) world(p *v1.Pod, node string) *placementcheck.World {
	w := &placementcheck.World{Nodes: map[string]*v1.Node{}, Existing: s.existing}
	for _, n := range s.nodes {
		w.Nodes[n.Name] = n
	}
	c := p.DeepCopy()
	c.Spec.NodeName = node
	w.Incoming = []*v1.Pod{c}
	return w
}

// freeCPU is n's allocatable cpu less what the pods bound to it request, in millicores.
func freeCPU(n *v1.Node, pods []*v1.Pod) int64 {
	free := n.Status.Allocatable.Cpu().MilliValue()
	for _, p := range pods {
		if p.Spec.NodeName == n.Name {
			free -= placementcheck.PodRequests(p)[v1.ResourceCPU]
		}
	}
	return free
}

// preemptCopy is one copy of a scenario, the objects as they are created: names prefixed with
// "<id>-<copy>-", namespaces "<id>-<copy>" and "<id>-<copy>-side", nodes labelled copy=<copy>
// and preemptors selecting them, for scheduler.
type preemptCopy struct {
	name, scheduler string
	prefix          string
	ns, side        string
	namespaces      []*v1.Namespace
	nodes           []*v1.Node
	existing        []*v1.Pod
	pdbs            []*policyv1.PodDisruptionBudget
	preemptors      []*v1.Pod
}

// copyFor returns copy c of the scenario, whose preemptors go to scheduler.
func (s *preemptScenario) copyFor(c, scheduler string) *preemptCopy {
	pc := &preemptCopy{name: c, scheduler: scheduler, prefix: s.id + "-" + c + "-", ns: s.id + "-" + c, side: s.id + "-" + c + "-side"}
	for _, name := range []string{pc.ns, pc.side} {
		pc.namespaces = append(pc.namespaces, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{labelScenario: s.id, labelNS: name}}})
	}
	for _, n := range s.nodes {
		n = n.DeepCopy()
		n.Name = pc.prefix + n.Name
		n.Labels[labelHostname], n.Labels[labelScenario], n.Labels[labelCopy] = n.Name, s.id, c
		pc.nodes = append(pc.nodes, n)
	}
	for _, p := range s.existing {
		p = p.DeepCopy()
		p.Namespace, p.Spec.NodeName, p.Labels[labelScenario] = pc.ns, pc.prefix+p.Spec.NodeName, s.id
		pc.existing = append(pc.existing, p)
	}
	for _, b := range s.pdbs {
		ns := pc.ns
		if b.Namespace == "side" {
			ns = pc.side
		}
		b = b.DeepCopy()
		b.Namespace = ns
		pc.pdbs = append(pc.pdbs, b)
	}
	for _, p := range s.preemptors {
		p = p.DeepCopy()
		p.Namespace, p.Spec.SchedulerName, p.Labels[labelScenario] = pc.ns, scheduler, s.id
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		p.Spec.NodeSelector[labelCopy] = c
		pc.preemptors = append(pc.preemptors, p)
	}
	return pc
}

// short strips the copy's prefix from a node name.
func (c *preemptCopy) short(node string) string { return strings.TrimPrefix(node, c.prefix) }

// String renders the scenario for failure reports.
func (s *preemptScenario) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "preemption scenario seed=%d (rerun: go test ./conformance -run 'TestPreemption$' -conformance.seed=%d -v)\n", s.seed, s.seed)
	b.WriteString("nodes:\n")
	for _, n := range s.nodes {
		fmt.Fprintf(&b, "  %s\n", describeNode(n))
	}
	b.WriteString("existing pods (priority, start minute):\n")
	for _, p := range s.existing {
		fmt.Fprintf(&b, "  %s on %s: priority %d, started +%dm: %s\n", p.Name, p.Spec.NodeName, classOf(p).value,
			int(p.Status.StartTime.Sub(startBase)/time.Minute), describePod(p))
	}
	if len(s.pdbs) > 0 {
		b.WriteString("PodDisruptionBudgets:\n")
	}
	for _, d := range s.pdbs {
		ns := d.Namespace
		if ns == "" {
			ns = "main"
		}
		fmt.Fprintf(&b, "  %s/%s selects %s=%s, disruptionsAllowed %d\n", ns, d.Name, labelPDB, d.Name, d.Status.DisruptionsAllowed)
	}
	b.WriteString("preemptors, in order:\n")
	for _, p := range s.preemptors {
		c := classOf(p)
		policy := ""
		if c.never {
			policy = ", preemptionPolicy Never"
		}
		fmt.Fprintf(&b, "  %s: priority %d%s: %s\n", p.Name, c.value, policy, describePod(p))
	}
	return b.String()
}

// priorities returns the pods' priorities, highest first.
func priorities(pods []*v1.Pod) []int32 {
	out := make([]int32, len(pods))
	for i, p := range pods {
		out[i] = priorityOf(p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

// priorityOf is a pod's spec.priority as the API server resolved it (0 when unset).
func priorityOf(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}
