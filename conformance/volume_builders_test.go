package conformance

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Builders for the volume cases. Names are short (see volCase).

const (
	// noProvisioner marks a class of static PVs only.
	noProvisioner = "kubernetes.io/no-provisioner"
	// testProvisioner is the provisioner testenv.StartProvisioner plays for a case's provisioned
	// classes.
	testProvisioner = "berth.test/local"
	// attDriver is a CSI driver whose volumes count against CSINode limits; strictDriver one whose
	// CSIDriver keeps pods off nodes that do not list it; capDriver one that publishes storage
	// capacity.
	attDriver    = "att.csi.berth.test"
	strictDriver = "strict.csi.berth.test"
	capDriver    = "cap.csi.berth.test"
	// ebsDriver is the CSI driver AWS EBS volumes migrate to.
	ebsDriver = "ebs.csi.aws.com"
)

func storageClass(name, provisioner string, mode storagev1.VolumeBindingMode, topologies ...v1.TopologySelectorTerm) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner,
		VolumeBindingMode: &mode, AllowedTopologies: topologies}
}

// wffc is a WaitForFirstConsumer class; immediate an Immediate one.
func wffc(name, provisioner string, topologies ...v1.TopologySelectorTerm) *storagev1.StorageClass {
	return storageClass(name, provisioner, storagev1.VolumeBindingWaitForFirstConsumer, topologies...)
}

func immediate(name, provisioner string) *storagev1.StorageClass {
	return storageClass(name, provisioner, storagev1.VolumeBindingImmediate)
}

// inZones is an allowedTopologies term: the zone label in zones.
func inZones(zones ...string) v1.TopologySelectorTerm {
	return v1.TopologySelectorTerm{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: labelZone, Values: zones}}}
}

type pvOpt func(*v1.PersistentVolume)

// hostPathPV is a ReadWriteOnce PV of class and size, reclaimed by Retain.
func hostPathPV(name, class, size string, opts ...pvOpt) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			PersistentVolumeSource:        v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/mnt/berth-conformance/" + name}},
		},
	}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

// pvAffinity sets the PV's required node affinity to one term of requirement key in values.
func pvAffinity(key string, values ...string) pvOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{
			{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: v1.NodeSelectorOpIn, Values: values}}}}}}
	}
}

// onNodes: the PV can be used on these nodes (short names) only.
func onNodes(nodes ...string) pvOpt { return pvAffinity(labelHostname, nodes...) }

func pvLabels(kv ...string) pvOpt {
	return func(pv *v1.PersistentVolume) {
		if pv.Labels == nil {
			pv.Labels = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			pv.Labels[kv[i]] = kv[i+1]
		}
	}
}

func pvModes(modes ...v1.PersistentVolumeAccessMode) pvOpt {
	return func(pv *v1.PersistentVolume) { pv.Spec.AccessModes = modes }
}

// csiVolume makes the PV a volume of CSI driver, its handle the PV's short name.
func csiVolume(driver string) pvOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Spec.PersistentVolumeSource = v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: "h-" + pv.Name}}
	}
}

func pvAttributes(class string) pvOpt {
	return func(pv *v1.PersistentVolume) { pv.Spec.VolumeAttributesClassName = ptrTo(class) }
}

// preboundTo names claim in the PV's claimRef (its namespace is the copy's); a claim created with
// claimOn(the PV) then binds to it at once.
func preboundTo(claim string) pvOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Name: claim}
	}
}

type claimOpt func(*v1.PersistentVolumeClaim)

// newClaim is a ReadWriteOnce claim of class ("" for none) requesting size.
func newClaim(name, class, size string, opts ...claimOpt) *v1.PersistentVolumeClaim {
	pvc := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: ptrTo(class),
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	for _, o := range opts {
		o(pvc)
	}
	return pvc
}

func claimModes(modes ...v1.PersistentVolumeAccessMode) claimOpt {
	return func(pvc *v1.PersistentVolumeClaim) { pvc.Spec.AccessModes = modes }
}

