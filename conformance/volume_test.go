package conformance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
	"github.com/berth-scheduler/berth/testenv"
)

var flagVolumes = flag.Int("conformance.volumes", 4, "how many generated scenarios TestVolumeGenerated runs (at most 2 with -short)")

// The volume scenarios (see also the package doc). A volCase is a small cluster with storage:
// StorageClasses, PVs, claims, CSIDrivers, CSINodes, CSIStorageCapacities and
// VolumeAttachments, pods already bound, and incoming pods using claims. Like the preemption
// scenarios it is created twice at once, one copy per scheduler (own namespace, names prefixed
// "<id>-u-" or "<id>-b-", nodes labelled with their copy and the incoming pods selecting it),
// because scheduling consumes storage: a PV bound to upstream's claim cannot serve berth's.
// kube-controller-manager's PV binder runs meanwhile (started once, by the first volume test:
// upstream's VolumeBinding PreBind waits for it), and for classes a case provisions
// dynamically, testenv's provisioner, one per copy.
//
// Per case: create both copies' classes, capacities, claims and PVs (see createStorage), wait
// until the PV binder has made every PV Available and bound the pairs created for each other,
// delete the claims meant to be terminating, create the VolumeAttachments, then a barrier claim
// and PV per copy (bound last of all), the CSINodes, nodes and existing pods, and per copy a
// probe pod for its scheduler that mounts the barrier claim, pinned to the newest node. Its
// binding proves the scheduler has seen every node, pod, claim and PV before it (each watch is
// ordered; the bind needs the barrier claim and PV). Classes, CSI objects, capacities and
// attachments come early and no barrier proves them seen, but everything after them takes far
// longer than a watch event's delivery. Then both copies' incoming pods are created at once
// and each copy settles (settleVolumes); the claims, PVs, CSINodes and CSIDrivers are read
// before the pods are deleted.
//
// The comparison (compareVolumes): the same pods stay pending, with the same FailedScheduling
// message; where the case fixes it, each pod lands on one of the wanted nodes and its claims
// end bound to the wanted PVs; and placementcheck judges every placement with the volumes as
// they ended. Node counts in messages cover both copies: in "0/6 nodes are available: 3 node(s)
// didn't match Pod's node affinity/selector, ..." those 3 are the other copy.

// volCase is one volume scenario, with short names: copyOf qualifies them per copy.
type volCase struct {
	name    string
	nodes   []testenv.NodeSpec
	classes []*storagev1.StorageClass
	// provisioned names the classes testenv's provisioner serves (as their provisioner).
	provisioned []string
	// drivers are cluster-wide CSIDrivers, shared by both copies (their names appear in
	// messages); csiNodes are named after their node.
	drivers    []*storagev1.CSIDriver
	csiNodes   []*storagev1.CSINode
	capacities []*storagev1.CSIStorageCapacity
	pvs        []*v1.PersistentVolume
	claims     []*v1.PersistentVolumeClaim
	// deleting names claims deleted once the binder is done: their protection finalizer (no
	// controller removes it) keeps them terminating.
	deleting []string
	// lost names PVs deleted once bound: the binder then marks their claims Lost.
	lost []string
	// attachments are VolumeAttachments (node and PV by short name); no attach-detach
	// controller runs, so they stay.
	attachments []*storagev1.VolumeAttachment
	// existing pods are bound (spec.nodeName, a node's short name); pods are incoming.
	existing, pods []*v1.Pod
	// want maps an incoming pod to the nodes it may land on; a pod missing, or with no nodes,
	// must stay pending. With loose, want is not read: only placed pods must be bound (which
	// ones is the scheduler's choice), the others pending, as many under both schedulers.
	want   map[string][]string
	loose  bool
	placed int
	// free cases (generated ones) want nothing of any pod: only the comparison and the checker
	// judge them.
	free bool
	// ephemeral: the test plays the ephemeral volume controller, creating each incoming pod's
	// generic ephemeral claims while the pod waits behind a scheduling gate.
	ephemeral bool
	// wantPV maps a claim to the PV it must end bound to once its pod is bound.
	wantPV map[string]string
	// evicted names the existing pods ("e0", "e1", ... in order) preemption must evict; the
	// others must stay. Pods name PriorityClasses of TestPreemption's tiers (classFor).
	evicted []string
}

// volCopy is one scheduler's copy of a case, names qualified.
type volCopy struct {
	name, scheduler string
	id, prefix, ns  string
	nodes           []*v1.Node
	classes         []*storagev1.StorageClass
	csiNodes        []*storagev1.CSINode
	capacities      []*storagev1.CSIStorageCapacity
	attachments     []*storagev1.VolumeAttachment
	pvs             []*v1.PersistentVolume
	claims          []*v1.PersistentVolumeClaim
	existing, pods  []*v1.Pod
	provisioned     map[string]string // class -> provisioner
	ephemeral       bool
}

// short strips the copy's prefix from a node or PV name.
func (c *volCopy) short(name string) string { return strings.TrimPrefix(name, c.prefix) }

const (
	// barrierClaim names the claim (and PV) every copy gets for its barrier.
	barrierClaim = "barrier"
	// labelPair is on a PV created pre-bound to a claim, whose selector picks it alone.
	labelPair = "conf.berth.test/pair"
	// ephemeralGate holds an incoming pod until the test has created its ephemeral claims.
	ephemeralGate = "conf.berth.test/ephemeral"
)

