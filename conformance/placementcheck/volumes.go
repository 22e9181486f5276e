package placementcheck

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// Storage is the cluster's storage at the end of a phase: what Check reads to judge the incoming
// pods' volumes. Check only reads it.
type Storage struct {
	// Claims are the PersistentVolumeClaims by "namespace/name".
	Claims map[string]*v1.PersistentVolumeClaim
	// Volumes are the PersistentVolumes by name.
	Volumes map[string]*v1.PersistentVolume
	// CSINodes are the CSINode objects by name (a node's CSINode has the node's name).
	CSINodes map[string]*storagev1.CSINode
	// Drivers are the CSIDriver objects by name.
	Drivers map[string]*storagev1.CSIDriver
}

// The PV labels VolumeZone reads, and the GA key a node label may carry instead of a beta one.
var zoneLabels = []string{v1.LabelFailureDomainBetaZone, v1.LabelFailureDomainBetaRegion, v1.LabelTopologyZone, v1.LabelTopologyRegion}

func gaLabel(key string) string {
	switch key {
	case v1.LabelFailureDomainBetaZone:
		return v1.LabelTopologyZone
	case v1.LabelFailureDomainBetaRegion:
		return v1.LabelTopologyRegion
	}
	return key
}

// claimNames returns the names of the claims p's volumes use: a persistentVolumeClaim's
// claimName, and "<pod>-<volume>" for a generic ephemeral volume.
func claimNames(p *v1.Pod) []string {
	var out []string
	for _, vol := range p.Spec.Volumes {
		switch {
		case vol.PersistentVolumeClaim != nil:
			out = append(out, vol.PersistentVolumeClaim.ClaimName)
		case vol.Ephemeral != nil:
			out = append(out, p.Name+"-"+vol.Name)
		}
	}
	return out
}

// checkVolumes judges the incoming pods' claims; nothing when w.Storage is nil.
//
//   - VolumeBinding: a bound pod's every claim exists and is bound to a PV that exists, whose
//     claimRef names the claim back, and whose required node affinity selects the node (the
//     scheduler binds a pod only once its volumes are bound).
//   - VolumeZone: a zone or region label of such a PV (values joined by "__" are alternatives)
//     must hold on the node, unless the node carries none of those labels.
//   - VolumeRestrictions: a ReadWriteOncePod claim is used by at most one bound pod, and pods on
//     one node do not share an inline disk that takes one writer (see checkDiskConflicts).
//   - NodeVolumeLimits: per node and CSI driver, the distinct CSI volumes (driver and handle) of
//     the node's pods stay within the node's CSINode allocatable count when an incoming pod added
//     one of them; a driver whose CSIDriver sets preventPodSchedulingIfMissing must be listed by
//     the CSINode of a node an incoming pod uses it on. Only volumes of bound claims with a CSI
//     PV are counted (no VolumeAttachments, no in-tree volumes migrated to CSI).
func checkVolumes(w *World, all []placed) []Violation {
	st := w.Storage
	if st == nil {
		return nil
	}
	var out []Violation
	for _, pl := range all {
		if !pl.incoming {
			continue
		}
		for _, name := range claimNames(pl.pod) {
			pv, detail := boundVolume(st, pl.pod.Namespace, name)
			if detail != "" {
				out = append(out, Violation{podName(pl.pod), pl.node.Name, "VolumeBinding", detail})
				continue
			}
			if !volumeSelectsNode(pv, pl.node) {
				out = append(out, Violation{podName(pl.pod), pl.node.Name, "VolumeBinding",
					fmt.Sprintf("claim %s is bound to PV %s, whose node affinity does not select the node", name, pv.Name)})
			}
			if key, ok := zoneConflict(pv, pl.node); !ok {
				out = append(out, Violation{podName(pl.pod), pl.node.Name, "VolumeZone",
					fmt.Sprintf("claim %s is bound to PV %s with %s=%s, the node has %q", name, pv.Name, key, pv.Labels[key], nodeZoneValue(pl.node, key))})
			}
		}
	}
	out = append(out, checkDiskConflicts(all)...)
	out = append(out, checkReadWriteOncePod(st, all)...)
	out = append(out, checkVolumeLimits(st, all)...)
	return out
}

