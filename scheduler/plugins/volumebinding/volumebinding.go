// Package volumebinding is kube-scheduler's VolumeBinding plugin: a pod's PersistentVolumeClaims
// (and the claims of its generic ephemeral volumes) must be usable on the node.
//
//   - A claim that is missing, lost or being deleted, or an unbound claim whose StorageClass binds
//     immediately, keeps the pod off every node.
//   - A bound claim's PersistentVolume must exist and its node affinity must select the node.
//   - An unbound claim whose class waits for the first consumer (WaitForFirstConsumer) needs,
//     on the node, either an available PV that matches it (class, size, access modes, volume mode,
//     selector, attributes class, node affinity; the smallest wins) or a class that can provision
//     there (a provisioner, allowed topologies that select the node, and, when the CSI driver
//     publishes storage capacity, a CSIStorageCapacity for the node's topology large enough).
//
// Once the scheduler chooses a node, the filter's Reserve returns a Plan: the PVs to bind to
// claims and the claims to provision on the node. The scheduler assumes them in its cache, writes
// them to the API server before binding the pod (see Plan's methods), waits until the PV
// controller has bound every claim, and undoes the assumptions if any step fails. The plugin
// itself reads only the snapshot.
//
// Scoring (kube-scheduler's StorageCapacityScoring, on by default in v1.37) prefers, through the
// configured shape, nodes where the chosen PVs, or the node's storage capacity for provisioned
// claims, would be least used.
package volumebinding

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Name is the plugin's name in kube-scheduler's configuration.
const Name = "VolumeBinding"

// Annotations and values kube-scheduler and the PV controller use.
const (
	AnnSelectedNode       = "volume.kubernetes.io/selected-node"
	AnnBindCompleted      = "pv.kubernetes.io/bind-completed"
	AnnBoundByController  = "pv.kubernetes.io/bound-by-controller"
	notSupportedProvision = "kubernetes.io/no-provisioner"
)

// The reasons a node is rejected, in kube-scheduler's words.
const (
	ReasonBindConflict   = "node(s) didn't find available persistent volumes to bind"
	ReasonNodeConflict   = "node(s) didn't match PersistentVolume's node affinity"
	ReasonNotEnoughSpace = "node(s) did not have enough free storage"
	ReasonPVNotExist     = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	ReasonUnboundNow     = "pod has unbound immediate PersistentVolumeClaims"
)

// Args are the plugin's arguments (kube-scheduler's VolumeBindingArgs).
type Args struct {
	// BindTimeout bounds how long a pod's binding waits for its volumes to be bound.
	BindTimeout time.Duration
	// Shape scores nodes by storage utilization (points of 0..100 utilization to 0..10 score).
	Shape []noderesources.UtilizationShapePoint
}

// DefaultArgs are kube-scheduler v1.37's defaults.
func DefaultArgs() Args {
	return Args{BindTimeout: 600 * time.Second, Shape: []noderesources.UtilizationShapePoint{{Utilization: 0, Score: 10}, {Utilization: 100, Score: 0}}}
}

// VolumeBinding is the plugin. It is stateless between pods.
type VolumeBinding struct {
	args  Args
	shape noderesources.Shape
}

var (
	_ decide.FilterPlugin = (*VolumeBinding)(nil)
	_ decide.ScorePlugin  = (*VolumeBinding)(nil)
	_ decide.Reserver     = (*prepared)(nil)
)

// New returns the plugin with args.
func New(args Args) (*VolumeBinding, error) {
	if args.BindTimeout < 0 {
		return nil, fmt.Errorf("bindTimeoutSeconds: Invalid value: %v: must not be negative", args.BindTimeout)
	}
	if len(args.Shape) == 0 {
		args.Shape = DefaultArgs().Shape
	}
	return &VolumeBinding{args: args, shape: noderesources.NewShape(args.Shape)}, nil
}

// Name returns "VolumeBinding".
func (pl *VolumeBinding) Name() string { return Name }

// claim is one of the pod's claims with what the per-node checks need of it.
type claim struct {
	pvc     *v1.PersistentVolumeClaim
	request resource.Quantity
	class   string
}