// copyOf returns copy c ("u" or "b") of case vc with id, for scheduler.
func (vc *volCase) copyOf(id, c, scheduler string) *volCopy {
	vcp := &volCopy{name: c, scheduler: scheduler, id: id, prefix: id + "-" + c + "-", ns: id + "-" + c, provisioned: map[string]string{},
		ephemeral: vc.ephemeral}
	q := func(s string) string { return vcp.prefix + s }
	marks := func(m map[string]string) map[string]string {
		out := map[string]string{labelScenario: id, labelCopy: c}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	for _, spec := range vc.nodes {
		spec.Name = q(spec.Name)
		spec.Labels = marks(spec.Labels)
		vcp.nodes = append(vcp.nodes, testenv.Node(spec))
	}
	for _, sc := range vc.classes {
		sc = sc.DeepCopy()
		sc.Name, sc.Labels = q(sc.Name), marks(sc.Labels)
		for i := range sc.AllowedTopologies {
			for j := range sc.AllowedTopologies[i].MatchLabelExpressions {
				e := &sc.AllowedTopologies[i].MatchLabelExpressions[j]
				if e.Key == labelHostname {
					e.Values = qualifyAll(q, e.Values)
				}
			}
		}
		if slices.Contains(vc.provisioned, strings.TrimPrefix(sc.Name, vcp.prefix)) {
			vcp.provisioned[sc.Name] = sc.Provisioner
		}
		vcp.classes = append(vcp.classes, sc)
	}
	for _, n := range vc.csiNodes {
		n = n.DeepCopy()
		n.Name, n.Labels = q(n.Name), marks(n.Labels)
		for i := range n.Spec.Drivers {
			n.Spec.Drivers[i].NodeID = n.Name
		}
		vcp.csiNodes = append(vcp.csiNodes, n)
	}
	for _, capa := range vc.capacities {
		capa = capa.DeepCopy()
		capa.Namespace, capa.StorageClassName, capa.Labels = vcp.ns, q(capa.StorageClassName), marks(capa.Labels)
		if capa.NodeTopology != nil {
			if h, ok := capa.NodeTopology.MatchLabels[labelHostname]; ok {
				capa.NodeTopology.MatchLabels[labelHostname] = q(h)
			}
		}
		vcp.capacities = append(vcp.capacities, capa)
	}
	for _, va := range vc.attachments {
		va = va.DeepCopy()
		va.Name, va.Labels, va.Spec.NodeName = q(va.Name), marks(va.Labels), q(va.Spec.NodeName)
		if pv := va.Spec.Source.PersistentVolumeName; pv != nil {
			va.Spec.Source.PersistentVolumeName = ptrTo(q(*pv))
		}
		vcp.attachments = append(vcp.attachments, va)
	}
	for _, pv := range vc.pvs {
		pv = pv.DeepCopy()
		pv.Name, pv.Labels = q(pv.Name), marks(pv.Labels)
		if pv.Spec.StorageClassName != "" {
			pv.Spec.StorageClassName = q(pv.Spec.StorageClassName)
		}
		if pv.Spec.ClaimRef != nil {
			pv.Spec.ClaimRef.Namespace = vcp.ns
		}
		if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
			qualifyTerms(q, pv.Spec.NodeAffinity.Required.NodeSelectorTerms)
		}
		vcp.pvs = append(vcp.pvs, pv)
	}
	for _, pvc := range vc.claims {
		pvc = pvc.DeepCopy()
		pvc.Namespace, pvc.Labels = vcp.ns, marks(pvc.Labels)
		if sc := pvc.Spec.StorageClassName; sc != nil && *sc != "" {
			pvc.Spec.StorageClassName = ptrTo(q(*sc))
		}
		if pvc.Spec.VolumeName != "" {
			pvc.Spec.VolumeName = q(pvc.Spec.VolumeName)
			pairUp(pvc, vcp.pvs)
		}
		if node, ok := pvc.Annotations[testenv.AnnSelectedNode]; ok {
			pvc.Annotations[testenv.AnnSelectedNode] = q(node)
		}
		vcp.claims = append(vcp.claims, pvc)
	}
	bpv, bc := boundPair(barrierClaim, "", "1Gi", v1.ReadWriteOnce)
	bpv.Name, bpv.Labels, bpv.Spec.ClaimRef.Namespace = q(barrierClaim), marks(nil), vcp.ns
	bc.Namespace, bc.Labels, bc.Spec.VolumeName = vcp.ns, marks(nil), bpv.Name
	pairUp(bc, []*v1.PersistentVolume{bpv})
	vcp.pvs = append(vcp.pvs, bpv)
	vcp.claims = append(vcp.claims, bc)
	for i, e := range vc.existing {
		p := e.DeepCopy()
		p.Name, p.Namespace, p.Spec.NodeName = fmt.Sprintf("e%d", i), vcp.ns, q(p.Spec.NodeName)
		p.Labels[labelScenario], p.Labels[labelKind] = id, "existing"
		vcp.existing = append(vcp.existing, p)
	}
	for _, in := range vc.pods {
		p := in.DeepCopy()
		p.Namespace, p.Spec.SchedulerName = vcp.ns, scheduler
		p.Labels[labelScenario], p.Labels[labelKind] = id, "incoming"
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		p.Spec.NodeSelector[labelCopy] = c
		if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			qualifyTerms(q, a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms)
		}
		for _, v := range p.Spec.Volumes {
			if e := v.Ephemeral; e != nil && e.VolumeClaimTemplate != nil {
				if sc := e.VolumeClaimTemplate.Spec.StorageClassName; sc != nil && *sc != "" {
					e.VolumeClaimTemplate.Spec.StorageClassName = ptrTo(q(*sc))
				}
			}
		}
		vcp.pods = append(vcp.pods, p)
	}
	return vcp
}

// pairUp gives a claim that names its volume a selector that only that PV (if among pvs, which
// it labels) matches. createStorage creates such a claim without its volume name (see there),
// and claims of class "" bind to any available PV of class "" cluster-wide, whatever the case.
func pairUp(pvc *v1.PersistentVolumeClaim, pvs []*v1.PersistentVolume) {
	pvc.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{labelPair: pvc.Spec.VolumeName}}
	for _, pv := range pvs {
		if pv.Name == pvc.Spec.VolumeName {
			pv.Labels[labelPair] = pv.Name
		}
	}
}

func qualifyAll(q func(string) string, vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = q(v)
	}
	return out
}

// qualifyTerms qualifies node names in node selector terms: hostname label values and
// metadata.name fields.
func qualifyTerms(q func(string) string, terms []v1.NodeSelectorTerm) {
	for i := range terms {
		for j := range terms[i].MatchExpressions {
			if r := &terms[i].MatchExpressions[j]; r.Key == labelHostname {
				r.Values = qualifyAll(q, r.Values)
			}
		}
		for j := range terms[i].MatchFields {
			if r := &terms[i].MatchFields[j]; r.Key == metav1.ObjectNameField {
				r.Values = qualifyAll(q, r.Values)
			}
		}
	}
}

