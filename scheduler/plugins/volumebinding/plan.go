package volumebinding

import (
	"fmt"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
)

// Plan is what the pod needs done to its claims on the chosen node before it is bound: PVs to
// bind to claims and claims to provision there. The methods below give the objects to assume
// and to write, and judge from the API server's objects whether the PV controller has finished;
// the scheduler makes the calls.
type Plan struct {
	Node        string
	Pod         *v1.Pod
	Bindings    []Binding
	Provisions  []Provision
	BindTimeout time.Duration

	// fits remembers, for the PV objects Done has judged, whether they fit the node.
	fits map[*v1.PersistentVolume]error
}

// Binding is a PV chosen for a claim.
type Binding struct {
	PV    *v1.PersistentVolume
	Claim *v1.PersistentVolumeClaim
}

// Provision is a claim to be provisioned on the plan's node, with the storage capacity that
// admitted it (nil when capacity is not tracked).
type Provision struct {
	Claim    *v1.PersistentVolumeClaim
	Capacity *storagev1.CSIStorageCapacity
}

// PluginName returns "VolumeBinding".
func (*Plan) PluginName() string { return Name }

// BoundVolume returns a copy of the binding's PV with its claimRef naming the claim (and the
// bound-by-controller annotation when it was not bound to the claim yet), and whether that
// changed anything, as kube-scheduler assumes and writes it.
func (b Binding) BoundVolume() (*v1.PersistentVolume, bool) {
	pv, c := b.PV, b.Claim
	out := pv.DeepCopy()
	changed := false
	boundBefore := boundTo(pv, c)
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != c.Name || ref.Namespace != c.Namespace || ref.UID != c.UID {
		out.Spec.ClaimRef = &v1.ObjectReference{
			Kind: "PersistentVolumeClaim", APIVersion: "v1",
			Namespace: c.Namespace, Name: c.Name, UID: c.UID, ResourceVersion: c.ResourceVersion,
		}
		changed = true
	}
	if !boundBefore {
		if _, ok := out.Annotations[AnnBoundByController]; !ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[AnnBoundByController] = "yes"
			changed = true
		}
	}
	return out, changed
}

// boundTo reports whether pv's claimRef names c (an empty claimRef UID names any claim of that
// name).
func boundTo(pv *v1.PersistentVolume, c *v1.PersistentVolumeClaim) bool {
	ref := pv.Spec.ClaimRef
	return ref != nil && ref.Name == c.Name && ref.Namespace == c.Namespace && (ref.UID == "" || ref.UID == c.UID)
}

// SelectedClaim returns a copy of the provision's claim annotated with the node selected for it.
func (p Provision) SelectedClaim(node string) *v1.PersistentVolumeClaim {
	out := p.Claim.DeepCopy()
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[AnnSelectedNode] = node
	return out
}

// APIState is how a plan's progress is read: the API server's current objects as the informers
// last delivered them (nil when absent).
type APIState interface {
	APIClaim(namespace, name string) *v1.PersistentVolumeClaim
	APIVolume(name string) *v1.PersistentVolume
	Node(name string) *v1.Node
}

// Done reports whether the PV controller has bound every claim of the plan, given the objects
// the scheduler wrote (written: the PVs of Bindings and the claims of Provisions, as the API
// server returned them, in plan order). It returns an error when the binding can no longer
// succeed (a claimRef or a selected-node annotation was reset, a PV does not fit the node), as
// kube-scheduler does; the pod is then retried. Done is not safe for concurrent use.
func (p *Plan) Done(st APIState, writtenPVs []*v1.PersistentVolume, writtenClaims []*v1.PersistentVolumeClaim) (bool, error) {
	node := st.Node(p.Node)
	if node == nil {
		return false, fmt.Errorf("failed to get node %q: node %q not found", p.Node, p.Node)
	}
	for i, b := range p.Bindings {
		pv := st.APIVolume(b.PV.Name)
		if pv == nil {
			return false, fmt.Errorf("failed to check binding: persistentvolume %q not found", b.PV.Name)
		}
		pvc := st.APIClaim(b.Claim.Namespace, b.Claim.Name)
		if pvc == nil {
			return false, fmt.Errorf("failed to check binding: persistentvolumeclaim %q not found", b.Claim.Namespace+"/"+b.Claim.Name)
		}
		if i < len(writtenPVs) && olderThan(pv.ResourceVersion, writtenPVs[i].ResourceVersion) {
			return false, nil // the informer has not caught up with our own write
		}
		if err := p.fitsNode(pv, node); err != nil {
			return false, err
		}
		if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID == "" {
			return false, fmt.Errorf("ClaimRef got reset for pv %q", pv.Name)
		}
		if !fullyBound(pvc) {
			return false, nil
		}
	}
	for i, pr := range p.Provisions {
		pvc := st.APIClaim(pr.Claim.Namespace, pr.Claim.Name)
		if pvc == nil {
			return false, fmt.Errorf("failed to check provisioning pvc: persistentvolumeclaim %q not found", pr.Claim.Namespace+"/"+pr.Claim.Name)
		}
		if i < len(writtenClaims) && olderThan(pvc.ResourceVersion, writtenClaims[i].ResourceVersion) {
			return false, nil
		}
		if pvc.Annotations == nil {
			return false, fmt.Errorf("selectedNode annotation reset for PVC %q", pvc.Name)
		}
		if pvc.Annotations[AnnSelectedNode] != p.Node {
			return false, fmt.Errorf("provisioning failed for PVC %q", pvc.Name)
		}
		if pvc.Spec.VolumeName != "" {
			pv := st.APIVolume(pvc.Spec.VolumeName)
			if pv == nil {
				return false, nil // provisioned, not seen yet
			}
			if err := p.fitsNode(pv, node); err != nil {
				return false, err
			}
		}
		if !fullyBound(pvc) {
			return false, nil
		}
	}
	return true, nil
}

// fitsNode judges pv's node affinity against node, once per PV object (the node's labels are
// taken as they were at the first judgement of that object).
func (p *Plan) fitsNode(pv *v1.PersistentVolume, node *v1.Node) error {
	if err, ok := p.fits[pv]; ok {
		return err
	}
	var err error
	if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil &&
		!nodeaffinity.CompileSelector(pv.Spec.NodeAffinity.Required).MatchesLabels(node.Labels) {
		err = fmt.Errorf("pv %q node affinity doesn't match node %q: no matching NodeSelectorTerms", pv.Name, node.Name)
	}
	if p.fits == nil {
		p.fits = map[*v1.PersistentVolume]error{}
	}
	p.fits[pv] = err
	return err
}

// olderThan reports whether resource version a is older than b.
func olderThan(a, b string) bool {
	av, err1 := strconv.ParseUint(a, 10, 64)
	bv, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && av < bv
}