// boundClaim is a claim bound to a PV (nil when the PV does not exist).
type boundClaim struct {
	claim
	pv  *v1.PersistentVolume
	sel *nodeaffinity.Selector
}

// volume is a PV that may be chosen for an unbound claim, with its node affinity compiled.
type volume struct {
	pv       *v1.PersistentVolume
	sel      *nodeaffinity.Selector
	capacity resource.Quantity
}

// waitingClaim is an unbound claim of a WaitForFirstConsumer class.
type waitingClaim struct {
	claim
	selectedNode string // the selected-node annotation, when set
	selected     bool
	// prebound are the PVs whose claimRef names the claim; candidates the available PVs that
	// match it apart from node affinity, smallest first, indexed by node label.
	prebound   []volume
	candidates candidates
	provision  provisioning
}

// candidates are the available PVs that may be bound to a claim, smallest first (then by name),
// with an index from node label values to the PVs whose node affinity needs that value, so that
// a node's matches are found without checking every PV against every node.
type candidates struct {
	list []volume
	// byLabel maps a key and value to the positions (ascending) of the PVs whose node affinity
	// requires key In [..., value, ...]; keys lists those keys. anyNode are the positions of the
	// other PVs, checked on every node.
	byLabel map[labelValue][]int
	keys    []string
	anyNode []int
}

type labelValue struct{ key, value string }

func newCandidates(list []volume) candidates {
	c := candidates{list: list}
	for i, v := range list {
		key, values, ok := v.sel.InValues()
		if !ok {
			c.anyNode = append(c.anyNode, i)
			continue
		}
		if c.byLabel == nil {
			c.byLabel = map[labelValue][]int{}
		}
		if !slices.Contains(c.keys, key) {
			c.keys = append(c.keys, key)
		}
		for _, val := range values {
			lv := labelValue{key, val}
			if l := c.byLabel[lv]; len(l) == 0 || l[len(l)-1] != i { // a value listed twice
				c.byLabel[lv] = append(l, i)
			}
		}
	}
	return c
}

// first returns the smallest PV whose node affinity selects a node with nodeLabels and which is
// not among chosen.
func (c *candidates) first(nodeLabels map[string]string, chosen []string) *v1.PersistentVolume {
	best := -1
	try := func(positions []int) {
		for _, i := range positions {
			if best >= 0 && i >= best {
				return
			}
			v := &c.list[i]
			if !slices.Contains(chosen, v.pv.Name) && v.sel.MatchesLabels(nodeLabels) {
				best = i
				return
			}
		}
	}
	for _, k := range c.keys {
		if val, ok := nodeLabels[k]; ok {
			try(c.byLabel[labelValue{k, val}])
		}
	}
	try(c.anyNode)
	if best < 0 {
		return nil
	}
	return c.list[best].pv
}

// provisioning is whether a claim can be provisioned, and where.
type provisioning struct {
	err         error // the class is missing, or the claim names none
	unsupported bool  // the class has no provisioner
	topologies  []v1.TopologySelectorTerm
	// capacities are the class's CSIStorageCapacities when its driver publishes capacity and the
	// claim requests storage; checkCapacity is then true.
	checkCapacity bool
	capacities    []*storagev1.CSIStorageCapacity
}

// prepared is the pod's claims, sorted out once per decision.
type prepared struct {
	pod     *v1.Pod
	bound   []boundClaim
	waiting []*waitingClaim // ordered by requested size, smallest first
	timeout time.Duration
}

// PreFilter sorts the pod's claims into bound and waiting ones; it rejects the pod on every node
// when a claim is missing, lost, being deleted, or unbound and of an immediate class. It returns
// a nil NodeFilter for a pod without claims.
func (pl *VolumeBinding) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	p, v := prepare(pod.Pod, snap.Storage)
	if p == nil || !v.Fits() {
		return nil, v
	}
	p.timeout = pl.args.BindTimeout
	return p, v
}