// volumeControllers is kube-controller-manager with the PV binder, started by the first volume
// test and left running until the package's control plane stops.
var volumeControllers struct {
	once sync.Once
	kcm  *testenv.Process
	err  error
}

// startVolumeControllers makes sure the PV binder runs; on a failing test it prints the end of
// kube-controller-manager's output.
func startVolumeControllers(t *testing.T) {
	t.Helper()
	volumeControllers.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		// The binder's default client limit (20/s) would make it take seconds over a case's
		// volumes; a shorter resync bounds how long a binding it missed waits.
		flags := []string{"--kube-api-qps=500", "--kube-api-burst=500", "--pvclaimbinder-sync-period=5s"}
		volumeControllers.kcm, volumeControllers.err = cp.StartControllerManagerWithArgs(ctx, flags, "persistentvolume-binder-controller")
		if volumeControllers.err == nil {
			t.Logf("kube-controller-manager (persistentvolume-binder-controller) synced in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if volumeControllers.err != nil {
		t.Fatalf("starting kube-controller-manager: %v", volumeControllers.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-controller-manager output (tail):\n%s", testenv.Tail(volumeControllers.kcm.Output(), 3000))
		}
	})
}

// volPhase is what one scheduler made of its copy: the incoming pods as they ended and the
// storage as it was then.
type volPhase struct {
	copy    *volCopy
	pods    []*v1.Pod
	storage *placementcheck.Storage
	// existing are the existing pods left at the end (preemption may have evicted some).
	existing []*v1.Pod
	took     time.Duration
}

func (ph *volPhase) pod(name string) *v1.Pod {
	for _, p := range ph.pods {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// message is p's FailedScheduling message with the copy's names made short (an ephemeral
// claim's message names its namespace), so that both copies' messages compare.
func (ph *volPhase) message(p *v1.Pod) string {
	m := strings.ReplaceAll(unschedulableMessage(p), ph.copy.prefix, "")
	return strings.ReplaceAll(m, ph.copy.ns+"/", "<ns>/")
}

// volumeOf returns the short name of the PV claim is bound to, "" if none.
func (ph *volPhase) volumeOf(claim string) string {
	c := ph.storage.Claims[ph.copy.ns+"/"+claim]
	if c == nil {
		return ""
	}
	return ph.copy.short(c.Spec.VolumeName)
}

func (ph *volPhase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (copy %s, settled in %s):\n", ph.copy.scheduler, ph.copy.name, ph.took.Round(time.Millisecond))
	for _, p := range ph.pods {
		var vols []string
		for _, name := range claimNames(p) {
			v := ph.volumeOf(name)
			if v == "" {
				v = "unbound"
			} else if strings.HasPrefix(v, "pvc-") {
				v = "provisioned"
			}
			vols = append(vols, name+"->"+v)
		}
		if p.Spec.NodeName != "" {
			fmt.Fprintf(&b, "  %s -> %s, claims %v\n", p.Name, ph.copy.short(p.Spec.NodeName), vols)
			continue
		}
		fmt.Fprintf(&b, "  %s pending (claims %v): %s\n", p.Name, vols, unschedulableMessage(p))
	}
	return b.String()
}

// volumesOf describes p's volumes: claim names, and the kind and name of others.
func volumesOf(p *v1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, "ephemeral "+v.Name)
		case v.GCEPersistentDisk != nil:
			out = append(out, fmt.Sprintf("gcePersistentDisk %s (readOnly %v)", v.GCEPersistentDisk.PDName, v.GCEPersistentDisk.ReadOnly))
		default:
			out = append(out, v.Name)
		}
	}
	return out
}

