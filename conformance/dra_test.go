package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
	"github.com/berth-scheduler/berth/testenv"
)

// The DRA scenarios (TestDynamicResources, TestDRAGenerated). A case is a small cluster with
// devices: DeviceClasses, ResourceSlices (the test plays the DRA drivers: node-local pools named
// after their node, network-attached ones selecting nodes, several slices and generations per
// pool, shared counters), ResourceClaims created beforehand (some already allocated, as a claim
// in use), ResourceClaimTemplates, and incoming pods naming claims or templates.
// kube-controller-manager's resourceclaim controller runs meanwhile (started once, by the first
// DRA test): it makes a pod's claims from its templates and names them in the pod's status.
//
// Allocation consumes devices, so, as for volumes, a case is created twice at once, a copy per
// scheduler: own namespace, names prefixed "<id>-u-" or "<id>-b-" (nodes, pools, slices,
// classes), and the drivers too (so a copy's classes never select the other copy's devices, even
// in a slice for all nodes); nodes are labelled with their copy and incoming pods select it.
// Messages are compared with the prefixes removed; node counts in them cover both copies.
//
// Per case: classes, slices and claims (allocated ones get their status written), templates and
// nodes, then per copy a barrier: a class, a slice on the newest node and a claim, created last,
// and a probe pod with that claim pinned to the newest node. Its binding proves its scheduler has
// seen every class, slice, claim and node before it (each watch is ordered, and the bind needs
// the barrier's class, slice and claim). Then both copies' incoming pods are created at once and
// each copy settles (settleDRA): every pod bound, or marked unschedulable (or failed with a
// scheduler error) with nothing changed for draQuiet, or held: a pod that a PreEnqueue check
// keeps from any attempt (its claim missing) gets no condition at all, so a pod still without
// one after draHeld counts as held.

// The drivers the cases play; copyOf prefixes them per copy.
const (
	drvGPU     = "gpu.berth.test"
	drvNIC     = "nic.berth.test"
	drvBarrier = "barrier.berth.test"
)

var draDrivers = []string{drvGPU, drvNIC, drvBarrier}

const (
	draQuiet = time.Second
	draHeld  = 3 * time.Second
	// heldMessage stands for "no condition": the pod was never attempted.
	heldMessage = "(held before any attempt: no PodScheduled condition)"
)

// draCase is one DRA scenario, with short names: copyOf qualifies them per copy.
type draCase struct {
	name    string
	nodes   []testenv.NodeSpec
	classes []*resourcev1.DeviceClass
	slices  []*resourcev1.ResourceSlice
	// claims are created before the pods; one with status.allocation set gets that status
	// written (its results' pools are short node names, its node selector short hostnames).
	claims    []*resourcev1.ResourceClaim
	templates []*resourcev1.ResourceClaimTemplate
	// taintRules taint devices by driver, pool (a short node name) and device.
	taintRules []*resourcev1.DeviceTaintRule
	pods       []*v1.Pod
	// want maps an incoming pod to the nodes it may land on; a pod missing, or with no nodes,
	// must stay pending. With loose, want is not read: placed pods must be bound (which ones is
	// the scheduler's choice), the others pending, as many under both schedulers.
	want   map[string][]string
	loose  bool
	placed int
	// groups (generated cases) map a group name to its pods: the comparison is then per group
	// (as many pending; a wholly pending group's messages equal), and want is not read.
	groups map[string][]string
	// skipMessage, when set, is why the pending pods' messages are not compared (an accepted
	// divergence).
	skipMessage string
	// berthRefuses, when set, is an accepted divergence: berth keeps every pod pending with a
	// message containing it (a selector berth does not evaluate), whatever upstream does; only
	// the checker judges upstream's placements.
	berthRefuses string
	// upstreamFails, when set, is an accepted divergence the other way: upstream keeps every pod
	// pending with a message containing it (an upstream bug), and berth's placements are judged
	// by want alone.
	upstreamFails string
	// adminNS labels the namespaces so that claims there may ask for admin access.
	adminNS bool
	// staleExtended maps an incoming pod to the extended resource claim "an earlier attempt"
	// left for it (its spec): the pod is created with a scheduling gate, then the claim
	// (annotated, controlled by the pod, with the delete-protection finalizer), then the gate is
	// removed (see runDRAPhase).
	staleExtended map[string]*resourcev1.ResourceClaim
	// scored runs the case's pods under the schedulers' second profile (scoredProfile).
	scored bool
}

// staleGate holds a pod of staleExtended until its claim exists.
const staleGate = "berth.test/stale-extended-claim"

// draCopy is one scheduler's copy of a case, names qualified.
type draCopy struct {
	name, scheduler string
	id, prefix, ns  string
	nodes           []*v1.Node
	classes         []*resourcev1.DeviceClass
	slices          []*resourcev1.ResourceSlice
	claims          []*resourcev1.ResourceClaim
	templates       []*resourcev1.ResourceClaimTemplate
	taintRules      []*resourcev1.DeviceTaintRule
	pods            []*v1.Pod
	nsLabels        map[string]string
	// barrier objects, created last
	barrierClass *resourcev1.DeviceClass
	barrierSlice *resourcev1.ResourceSlice
	barrierClaim *resourcev1.ResourceClaim
	// stale are the staleExtended claims by pod name, qualified.
	stale map[string]*resourcev1.ResourceClaim
}

