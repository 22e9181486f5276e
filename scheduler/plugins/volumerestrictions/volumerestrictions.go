// Package volumerestrictions implements kube-scheduler's VolumeRestrictions plugin: it keeps a
// pod off a node where one of its volumes could not be mounted because another pod holds it.
//
// Two kinds of holding are checked:
//
//   - Inline disks, on the node: the same GCE persistent disk, AWS EBS volume, iSCSI target (IQN)
//     or Ceph RBD image (an overlapping monitor, same pool and image) used by a pod already on the
//     node. GCE PD, iSCSI and RBD allow it when both pods mount read-only; EBS never does.
//   - ReadWriteOncePod claims, cluster-wide: a claim of that access mode may be used by one pod
//     only, so while a placed pod uses one of the pod's such claims, the pod fits no node.
//
// Evicting the holder frees the volume, so both verdicts are resolvable by preemption. For the
// disks that is seen in the node's pods; for the claims the prepared filter is a decide.PodChanger
// that counts the holders removed (or pods nominated). A pod naming a claim that does not exist
// is rejected on every node, unresolvably. A pod with no inline disk and no ReadWriteOncePod
// claim in use has nothing to check (as in kube-scheduler, pods nominated to a node are then not
// counted as users either).
package volumerestrictions

import (
	"slices"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "VolumeRestrictions"
	// ReasonDiskConflict is the reason for an inline disk in use on the node, as kube-scheduler
	// v1.37 words it.
	ReasonDiskConflict = "node(s) had no available disk"
	// ReasonReadWriteOncePodConflict is the reason for a ReadWriteOncePod claim in use, as
	// kube-scheduler v1.37 words it.
	ReasonReadWriteOncePodConflict = "node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another pod"
)

var (
	diskConflictVerdict = snapshot.Reject(ReasonDiskConflict)
	rwopConflictVerdict = snapshot.Reject(ReasonReadWriteOncePodConflict)
)

// VolumeRestrictions is the plugin. It has no configuration and no state; the zero value is ready.
type VolumeRestrictions struct{}

// New returns the plugin.
func New() *VolumeRestrictions { return &VolumeRestrictions{} }

// Name returns "VolumeRestrictions".
func (*VolumeRestrictions) Name() string { return Name }

// PreFilter looks up every claim of the pod's persistentVolumeClaim volumes, rejecting the pod
// on every node (unresolvably) when one does not exist, and counts those of ReadWriteOncePod
// access mode that placed pods use. It returns nil (nothing to check) when the pod has no inline
// disk and no such claim in use; otherwise the filter, a decide.PodChanger.
func (*VolumeRestrictions) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	p := pod.Pod
	if len(p.Spec.Volumes) == 0 {
		return nil, snapshot.Verdict{} // most pods: nothing to prepare, nothing allocated
	}
	f := &restrictionsFilter{namespace: p.Namespace}
	for i := range p.Spec.Volumes {
		vol := &p.Spec.Volumes[i]
		if isDisk(vol) {
			f.disks = append(f.disks, vol)
		}
		src := vol.PersistentVolumeClaim
		if src == nil {
			continue
		}
		claim := snap.Storage.Claim(p.Namespace, src.ClaimName)
		if claim == nil {
			return nil, snapshot.RejectUnresolvable(apierrors.NewNotFound(v1.Resource("persistentvolumeclaim"), src.ClaimName).Error())
		}
		if slices.Contains(claim.Spec.AccessModes, v1.ReadWriteOncePod) && !slices.Contains(f.singlePod, claim.Name) {
			f.singlePod = append(f.singlePod, claim.Name)
		}
	}
	// Like kube-scheduler, a claim in use counts once however many placed pods use it (more than
	// one only when pods bypassed the scheduler): removing any one of its users frees it.
	for _, name := range f.singlePod {
		if snap.Storage.ClaimUsers(p.Namespace, name) > 0 {
			f.inUse++
		}
	}
	if len(f.disks) == 0 && f.inUse == 0 {
		return nil, snapshot.Verdict{}
	}
	return f, snapshot.Verdict{}
}

// restrictionsFilter is the check prepared for one pod. Filter only reads it and is safe for
// concurrent calls; AddPod and RemovePod change it and must not run concurrently with anything
// else on the same value: preemption works on a Clone.
type restrictionsFilter struct {
	namespace string
	// disks are the pod's inline GCE PD, AWS EBS, iSCSI and RBD volumes.
	disks []*v1.Volume
	// singlePod names the pod's claims of ReadWriteOncePod access mode (read-only once built,
	// shared by clones).
	singlePod []string
	// inUse counts the uses of those claims by placed pods; above zero the pod fits nowhere.
	inUse int
}

var _ decide.PodChanger = (*restrictionsFilter)(nil)

// Filter rejects a node where a pod already holds one of the pod's inline disks, then any node
// while a ReadWriteOncePod claim of the pod is in use; both resolvable by preemption.
func (f *restrictionsFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if len(f.disks) > 0 && diskHeld(f.disks, n.Pods) {
		return diskConflictVerdict
	}
	if f.inUse > 0 {
		return rwopConflictVerdict
	}
	return snapshot.Verdict{}
}

// Clone returns a copy whose AddPod and RemovePod leave f unchanged.
func (f *restrictionsFilter) Clone() decide.NodeFilter {
	c := *f
	return &c
}

// AddPod counts p's uses of the pod's ReadWriteOncePod claims as if p ran on n. Inline disks
// need nothing here: they are judged from the pods of the node Filter is given.
func (f *restrictionsFilter) AddPod(p *snapshot.PodInfo, _ *snapshot.NodeInfo) {
	f.inUse += f.uses(p.Pod)
}

// RemovePod uncounts p's uses of the pod's ReadWriteOncePod claims as if p were gone.
func (f *restrictionsFilter) RemovePod(p *snapshot.PodInfo, _ *snapshot.NodeInfo) {
	f.inUse -= f.uses(p.Pod)
}

// uses returns how many of p's volumes use one of the pod's ReadWriteOncePod claims, counted as
// snapshot.Storage counts claim users (persistentVolumeClaim and generic ephemeral volumes).
func (f *restrictionsFilter) uses(p *v1.Pod) int {
	if len(f.singlePod) == 0 || p.Namespace != f.namespace {
		return 0
	}
	n := 0
	for i := range p.Spec.Volumes {
		if name := snapshot.ClaimName(p, &p.Spec.Volumes[i]); name != "" && slices.Contains(f.singlePod, name) {
			n++
		}
	}
	return n
}
