package testenv

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// TestControllerManagerBindsVolumes proves the chain the volume tests rely on: the test plays the
// scheduler's PreBind (the selected-node annotation on a claim, or the claimRef of a static PV),
// StartProvisioner plays the external provisioner, and kube-controller-manager's PV binder,
// running as its own identity, binds claim and volume.
func TestControllerManagerBindsVolumes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)

	start := time.Now()
	controllers := []string{"persistentvolume-binder-controller",
		"persistentvolume-protection-controller", "persistentvolumeclaim-protection-controller"}
	kcm, err := cp.StartControllerManager(ctx, controllers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kcm.Kill)
	t.Logf("kube-controller-manager synced in %s", time.Since(start).Round(time.Millisecond))

	ns, err := CreateNamespace(ctx, admin, "volumes", nil)
	if err != nil {
		t.Fatal(err)
	}
	node := ns + "-node"
	if _, err := CreateNode(ctx, admin, NodeSpec{Name: node}); err != nil {
		t.Fatal(err)
	}

	t.Run("dynamic", func(t *testing.T) {
		const provisioner = "berth.test/local"
		class := storageClass(t, ctx, admin, ns+"-wffc", provisioner)
		stop, err := StartProvisioner(ctx, admin, class, provisioner)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		pvc := createClaim(t, ctx, admin, ns, "dynamic", class)
		// Neither a claim with no node selected nor one of another class gets a volume.
		other := createClaim(t, ctx, admin, ns, "other-class", ns+"-other")
		selectNode(t, ctx, admin, other, node)
		time.Sleep(300 * time.Millisecond)
		for _, c := range []*v1.PersistentVolumeClaim{pvc, other} {
			if _, err := admin.CoreV1().PersistentVolumes().Get(ctx, "pvc-"+string(c.UID), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("claim %s: PV get err = %v, want not found (nothing provisioned)", c.Name, err)
			}
		}

		start := time.Now()
		selectNode(t, ctx, admin, pvc, node) // what VolumeBinding's PreBind writes for a dynamic volume
		pvc, pv := waitBound(t, ctx, admin, ns, pvc.Name)
		t.Logf("provisioned and bound in %s", time.Since(start).Round(time.Millisecond))

		if want := "pvc-" + string(pvc.UID); pv.Name != want {
			t.Errorf("PV name = %s, want %s", pv.Name, want)
		}
		if got := pv.Annotations[AnnProvisionedBy]; got != provisioner {
			t.Errorf("PV %s = %q, want %q", AnnProvisionedBy, got, provisioner)
		}
		if got := pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0]; got.Key != v1.LabelHostname || got.Values[0] != node {
			t.Errorf("PV node affinity = %+v, want %s in [%s]", got, v1.LabelHostname, node)
		}
		if got, want := pv.Spec.Capacity[v1.ResourceStorage], resource.MustParse("1Gi"); got.Cmp(want) != 0 {
			t.Errorf("PV capacity = %s, want %s", got.String(), want.String())
		}
		if pv.Spec.StorageClassName != class {
			t.Errorf("PV class = %q, want %q", pv.Spec.StorageClassName, class)
		}
	})

	t.Run("static", func(t *testing.T) {
		class := storageClass(t, ctx, admin, ns+"-static", "kubernetes.io/no-provisioner")
		pvc := createClaim(t, ctx, admin, ns, "static", class)
		pv := localPV(ns+"-static", class, node)
		pv, err := admin.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pollUntil(t, ctx, "PV "+pv.Name+" Available", func() (bool, error) {
			got, err := admin.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			pv = got
			return pv.Status.Phase == v1.VolumeAvailable, nil
		})

		// What VolumeBinding's PreBind writes for a static volume.
		start := time.Now()
		pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
			Namespace: ns, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion}
		metav1.SetMetaDataAnnotation(&pv.ObjectMeta, "pv.kubernetes.io/bound-by-controller", "yes")
		if _, err := admin.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("writing the claimRef: %v", err)
		}
		pvc, bound := waitBound(t, ctx, admin, ns, pvc.Name)
		t.Logf("bound in %s", time.Since(start).Round(time.Millisecond))
		if bound.Name != pv.Name {
			t.Errorf("claim bound to %s, want %s", bound.Name, pv.Name)
		}
	})

	out := kcm.Output()
	for _, m := range controllerStartingRe.FindAllStringSubmatch(out, -1) {
		if !slices.Contains(controllers, m[1]) {
			t.Errorf("kube-controller-manager started %s, which was not asked for", m[1])
		}
	}
	if strings.Contains(out, "forbidden") {
		t.Errorf("kube-controller-manager was refused something by RBAC:\n%s", Tail(out, 4000))
	}
}

// TestControllerManagerRefusesUnknownController: a name with no bootstrap role is refused before
// anything starts, a scheduler included.
func TestControllerManagerRefusesUnknownController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range []string{"kube-scheduler", "persistentvolume-binder"} {
		if p, err := cp.StartControllerManager(ctx, name); err == nil {
			p.Kill()
			t.Errorf("StartControllerManager(%q) started, want an error", name)
		}
	}
}

// storageClass creates a WaitForFirstConsumer class and returns its name.
func storageClass(t *testing.T, ctx context.Context, c kubernetes.Interface, name, provisioner string) string {
	t.Helper()
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	_, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		VolumeBindingMode: &mode,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating storage class %s: %v", name, err)
	}
	return name
}

// createClaim creates a 1Gi ReadWriteOnce claim of class.
func createClaim(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name, class string) *v1.PersistentVolumeClaim {
	t.Helper()
	pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating claim %s/%s: %v", ns, name, err)
	}
	return pvc
}

// selectNode sets the selected-node annotation on pvc.
func selectNode(t *testing.T, ctx context.Context, c kubernetes.Interface, pvc *v1.PersistentVolumeClaim, node string) {
	t.Helper()
	patch := `{"metadata":{"annotations":{"` + AnnSelectedNode + `":"` + node + `"}}}`
	_, err := c.CoreV1().PersistentVolumeClaims(pvc.Namespace).Patch(ctx, pvc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("selecting node %s for claim %s: %v", node, pvc.Name, err)
	}
}

// waitBound waits until the claim and its volume are both Bound to each other.
func waitBound(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name string) (*v1.PersistentVolumeClaim, *v1.PersistentVolume) {
	t.Helper()
	var pvc *v1.PersistentVolumeClaim
	var pv *v1.PersistentVolume
	pollUntil(t, ctx, "claim "+ns+"/"+name+" and its volume Bound", func() (bool, error) {
		var err error
		if pvc, err = c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		if pvc.Status.Phase != v1.ClaimBound || pvc.Spec.VolumeName == "" {
			return false, nil
		}
		if pv, err = c.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{}); err != nil {
			return false, err
		}
		return pv.Status.Phase == v1.VolumeBound && pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == pvc.UID, nil
	})
	return pvc, pv
}

// pollUntil polls cond every 50ms for up to 10s.
func pollUntil(t *testing.T, ctx context.Context, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// localPV is an available 1Gi local volume of class on node.
func localPV(name, class, node string) *v1.PersistentVolume {
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/mnt/" + name}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node},
				}}}},
			}},
		},
	}
}