// runVolumeCase runs vc (as scenario id) through both schedulers and returns both phases, nil
// when the run itself failed (reported).
func runVolumeCase(t *testing.T, id string, vc *volCase) (up, be *volPhase) {
	t.Helper()
	startVolumeControllers(t)
	if slices.ContainsFunc(append(slices.Clone(vc.existing), vc.pods...), func(p *v1.Pod) bool { return p.Spec.PriorityClassName != "" }) {
		ensurePriorityClasses(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	copies := []*volCopy{vc.copyOf(id, "u", upstreamName), vc.copyOf(id, "b", berthName)}
	var stops []func()
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		if err := tearDownVolumes(ctx, id, vc, copies); err != nil {
			t.Errorf("tearing down: %v", err)
		}
		if *flagShow {
			t.Logf("tear-down took %s", time.Since(start).Round(time.Millisecond))
		}
	})
	setup := &laps{start: time.Now()}
	if err := setUpVolumes(ctx, id, vc, copies, setup); err != nil {
		t.Fatalf("setting up: %v (%s)\n%s", err, setup, describeVolCase(vc))
	}
	if time.Since(setup.start) > slowSetup || *flagShow {
		t.Logf("set-up steps: %s", setup)
	}
	for _, c := range copies {
		for class, provisioner := range c.provisioned {
			stop, err := testenv.StartProvisioner(ctx, admin, class, provisioner)
			if err != nil {
				t.Fatal(err)
			}
			stops = append(stops, stop)
		}
	}
	phases := make([]*volPhase, len(copies))
	errs := make([]error, len(copies))
	var wg sync.WaitGroup
	for i, c := range copies {
		wg.Go(func() { phases[i], errs[i] = runVolumePhase(ctx, c) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%v\n%s", err, describeVolCase(vc))
	}
	if *flagShow {
		t.Logf("%s\n%s\n%s", describeVolCase(vc), phases[0], phases[1])
	}
	return phases[0], phases[1]
}

// setUpVolumes creates both copies (see the top of this file) and waits until both schedulers
// have seen them.
func setUpVolumes(ctx context.Context, id string, vc *volCase, copies []*volCopy, lap *laps) error {
	for _, c := range copies {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns, Labels: map[string]string{labelScenario: id, labelNS: c.ns}}}
		if _, err := admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", c.ns, err)
		}
	}
	st := admin.StorageV1()
	for _, d := range vc.drivers {
		d = d.DeepCopy()
		d.Labels = map[string]string{labelScenario: id}
		if _, err := st.CSIDrivers().Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating CSIDriver %s: %w", d.Name, err)
		}
	}
	for _, c := range copies {
		for _, sc := range c.classes {
			if _, err := st.StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating StorageClass %s: %w", sc.Name, err)
			}
		}
		for _, capa := range c.capacities {
			if _, err := st.CSIStorageCapacities(capa.Namespace).Create(ctx, capa, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating CSIStorageCapacity %s: %w", capa.Name, err)
			}
		}
	}
	// PVs and claims, the barrier's last, then wait until the binder is done with them.
	for _, c := range copies {
		if err := createStorage(ctx, c.pvs[:len(c.pvs)-1], c.claims[:len(c.claims)-1]); err != nil {
			return err
		}
	}
	for _, c := range copies {
		if err := waitStorage(ctx, c, c.pvs[:len(c.pvs)-1], c.claims[:len(c.claims)-1]); err != nil {
			return err
		}
		lap.mark("binder done, copy " + c.name)
		for _, name := range vc.deleting {
			if err := admin.CoreV1().PersistentVolumeClaims(c.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("deleting claim %s/%s: %w", c.ns, name, err)
			}
		}
		if err := losePVs(ctx, c, vc.lost); err != nil {
			return err
		}
		for _, va := range c.attachments {
			if _, err := st.VolumeAttachments().Create(ctx, va, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating VolumeAttachment %s: %w", va.Name, err)
			}
		}
	}
	for _, c := range copies {
		if err := createStorage(ctx, c.pvs[len(c.pvs)-1:], c.claims[len(c.claims)-1:]); err != nil {
			return err
		}
	}
	for _, c := range copies {
		if err := waitStorage(ctx, c, c.pvs[len(c.pvs)-1:], c.claims[len(c.claims)-1:]); err != nil {
			return err
		}
	}
	lap.mark("barriers bound")
	for _, c := range copies {
		for _, n := range c.csiNodes {
			if _, err := st.CSINodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating CSINode %s: %w", n.Name, err)
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
	for _, c := range copies {
		for _, p := range c.existing {
			if _, err := admin.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating pod %s: %w", podName(p), err)
			}
		}
	}
	last := copies[len(copies)-1].nodes
	node := last[len(last)-1].Name
	errs := make([]error, len(copies))
	var wg sync.WaitGroup
	for i, c := range copies {
		wg.Go(func() { errs[i] = volumeProbe(ctx, c, node) })
	}
	lap.mark("nodes and pods created")
	wg.Wait()
	lap.mark("probes bound")
	return errors.Join(errs...)
}

// createStorage creates claims, then PVs. A claim and a PV pre-bound to each other (the claim's
// volumeName names the PV, the PV's claimRef the claim) are created as a provisioner would: the
// claim without its volumeName, then the PV with the claim's UID in its claimRef. The PV binder
// then binds them as soon as it sees the PV. (A claim created with its volumeName may be synced
// before the binder has seen its PV, and then waits for the binder's periodic resync, 15s.)
func createStorage(ctx context.Context, pvs []*v1.PersistentVolume, claims []*v1.PersistentVolumeClaim) error {
	preBound := map[string]bool{} // PV names whose claimRef names a claim created here
	uids := map[string]types.UID{}
	for _, pv := range pvs {
		if ref := pv.Spec.ClaimRef; ref != nil {
			for _, pvc := range claims {
				if pvc.Name == ref.Name && pvc.Namespace == ref.Namespace && pvc.Spec.VolumeName == pv.Name {
					preBound[pv.Name] = true
				}
			}
		}
	}
	for _, pvc := range claims {
		pvc = pvc.DeepCopy()
		if preBound[pvc.Spec.VolumeName] {
			pvc.Spec.VolumeName = ""
		}
		got, err := admin.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
		}
		uids[pvc.Namespace+"/"+pvc.Name] = got.UID
	}
	for _, pv := range pvs {
		if preBound[pv.Name] {
			pv = pv.DeepCopy()
			pv.Spec.ClaimRef.UID = uids[pv.Spec.ClaimRef.Namespace+"/"+pv.Spec.ClaimRef.Name]
		}
		if _, err := admin.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating PV %s: %w", pv.Name, err)
		}
	}
	return nil
}