// prepare sorts out pod's claims; nil without claims.
func prepare(pod *v1.Pod, st *snapshot.Storage) (*prepared, snapshot.Verdict) {
	var p *prepared
	var immediate bool
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		name := snapshot.ClaimName(pod, vol)
		if name == "" {
			continue
		}
		if p == nil {
			p = &prepared{pod: pod}
		}
		pvc := st.Claim(pod.Namespace, name)
		ephemeral := vol.Ephemeral != nil
		switch {
		case pvc == nil && ephemeral:
			return nil, snapshot.RejectUnresolvable(fmt.Sprintf("waiting for ephemeral volume controller to create the persistentvolumeclaim %q", name))
		case pvc == nil:
			return nil, snapshot.RejectUnresolvable(fmt.Sprintf("persistentvolumeclaim %q not found", name))
		case pvc.Status.Phase == v1.ClaimLost:
			return nil, snapshot.RejectUnresolvable(fmt.Sprintf("persistentvolumeclaim %q bound to non-existent persistentvolume %q", pvc.Name, pvc.Spec.VolumeName))
		case pvc.DeletionTimestamp != nil:
			return nil, snapshot.RejectUnresolvable(fmt.Sprintf("persistentvolumeclaim %q is being deleted", pvc.Name))
		case ephemeral && !metav1.IsControlledBy(pvc, pod):
			return nil, snapshot.RejectUnresolvable(fmt.Sprintf("PVC %s/%s was not created for pod %s/%s (pod is not owner)", pvc.Namespace, pvc.Name, pod.Namespace, pod.Name))
		}
		c := claim{pvc: pvc, request: pvc.Spec.Resources.Requests[v1.ResourceStorage], class: snapshot.ClaimClass(pvc)}
		if fullyBound(pvc) {
			bc := boundClaim{claim: c, pv: st.Volume(pvc.Spec.VolumeName)}
			if bc.pv != nil && bc.pv.Spec.NodeAffinity != nil {
				bc.sel = nodeaffinity.CompileSelector(bc.pv.Spec.NodeAffinity.Required)
			}
			p.bound = append(p.bound, bc)
			continue
		}
		delay, err := waitsForConsumer(c.class, st)
		if err != nil {
			return nil, snapshot.Fail(err)
		}
		if !delay || pvc.Spec.VolumeName != "" {
			immediate = true
			continue
		}
		p.waiting = append(p.waiting, newWaitingClaim(c, st))
	}
	if p == nil {
		return nil, snapshot.Verdict{}
	}
	if immediate {
		return nil, snapshot.RejectUnresolvable(ReasonUnboundNow)
	}
	slices.SortStableFunc(p.waiting, func(a, b *waitingClaim) int { return a.request.Cmp(b.request) })
	return p, snapshot.Verdict{}
}

// fullyBound reports whether the PV controller has finished binding pvc.
func fullyBound(pvc *v1.PersistentVolumeClaim) bool {
	_, done := pvc.Annotations[AnnBindCompleted]
	return pvc.Spec.VolumeName != "" && done
}

// waitsForConsumer reports whether class (a claim's) binds on first consumer. A missing class
// binds immediately; a class without a binding mode is an error, as in kube-scheduler.
func waitsForConsumer(class string, st *snapshot.Storage) (bool, error) {
	if class == "" {
		return false, nil
	}
	sc := st.Class(class)
	if sc == nil {
		return false, nil
	}
	if sc.VolumeBindingMode == nil {
		return false, fmt.Errorf("VolumeBindingMode not set for StorageClass %q", class)
	}
	return *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer, nil
}

func newWaitingClaim(c claim, st *snapshot.Storage) *waitingClaim {
	w := &waitingClaim{claim: c}
	w.selectedNode, w.selected = c.pvc.Annotations[AnnSelectedNode]
	if !w.selected {
		var list []volume
		w.prebound, list = matchingVolumes(c, st)
		w.candidates = newCandidates(list)
	}
	w.provision = provisioningOf(c, st)
	return w
}