// checkDiskConflicts reports incoming pods that share a node with another pod mounting the same
// inline disk where that disk allows only one writer: a GCE persistent disk or an ISCSI volume
// (same IQN) or an RBD image (a common monitor, same pool and image) unless both mount it
// read-only, an AWS EBS volume always.
func checkDiskConflicts(all []placed) []Violation {
	var out []Violation
	for i, pl := range all {
		if !pl.incoming {
			continue
		}
		for j, other := range all {
			if other.node.Name != pl.node.Name || i == j || (other.incoming && j < i) {
				continue
			}
			if disk, ok := diskConflict(pl.pod, other.pod); ok {
				out = append(out, Violation{podName(pl.pod), pl.node.Name, "VolumeRestrictions",
					fmt.Sprintf("disk %s is also mounted by %s on the node", disk, podName(other.pod))})
			}
		}
	}
	return out
}

// diskConflict returns the first inline disk a and b cannot both mount on one node.
func diskConflict(a, b *v1.Pod) (string, bool) {
	for _, x := range a.Spec.Volumes {
		for _, y := range b.Spec.Volumes {
			switch {
			case x.GCEPersistentDisk != nil && y.GCEPersistentDisk != nil:
				if x.GCEPersistentDisk.PDName == y.GCEPersistentDisk.PDName && !(x.GCEPersistentDisk.ReadOnly && y.GCEPersistentDisk.ReadOnly) {
					return "GCE PD " + x.GCEPersistentDisk.PDName, true
				}
			case x.AWSElasticBlockStore != nil && y.AWSElasticBlockStore != nil:
				if x.AWSElasticBlockStore.VolumeID == y.AWSElasticBlockStore.VolumeID {
					return "AWS EBS " + x.AWSElasticBlockStore.VolumeID, true
				}
			case x.ISCSI != nil && y.ISCSI != nil:
				if x.ISCSI.IQN == y.ISCSI.IQN && !(x.ISCSI.ReadOnly && y.ISCSI.ReadOnly) {
					return "ISCSI " + x.ISCSI.IQN, true
				}
			case x.RBD != nil && y.RBD != nil:
				r, q := x.RBD, y.RBD
				shared := slices.ContainsFunc(r.CephMonitors, func(m string) bool { return slices.Contains(q.CephMonitors, m) })
				if shared && r.RBDPool == q.RBDPool && r.RBDImage == q.RBDImage && !(r.ReadOnly && q.ReadOnly) {
					return "RBD " + r.RBDPool + "/" + r.RBDImage, true
				}
			}
		}
	}
	return "", false
}

// boundVolume returns the PV claim namespace/name is bound to, or why there is none.
func boundVolume(st *Storage, namespace, name string) (*v1.PersistentVolume, string) {
	c := st.Claims[namespace+"/"+name]
	if c == nil {
		return nil, fmt.Sprintf("claim %s does not exist", name)
	}
	if c.Spec.VolumeName == "" {
		return nil, fmt.Sprintf("claim %s is not bound to a volume", name)
	}
	pv := st.Volumes[c.Spec.VolumeName]
	if pv == nil {
		return nil, fmt.Sprintf("claim %s is bound to PV %s, which does not exist", name, c.Spec.VolumeName)
	}
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.Namespace != c.Namespace || ref.Name != c.Name || (ref.UID != "" && ref.UID != c.UID) {
		return nil, fmt.Sprintf("claim %s names PV %s, whose claimRef does not name the claim", name, pv.Name)
	}
	return pv, ""
}

// volumeSelectsNode reports whether pv's required node affinity (any term) selects n; a PV
// without one may be used anywhere.
func volumeSelectsNode(pv *v1.PersistentVolume, n *v1.Node) bool {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return true
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		if termMatchesNode(term, n) {
			return true
		}
	}
	return false
}

// zoneConflict returns the first zone or region label of pv that n does not satisfy, and false;
// true when n satisfies them all or carries no zone or region label at all.
func zoneConflict(pv *v1.PersistentVolume, n *v1.Node) (string, bool) {
	if !slices.ContainsFunc(zoneLabels, func(k string) bool { _, ok := n.Labels[k]; return ok }) {
		return "", true
	}
	for _, key := range zoneLabels {
		want, ok := pv.Labels[key]
		if !ok {
			continue
		}
		if !slices.Contains(strings.Split(want, "__"), nodeZoneValue(n, key)) {
			return key, false
		}
	}
	return "", true
}

// nodeZoneValue is n's value for a zone or region key, read from the GA key when n lacks it.
func nodeZoneValue(n *v1.Node, key string) string {
	if v, ok := n.Labels[key]; ok {
		return v
	}
	return n.Labels[gaLabel(key)]
}