// losePVs deletes the copy's PVs named (short) and waits until the binder has marked the claims
// bound to them Lost.
func losePVs(ctx context.Context, c *volCopy, names []string) error {
	release := []byte(`{"metadata":{"finalizers":null}}`)
	var claims []string
	for _, name := range names {
		pvs := admin.CoreV1().PersistentVolumes()
		pv, err := pvs.Get(ctx, c.prefix+name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading PV %s: %w", c.prefix+name, err)
		}
		if pv.Spec.ClaimRef != nil {
			claims = append(claims, pv.Spec.ClaimRef.Name)
		}
		if err := pvs.Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("deleting PV %s: %w", pv.Name, err)
		}
		if _, err := pvs.Patch(ctx, pv.Name, types.MergePatchType, release, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("releasing PV %s: %w", pv.Name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range claims {
		for {
			pvc, err := admin.CoreV1().PersistentVolumeClaims(c.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading claim %s/%s: %w", c.ns, name, err)
			}
			if pvc.Status.Phase == v1.ClaimLost {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("claim %s/%s is %s, not Lost, 30s after its PV was deleted", c.ns, name, pvc.Status.Phase)
			}
			if err := sleep(ctx, 50*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// slowSetup is how long a case's set-up may take before the test logs its steps' times.
const slowSetup = 5 * time.Second

// laps records when the steps of a set-up ended.
type laps struct {
	start time.Time
	steps []string
}

func (l *laps) mark(step string) {
	l.steps = append(l.steps, fmt.Sprintf("%s at %s", step, time.Since(l.start).Round(time.Millisecond)))
}

func (l *laps) String() string { return strings.Join(l.steps, ", ") }

// waitStorage waits until the PV binder is done with the copy's pvs and claims: PVs named by a
// claim or naming one Bound, the others Available, and claims created with a volume name Bound
// with the bind-completed annotation.
func waitStorage(ctx context.Context, c *volCopy, pvs []*v1.PersistentVolume, claims []*v1.PersistentVolumeClaim) error {
	wantBound, exists := map[string]bool{}, map[string]bool{}
	for _, pv := range pvs {
		exists[pv.Name] = true
	}
	for _, pvc := range claims {
		if pvc.Spec.VolumeName != "" {
			wantBound[pvc.Spec.VolumeName] = true
		}
	}
	for _, pv := range pvs {
		if pv.Spec.ClaimRef != nil {
			wantBound[pv.Name] = true
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting []string
		for _, pv := range pvs {
			got, err := admin.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading PV %s: %w", pv.Name, err)
			}
			want := v1.VolumeAvailable
			if wantBound[pv.Name] {
				want = v1.VolumeBound
			}
			if got.Status.Phase != want {
				waiting = append(waiting, fmt.Sprintf("PV %s is %s, not %s", pv.Name, got.Status.Phase, want))
			}
		}
		for _, pvc := range claims {
			if !exists[pvc.Spec.VolumeName] {
				continue // unbound, or pre-bound to a PV that does not exist: stays Pending
			}
			got, err := admin.CoreV1().PersistentVolumeClaims(pvc.Namespace).Get(ctx, pvc.Name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
			}
			if _, done := got.Annotations["pv.kubernetes.io/bind-completed"]; got.Status.Phase != v1.ClaimBound || !done {
				waiting = append(waiting, fmt.Sprintf("claim %s is %s", pvc.Name, got.Status.Phase))
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("copy %s: the PV binder did not settle the volumes within 30s: %s", c.name, strings.Join(waiting, "; "))
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// volumeProbe creates a probe pod for the copy's scheduler mounting the barrier claim, pinned to
// node, waits until it is bound and deletes it.
func volumeProbe(ctx context.Context, c *volCopy, node string) error {
	return probeScheduler(ctx, c.ns, c.scheduler, c.id, node, withClaims(barrierClaim))
}

// probeScheduler creates a probe pod of scenario id for scheduler in ns, pinned to node (and
// changed by with), waits until it is bound and deletes it: the scheduler has then seen
// everything created before the probe's own objects.
func probeScheduler(ctx context.Context, ns, scheduler, id, node string, with func(*v1.Pod)) error {
	zero := int64(0)
	p := newPod(ns, "probe", map[string]string{labelScenario: id, labelKind: "probe"})
	p.Spec.SchedulerName = scheduler
	p.Spec.NodeSelector = map[string]string{labelHostname: node}
	p.Spec.Tolerations = []v1.Toleration{{Operator: v1.TolerationOpExists}}
	p.Spec.Containers = []v1.Container{container("probe", nil)}
	with(p)
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating probe pod: %w", err)
	}
	defer func() {
		_ = admin.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := admin.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading probe pod %s/%s: %w", ns, p.Name, err)
		}
		if got.Spec.NodeName != "" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s's probe pod %s/%s not bound to %s after 30s; conditions %v", scheduler, ns, p.Name, node, got.Status.Conditions)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	if err := admin.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		return fmt.Errorf("deleting probe pod: %w", err)
	}
	return waitGone(ctx, ns, metav1.ListOptions{LabelSelector: labelKind + "=probe," + labelScenario + "=" + id})
}

// runVolumePhase creates the copy's incoming pods, waits until they settle, reads them and the
// storage, then deletes them and waits until they are gone.
func runVolumePhase(ctx context.Context, c *volCopy) (*volPhase, error) {
	sel := metav1.ListOptions{LabelSelector: labelKind + "=incoming," + labelScenario + "=" + c.id}
	start := time.Now()
	for _, p := range c.pods {
		if c.ephemeral {
			p = p.DeepCopy()
			p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, v1.PodSchedulingGate{Name: ephemeralGate})
		}
		got, err := admin.CoreV1().Pods(c.ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("creating incoming pod %s for %s: %w", p.Name, c.scheduler, err)
		}
		if c.ephemeral {
			if err := createEphemeralClaims(ctx, got); err != nil {
				return nil, err
			}
		}
	}
	pods, err := settleVolumes(ctx, c, sel)
	ph := &volPhase{copy: c, pods: pods, took: time.Since(start)}
	if err != nil {
		return ph, fmt.Errorf("%s: %w", c.scheduler, err)
	}
	if ph.storage, err = readStorage(ctx, c); err != nil {
		return ph, err
	}
	left, err := admin.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=existing," + labelScenario + "=" + c.id})
	if err != nil {
		return ph, fmt.Errorf("listing existing pods in %s: %w", c.ns, err)
	}
	for i := range left.Items {
		if left.Items[i].DeletionTimestamp == nil {
			ph.existing = append(ph.existing, &left.Items[i])
		}
	}
	zero := int64(0)
	if err := admin.CoreV1().Pods(c.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); err != nil {
		return ph, fmt.Errorf("deleting incoming pods: %w", err)
	}
	return ph, waitGone(ctx, c.ns, sel)
}

// settleVolumes is settle for a copy's incoming pods, which also waits while a pending pod's
// claim, unbound when the phase began, is being bound (a claimRef or a selected-node annotation
// written, or a volume name set): the pod was tried again and is in its pre-bind (upstream
// polls the PV controller every second), its stale PodScheduled=False notwithstanding; and
// while a pending pod is nominated to a node (its preemption's victims are going).
func settleVolumes(ctx context.Context, c *volCopy, sel metav1.ListOptions) ([]*v1.Pod, error) {
	preBound := map[string]bool{} // claims bound, or with a node selected, from the start
	for _, pvc := range c.claims {
		if _, selected := pvc.Annotations[testenv.AnnSelectedNode]; selected || pvc.Spec.VolumeName != "" {
			preBound[pvc.Name] = true
		}
	}
	deadline := time.Now().Add(settleTimeout)
	for {
		pods, err := settle(ctx, c.ns, sel, len(c.pods))
		if err != nil {
			return pods, err
		}
		busy, err := bindingClaims(ctx, c, pods, preBound)
		if err != nil || len(busy) == 0 {
			return pods, err
		}
		if time.Now().After(deadline) {
			return pods, fmt.Errorf("claims %v of pending pods still being bound after %s", busy, settleTimeout)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return pods, err
		}
	}
}

// bindingClaims returns the claims of pending pods, not in preBound, that a scheduler has begun
// to bind, and the pending pods nominated to a node (their preemption's victims are going).
func bindingClaims(ctx context.Context, c *volCopy, pods []*v1.Pod, preBound map[string]bool) ([]string, error) {
	want := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			continue
		}
		for _, name := range claimNames(p) {
			if !preBound[name] {
				want[name] = true
			}
		}
	}
	var busy []string
	for _, p := range pods {
		if p.Spec.NodeName == "" && p.Status.NominatedNodeName != "" {
			busy = append(busy, p.Name+" (nominated to "+c.short(p.Status.NominatedNodeName)+")")
		}
	}
	claims, err := admin.CoreV1().PersistentVolumeClaims(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing claims in %s: %w", c.ns, err)
	}
	for _, pvc := range claims.Items {
		if _, selected := pvc.Annotations[testenv.AnnSelectedNode]; want[pvc.Name] && (selected || pvc.Spec.VolumeName != "") {
			busy = append(busy, pvc.Name)
		}
	}
	pvs, err := admin.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing PVs: %w", err)
	}
	for _, pv := range pvs.Items {
		if ref := pv.Spec.ClaimRef; ref != nil && ref.Namespace == c.ns && want[ref.Name] {
			busy = append(busy, ref.Name+" (PV "+c.short(pv.Name)+")")
		}
	}
	return busy, nil
}

// claimNames returns the claims p's volumes use, generic ephemeral ones included.
func claimNames(p *v1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, p.Name+"-"+v.Name)
		}
	}
	return out
}

// createEphemeralClaims plays the ephemeral volume controller for pod, created with
// ephemeralGate: a claim "<pod>-<volume>" from each generic ephemeral volume's template, the pod
// its controller; then it removes the gate. (Created ungated, the pod would be tried before its
// claims exist and retried after a backoff the settling could take for the end.)
func createEphemeralClaims(ctx context.Context, pod *v1.Pod) error {
	for _, v := range pod.Spec.Volumes {
		e := v.Ephemeral
		if e == nil || e.VolumeClaimTemplate == nil {
			continue
		}
		pvc := &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name + "-" + v.Name, Labels: e.VolumeClaimTemplate.Labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
					Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}}},
			Spec: e.VolumeClaimTemplate.Spec,
		}
		if _, err := admin.CoreV1().PersistentVolumeClaims(pod.Namespace).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating ephemeral claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
		}
	}
	ungate := []byte(`{"spec":{"schedulingGates":null}}`)
	if _, err := admin.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, ungate, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("removing %s's scheduling gate: %w", podName(pod), err)
	}
	return nil
}

