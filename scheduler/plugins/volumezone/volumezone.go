// Package volumezone implements kube-scheduler's VolumeZone plugin: a pod whose
// PersistentVolumeClaims are bound to PersistentVolumes labelled with a zone or region fits only
// nodes in that zone or region.
//
// The labels read are topology.kubernetes.io/zone and /region and their deprecated forms
// failure-domain.beta.kubernetes.io/zone and /region. A PV label may list several zones joined by
// "__" ("us-east-1a__us-east-1b"); the node's label must be one of them. A PV's deprecated label
// is matched against the node's label of the same name, else against its GA form; a PV's GA label
// only against the node's GA label. A node with none of the four labels fits any volume (a
// single-zone cluster need not label its nodes). Only persistentVolumeClaim volumes are looked at,
// and only through the bound PV: spec.nodeAffinity is NodeAffinity's and VolumeBinding's business.
//
// An unbound claim of a WaitForFirstConsumer class is skipped (VolumeBinding picks its volume
// later); a claim, volume or class that does not exist, and an unbound claim that will not be
// bound by the time the pod is placed, reject the pod on every node. Every verdict is
// unresolvable: evicting pods moves no volume.
package volumezone

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "VolumeZone"
	// ReasonConflict is the filter's reason, as kube-scheduler v1.37 words it.
	ReasonConflict = "node(s) had no available volume zone"
)

// PreFilter's reasons for claims it cannot follow to a volume, in kube-scheduler v1.37's words.
const (
	reasonNoClaimName = "PersistentVolumeClaim had no name"
	reasonNoClass     = "PersistentVolumeClaim had no pv name and storageClass name"
	reasonNoVolume    = "PersistentVolume had no name"
)

// multiZoneDelimiter separates the zones of a PV label that lists several.
const multiZoneDelimiter = "__"

// topologyLabels are the labels compared, deprecated forms first as upstream lists them.
var topologyLabels = []string{
	v1.LabelFailureDomainBetaZone,
	v1.LabelFailureDomainBetaRegion,
	v1.LabelTopologyZone,
	v1.LabelTopologyRegion,
}

var conflictVerdict = snapshot.RejectUnresolvable(ReasonConflict)

// VolumeZone is the plugin. It has no configuration and no state; the zero value is ready.
type VolumeZone struct{}

// New returns the plugin.
func New() *VolumeZone { return &VolumeZone{} }

// Name returns "VolumeZone".
func (*VolumeZone) Name() string { return Name }

// PreFilter follows each persistentVolumeClaim volume of pod to its bound PV and collects the
// PVs' zone and region labels. It returns nil (nothing to check) when no bound PV has such a
// label, and rejects the pod on every node, unresolvably, when a claim cannot be followed (see
// boundVolume).
func (*VolumeZone) PreFilter(pod *snapshot.PodInfo, snap *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	var want zoneFilter
	for i := range pod.Pod.Spec.Volumes {
		src := pod.Pod.Spec.Volumes[i].PersistentVolumeClaim
		if src == nil {
			continue
		}
		pv, v := boundVolume(snap.Storage, pod.Pod.Namespace, src.ClaimName)
		if !v.Fits() {
			return nil, v
		}
		if pv != nil {
			want = append(want, volumeTopology(pv)...)
		}
	}
	if len(want) == 0 {
		return nil, snapshot.Verdict{}
	}
	return want, snapshot.Verdict{}
}

// boundVolume returns the PV the claim namespace/name is bound to. It returns neither PV nor
// rejection for an unbound claim of a WaitForFirstConsumer class, and an unresolvable rejection
// when the claim has no name, does not exist, is bound to a PV that does not exist, or is unbound
// with no class, a class that does not exist, a class without a binding mode, or an Immediate one
// (its PV should already be there).
func boundVolume(s *snapshot.Storage, namespace, name string) (*v1.PersistentVolume, snapshot.Verdict) {
	if name == "" {
		return nil, snapshot.RejectUnresolvable(reasonNoClaimName)
	}
	claim := s.Claim(namespace, name)
	if claim == nil {
		return nil, notFound(v1.Resource("persistentvolumeclaim"), name)
	}
	if pvName := claim.Spec.VolumeName; pvName != "" {
		pv := s.Volume(pvName)
		if pv == nil {
			return nil, notFound(v1.Resource("persistentvolume"), pvName)
		}
		return pv, snapshot.Verdict{}
	}
	className := snapshot.ClaimClass(claim)
	if className == "" {
		return nil, snapshot.RejectUnresolvable(reasonNoClass)
	}
	class := s.Class(className)
	switch {
	case class == nil:
		return nil, notFound(storagev1.Resource("storageclass"), className)
	case class.VolumeBindingMode == nil:
		return nil, snapshot.RejectUnresolvable(fmt.Sprintf("VolumeBindingMode not set for StorageClass %q", className))
	case *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer:
		return nil, snapshot.Verdict{}
	}
	return nil, snapshot.RejectUnresolvable(reasonNoVolume)
}

// notFound is the unresolvable verdict on a missing object, in the words of the informer
// lister's NotFound error that kube-scheduler reports (`persistentvolumeclaim "data" not found`).
func notFound(resource schema.GroupResource, name string) snapshot.Verdict {
	return snapshot.RejectUnresolvable(apierrors.NewNotFound(resource, name).Error())
}

// topology is one zone or region label of a PV: the node's label key must hold one of zones.
type topology struct {
	key   string
	zones []string
}

// volumeTopology returns the topology labels of pv, in topologyLabels' order. A label whose value
// lists an empty zone ("", "a__", "a__ __b") is ignored, as upstream ignores what it cannot parse.
func volumeTopology(pv *v1.PersistentVolume) []topology {
	var out []topology
	for _, key := range topologyLabels {
		value, ok := pv.Labels[key]
		if !ok {
			continue
		}
		if zones, ok := splitZones(value); ok {
			out = append(out, topology{key: key, zones: zones})
		}
	}
	return out
}

// splitZones splits a PV label value into its zones, trimmed of spaces; false when one is empty.
func splitZones(value string) ([]string, bool) {
	zones := strings.Split(value, multiZoneDelimiter)
	for i, z := range zones {
		zones[i] = strings.TrimSpace(z)
		if zones[i] == "" {
			return nil, false
		}
	}
	return zones, true
}

// zoneFilter is the zone and region labels of the PVs one pod uses.
type zoneFilter []topology

// Filter rejects, unresolvably, a node that carries a zone or region label but not one of every
// PV label's values. A node without any of the four labels (or a NodeInfo without a node
// object) fits.
func (want zoneFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.Node == nil {
		return snapshot.Verdict{}
	}
	labels := n.Node.Labels
	if !slices.ContainsFunc(topologyLabels, func(k string) bool { _, ok := labels[k]; return ok }) {
		return snapshot.Verdict{}
	}
	for _, t := range want {
		value, ok := labels[t.key]
		if !ok {
			value, ok = labels[gaLabel(t.key)]
		}
		if !ok || !slices.Contains(t.zones, value) {
			return conflictVerdict
		}
	}
	return snapshot.Verdict{}
}

// gaLabel returns the GA form of a deprecated zone or region label, other keys unchanged.
func gaLabel(key string) string {
	switch key {
	case v1.LabelFailureDomainBetaZone:
		return v1.LabelTopologyZone
	case v1.LabelFailureDomainBetaRegion:
		return v1.LabelTopologyRegion
	}
	return key
}
