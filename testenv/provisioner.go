package testenv

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Annotations a dynamic provisioner reads and writes (the same keys as upstream's).
const (
	// AnnSelectedNode is set on a claim by the scheduler's PreBind (VolumeBinding) for a
	// WaitForFirstConsumer class: provision on this node.
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnProvisionedBy names, on a PV, the provisioner that created it.
	AnnProvisionedBy = "pv.kubernetes.io/provisioned-by"
)

// StartProvisioner plays an external dynamic provisioner for storageClass in tests: for each claim
// of that class that carries AnnSelectedNode and no volume, it creates a PV pre-bound to the claim
// (spec.claimRef with its UID), with the claim's requested storage and access modes, the class's
// name, a local volume, spec.nodeAffinity requiring kubernetes.io/hostname = the selected node,
// and AnnProvisionedBy = provisioner. The PV binder in kube-controller-manager then binds them, as
// after a real provisioner; without a running binder the claim stays Pending.
//
// The PV is named "pvc-<claim UID>", so provisioning is idempotent: an existing PV is left alone.
// Once a claim's PV exists (created, or found existing) the claim is not looked at again, as an
// external provisioner does not create a volume twice: the updates and resyncs of a claim waiting
// for the PV binder cost no further request. It never deletes a PV (a Released one stays). It returns once its claim informer has synced, or
// an error if that fails; it runs until ctx ends or stop is called, and stop waits for it to end.
// client needs get/list/watch on claims and create on PVs (system:persistent-volume-provisioner).
func StartProvisioner(ctx context.Context, client kubernetes.Interface, storageClass, provisioner string) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	// The informer resyncs every second, so a failed create is retried.
	claims := informers.NewSharedInformerFactory(client, time.Second).Core().V1().PersistentVolumeClaims().Informer()
	var wg sync.WaitGroup
	var provisioned sync.Map // UIDs of the claims whose PV exists: no second create for them
	provision := func(obj any) {
		pvc, ok := obj.(*v1.PersistentVolumeClaim)
		if !ok || !wantsVolume(pvc, storageClass) {
			return
		}
		if _, done := provisioned.Load(pvc.UID); done {
			return
		}
		// Errors are retried on the next resync; a test sees a claim that stays Pending.
		if createPV(ctx, client, pvc, provisioner) == nil {
			provisioned.Store(pvc.UID, true)
		}
	}
	_, err = claims.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    provision,
		UpdateFunc: func(_, obj any) { provision(obj) },
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watching claims of class %s: %w", storageClass, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		claims.RunWithContext(ctx)
	}()
	stop = func() {
		cancel()
		wg.Wait()
	}
	if !cache.WaitForCacheSync(ctx.Done(), claims.HasSynced) {
		stop()
		return nil, fmt.Errorf("syncing the claim informer of provisioner %s: %w", provisioner, context.Cause(ctx))
	}
	return stop, nil
}

// wantsVolume says whether pvc is a claim of class that a scheduler has placed and no volume
// satisfies yet.
func wantsVolume(pvc *v1.PersistentVolumeClaim, class string) bool {
	return pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName == class &&
		pvc.Annotations[AnnSelectedNode] != "" && pvc.Spec.VolumeName == "" &&
		pvc.DeletionTimestamp == nil
}

// ProvisionedPV is the PV StartProvisioner creates for pvc on node (also for tests that build the
// expected volume, or a static one to edit).
func ProvisionedPV(pvc *v1.PersistentVolumeClaim, node, provisioner string) *v1.PersistentVolume {
	name := "pvc-" + string(pvc.UID)
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{AnnProvisionedBy: provisioner},
		},
		Spec: v1.PersistentVolumeSpec{
			Capacity:    v1.ResourceList{v1.ResourceStorage: pvc.Spec.Resources.Requests[v1.ResourceStorage]},
			AccessModes: pvc.Spec.AccessModes,
			ClaimRef: &v1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimDelete,
			StorageClassName:              class,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeSource: v1.PersistentVolumeSource{
				Local: &v1.LocalVolumeSource{Path: filepath.Join("/mnt/berth-testenv", name)},
			},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node},
				}}}},
			}},
		},
	}
}

// createPV creates the PV for pvc; one that exists already is success.
func createPV(ctx context.Context, client kubernetes.Interface, pvc *v1.PersistentVolumeClaim, provisioner string) error {
	pv := ProvisionedPV(pvc, pvc.Annotations[AnnSelectedNode], provisioner)
	_, err := client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("provisioning %s for claim %s/%s: %w", pv.Name, pvc.Namespace, pvc.Name, err)
	}
	return nil
}