// readStorage reads the copy's claims, PVs (its own and those provisioned for its claims),
// CSINodes and the CSIDrivers, as placementcheck reads them.
func readStorage(ctx context.Context, c *volCopy) (*placementcheck.Storage, error) {
	st := &placementcheck.Storage{Claims: map[string]*v1.PersistentVolumeClaim{}, Volumes: map[string]*v1.PersistentVolume{},
		CSINodes: map[string]*storagev1.CSINode{}, Drivers: map[string]*storagev1.CSIDriver{}}
	claims, err := admin.CoreV1().PersistentVolumeClaims(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing claims in %s: %w", c.ns, err)
	}
	for i := range claims.Items {
		pvc := &claims.Items[i]
		st.Claims[pvc.Namespace+"/"+pvc.Name] = pvc
	}
	pvs, err := admin.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing PVs: %w", err)
	}
	for i := range pvs.Items {
		if pv := &pvs.Items[i]; ownedBy(pv, c.id, c.ns) {
			st.Volumes[pv.Name] = pv
		}
	}
	csiNodes, err := admin.StorageV1().CSINodes().List(ctx, metav1.ListOptions{LabelSelector: labelScenario + "=" + c.id + "," + labelCopy + "=" + c.name})
	if err != nil {
		return nil, fmt.Errorf("listing CSINodes: %w", err)
	}
	for i := range csiNodes.Items {
		st.CSINodes[csiNodes.Items[i].Name] = &csiNodes.Items[i]
	}
	drivers, err := admin.StorageV1().CSIDrivers().List(ctx, metav1.ListOptions{LabelSelector: labelScenario + "=" + c.id})
	if err != nil {
		return nil, fmt.Errorf("listing CSIDrivers: %w", err)
	}
	for i := range drivers.Items {
		st.Drivers[drivers.Items[i].Name] = &drivers.Items[i]
	}
	return st, nil
}

// ownedBy reports whether pv belongs to scenario id: labelled so, or (provisioned) bound to a
// claim of namespace ns ("" for any of the scenario's namespaces).
func ownedBy(pv *v1.PersistentVolume, id, ns string) bool {
	if pv.Labels[labelScenario] == id && (ns == "" || strings.HasSuffix(ns, "-"+pv.Labels[labelCopy])) {
		return true
	}
	ref := pv.Spec.ClaimRef
	if ref == nil {
		return false
	}
	if ns == "" {
		return strings.HasPrefix(ref.Namespace, id+"-")
	}
	return ref.Namespace == ns
}