// matchingVolumes returns the PVs that could be bound to c on some node: those pre-bound to it
// (by name) and the available ones (smallest first, then by name), each passing every check of
// kube-scheduler's volume matching except node affinity.
func matchingVolumes(c claim, st *snapshot.Storage) (prebound, candidates []volume) {
	var sel labels.Selector
	if c.pvc.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(c.pvc.Spec.Selector)
		if err != nil {
			return nil, nil // kube-scheduler errs and finds no volume; so does this claim
		}
		sel = s
	}
	usable := func(pv *v1.PersistentVolume) (volume, bool) {
		capacity := pv.Spec.Capacity[v1.ResourceStorage]
		if capacity.Cmp(c.request) < 0 || volumeMode(c.pvc.Spec.VolumeMode) != volumeMode(pv.Spec.VolumeMode) ||
			deref(c.pvc.Spec.VolumeAttributesClassName) != deref(pv.Spec.VolumeAttributesClassName) || pv.DeletionTimestamp != nil {
			return volume{}, false
		}
		v := volume{pv: pv, capacity: capacity}
		if pv.Spec.NodeAffinity != nil {
			v.sel = nodeaffinity.CompileSelector(pv.Spec.NodeAffinity.Required)
		}
		return v, true
	}
	for _, pv := range st.PreboundVolumes(c.pvc.Namespace, c.pvc.Name) {
		if ref := pv.Spec.ClaimRef; ref.UID != "" && ref.UID != c.pvc.UID || snapshot.VolumeClass(pv) != c.class {
			continue
		}
		if v, ok := usable(pv); ok {
			prebound = append(prebound, v)
		}
	}
	for _, pv := range st.UnclaimedVolumes(c.class) {
		if pv.Status.Phase != v1.VolumeAvailable || sel != nil && !sel.Matches(labels.Set(pv.Labels)) || !accessModesOK(c.pvc, pv) {
			continue
		}
		if v, ok := usable(pv); ok {
			candidates = append(candidates, v)
		}
	}
	slices.SortFunc(candidates, func(a, b volume) int {
		return cmp.Or(a.capacity.Cmp(b.capacity), cmp.Compare(a.pv.Name, b.pv.Name))
	})
	return prebound, candidates
}

func volumeMode(m *v1.PersistentVolumeMode) v1.PersistentVolumeMode {
	if m == nil {
		return v1.PersistentVolumeFilesystem
	}
	return *m
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// accessModesOK reports whether pv offers every access mode pvc asks for.
func accessModesOK(pvc *v1.PersistentVolumeClaim, pv *v1.PersistentVolume) bool {
	for _, m := range pvc.Spec.AccessModes {
		if !slices.Contains(pv.Spec.AccessModes, m) {
			return false
		}
	}
	return true
}

// provisioningOf reads what provisioning c needs from its class and CSI driver.
func provisioningOf(c claim, st *snapshot.Storage) provisioning {
	if c.class == "" {
		return provisioning{err: fmt.Errorf("no class for claim %q", c.pvc.Namespace+"/"+c.pvc.Name)}
	}
	sc := st.Class(c.class)
	if sc == nil {
		return provisioning{err: fmt.Errorf("failed to find storage class %q", c.class)}
	}
	if sc.Provisioner == "" || sc.Provisioner == notSupportedProvision {
		return provisioning{unsupported: true}
	}
	p := provisioning{topologies: sc.AllowedTopologies}
	if _, ok := c.pvc.Spec.Resources.Requests[v1.ResourceStorage]; !ok {
		return p
	}
	if d := st.Driver(sc.Provisioner); d != nil && d.Spec.StorageCapacity != nil && *d.Spec.StorageCapacity {
		p.checkCapacity, p.capacities = true, st.Capacities(c.class)
	}
	return p
}

// Filter judges the pod's claims on node n.
func (p *prepared) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	reasons, err := p.plan(n.Node, nil)
	if err != nil {
		return snapshot.Fail(err)
	}
	if len(reasons) > 0 {
		return snapshot.RejectUnresolvable(reasons...)
	}
	return snapshot.Verdict{}
}

// Reserve returns the plan for the chosen node n: nil when every claim is bound already.
func (p *prepared) Reserve(n *snapshot.NodeInfo) decide.Plan {
	plan := &Plan{Node: n.Node.Name, Pod: p.pod, BindTimeout: p.timeout}
	reasons, err := p.plan(n.Node, plan)
	if err != nil || len(reasons) > 0 || len(plan.Bindings)+len(plan.Provisions) == 0 {
		return nil
	}
	return plan
}