func (c *draCopy) short(name string) string { return strings.TrimPrefix(name, c.prefix) }

// qualifyResource prefixes the extended resources a case's classes may provide, so that a copy's
// classes never provide the other copy's (or another test's) resources: example.com/X becomes
// PREFIXexample.com/X, and deviceclass.resource.kubernetes.io/CLASS names the copy's class.
func (c *draCopy) qualifyResource(r v1.ResourceName) v1.ResourceName {
	if class, ok := strings.CutPrefix(string(r), resourcev1.ResourceDeviceClassPrefix); ok {
		return v1.ResourceName(resourcev1.ResourceDeviceClassPrefix + c.prefix + class)
	}
	if strings.HasPrefix(string(r), "example.com/") {
		return v1.ResourceName(c.prefix + string(r))
	}
	return r
}

func (c *draCopy) qualifyResources(l v1.ResourceList) v1.ResourceList {
	if l == nil {
		return nil
	}
	out := make(v1.ResourceList, len(l))
	for r, q := range l {
		out[c.qualifyResource(r)] = q
	}
	return out
}

// qualifyDrivers prefixes every driver name in s (CEL expressions, attribute names).
func (c *draCopy) qualifyDrivers(s string) string {
	for _, d := range draDrivers {
		s = strings.ReplaceAll(s, d, c.prefix+d)
	}
	return s
}

func (c *draCopy) qualifySelectors(sels []resourcev1.DeviceSelector) {
	for i := range sels {
		if sels[i].CEL != nil {
			sels[i].CEL = &resourcev1.CELDeviceSelector{Expression: c.qualifyDrivers(sels[i].CEL.Expression)}
		}
	}
}

func (c *draCopy) qualifyNodeSelector(ns *v1.NodeSelector) {
	if ns != nil {
		qualifyTerms(func(s string) string { return c.prefix + s }, ns.NodeSelectorTerms)
	}
}

// qualifySpec qualifies a claim spec's classes, selectors, constraints and config drivers.
func (c *draCopy) qualifySpec(s *resourcev1.ResourceClaimSpec) {
	for i := range s.Devices.Requests {
		r := &s.Devices.Requests[i]
		if e := r.Exactly; e != nil {
			e.DeviceClassName = c.prefix + e.DeviceClassName
			c.qualifySelectors(e.Selectors)
		}
		for j := range r.FirstAvailable {
			sub := &r.FirstAvailable[j]
			sub.DeviceClassName = c.prefix + sub.DeviceClassName
			c.qualifySelectors(sub.Selectors)
		}
	}
	for i := range s.Devices.Constraints {
		con := &s.Devices.Constraints[i]
		for _, a := range []**resourcev1.FullyQualifiedName{&con.MatchAttribute, &con.DistinctAttribute} {
			if *a != nil {
				*a = ptrTo(resourcev1.FullyQualifiedName(c.qualifyDrivers(string(**a))))
			}
		}
	}
	for i := range s.Devices.Config {
		if o := s.Devices.Config[i].Opaque; o != nil {
			o.Driver = c.prefix + o.Driver
		}
	}
}

func (c *draCopy) qualifyDevice(d *resourcev1.Device) {
	if len(d.Attributes) > 0 {
		attrs := make(map[resourcev1.QualifiedName]resourcev1.DeviceAttribute, len(d.Attributes))
		for k, v := range d.Attributes {
			attrs[resourcev1.QualifiedName(c.qualifyDrivers(string(k)))] = v
		}
		d.Attributes = attrs
	}
	if d.NodeName != nil {
		d.NodeName = ptrTo(c.prefix + *d.NodeName)
	}
	c.qualifyNodeSelector(d.NodeSelector)
}

