package testenv

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Storage objects for volume tests: classes, claims, volumes, CSINodes and pods using claims.
// The builders only build; the caller creates.

// NoProvisioner is the provisioner of a class whose volumes are all created by hand (static).
const NoProvisioner = "kubernetes.io/no-provisioner"

// NewStorageClass returns a class of provisioner with the given binding mode.
func NewStorageClass(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		VolumeBindingMode: &mode,
	}
}

// NewClaim returns a 1Gi claim of class (none when class is empty: the default class, if any)
// with the access modes given (ReadWriteOnce when none).
func NewClaim(namespace, name, class string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	pvc := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: modes,
			Resources: v1.VolumeResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
	}
	if class != "" {
		pvc.Spec.StorageClassName = &class
	}
	return pvc
}

// NewLocalPV returns an available 1Gi local volume of class (Retain) whose node affinity is
// affinity (a local volume needs one; see NodeAffinityIn), with the access modes given
// (ReadWriteOnce when none).
func NewLocalPV(name, class string, affinity *v1.VolumeNodeAffinity, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolume {
	pv := newPV(name, class, modes)
	pv.Spec.PersistentVolumeSource = v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/mnt/berth-testenv/" + name}}
	pv.Spec.NodeAffinity = affinity
	return pv
}

// NewCSIPV returns an available 1Gi volume of class (Retain) served by the CSI driver, without
// node affinity, with the access modes given (ReadWriteOnce when none).
func NewCSIPV(name, class, driver string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolume {
	pv := newPV(name, class, modes)
	pv.Spec.PersistentVolumeSource = v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: name}}
	return pv
}

func newPV(name, class string, modes []v1.PersistentVolumeAccessMode) *v1.PersistentVolume {
	if len(modes) == 0 {
		modes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
		},
	}
}

// NodeAffinityIn returns a volume node affinity requiring label key to be one of values
// (kubernetes.io/hostname and a node name: that node only).
func NodeAffinityIn(key string, values ...string) *v1.VolumeNodeAffinity {
	return &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
		NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
			Key: key, Operator: v1.NodeSelectorOpIn, Values: values,
		}}}},
	}}
}

// PreBind makes pv and pvc name each other (pv's claimRef, pvc's volumeName), as a user does for
// a static volume meant for one claim: the PV binder then binds them, whatever their classes'
// binding mode. Call it before creating either.
func PreBind(pv *v1.PersistentVolume, pvc *v1.PersistentVolumeClaim) {
	pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name}
	pvc.Spec.VolumeName = pv.Name
}

// NewCSINode returns the CSINode of node on which driver is installed with allocatable.count =
// count (the number of its volumes the node may attach).
func NewCSINode(node, driver string, count int32) *storagev1.CSINode {
	return &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: node},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
			Name: driver, NodeID: node,
			Allocatable: &storagev1.VolumeNodeResources{Count: &count},
		}}},
	}
}

// WithClaims adds to pod one volume per claim (named vol-0, vol-1, ...) and returns pod.
func WithClaims(pod *v1.Pod, claims ...string) *v1.Pod {
	for i, c := range claims {
		pod.Spec.Volumes = append(pod.Spec.Volumes, v1.Volume{
			Name:         fmt.Sprintf("vol-%d", i),
			VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c}},
		})
	}
	return pod
}

// WaitClaimBound polls until the claim and its volume are Bound to each other (the claim's
// volumeName, the volume's claimRef UID, both phases), or timeout passes, and returns both.
func WaitClaimBound(ctx context.Context, c kubernetes.Interface, namespace, name string, timeout time.Duration) (*v1.PersistentVolumeClaim, *v1.PersistentVolume, error) {
	var pvc *v1.PersistentVolumeClaim
	var pv *v1.PersistentVolume
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := c.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				pvc, pv = nil, nil
			}
			last = err
			return false, nil
		}
		pvc, last = got, nil
		if pvc.Status.Phase != v1.ClaimBound || pvc.Spec.VolumeName == "" {
			pv = nil
			return false, nil
		}
		got2, err := c.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			pv, last = nil, err
			return false, nil
		}
		pv = got2
		return pv.Status.Phase == v1.VolumeBound && pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == pvc.UID, nil
	})
	if err != nil {
		state := "not found"
		if pvc != nil {
			state = fmt.Sprintf("phase %s, volumeName %q", pvc.Status.Phase, pvc.Spec.VolumeName)
		}
		if pv != nil {
			state += fmt.Sprintf("; volume phase %s, claimRef %v", pv.Status.Phase, pv.Spec.ClaimRef)
		}
		return pvc, pv, fmt.Errorf("claim %s/%s not bound after %s (%s, last error %v): %w", namespace, name, timeout, state, last, err)
	}
	return pvc, pv, nil
}