// plan works out whether the pod's claims can be used on node: the reasons they cannot (in
// kube-scheduler's order), or what broke. With out, it records there which PVs to bind and which
// claims to provision; without, it allocates nothing for the common cases, as Filter runs it on
// every node.
func (p *prepared) plan(node *v1.Node, out *Plan) ([]string, error) {
	var nodeConflict, pvMissing, bindConflict, noSpace bool
	for _, b := range p.bound {
		if b.pv == nil {
			pvMissing = true
			break
		}
		if !b.sel.MatchesLabels(node.Labels) {
			nodeConflict = true
			break
		}
	}
	for _, w := range p.waiting {
		if w.selected && w.selectedNode != node.Name {
			return reasons(nodeConflict, true, false, pvMissing), nil
		}
	}
	var chosenBuf [4]string
	var unmatchedBuf [4]*waitingClaim
	chosen, unmatched := chosenBuf[:0], unmatchedBuf[:0]
	for _, w := range p.waiting {
		if w.selected {
			continue
		}
		if pv := w.match(node.Labels, chosen); pv != nil {
			chosen = append(chosen, pv.Name)
			if out != nil {
				out.Bindings = append(out.Bindings, Binding{PV: pv, Claim: w.pvc})
			}
			continue
		}
		unmatched = append(unmatched, w)
	}
	bindConflict = len(unmatched) > 0
	// The claims to provision: those with this node selected, then those no PV matched. Their
	// verdict replaces the matching's.
	provisioned := false
	check := func(w *waitingClaim) (stop bool, err error) {
		if !provisioned {
			bindConflict, provisioned = false, true
		}
		pr := &w.provision
		if pr.err != nil {
			return true, pr.err
		}
		if pr.unsupported || !topologyMatches(pr.topologies, node.Labels) {
			bindConflict = true
			return true, nil
		}
		capacity, ok := pr.capacityOn(node.Labels, w.request)
		if !ok {
			noSpace = true
			return true, nil
		}
		if out != nil {
			out.Provisions = append(out.Provisions, Provision{Claim: w.pvc, Capacity: capacity})
		}
		return false, nil
	}
	stopped := false
	for _, w := range p.waiting {
		if w.selected && !stopped {
			stop, err := check(w)
			if err != nil {
				return nil, err
			}
			stopped = stop
		}
	}
	for _, w := range unmatched {
		if stopped {
			break
		}
		stop, err := check(w)
		if err != nil {
			return nil, err
		}
		stopped = stop
	}
	if out != nil && (bindConflict || noSpace) {
		out.Provisions = nil
	}
	return reasons(nodeConflict, bindConflict, noSpace, pvMissing), nil
}

// reasons returns the reasons set, in kube-scheduler's order, as a shared slice (see
// reasonSets): Filter returns them on thousands of nodes.
func reasons(nodeConflict, bindConflict, noSpace, pvMissing bool) []string {
	i := 0
	for bit, set := range [4]bool{nodeConflict, bindConflict, noSpace, pvMissing} {
		if set {
			i |= 1 << bit
		}
	}
	return reasonSets[i]
}

// reasonSets holds every combination of the four reasons, indexed by a bit per reason.
var reasonSets = func() [16][]string {
	var out [16][]string
	all := [4]string{ReasonNodeConflict, ReasonBindConflict, ReasonNotEnoughSpace, ReasonPVNotExist}
	for i := 1; i < 16; i++ {
		for bit, r := range all {
			if i&(1<<bit) != 0 {
				out[i] = append(out[i], r)
			}
		}
	}
	return out
}()

// match finds the PV for w on a node with nodeLabels, the chosen PVs excluded: a PV pre-bound to
// the claim decides alone (its node affinity must select the node), else the smallest available
// one whose node affinity selects the node. nil when none.
func (w *waitingClaim) match(nodeLabels map[string]string, chosen []string) *v1.PersistentVolume {
	for _, v := range w.prebound {
		if slices.Contains(chosen, v.pv.Name) {
			continue
		}
		if v.sel.MatchesLabels(nodeLabels) {
			return v.pv
		}
		return nil
	}
	return w.candidates.first(nodeLabels, chosen)
}

