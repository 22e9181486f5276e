package notyet

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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

func TestDeviceExtended(t *testing.T) {
	gpu := "example.com/gpu"
	classes := snapshot.DevicesOf(
		&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu-class"}, Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: &gpu}},
		&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "fpga"}},
	)
	requests := func(name string, q string) func(*v1.Pod) {
		return func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceName(name): resource.MustParse(q)}
		}
	}
	tests := []struct {
		name    string
		pod     func(*v1.Pod)
		classes *snapshot.Devices
		want    bool
	}{
		{"nothing", noChange, classes, false},
		{"resource claims alone", func(p *v1.Pod) {
			p.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "c", ResourceClaimName: new("claim")}}
		}, classes, false},
		{"extended resource a class names", requests(gpu, "1"), classes, true},
		{"implicit device class name", requests("deviceclass.resource.kubernetes.io/fpga", "2"), classes, true},
		{"implicit name of no class", requests("deviceclass.resource.kubernetes.io/none", "2"), classes, false},
		{"extended resource no class names", requests("example.com/other", "1"), classes, false},
		{"zero request", requests(gpu, "0"), classes, false},
		{"no classes", requests(gpu, "1"), snapshot.NewDevices(), false},
		{"hugepages are not extended resources", requests("hugepages-2Mi", "2Mi"), classes, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DeviceExtended(podWith(tc.pod), tc.classes); got != tc.want {
				t.Errorf("DeviceExtended = %v, want %v", got, tc.want)
			}
		})
	}
}

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