// copyOf returns copy c ("u" or "b") of case dc with id, for scheduler.
func (dc *draCase) copyOf(id, c, scheduler string) *draCopy {
	cp := &draCopy{name: c, scheduler: scheduler, id: id, prefix: id + "-" + c + "-", ns: id + "-" + c}
	q := func(s string) string { return cp.prefix + s }
	marks := func(m map[string]string) map[string]string {
		out := map[string]string{labelScenario: id, labelCopy: c}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	cp.nsLabels = map[string]string{labelScenario: id, labelNS: cp.ns}
	if dc.adminNS {
		cp.nsLabels[resourcev1.DRAAdminNamespaceLabelKey] = "true"
	}
	for _, spec := range dc.nodes {
		spec.Name = q(spec.Name)
		spec.Labels = marks(spec.Labels)
		spec.Extra = cp.qualifyResources(spec.Extra)
		cp.nodes = append(cp.nodes, testenv.Node(spec))
	}
	for _, cl := range dc.classes {
		cl = cl.DeepCopy()
		cl.Name, cl.Labels = q(cl.Name), marks(cl.Labels)
		if n := cl.Spec.ExtendedResourceName; n != nil {
			cl.Spec.ExtendedResourceName = ptrTo(string(cp.qualifyResource(v1.ResourceName(*n))))
		}
		cp.qualifySelectors(cl.Spec.Selectors)
		for i := range cl.Spec.Config {
			if o := cl.Spec.Config[i].Opaque; o != nil {
				o.Driver = q(o.Driver)
			}
		}
		cp.classes = append(cp.classes, cl)
	}
	for _, s := range dc.slices {
		s = s.DeepCopy()
		s.Name, s.Labels = q(s.Name), marks(s.Labels)
		s.Spec.Driver, s.Spec.Pool.Name = q(s.Spec.Driver), q(s.Spec.Pool.Name)
		if s.Spec.NodeName != nil {
			s.Spec.NodeName = ptrTo(q(*s.Spec.NodeName))
		}
		cp.qualifyNodeSelector(s.Spec.NodeSelector)
		for i := range s.Spec.Devices {
			cp.qualifyDevice(&s.Spec.Devices[i])
		}
		cp.slices = append(cp.slices, s)
	}
	for _, cl := range dc.claims {
		cl = cl.DeepCopy()
		cl.Namespace, cl.Labels = cp.ns, marks(cl.Labels)
		cp.qualifySpec(&cl.Spec)
		if a := cl.Status.Allocation; a != nil {
			cp.qualifyNodeSelector(a.NodeSelector)
			for i := range a.Devices.Results {
				r := &a.Devices.Results[i]
				r.Driver, r.Pool = q(r.Driver), q(r.Pool)
			}
		}
		cp.claims = append(cp.claims, cl)
	}
	for _, t := range dc.templates {
		t = t.DeepCopy()
		t.Namespace, t.Labels = cp.ns, marks(t.Labels)
		cp.qualifySpec(&t.Spec.Spec)
		cp.templates = append(cp.templates, t)
	}
	for _, r := range dc.taintRules {
		r = r.DeepCopy()
		r.Name, r.Labels = q(r.Name), marks(r.Labels)
		if sel := r.Spec.DeviceSelector; sel != nil {
			if sel.Driver != nil {
				sel.Driver = ptrTo(q(*sel.Driver))
			}
			if sel.Pool != nil {
				sel.Pool = ptrTo(q(*sel.Pool))
			}
		}
		cp.taintRules = append(cp.taintRules, r)
	}
	for _, in := range dc.pods {
		p := in.DeepCopy()
		p.Namespace, p.Spec.SchedulerName = cp.ns, scheduler
		p.Labels[labelScenario], p.Labels[labelKind] = id, "incoming"
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		p.Spec.NodeSelector[labelCopy] = c
		for _, list := range [][]v1.Container{p.Spec.InitContainers, p.Spec.Containers} {
			for i := range list {
				r := &list[i].Resources
				r.Requests, r.Limits = cp.qualifyResources(r.Requests), cp.qualifyResources(r.Limits)
			}
		}
		if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			qualifyTerms(q, a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms)
		}
		if cl := dc.staleExtended[p.Name]; cl != nil {
			cl = cl.DeepCopy()
			cl.Namespace, cl.Name, cl.Labels = cp.ns, p.Name+"-extended-resources-stale", marks(cl.Labels)
			cl.Annotations = map[string]string{resourcev1.ExtendedResourceClaimAnnotation: "true"}
			cl.Finalizers = []string{resourcev1.Finalizer}
			cp.qualifySpec(&cl.Spec)
			if cp.stale == nil {
				cp.stale = map[string]*resourcev1.ResourceClaim{}
			}
			cp.stale[p.Name] = cl
			p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, v1.PodSchedulingGate{Name: staleGate})
		}
		cp.pods = append(cp.pods, p)
	}
	cp.barrierClass = testenv.NewDeviceClass(q("barrier"), q(drvBarrier))
	cp.barrierClass.Labels = marks(nil)
	cp.barrierClaim = testenv.NewResourceClaim(cp.ns, "barrier", testenv.ExactRequest("b", cp.barrierClass.Name, 1))
	cp.barrierClaim.Labels = marks(nil)
	return cp
}

// draControllers is kube-controller-manager with the resourceclaim controller, started by the
// first DRA test and left running until the package's control plane stops.
var draControllers struct {
	once sync.Once
	kcm  *testenv.Process
	err  error
}

func startDRAControllers(t *testing.T) {
	t.Helper()
	draControllers.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		flags := []string{"--kube-api-qps=500", "--kube-api-burst=500"}
		draControllers.kcm, draControllers.err = cp.StartControllerManagerWithArgs(ctx, flags, "resourceclaim-controller")
		if draControllers.err == nil {
			t.Logf("kube-controller-manager (resourceclaim-controller) synced in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if draControllers.err != nil {
		t.Fatalf("starting kube-controller-manager: %v", draControllers.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-controller-manager output (tail):\n%s", testenv.Tail(draControllers.kcm.Output(), 3000))
		}
	})
}

// draPhase is what one scheduler made of its copy.
type draPhase struct {
	copy    *draCopy
	pods    []*v1.Pod
	devices *placementcheck.Devices
	took    time.Duration
}