// topologyMatches reports whether a class's allowedTopologies select a node with nodeLabels:
// no terms select every node; a term selects when each of its label requirements does.
func topologyMatches(terms []v1.TopologySelectorTerm, nodeLabels map[string]string) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		if len(t.MatchLabelExpressions) == 0 {
			continue
		}
		ok := true
		for _, e := range t.MatchLabelExpressions {
			if _, err := labels.NewRequirement(e.Key, selection.In, e.Values); err != nil {
				ok = false
				break
			}
			if v, has := nodeLabels[e.Key]; !has || !slices.Contains(e.Values, v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// capacityOn returns the first capacity (by namespace and name) of the claim's class that
// reaches a node with nodeLabels and can hold request; true with nil when capacity is not
// checked.
func (pr *provisioning) capacityOn(nodeLabels map[string]string, request resource.Quantity) (*storagev1.CSIStorageCapacity, bool) {
	if !pr.checkCapacity {
		return nil, true
	}
	size := request.Value()
	for _, c := range pr.capacities {
		limit := c.MaximumVolumeSize
		if limit == nil {
			limit = c.Capacity
		}
		if limit == nil || limit.Value() < size || c.NodeTopology == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.NodeTopology)
		if err != nil || !sel.Matches(labels.Set(nodeLabels)) {
			continue
		}
		return c, true
	}
	return nil, false
}

// PreScore prepares the storage scoring of the pod; nil for a pod without claims.
func (pl *VolumeBinding) PreScore(pod *snapshot.PodInfo, snap *snapshot.Snapshot, _ []*snapshot.NodeInfo) decide.NodeScorer {
	p, v := prepare(pod.Pod, snap.Storage)
	if p == nil || !v.Fits() || !p.scorable() {
		return nil // every node would score 0
	}
	return &scorer{p: p, shape: pl.shape}
}

// scorable reports whether some node can score above 0: only PVs to bind, or provisioning on a
// tracked capacity, have a utilization to score.
func (p *prepared) scorable() bool {
	for _, w := range p.waiting {
		if len(w.prebound) > 0 || len(w.candidates.list) > 0 || w.provision.checkCapacity {
			return true
		}
	}
	return false
}

type scorer struct {
	p     *prepared
	shape noderesources.Shape
}

// Score scores the utilization of the storage the pod would use on n: the chosen PVs when it
// binds any, else the node's capacity for the claims it provisions, averaged over classes.
func (s *scorer) Score(n *snapshot.NodeInfo) int64 {
	plan := &Plan{}
	if reasons, err := s.p.plan(n.Node, plan); err != nil || len(reasons) > 0 {
		return 0
	}
	type use struct{ requested, capacity int64 }
	byClass := map[string]*use{}
	at := func(class string) *use {
		u := byClass[class]
		if u == nil {
			u = &use{}
			byClass[class] = u
		}
		return u
	}
	if len(plan.Bindings) > 0 {
		for _, b := range plan.Bindings {
			u := at(b.PV.Spec.StorageClassName)
			req, capacity := b.Claim.Spec.Resources.Requests[v1.ResourceStorage], b.PV.Spec.Capacity[v1.ResourceStorage]
			u.requested += req.Value()
			u.capacity += capacity.Value()
		}
	} else {
		for _, pr := range plan.Provisions {
			if pr.Capacity == nil {
				continue
			}
			u := at(snapshot.ClaimClass(pr.Claim))
			if pr.Capacity.Capacity != nil {
				u.capacity = pr.Capacity.Capacity.Value()
			} else {
				u.capacity = 0
			}
			req := pr.Claim.Spec.Resources.Requests[v1.ResourceStorage]
			u.requested += req.Value()
		}
	}
	if len(byClass) == 0 {
		return 0
	}
	var sum int64
	for _, u := range byClass {
		utilization := int64(100)
		if u.capacity != 0 && u.requested <= u.capacity {
			utilization = u.requested * 100 / u.capacity
		}
		sum += s.shape.At(utilization)
	}
	return int64(math.Round(float64(sum) / float64(len(byClass))))
}
