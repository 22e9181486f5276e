package notyet

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func podWith(mutate func(*v1.Pod)) *snapshot.PodInfo {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}}
	mutate(p)
	return snapshot.NewPodInfo(p)
}

func volume(src v1.VolumeSource) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "v", VolumeSource: src}) }
}

var (
	pvc       = volume(v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}})
	ephemeral = volume(v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}})
	emptyDir  = volume(v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}})
	gcePD     = volume(v1.VolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: "d"}})
	ebs       = volume(v1.VolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "v"}})
	rbd       = volume(v1.VolumeSource{RBD: &v1.RBDVolumeSource{}})
	iscsi     = volume(v1.VolumeSource{ISCSI: &v1.ISCSIVolumeSource{}})
	azureDisk = volume(v1.VolumeSource{AzureDisk: &v1.AzureDiskVolumeSource{}})
	cinder    = volume(v1.VolumeSource{Cinder: &v1.CinderVolumeSource{}})
	nfs       = volume(v1.VolumeSource{NFS: &v1.NFSVolumeSource{}})
	noChange  = func(*v1.Pod) {}
)

func TestRefusalPreFilter(t *testing.T) {
	claims := func(p *snapshot.PodInfo) string {
		if len(p.Pod.Spec.Volumes) > 0 && p.Pod.Spec.Volumes[0].PersistentVolumeClaim != nil {
			return "PersistentVolumeClaims"
		}
		return ""
	}
	r := New("VolumeBinding", claims)
	if r.Name() != "VolumeBinding" {
		t.Errorf("Name = %q", r.Name())
	}
	nf, v := r.PreFilter(podWith(pvc), nil)
	want := "pod uses PersistentVolumeClaims, which berth does not schedule yet (VolumeBinding)"
	if v.Fits() || !v.Unresolvable || nf != nil || strings.Join(v.Reasons, "|") != want {
		t.Errorf("PVC pod: filter %v, verdict %+v; want an unresolvable %q", nf, v, want)
	}
	if nf, v := r.PreFilter(podWith(emptyDir), nil); !v.Fits() || nf != nil {
		t.Errorf("emptyDir pod: filter %v, verdict %+v; want nothing to check", nf, v)
	}
}