func (ph *draPhase) pod(name string) *v1.Pod {
	for _, p := range ph.pods {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// message is p's FailedScheduling message (heldMessage if it has no PodScheduled condition)
// with the copy's names made short.
func (ph *draPhase) message(p *v1.Pod) string {
	if !hasScheduledCondition(p) {
		return heldMessage
	}
	m := unschedulableMessage(p)
	// A claim made from a template has a random suffix.
	for _, st := range p.Status.ResourceClaimStatuses {
		if st.ResourceClaimName != nil {
			m = strings.ReplaceAll(m, *st.ResourceClaimName, fmt.Sprintf("<claim of %s for %s>", p.Name, st.Name))
		}
	}
	m = strings.ReplaceAll(m, ph.copy.prefix, "")
	return strings.ReplaceAll(m, ph.copy.ns+"/", "<ns>/")
}

func hasScheduledCondition(p *v1.Pod) bool {
	return slices.ContainsFunc(p.Status.Conditions, func(c v1.PodCondition) bool { return c.Type == v1.PodScheduled })
}

// devicesOf returns, per claim of p, the devices allocated to it ("claim->[pool/device ...]").
func (ph *draPhase) devicesOf(p *v1.Pod) []string {
	var out []string
	for _, pc := range p.Spec.ResourceClaims {
		name := claimNameOf(p, pc)
		c := ph.devices.Claims[p.Namespace+"/"+name]
		var devs []string
		if c != nil && c.Status.Allocation != nil {
			for _, r := range c.Status.Allocation.Devices.Results {
				devs = append(devs, ph.copy.short(r.Pool)+"/"+r.Device)
			}
		}
		out = append(out, fmt.Sprintf("%s->%v", pc.Name, devs))
	}
	if st := p.Status.ExtendedResourceClaimStatus; st != nil {
		var devs []string
		if c := ph.devices.Claims[p.Namespace+"/"+st.ResourceClaimName]; c != nil && c.Status.Allocation != nil {
			for _, r := range c.Status.Allocation.Devices.Results {
				devs = append(devs, ph.copy.short(r.Pool)+"/"+r.Device)
			}
		}
		out = append(out, fmt.Sprintf("extended->%v", devs))
	}
	return out
}

// claimNameOf is the claim behind a pod's resourceClaims entry ("" if not made yet).
func claimNameOf(p *v1.Pod, pc v1.PodResourceClaim) string {
	if pc.ResourceClaimName != nil {
		return *pc.ResourceClaimName
	}
	for _, st := range p.Status.ResourceClaimStatuses {
		if st.Name == pc.Name && st.ResourceClaimName != nil {
			return *st.ResourceClaimName
		}
	}
	return ""
}

func (ph *draPhase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (copy %s, settled in %s):\n", ph.copy.scheduler, ph.copy.name, ph.took.Round(time.Millisecond))
	for _, p := range ph.pods {
		if p.Spec.NodeName != "" {
			fmt.Fprintf(&b, "  %s -> %s, devices %v\n", p.Name, ph.copy.short(p.Spec.NodeName), ph.devicesOf(p))
			continue
		}
		fmt.Fprintf(&b, "  %s pending: %s\n", p.Name, ph.message(p))
	}
	return b.String()
}

// runDRACase runs dc (as scenario id) through both schedulers and returns both phases, nil when
// the run itself failed (reported).
func runDRACase(t *testing.T, id string, dc *draCase) (up, be *draPhase) {
	t.Helper()
	startDRAControllers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	upName, beName := upstreamName, berthName
	if dc.scored {
		upName, beName = upstreamScoredName, berthScoredName
	}
	copies := []*draCopy{dc.copyOf(id, "u", upName), dc.copyOf(id, "b", beName)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := tearDownDRA(ctx, id, copies); err != nil {
			t.Errorf("tearing down: %v", err)
		}
	})
	start := time.Now()
	if err := setUpDRA(ctx, id, copies); err != nil {
		t.Fatalf("setting up: %v\n%s", err, describeDRACase(dc))
	}
	if *flagShow {
		t.Logf("set-up took %s", time.Since(start).Round(time.Millisecond))
	}
	phases := make([]*draPhase, len(copies))
	errs := make([]error, len(copies))
	var wg sync.WaitGroup
	for i, c := range copies {
		wg.Go(func() { phases[i], errs[i] = runDRAPhase(ctx, c) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%v\n%s", err, describeDRACase(dc))
	}
	if *flagShow {
		t.Logf("%s\n%s\n%s", describeDRACase(dc), phases[0], phases[1])
	}
	return phases[0], phases[1]
}

// setUpDRA creates both copies and waits until both schedulers have seen them.
func setUpDRA(ctx context.Context, id string, copies []*draCopy) error {
	rs := admin.ResourceV1()
	for _, c := range copies {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns, Labels: c.nsLabels}}
		if _, err := admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", c.ns, err)
		}
	}
	for _, c := range copies {
		for _, cl := range c.classes {
			if _, err := rs.DeviceClasses().Create(ctx, cl, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating DeviceClass %s: %w", cl.Name, err)
			}
		}
		for _, s := range c.slices {
			if _, err := rs.ResourceSlices().Create(ctx, s, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating ResourceSlice %s: %w", s.Name, err)
			}
		}
		for _, r := range c.taintRules {
			if _, err := rs.DeviceTaintRules().Create(ctx, r, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating DeviceTaintRule %s: %w", r.Name, err)
			}
		}
		for _, cl := range c.claims {
			if err := createClaim(ctx, cl); err != nil {
				return err
			}
		}
		for _, tm := range c.templates {
			if _, err := rs.ResourceClaimTemplates(tm.Namespace).Create(ctx, tm, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating ResourceClaimTemplate %s/%s: %w", tm.Namespace, tm.Name, err)
			}
		}
	}
	for _, c := range copies {
		for _, n := range c.nodes {
			if err := createNode(ctx, n, false); err != nil {
				return err
			}
		}
	}
	last := copies[len(copies)-1].nodes
	node := last[len(last)-1].Name
	for _, c := range copies {
		c.barrierSlice = testenv.NewNodeSlice(node, c.prefix+drvBarrier, testenv.NewDevice("barrier", nil, nil))
		c.barrierSlice.Name = c.prefix + "barrier"
		c.barrierSlice.Spec.Pool.Name = c.prefix + "barrier"
		c.barrierSlice.Labels = map[string]string{labelScenario: id, labelCopy: c.name}
		if _, err := rs.DeviceClasses().Create(ctx, c.barrierClass, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating the barrier DeviceClass: %w", err)
		}
		if _, err := rs.ResourceSlices().Create(ctx, c.barrierSlice, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating the barrier ResourceSlice: %w", err)
		}
		if err := createClaim(ctx, c.barrierClaim); err != nil {
			return err
		}
	}
	errs := make([]error, len(copies))
	var wg sync.WaitGroup
	for i, c := range copies {
		wg.Go(func() { errs[i] = draProbe(ctx, c, node) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// createClaim creates a claim, then writes its status when it comes allocated.
func createClaim(ctx context.Context, cl *resourcev1.ResourceClaim) error {
	claims := admin.ResourceV1().ResourceClaims(cl.Namespace)
	got, err := claims.Create(ctx, cl, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating ResourceClaim %s/%s: %w", cl.Namespace, cl.Name, err)
	}
	if cl.Status.Allocation == nil {
		return nil
	}
	got.Status = *cl.Status.DeepCopy()
	if _, err := claims.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("allocating ResourceClaim %s/%s: %w", cl.Namespace, cl.Name, err)
	}
	return nil
}

// draProbe creates a probe pod for the copy's scheduler with the barrier claim, pinned to node,
// waits until it is bound and deletes it.
func draProbe(ctx context.Context, c *draCopy, node string) error {
	return probeScheduler(ctx, c.ns, c.scheduler, c.id, node, func(p *v1.Pod) {
		testenv.WithResourceClaims(p, testenv.ExistingClaim("barrier", c.barrierClaim.Name))
	})
}

// runDRAPhase creates the copy's incoming pods, waits until they settle, reads them and the
// devices, then deletes them and waits until they are gone.
func runDRAPhase(ctx context.Context, c *draCopy) (*draPhase, error) {
	sel := metav1.ListOptions{LabelSelector: labelKind + "=incoming," + labelScenario + "=" + c.id}
	start := time.Now()
	for _, p := range c.pods {
		created, err := admin.CoreV1().Pods(c.ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("creating incoming pod %s for %s: %w", p.Name, c.scheduler, err)
		}
		if cl := c.stale[p.Name]; cl != nil {
			if err := leaveStaleClaim(ctx, created, cl); err != nil {
				return nil, err
			}
		}
	}
	// A pod with a stale claim is rejected once, then waits for the claim's deletion and its
	// backoff: longer than settleDRA's quiet time.
	for name := range c.stale {
		if err := waitBoundFor(ctx, c.ns, name, staleWait); err != nil {
			return nil, err
		}
	}
	pods, err := settleDRA(ctx, c.ns, sel, len(c.pods))
	ph := &draPhase{copy: c, pods: pods, took: time.Since(start)}
	if err != nil {
		return ph, fmt.Errorf("%s: %w", c.scheduler, err)
	}
	if ph.devices, err = readDevices(ctx, c); err != nil {
		return ph, err
	}
	zero := int64(0)
	if err := admin.CoreV1().Pods(c.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); err != nil {
		return ph, fmt.Errorf("deleting incoming pods: %w", err)
	}
	return ph, waitGone(ctx, c.ns, sel)
}

// staleWait bounds how long runDRAPhase waits for a pod with a stale claim to be bound.
const staleWait = 20 * time.Second

// waitBoundFor waits until pod ns/name is bound, at most d (then it returns nil: the comparison
// judges the pending pod).
func waitBoundFor(ctx context.Context, ns, name string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		p, err := admin.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading pod %s/%s: %w", ns, name, err)
		}
		if p.Spec.NodeName != "" {
			return nil
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return err
		}
	}
	return nil
}

// leaveStaleClaim creates cl as the extended resource claim of pod (gated), as an earlier attempt
// would have left it, then lifts the pod's gate.
func leaveStaleClaim(ctx context.Context, pod *v1.Pod, cl *resourcev1.ResourceClaim) error {
	cl = cl.DeepCopy()
	cl.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID, Controller: ptrTo(true)}}
	if _, err := admin.ResourceV1().ResourceClaims(cl.Namespace).Create(ctx, cl, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the stale claim of %s: %w", pod.Name, err)
	}
	patch := []byte(`{"spec":{"schedulingGates":null}}`)
	if _, err := admin.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("lifting the gate of %s: %w", pod.Name, err)
	}
	return nil
}

