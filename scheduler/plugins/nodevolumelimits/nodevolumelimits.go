// Package nodevolumelimits implements kube-scheduler v1.37's NodeVolumeLimits plugin (CSILimits):
// a node takes no more volumes of a CSI driver than its CSINode allows
// (spec.drivers[].allocatable.count).
//
// A volume is a CSI driver and a volume handle, counted once per node however many pods use it.
// A pod's claims resolve to their PV's driver and handle; a claim without a PV counts against its
// StorageClass's provisioner, as a volume of its own; a generic ephemeral volume is its
// "<pod>-<volume>" claim, which the pod must own. Inline and PV volumes of in-tree types that
// migrate to CSI (AWS EBS, GCE PD, Azure Disk, Cinder, Portworx) count against the CSI driver
// they migrate to, on nodes that have a CSINode; Azure File and vSphere volumes never count.
// A node's volumes are those of its pods plus its VolumeAttachments (by attacher and PV handle).
//
// The pod is rejected where its new volumes, those not already on the node, would exceed a
// driver's limit; deleting pods can free room, so preemption may help. Drivers without a limit,
// and nodes without a CSINode, take any number of volumes. A CSIDriver that sets
// preventPodSchedulingIfMissing also keeps the pod off nodes whose CSINode does not list the
// driver. A claim the pod uses that does not exist rejects it unresolvably; an ephemeral claim the
// pod does not own, or an inline volume that cannot be translated, is an error (snapshot.Fail).
//
// Everything is read from the snapshot's Storage, so a verdict is a function of the pod and the
// snapshot.
package nodevolumelimits

import (
	"fmt"
	"slices"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "NodeVolumeLimits"
	// ReasonMaxVolumeCount is the filter's reason, as kube-scheduler v1.37 words it.
	ReasonMaxVolumeCount = "node(s) exceed max volume count"
)

var maxVolumeCountVerdict = snapshot.Reject(ReasonMaxVolumeCount)

// NodeVolumeLimits is the plugin. It has no configuration and no state; the zero value is ready.
type NodeVolumeLimits struct{}

// New returns the plugin.
func New() *NodeVolumeLimits { return &NodeVolumeLimits{} }

// Name returns "NodeVolumeLimits".
func (*NodeVolumeLimits) Name() string { return Name }

// PreFilter returns nil (nothing to check) for a pod without claims, generic ephemeral volumes or
// inline in-tree volumes that migrate to CSI. Otherwise it resolves the pod's volumes once, for
// nodes with and without a CSINode. It never rejects a pod outright: kube-scheduler looks the
// claims up node by node, so a missing one rejects the pod on each node.
func (*NodeVolumeLimits) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	if !judges(pod.Pod) {
		return nil, snapshot.Verdict{}
	}
	all := podAttachables(pod.Pod, snap.Storage, true)
	return &filter{
		storage:        snap.Storage,
		withCSINode:    newVolumes(all, true),
		withoutCSINode: newVolumes(all, false),
	}, snapshot.Verdict{}
}

// filter is one pod's prepared check. It is read-only, so Filter may run on many nodes at once.
type filter struct {
	storage *snapshot.Storage
	// withCSINode and withoutCSINode are the pod's volumes on a node with and without a CSINode.
	withCSINode, withoutCSINode prepared
}

// prepared is the pod's volumes as one kind of node sees them.
type prepared struct {
	// ids are the pod's distinct volumes, in volume order.
	ids []volumeID
	// drivers are the distinct drivers of ids, in order.
	drivers []string
	// failed is the verdict of the first volume that could not be resolved (zero when none).
	failed snapshot.Verdict
}

// newVolumes prepares the pod's volumes for nodes with (hasCSINode) or without a CSINode. The
// first error wins, as kube-scheduler stops at it.
func newVolumes(all []attachable, hasCSINode bool) prepared {
	var p prepared
	seen := map[volumeID]bool{}
	for _, a := range all {
		if !a.counts(hasCSINode) {
			continue
		}
		if a.err != nil {
			if apierrors.IsNotFound(a.err) {
				return prepared{failed: snapshot.RejectUnresolvable(a.err.Error())}
			}
			return prepared{failed: snapshot.Fail(a.err)}
		}
		if seen[a.id] {
			continue
		}
		seen[a.id] = true
		p.ids = append(p.ids, a.id)
		if !slices.Contains(p.drivers, a.id.driver) {
			p.drivers = append(p.drivers, a.id.driver)
		}
	}
	return p
}

