package nodevolumelimits

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.FilterPlugin = (*NodeVolumeLimits)(nil)

const (
	ns        = "ns"
	nodeName  = "n1"
	ebsClass  = "ebs-sc"
	gceDriver = gcePDDriver
)

// pod builds a pod in ns called name (its UID too) with the given volumes.
func pod(name string, vols ...v1.Volume) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name)},
		Spec: v1.PodSpec{Volumes: vols}}
}

func claimVol(claim string) v1.Volume {
	return v1.Volume{Name: "v-" + claim, VolumeSource: v1.VolumeSource{
		PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}

func ephemeralVol(name string) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}}
}

func inlineVol(name string, src v1.VolumeSource) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: src}
}

func ebsInline(id string) v1.VolumeSource {
	return v1.VolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: id}}
}

// bound is a claim bound to the PV called volume.
func bound(name, volume string) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1.PersistentVolumeClaimSpec{VolumeName: volume}}
}

// unbound is a claim of class (none when "") without a PV.
func unbound(name, class string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

// ownedBy makes claim the generic ephemeral claim of p.
func ownedBy(c *v1.PersistentVolumeClaim, p *v1.Pod) *v1.PersistentVolumeClaim {
	c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: p.Name, UID: p.UID, Controller: new(true)}}
	return c
}

func csiPV(name, driver, handle string) *v1.PersistentVolume {
	return &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PersistentVolumeSpec{
		PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}}}}
}

func inTreePV(name string, src v1.PersistentVolumeSource) *v1.PersistentVolume {
	return &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PersistentVolumeSpec{PersistentVolumeSource: src}}
}

func class(name, provisioner string) *storagev1.StorageClass {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

// csiNode is node n1's CSINode; limits maps each driver to its count, -1 for a driver without one.
func csiNode(limits map[string]int32) *storagev1.CSINode {
	cn := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}
	for d, c := range limits {
		drv := storagev1.CSINodeDriver{Name: d, NodeID: nodeName}
		if c >= 0 {
			drv.Allocatable = &storagev1.VolumeNodeResources{Count: new(c)}
		}
		cn.Spec.Drivers = append(cn.Spec.Drivers, drv)
	}
	return cn
}

func attachment(name, node, attacher string, pv *string) *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: storagev1.VolumeAttachmentSpec{
		Attacher: attacher, NodeName: node, Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: pv}}}
}

func driverObj(name string, prevent *bool) *storagev1.CSIDriver {
	return &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: storagev1.CSIDriverSpec{PreventPodSchedulingIfMissing: prevent}}
}

// ebsVolumes are claims e0..e3 bound to CSI EBS PVs with handles vol-0..vol-3, and claims g0, g1
// bound to GCE PD ones.
var ebsVolumes = []any{
	bound("e0", "pv-e0"), csiPV("pv-e0", awsEBSDriver, "vol-0"),
	bound("e1", "pv-e1"), csiPV("pv-e1", awsEBSDriver, "vol-1"),
	bound("e2", "pv-e2"), csiPV("pv-e2", awsEBSDriver, "vol-2"),
	bound("e3", "pv-e3"), csiPV("pv-e3", awsEBSDriver, "vol-3"),
	bound("g0", "pv-g0"), csiPV("pv-g0", gceDriver, "disk-0"),
	bound("g1", "pv-g1"), csiPV("pv-g1", gceDriver, "disk-1"),
	class(ebsClass, awsEBSDriver),
}

func with(objs ...any) []any { return append(append([]any{}, ebsVolumes...), objs...) }

func ebsLimit(n int32) *storagev1.CSINode { return csiNode(map[string]int32{awsEBSDriver: n}) }

// want is a verdict as the tests compare it: reasons, unresolvable, and whether Err is set.
type want struct {
	reason       string
	unresolvable bool
	failed       bool
}

var exceeded = want{reason: ReasonMaxVolumeCount}