// settleDRA polls the pods until want of them exist and each is bound, or pending (marked
// unschedulable or failed by a scheduler error) with nothing changed for draQuiet, or held (no
// PodScheduled condition, nothing changed for draHeld).
func settleDRA(ctx context.Context, ns string, sel metav1.ListOptions, want int) ([]*v1.Pod, error) {
	deadline := time.Now().Add(settleTimeout)
	var last string
	var lastChange time.Time
	for {
		l, err := admin.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("listing incoming pods: %w", err)
		}
		pods := make([]*v1.Pod, len(l.Items))
		for i := range l.Items {
			pods[i] = &l.Items[i]
		}
		sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
		decided, pending, held := len(pods) == want, 0, 0
		var state strings.Builder
		for _, p := range pods {
			switch {
			case p.Spec.NodeName != "":
			case failedScheduling(p):
				pending++
			case !hasScheduledCondition(p):
				held++
			default:
				decided = false
			}
			fmt.Fprintf(&state, "%s=%s|%s;", p.Name, p.Spec.NodeName, unschedulableMessage(p))
		}
		if state.String() != last {
			last, lastChange = state.String(), time.Now()
		}
		quiet := time.Since(lastChange)
		if decided && ((pending == 0 && held == 0) || (held == 0 && quiet >= draQuiet) || quiet >= draHeld) {
			return pods, nil
		}
		if time.Now().After(deadline) {
			if err := schedulerAlive(); err != nil {
				return pods, err
			}
			return pods, fmt.Errorf("pods did not settle within %s: %s", settleTimeout, last)
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return pods, err
		}
	}
}