// tearDownVolumes deletes everything the case created but its namespaces (without a namespace
// controller they would never finish terminating), claims and PVs with their protection
// finalizers removed (no protection controller runs), and waits until the pods are gone.
func tearDownVolumes(ctx context.Context, id string, vc *volCase, copies []*volCopy) error {
	var errs []error
	zero := int64(0)
	sel := metav1.ListOptions{LabelSelector: labelScenario + "=" + id}
	release := []byte(`{"metadata":{"finalizers":null}}`)
	for _, c := range copies {
		if err := admin.CoreV1().Pods(c.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("deleting pods in %s: %w", c.ns, err))
		}
	}
	for _, c := range copies {
		if err := waitGone(ctx, c.ns, metav1.ListOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range copies {
		claims := admin.CoreV1().PersistentVolumeClaims(c.ns)
		l, err := claims.List(ctx, metav1.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("listing claims in %s: %w", c.ns, err))
			continue
		}
		for _, pvc := range l.Items {
			if _, err := claims.Patch(ctx, pvc.Name, types.MergePatchType, release, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("releasing claim %s/%s: %w", c.ns, pvc.Name, err))
			}
			if err := claims.Delete(ctx, pvc.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting claim %s/%s: %w", c.ns, pvc.Name, err))
			}
		}
	}
	pvs := admin.CoreV1().PersistentVolumes()
	if l, err := pvs.List(ctx, metav1.ListOptions{}); err != nil {
		errs = append(errs, fmt.Errorf("listing PVs: %w", err))
	} else {
		for _, pv := range l.Items {
			if !ownedBy(&pv, id, "") {
				continue
			}
			if _, err := pvs.Patch(ctx, pv.Name, types.MergePatchType, release, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("releasing PV %s: %w", pv.Name, err))
			}
			if err := pvs.Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting PV %s: %w", pv.Name, err))
			}
		}
	}
	st := admin.StorageV1()
	for _, c := range copies {
		if err := st.CSIStorageCapacities(c.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
			errs = append(errs, fmt.Errorf("deleting CSIStorageCapacities in %s: %w", c.ns, err))
		}
	}
	if err := st.StorageClasses().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting StorageClasses: %w", err))
	}
	if err := st.VolumeAttachments().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting VolumeAttachments: %w", err))
	}
	if err := st.CSINodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting CSINodes: %w", err))
	}
	if err := st.CSIDrivers().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting CSIDrivers: %w", err))
	}
	if err := admin.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting nodes: %w", err))
	}
	return errors.Join(errs...)
}

