package benchdata

import (
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A volumes workload (Workload.Volumes) gives each pod its own PersistentVolumeClaim of a
// WaitForFirstConsumer StorageClass, as a StatefulSet's volumeClaimTemplates do: the claims are
// created before the run (see Claims), unbound, and the pods of the run each mount theirs. Placing
// such a pod means choosing a node for its volume too: the scheduler writes the claim's
// selected-node annotation, a dynamic provisioner creates a volume reachable from that node only,
// the PV controller binds claim and volume, and only then is the pod bound.
const (
	// StorageClass is the WaitForFirstConsumer class of the claims.
	StorageClass = "bench-wffc"
	// Provisioner is the StorageClass's provisioner: an external one, which the harness plays.
	Provisioner = "bench.berth.dev/local"
	// ClaimSize is the storage each claim requests.
	ClaimSize = "1Gi"
	// VolumeName is the name, in each pod, of the volume backed by its claim.
	VolumeName = "data"
)

// StorageClasses returns the classes a volumes workload's claims name, to be created before them;
// nil for other workloads.
func (w Workload) StorageClasses() []*storagev1.StorageClass {
	if !w.Volumes {
		return nil
	}
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := v1.PersistentVolumeReclaimDelete
	return []*storagev1.StorageClass{{
		ObjectMeta:        metav1.ObjectMeta{Name: StorageClass},
		Provisioner:       Provisioner,
		VolumeBindingMode: &mode,
		ReclaimPolicy:     &reclaim,
	}}
}

// Claims returns, for a volumes workload, the claims of Pods(ns, s) in pod order: one per pod of
// shape WithVolume, named ClaimName(pod), of StorageClass, ReadWriteOnce, ClaimSize. Nil for
// other workloads.
func (w Workload) Claims(ns string, s Size) []*v1.PersistentVolumeClaim {
	if !w.Volumes {
		return nil
	}
	var out []*v1.PersistentVolumeClaim
	class := StorageClass
	for i := range s.Pods {
		if w.Shapes[i%len(w.Shapes)] != WithVolume {
			continue
		}
		out = append(out, &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ClaimName(PodName(i))},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				StorageClassName: &class,
				Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{
					v1.ResourceStorage: resource.MustParse(ClaimSize),
				}},
			},
		})
	}
	return out
}

// ClaimName names the claim of the pod called pod, as a StatefulSet names the claim of its
// volumeClaimTemplate "data": data-<pod>.
func ClaimName(pod string) string { return VolumeName + "-" + pod }

// addClaimVolume makes p mount its own claim, ClaimName(p.Name), at /data.
func addClaimVolume(p *v1.Pod) {
	p.Spec.Volumes = []v1.Volume{{Name: VolumeName, VolumeSource: v1.VolumeSource{
		PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: ClaimName(p.Name)},
	}}}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: VolumeName, MountPath: "/" + VolumeName}}
}