func TestFilter(t *testing.T) {
	eph := pod("eph", ephemeralVol("scratch"))
	ephClaim := func() *v1.PersistentVolumeClaim { return ownedBy(bound("eph-scratch", "pv-e1"), eph) }
	tests := []struct {
		name     string
		pod      *v1.Pod
		existing []*v1.Pod
		objs     []any
		want     want
		noCheck  bool
	}{
		// Which pods are checked.
		{name: "no volumes: nothing to check", pod: pod("p"), objs: with(ebsLimit(0)), noCheck: true},
		{name: "only configMap, secret and emptyDir volumes: nothing to check",
			pod: pod("p", inlineVol("c", v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}),
				inlineVol("s", v1.VolumeSource{Secret: &v1.SecretVolumeSource{}}),
				inlineVol("d", v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}})),
			objs: with(ebsLimit(0)), noCheck: true},
		{name: "claim among configMap and secret volumes is checked",
			pod:  pod("p", inlineVol("c", v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}), claimVol("e0")),
			objs: with(ebsLimit(0)), want: exceeded},
		{name: "inline Azure File is checked but never counted",
			pod:  pod("p", inlineVol("f", v1.VolumeSource{AzureFile: &v1.AzureFileVolumeSource{ShareName: "s"}})),
			objs: with(csiNode(map[string]int32{azureFileDriver: 0}))},

		// Limits.
		{name: "fits under the limit", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("e1")), pod("b", claimVol("e2"), claimVol("e3"))},
			objs:     with(ebsLimit(4))},
		{name: "exceeds the limit", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("e1")), pod("b", claimVol("e2"), claimVol("e3"))},
			objs:     with(ebsLimit(3)), want: exceeded},
		{name: "two new volumes exceed what one would not", pod: pod("p", claimVol("e0"), claimVol("e1")),
			existing: []*v1.Pod{pod("a", claimVol("e2"))}, objs: with(ebsLimit(2)), want: exceeded},
		{name: "limit 0 takes no volume", pod: pod("p", claimVol("e0")), objs: with(ebsLimit(0)), want: exceeded},
		{name: "driver without a limit", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("e1"), claimVol("e2"))},
			objs:     with(csiNode(map[string]int32{awsEBSDriver: -1}))},
		{name: "no CSINode: no limits", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("e1"), claimVol("e2"))}, objs: with()},
		{name: "CSINode of another node does not apply", pod: pod("p", claimVol("e0")),
			objs: with(func() *storagev1.CSINode { cn := ebsLimit(0); cn.Name = "n2"; return cn }())},
		{name: "other drivers' volumes do not count", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("g0"), claimVol("g1"))},
			objs:     with(csiNode(map[string]int32{awsEBSDriver: 1, gceDriver: 2}))},
		{name: "each driver against its own limit", pod: pod("p", claimVol("e0"), claimVol("g0")),
			existing: []*v1.Pod{pod("a", claimVol("g1"))},
			objs:     with(csiNode(map[string]int32{awsEBSDriver: 5, gceDriver: 1})), want: exceeded},
		{name: "a full driver does not block another one's volumes", pod: pod("p", claimVol("g0")),
			existing: []*v1.Pod{pod("a", claimVol("e0"), claimVol("e1"))},
			objs:     with(csiNode(map[string]int32{awsEBSDriver: 1, gceDriver: 1}))},

		// Unique volumes.
		{name: "volume already on the node is not new", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("e0"))}, objs: with(ebsLimit(1))},
		{name: "volume shared by pods on the node counted once", pod: pod("p", claimVol("e2")),
			existing: []*v1.Pod{pod("a", claimVol("e0")), pod("b", claimVol("e0")), pod("c", claimVol("e1"))},
			objs:     with(ebsLimit(3))},
		{name: "claims bound to PVs with the same handle are one volume", pod: pod("p", claimVol("e0"), claimVol("dup")),
			objs: with(ebsLimit(1), bound("dup", "pv-dup"), csiPV("pv-dup", awsEBSDriver, "vol-0"))},
		{name: "one claim in two volumes of the pod counted once", pod: pod("p", claimVol("e0"), claimVol("e0")),
			objs: with(ebsLimit(1))},
		{name: "same handle under another driver is another volume", pod: pod("p", claimVol("x")),
			existing: []*v1.Pod{pod("a", claimVol("e0"))},
			objs:     with(ebsLimit(1), bound("x", "pv-x"), csiPV("pv-x", gceDriver, "vol-0"))},

		// Claims without a PV.
		{name: "unbound claim counts against its class's provisioner", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("u"))}, objs: with(ebsLimit(1), unbound("u", ebsClass)), want: exceeded},
		{name: "new pod's unbound claim counts", pod: pod("p", claimVol("u")),
			existing: []*v1.Pod{pod("a", claimVol("e0"))}, objs: with(ebsLimit(1), unbound("u", ebsClass)), want: exceeded},
		{name: "unbound claim shared by two pods counted once", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("u")), pod("b", claimVol("u"))},
			objs:     with(ebsLimit(2), unbound("u", ebsClass))},
		{name: "new pod's unbound claim already used on the node", pod: pod("p", claimVol("u")),
			existing: []*v1.Pod{pod("a", claimVol("u"))}, objs: with(ebsLimit(1), unbound("u", ebsClass))},
		{name: "unbound claim never matches a real volume handle", pod: pod("p", claimVol("u")),
			existing: []*v1.Pod{pod("a", claimVol("x"))},
			objs:     with(ebsLimit(1), unbound("u", ebsClass), bound("x", "pv-x"), csiPV("pv-x", awsEBSDriver, "ns/u")), want: exceeded},
		{name: "claim bound to a PV that does not exist counts by its class", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("gone"))},
			objs: with(ebsLimit(1), func() *v1.PersistentVolumeClaim {
				c := unbound("gone", ebsClass)
				c.Spec.VolumeName = "missing"
				return c
			}()), want: exceeded},
		{name: "class from the beta annotation", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("u"))},
			objs: with(ebsLimit(1), func() *v1.PersistentVolumeClaim {
				c := unbound("u", "")
				c.Annotations = map[string]string{v1.BetaStorageClassAnnotation: ebsClass}
				return c
			}()), want: exceeded},
		{name: "unbound claim without a class not counted", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("u"))}, objs: with(ebsLimit(1), unbound("u", ""))},
		{name: "unbound claim of a class that does not exist not counted", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("u"))}, objs: with(ebsLimit(1), unbound("u", "nope"))},
		{name: "class with an in-tree provisioner counts against the CSI driver", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("u"))},
			objs:     with(ebsLimit(1), unbound("u", "intree"), class("intree", awsEBSPlugin)), want: exceeded},
		{name: "class with the in-tree vSphere provisioner never counted", pod: pod("p", claimVol("u")),
			objs: with(csiNode(map[string]int32{vSphereDriver: 0, vSpherePlugin: 0}), unbound("u", "vs"), class("vs", vSpherePlugin))},

		// Missing and broken objects.
		{name: "new pod's claim missing: unresolvable", pod: pod("p", claimVol("nope")), objs: with(ebsLimit(5)),
			want: want{reason: `looking up PVC ns/nope: persistentvolumeclaims "nope" not found`, unresolvable: true}},
		{name: "new pod's claim missing on a node without a CSINode", pod: pod("p", claimVol("nope")), objs: with(),
			want: want{reason: `looking up PVC ns/nope: persistentvolumeclaims "nope" not found`, unresolvable: true}},
		{name: "existing pod's missing claim not counted", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("nope"))}, objs: with(ebsLimit(1))},
		{name: "new pod's claim without a name is an error", pod: pod("p", claimVol("")), objs: with(),
			want: want{reason: "PersistentVolumeClaim had no name", unresolvable: true, failed: true}},
		{name: "existing pod's claim without a name is an error", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol(""))}, objs: with(ebsLimit(1)),
			want: want{reason: "PersistentVolumeClaim had no name", unresolvable: true, failed: true}},
		{name: "first failing volume decides", pod: pod("p", claimVol("nope"), claimVol("")), objs: with(),
			want: want{reason: `looking up PVC ns/nope: persistentvolumeclaims "nope" not found`, unresolvable: true}},
		{name: "CSI PV without a volume handle not counted", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("x"))},
			objs:     with(ebsLimit(1), bound("x", "pv-x"), csiPV("pv-x", awsEBSDriver, ""))},
		{name: "non-migrating in-tree PV not counted", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("x"))},
			objs: with(ebsLimit(1), bound("x", "pv-x"),
				inTreePV("pv-x", v1.PersistentVolumeSource{NFS: &v1.NFSVolumeSource{Server: "s", Path: "/"}}))},

		// Generic ephemeral volumes.
		{name: "ephemeral claim missing", pod: eph, objs: with(ebsLimit(5)),
			want: want{reason: `looking up PVC ns/eph-scratch: persistentvolumeclaims "eph-scratch" not found`, unresolvable: true}},
		{name: "ephemeral claim not owned by the pod", pod: eph, objs: with(ebsLimit(5), bound("eph-scratch", "pv-e1")),
			want: want{reason: "PVC ns/eph-scratch was not created for pod ns/eph (pod is not owner)", unresolvable: true, failed: true}},
		{name: "ephemeral claim owned by another pod", pod: eph,
			objs: with(ebsLimit(5), ownedBy(bound("eph-scratch", "pv-e1"), pod("other"))),
			want: want{reason: "PVC ns/eph-scratch was not created for pod ns/eph (pod is not owner)", unresolvable: true, failed: true}},
		{name: "ephemeral volume fits", pod: eph, existing: []*v1.Pod{pod("a", claimVol("e0"))},
			objs: with(ebsLimit(2), ephClaim())},
		{name: "ephemeral volume exceeds", pod: eph, existing: []*v1.Pod{pod("a", claimVol("e0"))},
			objs: with(ebsLimit(1), ephClaim()), want: exceeded},
		{name: "unbound ephemeral claim counts against its class", pod: eph, existing: []*v1.Pod{pod("a", claimVol("e0"))},
			objs: with(ebsLimit(1), ownedBy(unbound("eph-scratch", ebsClass), eph)), want: exceeded},
		{name: "existing pod's ephemeral volume counts", pod: pod("p", claimVol("e0")), existing: []*v1.Pod{eph},
			objs: with(ebsLimit(1), ephClaim()), want: exceeded},
		{name: "existing pod's ephemeral volume is the new pod's PV", pod: pod("p", claimVol("e1")), existing: []*v1.Pod{eph},
			objs: with(ebsLimit(1), ephClaim())},
		{name: "existing pod's ephemeral claim not owned is an error", pod: pod("p", claimVol("e0")), existing: []*v1.Pod{eph},
			objs: with(ebsLimit(1), bound("eph-scratch", "pv-e1")),
			want: want{reason: "PVC ns/eph-scratch was not created for pod ns/eph (pod is not owner)", unresolvable: true, failed: true}},

		// In-tree volumes that migrate to CSI.
		{name: "in-tree EBS PV counts against the EBS CSI driver", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("it"))},
			objs:     with(ebsLimit(1), bound("it", "pv-it"), inTreePV("pv-it", v1.PersistentVolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-9"}})),
			want:     exceeded},
		{name: "in-tree EBS PV and CSI PV of one disk are one volume", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("it"))},
			objs:     with(ebsLimit(1), bound("it", "pv-it"), inTreePV("pv-it", v1.PersistentVolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "aws://us-east-1a/vol-0"}}))},
		{name: "in-tree EBS PV with an ID that does not translate is not counted", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", claimVol("it"))},
			objs:     with(ebsLimit(1), bound("it", "pv-it"), inTreePV("pv-it", v1.PersistentVolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "aws://zone/bad"}}))},
		{name: "in-tree Azure File PV never counted", pod: pod("p", claimVol("af")),
			existing: []*v1.Pod{pod("a", claimVol("it"))},
			objs: with(csiNode(map[string]int32{azureFileDriver: 1}), bound("af", "pv-af"), csiPV("pv-af", azureFileDriver, "share-1"),
				bound("it", "pv-it"), inTreePV("pv-it", v1.PersistentVolumeSource{AzureFile: &v1.AzureFilePersistentVolumeSource{ShareName: "share-0"}}))},
		{name: "inline EBS counts", pod: pod("p", inlineVol("i", ebsInline("vol-9"))),
			existing: []*v1.Pod{pod("a", claimVol("e0"))}, objs: with(ebsLimit(1)), want: exceeded},
		{name: "inline EBS of a disk already on the node is not new", pod: pod("p", inlineVol("i", ebsInline("aws:///vol-0"))),
			existing: []*v1.Pod{pod("a", claimVol("e0"))}, objs: with(ebsLimit(1))},
		{name: "existing pod's inline EBS counts", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", inlineVol("i", ebsInline("vol-9")))}, objs: with(ebsLimit(1)), want: exceeded},
		{name: "inline GCE PD counts against the GCE PD driver", pod: pod("p", claimVol("g0")),
			existing: []*v1.Pod{pod("a", inlineVol("i", v1.VolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: "d"}}))},
			objs:     with(csiNode(map[string]int32{gceDriver: 1})), want: exceeded},
		{name: "inline Cinder, Portworx and Azure Disk count", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a",
				inlineVol("c", v1.VolumeSource{Cinder: &v1.CinderVolumeSource{VolumeID: "c1"}}),
				inlineVol("x", v1.VolumeSource{PortworxVolume: &v1.PortworxVolumeSource{VolumeID: "p1"}}),
				inlineVol("z", v1.VolumeSource{AzureDisk: &v1.AzureDiskVolumeSource{DataDiskURI: "uri"}}))},
			objs: with(csiNode(map[string]int32{awsEBSDriver: 1, cinderDriver: 1, portworxDriver: 1, azureDiskDriver: 1}))},
		{name: "inline Cinder full", pod: pod("p", inlineVol("c", v1.VolumeSource{Cinder: &v1.CinderVolumeSource{VolumeID: "c2"}})),
			existing: []*v1.Pod{pod("a", inlineVol("c", v1.VolumeSource{Cinder: &v1.CinderVolumeSource{VolumeID: "c1"}}))},
			objs:     with(csiNode(map[string]int32{cinderDriver: 1})), want: exceeded},
		{name: "inline EBS that does not translate is an error", pod: pod("p", inlineVol("i", ebsInline("aws://zone/bad"))),
			objs: with(ebsLimit(5)),
			want: want{reason: "converting volume(i) from inline to csi: failed to translate Kubernetes ID to EBS Volume ID Invalid format for AWS volume (aws://zone/bad)",
				unresolvable: true, failed: true}},
		{name: "inline EBS that does not translate passes without a CSINode", pod: pod("p", inlineVol("i", ebsInline("aws://zone/bad"))),
			objs: with()},
		{name: "existing pod's inline volume that does not translate is an error", pod: pod("p", claimVol("e0")),
			existing: []*v1.Pod{pod("a", inlineVol("z", v1.VolumeSource{AzureDisk: &v1.AzureDiskVolumeSource{DataDiskURI: "uri", Kind: new(v1.AzureSharedBlobDisk)}}))},
			objs:     with(ebsLimit(1)), want: want{reason: "converting volume(z) from inline to csi: kind(Shared) is not supported in csi migration",
				unresolvable: true, failed: true}},
		{name: "migration needs no annotation on the CSINode", pod: pod("p", inlineVol("i", ebsInline("vol-9"))),
			existing: []*v1.Pod{pod("a", claimVol("e0"))}, objs: with(ebsLimit(1)), want: exceeded},
		{name: "migrated-plugins annotation naming another plugin changes nothing", pod: pod("p", inlineVol("i", ebsInline("vol-9"))),
			existing: []*v1.Pod{pod("a", claimVol("e0"))},
			objs: with(func() *storagev1.CSINode {
				cn := ebsLimit(1)
				cn.Annotations = map[string]string{v1.MigratedPluginsAnnotationKey: gcePDPlugin}
				return cn
			}()), want: exceeded},
		{name: "migrated-plugins annotation naming the plugin", pod: pod("p", inlineVol("i", ebsInline("vol-9"))),
			existing: []*v1.Pod{pod("a", claimVol("e0"))},
			objs: with(func() *storagev1.CSINode {
				cn := ebsLimit(1)
				cn.Annotations = map[string]string{v1.MigratedPluginsAnnotationKey: awsEBSPlugin}
				return cn
			}()), want: exceeded},

		// VolumeAttachments.
		{name: "attachments count", pod: pod("p", claimVol("e2")),
			objs: with(ebsLimit(2), attachment("va0", nodeName, awsEBSDriver, new("pv-e0")), attachment("va1", nodeName, awsEBSDriver, new("pv-e1"))),
			want: exceeded},
		{name: "attachments under the limit", pod: pod("p", claimVol("e2")),
			objs: with(ebsLimit(2), attachment("va0", nodeName, awsEBSDriver, new("pv-e0")))},
		{name: "attachment of a pod's volume counted once", pod: pod("p", claimVol("e2")),
			existing: []*v1.Pod{pod("a", claimVol("e0"))},
			objs:     with(ebsLimit(2), attachment("va0", nodeName, awsEBSDriver, new("pv-e0")))},
		{name: "two attachments of one PV counted once", pod: pod("p", claimVol("e2")),
			objs: with(ebsLimit(2), attachment("va0", nodeName, awsEBSDriver, new("pv-e0")), attachment("va0b", nodeName, awsEBSDriver, new("pv-e0")))},
		{name: "attachment of the new pod's own volume still counts", pod: pod("p", claimVol("e0")),
			objs: with(ebsLimit(1), attachment("va0", nodeName, awsEBSDriver, new("pv-e0"))), want: exceeded},
		{name: "attachments on another node do not count", pod: pod("p", claimVol("e2")),
			objs: with(ebsLimit(1), attachment("va0", "n2", awsEBSDriver, new("pv-e0")))},
		{name: "attachments count against their attacher", pod: pod("p", claimVol("e2")),
			objs: with(ebsLimit(1), attachment("va0", nodeName, gceDriver, new("pv-e0")))},
		{name: "attachments without attacher, PV name, PV or CSI source are left out", pod: pod("p", claimVol("e2")),
			objs: with(ebsLimit(1), bound("it", "pv-it"), inTreePV("pv-it", v1.PersistentVolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-9"}}),
				attachment("va0", nodeName, "", new("pv-e0")), attachment("va1", nodeName, awsEBSDriver, nil),
				attachment("va2", nodeName, awsEBSDriver, new("missing")), attachment("va3", nodeName, awsEBSDriver, new("pv-it")))},

		// CSIDriver.preventPodSchedulingIfMissing.
		{name: "driver that must be installed is missing from the CSINode", pod: pod("p", claimVol("g0")),
			objs: with(ebsLimit(5), driverObj(gceDriver, new(true))),
			want: want{reason: "pd.csi.storage.gke.io CSI driver is not installed on the node"}},
		{name: "driver that must be installed, no CSINode", pod: pod("p", claimVol("g0")),
			objs: with(driverObj(gceDriver, new(true))),
			want: want{reason: "pd.csi.storage.gke.io CSI driver is not installed on the node"}},
		{name: "driver that must be installed is installed, without a limit", pod: pod("p", claimVol("g0")),
			objs: with(csiNode(map[string]int32{gceDriver: -1}), driverObj(gceDriver, new(true)))},
		{name: "driver that need not be installed", pod: pod("p", claimVol("g0")),
			objs: with(ebsLimit(5), driverObj(gceDriver, new(false)))},
		{name: "driver without a CSIDriver object", pod: pod("p", claimVol("g0")), objs: with(ebsLimit(5))},
		{name: "installation checked for volumes already on the node too", pod: pod("p", claimVol("g0")),
			existing: []*v1.Pod{pod("a", claimVol("g0"))}, objs: with(ebsLimit(5), driverObj(gceDriver, new(true))),
			want: want{reason: "pd.csi.storage.gke.io CSI driver is not installed on the node"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pods []*snapshot.PodInfo
			var existing []*v1.Pod
			for _, p := range tc.existing {
				p = p.DeepCopy()
				p.Spec.NodeName = nodeName
				existing = append(existing, p)
				pods = append(pods, snapshot.NewPodInfo(p))
			}
			n := snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, pods...)
			snap := snapshot.New([]*snapshot.NodeInfo{n}, nil)
			snap.Storage = snapshot.StorageOf(existing, tc.objs...)

			f, v := New().PreFilter(snapshot.NewPodInfo(tc.pod), snap)
			if !v.Fits() {
				t.Fatalf("PreFilter rejected the pod: %+v", v)
			}
			if (f == nil) != tc.noCheck {
				t.Fatalf("PreFilter filter nil = %v, want %v", f == nil, tc.noCheck)
			}
			if f == nil {
				return
			}
			checkVerdict(t, f.Filter(n), tc.want)
		})
	}
}