// Filter rejects a node where the pod's new volumes of some driver would exceed the driver's
// limit in the node's CSINode, counting the volumes of the node's pods and VolumeAttachments.
func (f *filter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.Node == nil {
		return snapshot.Verdict{}
	}
	csiNode := f.storage.CSINode(n.Node.Name)
	pod := &f.withoutCSINode
	if csiNode != nil {
		pod = &f.withCSINode
	}
	if !pod.failed.Fits() {
		return pod.failed
	}
	if len(pod.ids) == 0 {
		return snapshot.Verdict{}
	}
	for _, d := range pod.drivers {
		if !f.driverInstalled(d, csiNode) {
			return snapshot.Reject(fmt.Sprintf("%s CSI driver is not installed on the node", d))
		}
	}
	limits := volumeLimits(csiNode)
	if len(limits) == 0 {
		return snapshot.Verdict{}
	}

	used, err := f.nodeVolumes(n, csiNode != nil)
	if err != nil {
		return snapshot.Fail(err)
	}
	add := map[string]int{}
	for _, id := range pod.ids {
		if !used[id] {
			add[id.driver]++
		}
	}
	if len(add) == 0 {
		return snapshot.Verdict{}
	}
	count := map[string]int{}
	for id := range used {
		count[id.driver]++
	}
	for id := range f.attachedVolumes(n.Node.Name) {
		if !used[id] {
			count[id.driver]++
		}
	}
	for driver, k := range add {
		if limit, ok := limits[driver]; ok && int64(count[driver]+k) > limit {
			return maxVolumeCountVerdict
		}
	}
	return snapshot.Verdict{}
}

// nodeVolumes returns the volumes the pods on n use. A pod whose volumes cannot be resolved (an
// ephemeral claim it does not own, an untranslatable inline volume) is an error.
func (f *filter) nodeVolumes(n *snapshot.NodeInfo, hasCSINode bool) (map[volumeID]bool, error) {
	used := map[volumeID]bool{}
	for _, p := range n.Pods {
		for _, a := range podAttachables(p.Pod, f.storage, false) {
			if !a.counts(hasCSINode) {
				continue
			}
			if a.err != nil {
				return nil, a.err
			}
			used[a.id] = true
		}
	}
	return used, nil
}

// attachedVolumes returns the volumes the VolumeAttachments on node attach: each attachment's
// attacher and its PV's CSI volume handle. Attachments without an attacher or a PV name, of a PV
// that does not exist, or of a PV that is not a CSI one are left out.
func (f *filter) attachedVolumes(node string) map[volumeID]bool {
	vas := f.storage.Attachments(node)
	if len(vas) == 0 {
		return nil
	}
	out := make(map[volumeID]bool, len(vas))
	for _, va := range vas {
		if va.Spec.Attacher == "" || va.Spec.Source.PersistentVolumeName == nil {
			continue
		}
		pv := f.storage.Volume(*va.Spec.Source.PersistentVolumeName)
		if pv == nil || pv.Spec.CSI == nil {
			continue
		}
		out[volumeID{driver: va.Spec.Attacher, handle: pv.Spec.CSI.VolumeHandle}] = true
	}
	return out
}

// driverInstalled reports whether the node can take volumes of driver: always, unless the
// driver's CSIDriver sets preventPodSchedulingIfMissing; then only when the node's CSINode lists
// the driver. A driver without a CSIDriver object may not be a CSI driver at all: it passes.
func (f *filter) driverInstalled(driver string, csiNode *storagev1.CSINode) bool {
	d := f.storage.Driver(driver)
	if d == nil || d.Spec.PreventPodSchedulingIfMissing == nil || !*d.Spec.PreventPodSchedulingIfMissing {
		return true
	}
	if csiNode == nil {
		return false
	}
	for i := range csiNode.Spec.Drivers {
		if csiNode.Spec.Drivers[i].Name == driver {
			return true
		}
	}
	return false
}

// volumeLimits returns the attach limit of each driver of csiNode that reports one (nil csiNode:
// none). A driver without a limit takes any number of volumes.
func volumeLimits(csiNode *storagev1.CSINode) map[string]int64 {
	if csiNode == nil {
		return nil
	}
	var out map[string]int64
	for i := range csiNode.Spec.Drivers {
		d := &csiNode.Spec.Drivers[i]
		if d.Allocatable == nil || d.Allocatable.Count == nil {
			continue
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[d.Name] = int64(*d.Allocatable.Count)
	}
	return out
}
