package nodevolumelimits

import (
	"errors"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// volumeID names one volume a CSI driver attaches: the same ID on two pods is one attachment.
type volumeID struct {
	driver string
	// handle is the CSI volume handle or, when claim is set, the namespace/name of a claim that
	// has no PV yet (kube-scheduler's randomly prefixed handle: it matches no real handle).
	handle string
	claim  bool
}

// attachable is what one volume of a pod means for attach limits: a volume to count, or an
// error.
type attachable struct {
	id  volumeID
	err error
	// migrated is set when the volume is an in-tree one that counts (or fails) only on nodes with
	// a CSINode: kube-scheduler v1.37 treats their migration to CSI as on exactly there.
	migrated bool
}

// counts reports whether a counts on a node with (hasCSINode) or without a CSINode.
func (a attachable) counts(hasCSINode bool) bool { return hasCSINode || !a.migrated }

var errNoClaimName = errors.New("PersistentVolumeClaim had no name")

// podAttachables resolves pod's volumes through s, in volume order, leaving out the volumes that
// never count. For the pod being scheduled (newPod), a claim that does not exist is an error
// (apierrors.IsNotFound): the pod cannot run without it. For a pod already on a node it is not
// counted, there being no telling which volume it was.
func podAttachables(pod *v1.Pod, s *snapshot.Storage, newPod bool) []attachable {
	var out []attachable
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		if vol.PersistentVolumeClaim == nil && vol.Ephemeral == nil {
			if a, ok := inlineAttachable(vol); ok {
				out = append(out, a)
			}
			continue
		}
		name := snapshot.ClaimName(pod, vol)
		if name == "" {
			out = append(out, attachable{err: errNoClaimName})
			continue
		}
		claim := s.Claim(pod.Namespace, name)
		if claim == nil {
			if newPod {
				notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "persistentvolumeclaims"}, name)
				out = append(out, attachable{err: fmt.Errorf("looking up PVC %s/%s: %w", pod.Namespace, name, notFound)})
			}
			continue
		}
		if vol.Ephemeral != nil && !metav1.IsControlledBy(claim, pod) {
			out = append(out, attachable{err: fmt.Errorf("PVC %s/%s was not created for pod %s/%s (pod is not owner)",
				claim.Namespace, claim.Name, pod.Namespace, pod.Name)})
			continue
		}
		if a, ok := claimAttachable(claim, s); ok {
			out = append(out, a)
		}
	}
	return out
}

// inlineAttachable resolves an inline volume: only in-tree types that migrate to CSI count.
func inlineAttachable(vol *v1.Volume) (attachable, bool) {
	t := inlineType(vol)
	if t == nil || !t.counted {
		return attachable{}, false
	}
	handle, err := t.inlineHandle(vol)
	if err != nil {
		return attachable{err: fmt.Errorf("converting volume(%s) from inline to csi: %w", vol.Name, err), migrated: true}, true
	}
	return attachable{id: volumeID{driver: t.driver, handle: handle}, migrated: true}, true
}

// claimAttachable resolves a claim: by its PV when it has one (a CSI PV, or an in-tree PV that
// migrates), else by its StorageClass's provisioner. A claim that resolves to no driver or no
// handle is not counted.
func claimAttachable(claim *v1.PersistentVolumeClaim, s *snapshot.Storage) (attachable, bool) {
	if claim.Spec.VolumeName == "" {
		return classAttachable(claim, s)
	}
	pv := s.Volume(claim.Spec.VolumeName)
	if pv == nil {
		// Deleted, or the claim is prebound to a PV not created yet: count it by its class.
		return classAttachable(claim, s)
	}
	if csi := pv.Spec.CSI; csi != nil {
		return attachable{id: volumeID{driver: csi.Driver, handle: csi.VolumeHandle}}, csi.Driver != "" && csi.VolumeHandle != ""
	}
	t := pvType(pv)
	if t == nil || !t.counted {
		return attachable{}, false
	}
	handle, err := t.pvHandle(pv)
	if err != nil || handle == "" {
		return attachable{}, false // an untranslatable PV is not counted
	}
	return attachable{id: volumeID{driver: t.driver, handle: handle}, migrated: true}, true
}

// classAttachable resolves a claim without a PV by its StorageClass: the provisioner (or the CSI
// driver an in-tree provisioner migrates to) will attach a volume that the claim names for now.
// A claim without a class, or whose class does not exist, must bind before scheduling (immediate
// binding) and is not counted.
func classAttachable(claim *v1.PersistentVolumeClaim, s *snapshot.Storage) (attachable, bool) {
	name := snapshot.ClaimClass(claim)
	if name == "" {
		return attachable{}, false
	}
	class := s.Class(name)
	if class == nil {
		return attachable{}, false
	}
	id := volumeID{driver: class.Provisioner, handle: claim.Namespace + "/" + claim.Name, claim: true}
	if t := pluginType(class.Provisioner); t != nil {
		if !t.counted {
			return attachable{}, false
		}
		id.driver = t.driver
		return attachable{id: id, migrated: true}, true
	}
	return attachable{id: id}, id.driver != ""
}

// judges reports whether pod has a volume the plugin looks at: a claim, a generic ephemeral
// volume, or an inline in-tree volume of a type that migrates to CSI.
func judges(pod *v1.Pod) bool {
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		if vol.PersistentVolumeClaim != nil || vol.Ephemeral != nil || inlineType(vol) != nil {
			return true
		}
	}
	return false
}