func checkVerdict(t *testing.T, got snapshot.Verdict, w want) {
	t.Helper()
	if w.reason == "" {
		if !got.Fits() {
			t.Errorf("Filter = %+v, want fit", got)
		}
		return
	}
	if len(got.Reasons) != 1 || got.Reasons[0] != w.reason || got.Unresolvable != w.unresolvable || got.Failed != w.failed {
		t.Errorf("Filter = %+v\nwant reason %q, unresolvable %v, failed %v", got, w.reason, w.unresolvable, w.failed)
	}
}

// TestFilterAfterPodRemoved shows the verdict is resolvable: removing a pod (as preemption would)
// frees its volumes.
func TestFilterAfterPodRemoved(t *testing.T) {
	holder := snapshot.NewPodInfo(pod("holder", claimVol("e0")))
	n := snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, holder)
	snap := snapshot.New([]*snapshot.NodeInfo{n}, nil)
	snap.Storage = snapshot.StorageOf([]*v1.Pod{holder.Pod}, with(ebsLimit(1))...)
	f, _ := New().PreFilter(snapshot.NewPodInfo(pod("p", claimVol("e1"))), snap)
	if v := f.Filter(n); v.Fits() || v.Unresolvable {
		t.Fatalf("node full: Filter = %+v, want a resolvable rejection", v)
	}
	if !n.RemovePod(holder) {
		t.Fatal("RemovePod found no holder")
	}
	if v := f.Filter(n); !v.Fits() {
		t.Errorf("after removing the holder: Filter = %+v, want fit", v)
	}
}

// TestFilterPerNode shows one prepared filter judging nodes with and without a CSINode: the
// pod's in-tree volume fails to translate only where migration is on.
func TestFilterPerNode(t *testing.T) {
	node := func(name string) *snapshot.NodeInfo {
		return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	withCSI, without := node(nodeName), node("bare")
	snap := snapshot.New([]*snapshot.NodeInfo{withCSI, without}, nil)
	snap.Storage = snapshot.StorageOf(nil, with(ebsLimit(3))...)
	f, _ := New().PreFilter(snapshot.NewPodInfo(pod("p", inlineVol("i", ebsInline("aws://zone/bad")))), snap)
	if v := f.Filter(withCSI); !v.Failed || !strings.Contains(v.Reasons[0], "Invalid format for AWS volume") {
		t.Errorf("node with a CSINode: Filter = %+v, want a failure", v)
	}
	if v := f.Filter(without); !v.Fits() {
		t.Errorf("node without a CSINode: Filter = %+v, want fit", v)
	}
}
