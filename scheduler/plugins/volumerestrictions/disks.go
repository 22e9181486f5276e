package volumerestrictions

import (
	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// isDisk reports whether vol is an inline volume whose sharing between pods is restricted.
func isDisk(vol *v1.Volume) bool {
	return vol.GCEPersistentDisk != nil || vol.AWSElasticBlockStore != nil || vol.ISCSI != nil || vol.RBD != nil
}

// diskHeld reports whether a pod of pods uses one of disks in a way that conflicts.
func diskHeld(disks []*v1.Volume, pods []*snapshot.PodInfo) bool {
	for _, pi := range pods {
		other := pi.Pod.Spec.Volumes
		for i := range other {
			if !isDisk(&other[i]) {
				continue
			}
			for _, d := range disks {
				if conflicts(d, &other[i]) {
					return true
				}
			}
		}
	}
	return false
}

// conflicts reports whether two pods could not both mount a and b: the same disk, unless both
// mount it read-only (never allowed for AWS EBS). The same disk is the same GCE PD name, EBS
// volume ID or iSCSI IQN, or for RBD the same pool and image with at least one monitor in common.
func conflicts(a, b *v1.Volume) bool {
	switch {
	case a.GCEPersistentDisk != nil && b.GCEPersistentDisk != nil:
		x, y := a.GCEPersistentDisk, b.GCEPersistentDisk
		return x.PDName == y.PDName && !(x.ReadOnly && y.ReadOnly)
	case a.AWSElasticBlockStore != nil && b.AWSElasticBlockStore != nil:
		return a.AWSElasticBlockStore.VolumeID == b.AWSElasticBlockStore.VolumeID
	case a.ISCSI != nil && b.ISCSI != nil:
		x, y := a.ISCSI, b.ISCSI
		return x.IQN == y.IQN && !(x.ReadOnly && y.ReadOnly)
	case a.RBD != nil && b.RBD != nil:
		x, y := a.RBD, b.RBD
		return x.RBDPool == y.RBDPool && x.RBDImage == y.RBDImage && shareAny(x.CephMonitors, y.CephMonitors) &&
			!(x.ReadOnly && y.ReadOnly)
	}
	return false
}

// shareAny reports whether a and b have an element in common.
func shareAny(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