// compareVolumes checks a case's two phases against each other, against the case's wants and
// with placementcheck.
func compareVolumes(t *testing.T, vc *volCase, up, be *volPhase) {
	t.Helper()
	var problems []string
	for _, ph := range []*volPhase{up, be} {
		w := &placementcheck.World{Nodes: map[string]*v1.Node{}, Incoming: ph.pods, Existing: ph.existing, Storage: ph.storage}
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
	if vc.loose {
		var upMsgs, beMsgs []string
		for _, ph := range []*volPhase{up, be} {
			placed := 0
			for _, p := range ph.pods {
				if p.Spec.NodeName != "" {
					placed++
				} else if ph == up {
					upMsgs = append(upMsgs, ph.message(p))
				} else {
					beMsgs = append(beMsgs, ph.message(p))
				}
			}
			if placed != vc.placed {
				problems = append(problems, fmt.Sprintf("%s placed %d pods, the case wants %d", ph.copy.scheduler, placed, vc.placed))
			}
		}
		sort.Strings(upMsgs)
		sort.Strings(beMsgs)
		if !slices.Equal(upMsgs, beMsgs) {
			problems = append(problems, fmt.Sprintf("pending pods' messages differ:\n    upstream: %q\n    berth:    %q", upMsgs, beMsgs))
		}
	} else {
		for _, in := range vc.pods {
			u, b := up.pod(in.Name), be.pod(in.Name)
			if (u.Spec.NodeName == "") != (b.Spec.NodeName == "") {
				problems = append(problems, fmt.Sprintf("%s: upstream %s, berth %s", in.Name, placement(up, u), placement(be, b)))
			} else if u.Spec.NodeName == "" && up.message(u) != be.message(b) {
				problems = append(problems, fmt.Sprintf("%s: FailedScheduling message differs:\n    upstream: %s\n    berth:    %s", in.Name, up.message(u), be.message(b)))
			}
			for _, ph := range []*volPhase{up, be} {
				if vc.free {
					break
				}
				p := ph.pod(in.Name)
				got, want := ph.copy.short(p.Spec.NodeName), vc.want[in.Name]
				if (len(want) == 0 && p.Spec.NodeName != "") || (len(want) > 0 && !slices.Contains(want, got)) {
					problems = append(problems, fmt.Sprintf("%s %s, the case wants it on one of %v (none: pending)", ph.copy.scheduler, placement(ph, p), want))
				}
			}
		}
	}
	for _, ph := range []*volPhase{up, be} {
		var left []string
		for _, p := range ph.existing {
			left = append(left, p.Name)
		}
		var want []string
		for _, p := range ph.copy.existing {
			if !slices.Contains(vc.evicted, p.Name) {
				want = append(want, p.Name)
			}
		}
		sort.Strings(left)
		sort.Strings(want)
		if !slices.Equal(left, want) {
			problems = append(problems, fmt.Sprintf("%s left existing pods %v, the case wants %v (evicted: %v)", ph.copy.scheduler, left, want, vc.evicted))
		}
		for _, p := range ph.pods {
			if p.Spec.NodeName == "" {
				continue
			}
			for _, claim := range claimNames(p) {
				if want, ok := vc.wantPV[claim]; ok && ph.volumeOf(claim) != want {
					problems = append(problems, fmt.Sprintf("%s bound claim %s to PV %q, the case wants %q", ph.copy.scheduler, claim, ph.volumeOf(claim), want))
				}
			}
		}
	}
	if len(problems) > 0 {
		t.Errorf("%d problem(s):\n  - %s\n\n%s\n%s\n%s", len(problems), strings.Join(problems, "\n  - "), describeVolCase(vc), up, be)
	}
}

func placement(ph *volPhase, p *v1.Pod) string {
	if p.Spec.NodeName == "" {
		return fmt.Sprintf("left %s pending: %s", p.Name, unschedulableMessage(p))
	}
	return fmt.Sprintf("placed %s on %s", p.Name, ph.copy.short(p.Spec.NodeName))
}

// describeVolCase renders a case compactly for failure reports.
func describeVolCase(vc *volCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "volume case %q\nnodes:\n", vc.name)
	for _, spec := range vc.nodes {
		fmt.Fprintf(&b, "  %s\n", describeNode(testenv.Node(spec)))
	}
	for _, sc := range vc.classes {
		mode := "Immediate"
		if sc.VolumeBindingMode != nil {
			mode = string(*sc.VolumeBindingMode)
		}
		fmt.Fprintf(&b, "class %s: %s, provisioner %s", sc.Name, mode, sc.Provisioner)
		if len(sc.AllowedTopologies) > 0 {
			fmt.Fprintf(&b, ", allowedTopologies %s", jsonString(sc.AllowedTopologies))
		}
		b.WriteString("\n")
	}
	for _, d := range vc.drivers {
		fmt.Fprintf(&b, "CSIDriver %s: %s\n", d.Name, jsonString(d.Spec))
	}
	for _, n := range vc.csiNodes {
		fmt.Fprintf(&b, "CSINode %s: %s\n", n.Name, jsonString(n.Spec.Drivers))
	}
	for _, c := range vc.capacities {
		fmt.Fprintf(&b, "CSIStorageCapacity %s: class %s, topology %s, capacity %v, maximumVolumeSize %v\n",
			c.Name, c.StorageClassName, jsonString(c.NodeTopology), c.Capacity, c.MaximumVolumeSize)
	}
	for _, pv := range vc.pvs {
		capacity := pv.Spec.Capacity[v1.ResourceStorage]
		fmt.Fprintf(&b, "PV %s%s: class %q, %s, modes %v", pv.Name, labelString(pv.Labels), pv.Spec.StorageClassName, capacity.String(), pv.Spec.AccessModes)
		if pv.Spec.NodeAffinity != nil {
			fmt.Fprintf(&b, ", node affinity %s", jsonString(pv.Spec.NodeAffinity.Required))
		}
		if pv.Spec.CSI != nil {
			fmt.Fprintf(&b, ", CSI %s/%s", pv.Spec.CSI.Driver, pv.Spec.CSI.VolumeHandle)
		}
		if pv.Spec.ClaimRef != nil {
			fmt.Fprintf(&b, ", pre-bound to %s", pv.Spec.ClaimRef.Name)
		}
		b.WriteString("\n")
	}
	for _, pvc := range vc.claims {
		req := pvc.Spec.Resources.Requests[v1.ResourceStorage]
		fmt.Fprintf(&b, "claim %s: class %q, %s, modes %v", pvc.Name, deref(pvc.Spec.StorageClassName), req.String(), pvc.Spec.AccessModes)
		if pvc.Spec.VolumeName != "" {
			fmt.Fprintf(&b, ", bound to %s", pvc.Spec.VolumeName)
		}
		if pvc.Spec.Selector != nil {
			fmt.Fprintf(&b, ", selector %s", jsonString(pvc.Spec.Selector))
		}
		b.WriteString("\n")
	}
	if len(vc.deleting) > 0 {
		fmt.Fprintf(&b, "claims being deleted: %v\n", vc.deleting)
	}
	if len(vc.lost) > 0 {
		fmt.Fprintf(&b, "PVs deleted once bound: %v\n", vc.lost)
	}
	for _, va := range vc.attachments {
		fmt.Fprintf(&b, "VolumeAttachment %s: %s\n", va.Name, jsonString(va.Spec))
	}
	for _, p := range vc.existing {
		fmt.Fprintf(&b, "existing pod on %s, volumes %v: %s\n", p.Spec.NodeName, volumesOf(p), describePod(p))
	}
	for _, p := range vc.pods {
		fmt.Fprintf(&b, "incoming pod %s, volumes %v: %s\n", p.Name, volumesOf(p), describePod(p))
	}
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestVolumeGenerated runs generated volume scenarios through both schedulers (on two copies, as
// the directed volume cases) and checks that the same pods stay pending with the same message and
// that every placement keeps its volumes' rules (placementcheck).
//
// A scenario is 3-5 nodes (zones z1-z3 or none, some cordoned, some at their CSI volume limit
// through an existing pod's volumes) and 4-8 incoming pods, each mounting one or two claims of
// these kinds: WaitForFirstConsumer claims matched against 0-3 static PVs of their own (sizes,
// access modes, node affinity by node or zone), provisioned by testenv's provisioner (anywhere,
// within allowed zones, within published CSI storage capacity, or as volumes of a CSI driver
// some nodes are full of), claims bound to a PV with node affinity or zone labels, and a few
// claims that fail everywhere (missing, unbound with an Immediate class, ReadWriteOncePod in use
// by an existing pod). Whether a pod can be placed then depends only on the cluster, never on
// where the other incoming pods went: each claim has PVs of its own (the claim's selector picks
// them), provisioning consumes nothing the scheduler counts, nodes with a volume limit are full
// already, and no two incoming pods share a claim. So the comparison is per pod.
//
// -conformance.volumes sets how many scenarios run; -conformance.seed, -conformance.base and
// -conformance.show work as for TestConformance:
//
//	go test ./conformance -run 'TestVolumeGenerated$' -conformance.seed=N -v
func TestVolumeGenerated(t *testing.T) {
	n := *flagVolumes
	if testing.Short() {
		n = min(n, 2)
	}
	start := time.Now()
	var pods, pending, failed int
	list := seeds(t, n)
	for _, seed := range list {
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			vc := generateVolumes(seed)
			up, be := runVolumeCase(t, fmt.Sprintf("vg%d", seed), vc)
			if up == nil || be == nil {
				return
			}
			pods += len(up.pods)
			for _, p := range up.pods {
				if p.Spec.NodeName == "" {
					pending++
				}
			}
			compareVolumes(t, vc, up, be)
		})
		if !ok {
			failed++
		}
	}
	t.Logf("%d scenarios (%d failed), %d incoming pods (%d left pending by upstream) in %s",
		len(list), failed, pods, pending, time.Since(start).Round(time.Millisecond))
}