// checkReadWriteOncePod reports incoming pods that share a ReadWriteOncePod claim with another
// bound pod (existing or incoming).
func checkReadWriteOncePod(st *Storage, all []placed) []Violation {
	users := map[string][]placed{}
	var keys []string
	for _, pl := range all {
		for _, name := range claimNames(pl.pod) {
			key := pl.pod.Namespace + "/" + name
			c := st.Claims[key]
			if c == nil || !slices.Contains(c.Spec.AccessModes, v1.ReadWriteOncePod) {
				continue
			}
			if len(users[key]) == 0 {
				keys = append(keys, key)
			}
			users[key] = append(users[key], pl)
		}
	}
	var out []Violation
	for _, key := range keys {
		u := users[key]
		if len(u) < 2 {
			continue
		}
		for _, pl := range u {
			if !pl.incoming {
				continue
			}
			var others []string
			for _, o := range u {
				if o.pod != pl.pod {
					others = append(others, podName(o.pod)+" on "+o.node.Name)
				}
			}
			out = append(out, Violation{podName(pl.pod), pl.node.Name, "VolumeRestrictions",
				fmt.Sprintf("ReadWriteOncePod claim %s is also used by %s", key, strings.Join(others, ", "))})
		}
	}
	return out
}

// checkVolumeLimits counts the CSI volumes on each node an incoming pod is bound to, per driver,
// against its CSINode.
func checkVolumeLimits(st *Storage, all []placed) []Violation {
	type nodeUse struct {
		node *v1.Node
		// volumes are the distinct volume handles on the node by driver; added are the incoming
		// pods that brought a volume no pod before them had on the node, by driver.
		volumes map[string]map[string]bool
		added   map[string][]string
	}
	byNode := map[string]*nodeUse{}
	var order []string
	var out []Violation
	// Existing pods first, so that a volume an existing pod holds is never new.
	for _, incoming := range []bool{false, true} {
		for _, pl := range all {
			if pl.incoming != incoming {
				continue
			}
			u := byNode[pl.node.Name]
			if u == nil {
				u = &nodeUse{node: pl.node, volumes: map[string]map[string]bool{}, added: map[string][]string{}}
				byNode[pl.node.Name] = u
				order = append(order, pl.node.Name)
			}
			for _, name := range claimNames(pl.pod) {
				pv, detail := boundVolume(st, pl.pod.Namespace, name)
				if detail != "" || pv.Spec.CSI == nil {
					continue
				}
				driver, handle := pv.Spec.CSI.Driver, pv.Spec.CSI.VolumeHandle
				if incoming && missingDriver(st, pl.node.Name, driver) {
					out = append(out, Violation{podName(pl.pod), pl.node.Name, "NodeVolumeLimits",
						fmt.Sprintf("CSI driver %s (claim %s) is not installed on the node, and its CSIDriver prevents scheduling then", driver, name)})
				}
				if u.volumes[driver] == nil {
					u.volumes[driver] = map[string]bool{}
				}
				if _, seen := u.volumes[driver][handle]; seen {
					continue
				}
				u.volumes[driver][handle] = true
				if incoming {
					u.added[driver] = append(u.added[driver], podName(pl.pod))
				}
			}
		}
	}
	for _, name := range order {
		u := byNode[name]
		limits := volumeLimits(st.CSINodes[name])
		drivers := make([]string, 0, len(u.added))
		for d := range u.added {
			drivers = append(drivers, d)
		}
		sort.Strings(drivers)
		for _, d := range drivers {
			limit, ok := limits[d]
			if !ok || int64(len(u.volumes[d])) <= limit {
				continue
			}
			for _, p := range u.added[d] {
				out = append(out, Violation{p, name, "NodeVolumeLimits",
					fmt.Sprintf("%d volumes of CSI driver %s on a node allowing %d", len(u.volumes[d]), d, limit)})
			}
		}
	}
	return out
}

// volumeLimits returns a CSINode's allocatable volume count per driver.
func volumeLimits(n *storagev1.CSINode) map[string]int64 {
	out := map[string]int64{}
	if n == nil {
		return out
	}
	for _, d := range n.Spec.Drivers {
		if d.Allocatable != nil && d.Allocatable.Count != nil {
			out[d.Name] = int64(*d.Allocatable.Count)
		}
	}
	return out
}

// missingDriver reports whether driver's CSIDriver prevents scheduling where it is missing and
// node's CSINode (if any) does not list it.
func missingDriver(st *Storage, node, driver string) bool {
	d := st.Drivers[driver]
	if d == nil || d.Spec.PreventPodSchedulingIfMissing == nil || !*d.Spec.PreventPodSchedulingIfMissing {
		return false
	}
	n := st.CSINodes[node]
	return n == nil || !slices.ContainsFunc(n.Spec.Drivers, func(x storagev1.CSINodeDriver) bool { return x.Name == driver })
}
