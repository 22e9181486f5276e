package benchdata

import (
	"fmt"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
)

// TestVolumesClaimPerPod checks the promise of a volumes workload: each pod mounts a claim of its
// own, which Claims returns (in pod order), unbound, of the WaitForFirstConsumer class
// StorageClasses returns.
func TestVolumesClaimPerPod(t *testing.T) {
	w, _ := Get("volumes")
	classes := w.StorageClasses()
	if len(classes) != 1 {
		t.Fatalf("%d storage classes, want 1", len(classes))
	}
	sc := classes[0]
	if sc.Name != StorageClass || sc.Provisioner != Provisioner || sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Fatalf("storage class %s: provisioner %q, binding mode %v", sc.Name, sc.Provisioner, sc.VolumeBindingMode)
	}
	for _, s := range sizes {
		t.Run(fmt.Sprintf("%dx%d", s.Nodes, s.Pods), func(t *testing.T) {
			pods, claims := w.Pods("ns", s), w.Claims("ns", s)
			if len(claims) != len(pods) {
				t.Fatalf("%d claims for %d pods", len(claims), len(pods))
			}
			for i, p := range pods {
				c := claims[i]
				vols := p.Pod.Spec.Volumes
				if len(vols) != 1 || vols[0].PersistentVolumeClaim == nil || vols[0].PersistentVolumeClaim.ClaimName != c.Name {
					t.Fatalf("pod %s: volumes %+v, want claim %s", p.Pod.Name, vols, c.Name)
				}
				if mounts := p.Pod.Spec.Containers[0].VolumeMounts; len(mounts) != 1 || mounts[0].Name != vols[0].Name {
					t.Fatalf("pod %s: mounts %+v", p.Pod.Name, mounts)
				}
				if c.Namespace != "ns" || c.Name != "data-"+p.Pod.Name || c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != StorageClass ||
					c.Spec.VolumeName != "" || c.Spec.Resources.Requests.Storage().String() != ClaimSize || len(c.Spec.AccessModes) != 1 {
					t.Fatalf("claim %s/%s: %+v", c.Namespace, c.Name, c.Spec)
				}
				if p.MustStayPending {
					t.Fatalf("pod %s must stay pending", p.Pod.Name)
				}
			}
		})
	}
}