// claimOn pre-binds the claim to a PV (short name).
func claimOn(pv string) claimOpt {
	return func(pvc *v1.PersistentVolumeClaim) { pvc.Spec.VolumeName = pv }
}

func claimSelector(kv ...string) claimOpt {
	return func(pvc *v1.PersistentVolumeClaim) {
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			sel.MatchLabels[kv[i]] = kv[i+1]
		}
		pvc.Spec.Selector = sel
	}
}

// boundPair is a PV of class and size with opts and a claim of the same name bound to it.
func boundPair(name, class, size string, mode v1.PersistentVolumeAccessMode, opts ...pvOpt) (*v1.PersistentVolume, *v1.PersistentVolumeClaim) {
	opts = append([]pvOpt{preboundTo(name), pvModes(mode)}, opts...)
	return hostPathPV(name, class, size, opts...), newClaim(name, class, size, claimOn(name), claimModes(mode))
}

// withClaims mounts the named claims.
func withClaims(names ...string) podOpt {
	return func(p *v1.Pod) {
		for _, n := range names {
			p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "v-" + n,
				VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: n}}})
		}
	}
}

// withEphemeral adds a generic ephemeral volume: a claim of class and 1Gi, which the ephemeral
// volume controller (not running here) would create as "<pod>-<name>".
func withEphemeral(name, class string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: name, VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{
			VolumeClaimTemplate: &v1.PersistentVolumeClaimTemplate{Spec: newClaim("", class, "1Gi").Spec}}}})
	}
}

// withDisk adds an inline GCE persistent disk.
func withDisk(pd string, readOnly bool) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "disk-" + pd, VolumeSource: v1.VolumeSource{
			GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: pd, ReadOnly: readOnly}}})
	}
}

// withEBS adds an inline AWS EBS volume, an in-tree type that migrates to ebsDriver.
func withEBS(id string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "ebs-" + id, VolumeSource: v1.VolumeSource{
			AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: id}}})
	}
}

// vPod is an incoming pod named name requesting 100m cpu and mounting claims.
func vPod(name string, claims ...string) *v1.Pod {
	p := with(dPod("100m"), withClaims(claims...))
	p.Name = name
	return p
}

// csiNodeOf is node's CSINode listing drivers with their allocatable count (negative: none).
func csiNodeOf(node string, drivers map[string]int32) *storagev1.CSINode {
	n := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: node}}
	for _, d := range slices.Sorted(maps.Keys(drivers)) {
		drv := storagev1.CSINodeDriver{Name: d, NodeID: node}
		if c := drivers[d]; c >= 0 {
			drv.Allocatable = &storagev1.VolumeNodeResources{Count: ptrTo(c)}
		}
		n.Spec.Drivers = append(n.Spec.Drivers, drv)
	}
	return n
}

// capacityIn is a CSIStorageCapacity of class for the nodes of zone: capacity, and
// maximumVolumeSize unless empty.
func capacityIn(name, class, zone, capacity, maxSize string) *storagev1.CSIStorageCapacity {
	c := &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Name: name}, StorageClassName: class,
		NodeTopology: &metav1.LabelSelector{MatchLabels: map[string]string{labelZone: zone}}}
	q := resource.MustParse(capacity)
	c.Capacity = &q
	if maxSize != "" {
		m := resource.MustParse(maxSize)
		c.MaximumVolumeSize = &m
	}
	return c
}

// attachment is a VolumeAttachment of driver's volume pv on node (short names).
func attachment(name, driver, node, pv string) *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: storagev1.VolumeAttachmentSpec{
		Attacher: driver, NodeName: node, Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptrTo(pv)}}}
}

func csiDriver(name string, edit func(*storagev1.CSIDriverSpec)) *storagev1.CSIDriver {
	d := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: name}}
	edit(&d.Spec)
	return d
}

func jsonString(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(raw)
}