// failedScheduling reports whether p's PodScheduled condition is False for being unschedulable
// or for a scheduler error.
func failedScheduling(p *v1.Pod) bool {
	return slices.ContainsFunc(p.Status.Conditions, func(c v1.PodCondition) bool {
		return c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse &&
			(c.Reason == v1.PodReasonUnschedulable || c.Reason == v1.PodReasonSchedulerError)
	})
}

// readDevices reads the copy's claims, slices and classes, as placementcheck reads them.
func readDevices(ctx context.Context, c *draCopy) (*placementcheck.Devices, error) {
	rs := admin.ResourceV1()
	d := &placementcheck.Devices{Claims: map[string]*resourcev1.ResourceClaim{}, Classes: map[string]*resourcev1.DeviceClass{}}
	claims, err := rs.ResourceClaims(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing claims in %s: %w", c.ns, err)
	}
	for i := range claims.Items {
		cl := &claims.Items[i]
		d.Claims[cl.Namespace+"/"+cl.Name] = cl
	}
	mine := metav1.ListOptions{LabelSelector: labelScenario + "=" + c.id + "," + labelCopy + "=" + c.name}
	sl, err := rs.ResourceSlices().List(ctx, mine)
	if err != nil {
		return nil, fmt.Errorf("listing ResourceSlices: %w", err)
	}
	for i := range sl.Items {
		d.Slices = append(d.Slices, &sl.Items[i])
	}
	cls, err := rs.DeviceClasses().List(ctx, mine)
	if err != nil {
		return nil, fmt.Errorf("listing DeviceClasses: %w", err)
	}
	for i := range cls.Items {
		d.Classes[cls.Items[i].Name] = &cls.Items[i]
	}
	return d, nil
}

// tearDownDRA deletes everything the case created but its namespaces: pods, claims (their
// finalizers removed), templates, slices, classes and nodes.
func tearDownDRA(ctx context.Context, id string, copies []*draCopy) error {
	var errs []error
	zero := int64(0)
	sel := metav1.ListOptions{LabelSelector: labelScenario + "=" + id}
	release := []byte(`{"metadata":{"finalizers":null}}`)
	rs := admin.ResourceV1()
	for _, c := range copies {
		if err := admin.CoreV1().Pods(c.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("deleting pods in %s: %w", c.ns, err))
		}
	}
	for _, c := range copies {
		if err := waitGone(ctx, c.ns, metav1.ListOptions{}); err != nil {
			errs = append(errs, err)
		}
		claims := rs.ResourceClaims(c.ns)
		l, err := claims.List(ctx, metav1.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("listing claims in %s: %w", c.ns, err))
			continue
		}
		for _, cl := range l.Items {
			if len(cl.Finalizers) > 0 {
				if _, err := claims.Patch(ctx, cl.Name, types.MergePatchType, release, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("releasing claim %s/%s: %w", c.ns, cl.Name, err))
				}
			}
			if err := claims.Delete(ctx, cl.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting claim %s/%s: %w", c.ns, cl.Name, err))
			}
		}
		if err := rs.ResourceClaimTemplates(c.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("deleting claim templates in %s: %w", c.ns, err))
		}
	}
	if err := rs.ResourceSlices().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting ResourceSlices: %w", err))
	}
	if err := rs.DeviceTaintRules().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting DeviceTaintRules: %w", err))
	}
	if err := rs.DeviceClasses().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting DeviceClasses: %w", err))
	}
	if err := admin.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting nodes: %w", err))
	}
	return errors.Join(errs...)
}

// compareDRA checks a case's two phases against each other, against the case's wants and with
// placementcheck.
func compareDRA(t *testing.T, dc *draCase, up, be *draPhase) {
	t.Helper()
	var problems []string
	for _, ph := range []*draPhase{up, be} {
		w := &placementcheck.World{Nodes: map[string]*v1.Node{}, Incoming: ph.pods, Devices: ph.devices}
		for _, n := range ph.copy.nodes {
			w.Nodes[n.Name] = n
		}
		for _, v := range placementcheck.Check(w) {
			if ph == up {
				problems = append(problems, "the checker rejects an UPSTREAM placement (checker or upstream bug): "+v.String())
			} else {
				problems = append(problems, "berth placement breaks a hard constraint: "+v.String())
			}
		}
	}
	if dc.berthRefuses != "" {
		for _, p := range be.pods {
			if p.Spec.NodeName != "" || !strings.Contains(be.message(p), dc.berthRefuses) {
				problems = append(problems, fmt.Sprintf("berth %s; the case wants it pending, its message saying %q", draPlacement(be, p), dc.berthRefuses))
			}
		}
		if len(problems) > 0 {
			t.Errorf("%d problem(s):\n  - %s\n\n%s\n%s\n%s", len(problems), strings.Join(problems, "\n  - "), describeDRACase(dc), up, be)
		}
		return
	}
	if dc.upstreamFails != "" {
		for _, p := range up.pods {
			if p.Spec.NodeName != "" || !strings.Contains(up.message(p), dc.upstreamFails) {
				problems = append(problems, fmt.Sprintf("upstream %s; the case expects upstream's bug %q", draPlacement(up, p), dc.upstreamFails))
			}
		}
		for _, in := range dc.pods {
			p := be.pod(in.Name)
			if got, want := be.copy.short(p.Spec.NodeName), dc.want[in.Name]; (len(want) == 0 && p.Spec.NodeName != "") || (len(want) > 0 && !slices.Contains(want, got)) {
				problems = append(problems, fmt.Sprintf("berth %s, the case wants it on one of %v (none: pending)", draPlacement(be, p), want))
			}
		}
		if len(problems) > 0 {
			t.Errorf("%d problem(s):\n  - %s\n\n%s\n%s\n%s", len(problems), strings.Join(problems, "\n  - "), describeDRACase(dc), up, be)
		}
		return
	}
	messages := func(ph *draPhase, names []string) (pending int, msgs []string) {
		for _, n := range names {
			if p := ph.pod(n); p != nil && p.Spec.NodeName == "" {
				pending++
				msgs = append(msgs, ph.message(p))
			}
		}
		sort.Strings(msgs)
		return pending, msgs
	}
	groups := dc.groups
	if groups == nil {
		groups = map[string][]string{}
		for _, p := range dc.pods {
			groups[p.Name] = []string{p.Name}
		}
		if dc.loose {
			groups = map[string][]string{"all": nil}
			for _, p := range dc.pods {
				groups["all"] = append(groups["all"], p.Name)
			}
		}
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		names := groups[g]
		un, um := messages(up, names)
		bn, bm := messages(be, names)
		if un != bn {
			problems = append(problems, fmt.Sprintf("%s: upstream left %d of %d pending, berth %d", g, un, len(names), bn))
			continue
		}
		if dc.skipMessage == "" && (un == len(names) || dc.loose) && !slices.Equal(um, bm) {
			problems = append(problems, fmt.Sprintf("%s: FailedScheduling messages differ:\n    upstream: %q\n    berth:    %q", g, um, bm))
		}
	}
	for _, ph := range []*draPhase{up, be} {
		for name, cl := range ph.copy.stale {
			if left := ph.devices.Claims[cl.Namespace+"/"+cl.Name]; left != nil {
				problems = append(problems, fmt.Sprintf("%s: %s left %s's stale extended resource claim (deleting: %v)", name, ph.copy.scheduler, name, left.DeletionTimestamp != nil))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(dc.staleExtended)) {
		um, bm := staleEvents(t, up, name), staleEvents(t, be, name)
		if *flagShow {
			t.Logf("%s: FailedScheduling events: %q", name, um)
		}
		if !slices.Equal(um, bm) {
			problems = append(problems, fmt.Sprintf("%s: FailedScheduling events differ:\n    upstream: %q\n    berth:    %q", name, um, bm))
		}
	}
	for _, in := range dc.pods {
		u, b := up.pod(in.Name), be.pod(in.Name)
		if u == nil || b == nil || u.Spec.NodeName == "" || b.Spec.NodeName == "" {
			continue
		}
		us, bs := up.extendedShape(u), be.extendedShape(b)
		if *flagShow && us != "" {
			t.Logf("%s: extended resource claim: %s", in.Name, us)
		}
		if us != bs {
			problems = append(problems, fmt.Sprintf("%s: extended resource claims differ:\n    upstream: %s\n    berth:    %s", in.Name, us, bs))
		}
	}
	if dc.groups == nil {
		for _, ph := range []*draPhase{up, be} {
			placed := 0
			for _, in := range dc.pods {
				p := ph.pod(in.Name)
				if p.Spec.NodeName != "" {
					placed++
				}
				if dc.loose {
					continue
				}
				got, want := ph.copy.short(p.Spec.NodeName), dc.want[in.Name]
				if (len(want) == 0 && p.Spec.NodeName != "") || (len(want) > 0 && !slices.Contains(want, got)) {
					problems = append(problems, fmt.Sprintf("%s: %s, the case wants it on one of %v (none: pending)", ph.copy.scheduler, draPlacement(ph, p), want))
				}
			}
			if dc.loose && placed != dc.placed {
				problems = append(problems, fmt.Sprintf("%s placed %d pods, the case wants %d", ph.copy.scheduler, placed, dc.placed))
			}
		}
	}
	if len(problems) > 0 {
		t.Errorf("%d problem(s):\n  - %s\n\n%s\n%s\n%s", len(problems), strings.Join(problems, "\n  - "), describeDRACase(dc), up, be)
	}
}

func draPlacement(ph *draPhase, p *v1.Pod) string {
	if p.Spec.NodeName == "" {
		return fmt.Sprintf("left %s pending: %s", p.Name, ph.message(p))
	}
	return fmt.Sprintf("placed %s on %s", p.Name, ph.copy.short(p.Spec.NodeName))
}

// describeDRACase renders a case compactly for failure reports.
func describeDRACase(dc *draCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "DRA case %q\nnodes:\n", dc.name)
	for _, spec := range dc.nodes {
		fmt.Fprintf(&b, "  %s\n", describeNode(testenv.Node(spec)))
	}
	for _, c := range dc.classes {
		fmt.Fprintf(&b, "DeviceClass %s: %s\n", c.Name, jsonString(c.Spec))
	}
	for _, s := range dc.slices {
		fmt.Fprintf(&b, "ResourceSlice %s: %s\n", s.Name, jsonString(s.Spec))
	}
	for _, c := range dc.claims {
		fmt.Fprintf(&b, "ResourceClaim %s: %s", c.Name, jsonString(c.Spec))
		if c.Status.Allocation != nil {
			fmt.Fprintf(&b, ", allocated %s", jsonString(c.Status.Allocation))
		}
		b.WriteString("\n")
	}
	for _, tm := range dc.templates {
		fmt.Fprintf(&b, "ResourceClaimTemplate %s: %s\n", tm.Name, jsonString(tm.Spec.Spec))
	}
	for _, r := range dc.taintRules {
		fmt.Fprintf(&b, "DeviceTaintRule %s: %s\n", r.Name, jsonString(r.Spec))
	}
	for _, p := range dc.pods {
		fmt.Fprintf(&b, "incoming pod %s, claims %s: %s\n", p.Name, jsonString(p.Spec.ResourceClaims), describePod(p))
	}
	return b.String()
}

// staleEvents returns the distinct FailedScheduling messages of the phase's pod called name, with
// the copy's names made short, waiting a little for the first (events are written
// asynchronously).
func staleEvents(t *testing.T, ph *draPhase, name string) []string {
	t.Helper()
	p := ph.pod(name)
	if p == nil {
		return nil
	}
	var out []string
	for try := 0; try < 25 && len(out) == 0; try++ {
		if try > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		for _, e := range schedulerEvents(t, ph.copy.ns, p.UID) {
			if e.Reason != "FailedScheduling" {
				continue
			}
			m := strings.ReplaceAll(strings.ReplaceAll(e.Note, ph.copy.prefix, ""), ph.copy.ns+"/", "<ns>/")
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return out
}

// extendedShape renders the extended resource claim of bound pod p (status.extendedResourceClaimStatus)
// with the copy's names made short and the generated parts left out: how it is named, its
// annotation, owner and finalizers, its requests, its allocation's results by request and its
// reservations, and the pod's request mappings; "" when the pod has none.
func (ph *draPhase) extendedShape(p *v1.Pod) string {
	st := p.Status.ExtendedResourceClaimStatus
	if st == nil {
		return ""
	}
	short := func(s string) string { return strings.ReplaceAll(s, ph.copy.prefix, "") }
	var b strings.Builder
	for _, m := range st.RequestMappings {
		fmt.Fprintf(&b, "mapping %s/%s->%s; ", m.ContainerName, short(m.ResourceName), m.RequestName)
	}
	c := ph.devices.Claims[p.Namespace+"/"+st.ResourceClaimName]
	if c == nil {
		return b.String() + "claim " + st.ResourceClaimName + " missing"
	}
	fmt.Fprintf(&b, "named %t generateName %q annotations %v finalizers %v", strings.HasPrefix(c.Name, c.GenerateName) && c.GenerateName == p.Name+"-extended-resources-",
		c.GenerateName, c.Annotations, c.Finalizers)
	for _, o := range c.OwnerReferences {
		fmt.Fprintf(&b, " owner %s/%s %s uid-matches=%t controller=%v blockOwnerDeletion=%v", o.APIVersion, o.Kind, o.Name, o.UID == p.UID,
			ptrValue(o.Controller), ptrValue(o.BlockOwnerDeletion))
	}
	for _, r := range c.Spec.Devices.Requests {
		if e := r.Exactly; e != nil {
			fmt.Fprintf(&b, " request %s %s %s %d", r.Name, short(e.DeviceClassName), e.AllocationMode, e.Count)
		} else {
			fmt.Fprintf(&b, " request %s (not exact)", r.Name)
		}
	}
	if a := c.Status.Allocation; a != nil {
		perRequest := map[string]int{}
		for _, r := range a.Devices.Results {
			perRequest[r.Request]++
		}
		fmt.Fprintf(&b, " allocated %v timestamp=%t nodeSelector=%t", perRequest, a.AllocationTimestamp != nil, a.NodeSelector != nil)
	}
	for _, r := range c.Status.ReservedFor {
		fmt.Fprintf(&b, " reservedFor %s/%s %s uid-matches=%t", r.APIGroup, r.Resource, r.Name, r.UID == p.UID)
	}
	return b.String()
}

func ptrValue[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
