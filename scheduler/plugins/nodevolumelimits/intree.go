package nodevolumelimits

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// inTree is an in-tree volume type that migrates to a CSI driver, as kube's CSI translation
// knows it. Only the part this plugin needs is here: how to recognise the type on an inline
// volume or a PV, its in-tree plugin name (a StorageClass's provisioner), its CSI driver, and
// the volume handle the driver would see, which is what makes two uses of a disk one volume.
type inTree struct {
	// plugin is the in-tree plugin name, e.g. "kubernetes.io/aws-ebs".
	plugin string
	// driver is the name of the CSI driver the type migrates to.
	driver string
	// counted is false for the types whose migration kube-scheduler v1.37's NodeVolumeLimits
	// never treats as on (Azure File, vSphere): their volumes are never counted.
	counted bool
	// inline and pv report whether a volume source is of this type.
	inline func(*v1.Volume) bool
	pv     func(*v1.PersistentVolume) bool
	// inlineHandle and pvHandle return the volume handle of a counted type's volume, or an
	// error when the volume cannot be translated to CSI. Nil for types never counted.
	inlineHandle func(*v1.Volume) (string, error)
	pvHandle     func(*v1.PersistentVolume) (string, error)
}

// The in-tree plugin names and CSI driver names, as Kubernetes spells them.
const (
	awsEBSPlugin    = "kubernetes.io/aws-ebs"
	awsEBSDriver    = "ebs.csi.aws.com"
	gcePDPlugin     = "kubernetes.io/gce-pd"
	gcePDDriver     = "pd.csi.storage.gke.io"
	azureDiskPlugin = "kubernetes.io/azure-disk"
	azureDiskDriver = "disk.csi.azure.com"
	azureFilePlugin = "kubernetes.io/azure-file"
	azureFileDriver = "file.csi.azure.com"
	cinderPlugin    = "kubernetes.io/cinder"
	cinderDriver    = "cinder.csi.openstack.org"
	vSpherePlugin   = "kubernetes.io/vsphere-volume"
	vSphereDriver   = "csi.vsphere.vmware.com"
	portworxPlugin  = "kubernetes.io/portworx-volume"
	portworxDriver  = "pxd.portworx.com"
)

// inTreeTypes are the migrating in-tree volume types. A valid volume source sets one type only,
// so the order matters only for invalid ones; it is fixed so that the answer is too.
var inTreeTypes = []*inTree{
	{
		plugin: awsEBSPlugin, driver: awsEBSDriver, counted: true,
		inline: func(v *v1.Volume) bool { return v.AWSElasticBlockStore != nil },
		pv:     func(pv *v1.PersistentVolume) bool { return pv.Spec.AWSElasticBlockStore != nil },
		inlineHandle: func(v *v1.Volume) (string, error) {
			return ebsHandle(v.AWSElasticBlockStore.VolumeID)
		},
		pvHandle: func(pv *v1.PersistentVolume) (string, error) {
			return ebsHandle(pv.Spec.AWSElasticBlockStore.VolumeID)
		},
	},
	{
		plugin: gcePDPlugin, driver: gcePDDriver, counted: true,
		inline: func(v *v1.Volume) bool { return v.GCEPersistentDisk != nil },
		pv:     func(pv *v1.PersistentVolume) bool { return pv.Spec.GCEPersistentDisk != nil },
		inlineHandle: func(v *v1.Volume) (string, error) {
			return gcePDZonalHandle(gceUnspecified, v.GCEPersistentDisk.PDName), nil
		},
		pvHandle: gcePDVolumeHandle,
	},
	{
		plugin: azureDiskPlugin, driver: azureDiskDriver, counted: true,
		inline: func(v *v1.Volume) bool { return v.AzureDisk != nil },
		pv:     func(pv *v1.PersistentVolume) bool { return pv.Spec.AzureDisk != nil },
		inlineHandle: func(v *v1.Volume) (string, error) {
			return azureDiskHandle(v.AzureDisk)
		},
		pvHandle: func(pv *v1.PersistentVolume) (string, error) {
			return azureDiskHandle(pv.Spec.AzureDisk)
		},
	},
	{
		plugin: azureFilePlugin, driver: azureFileDriver,
		inline: func(v *v1.Volume) bool { return v.AzureFile != nil },
		pv:     func(pv *v1.PersistentVolume) bool { return pv.Spec.AzureFile != nil },
	},
	{
		plugin: cinderPlugin, driver: cinderDriver, counted: true,
		inline:       func(v *v1.Volume) bool { return v.Cinder != nil },
		pv:           func(pv *v1.PersistentVolume) bool { return pv.Spec.Cinder != nil },
		inlineHandle: func(v *v1.Volume) (string, error) { return v.Cinder.VolumeID, nil },
		pvHandle:     func(pv *v1.PersistentVolume) (string, error) { return pv.Spec.Cinder.VolumeID, nil },
	},
	{
		plugin: vSpherePlugin, driver: vSphereDriver,
		inline: func(v *v1.Volume) bool { return v.VsphereVolume != nil },
		pv:     func(pv *v1.PersistentVolume) bool { return pv.Spec.VsphereVolume != nil },
	},
	{
		plugin: portworxPlugin, driver: portworxDriver, counted: true,
		inline:       func(v *v1.Volume) bool { return v.PortworxVolume != nil },
		pv:           func(pv *v1.PersistentVolume) bool { return pv.Spec.PortworxVolume != nil },
		inlineHandle: func(v *v1.Volume) (string, error) { return v.PortworxVolume.VolumeID, nil },
		pvHandle:     func(pv *v1.PersistentVolume) (string, error) { return pv.Spec.PortworxVolume.VolumeID, nil },
	},
}

// inlineType returns the migrating in-tree type of an inline volume, or nil.
func inlineType(v *v1.Volume) *inTree {
	for _, t := range inTreeTypes {
		if t.inline(v) {
			return t
		}
	}
	return nil
}

// pvType returns the migrating in-tree type of a PV, or nil.
func pvType(pv *v1.PersistentVolume) *inTree {
	for _, t := range inTreeTypes {
		if t.pv(pv) {
			return t
		}
	}
	return nil
}

// pluginType returns the migrating in-tree type whose plugin name is provisioner, or nil.
func pluginType(provisioner string) *inTree {
	for _, t := range inTreeTypes {
		if t.plugin == provisioner {
			return t
		}
	}
	return nil
}

// awsVolumeID is the form of an EBS volume ID inside an "aws://" URL.
var awsVolumeID = regexp.MustCompile("^vol-[^/]*$")

// ebsHandle turns an in-tree EBS volumeID ("vol-123", "aws://zone/vol-123", "aws:///vol-123")
// into the EBS CSI driver's volume handle ("vol-123"). A volumeID without the aws:// prefix is
// taken as it is.
func ebsHandle(volumeID string) (string, error) {
	if !strings.HasPrefix(volumeID, "aws://") {
		return volumeID, nil
	}
	u, err := url.Parse(volumeID)
	if err != nil {
		return "", fmt.Errorf("failed to translate Kubernetes ID to EBS Volume ID Invalid disk name (%s): %v", volumeID, err)
	}
	if u.Scheme != "aws" {
		return "", fmt.Errorf("failed to translate Kubernetes ID to EBS Volume ID Invalid scheme for AWS volume (%s)", volumeID)
	}
	id := strings.Trim(u.Path, "/")
	if !awsVolumeID.MatchString(id) {
		return "", fmt.Errorf("failed to translate Kubernetes ID to EBS Volume ID Invalid format for AWS volume (%s)", volumeID)
	}
	return id, nil
}

// gceUnspecified stands for the project, and the zone when unknown, in a GCE PD volume handle.
const gceUnspecified = "UNSPECIFIED"

// gceMultiZoneDelimiter separates the zones of a regional disk in a PV's zone label.
const gceMultiZoneDelimiter = "__"

func gcePDZonalHandle(zone, disk string) string {
	return "projects/" + gceUnspecified + "/zones/" + zone + "/disks/" + disk
}

// gcePDVolumeHandle returns the GCE PD CSI volume handle of an in-tree GCE PD PV: zonal when the
// PV's zone label (beta failure-domain first, then topology.kubernetes.io/zone) names one zone,
// regional when it names several zones of one region, and with an unspecified zone otherwise.
func gcePDVolumeHandle(pv *v1.PersistentVolume) (string, error) {
	disk := pv.Spec.GCEPersistentDisk.PDName
	label := pv.Labels[v1.LabelFailureDomainBetaZone]
	if label == "" {
		label = pv.Labels[v1.LabelTopologyZone]
	}
	zones := strings.Split(label, gceMultiZoneDelimiter)
	switch {
	case len(zones) == 1 && zones[0] != "":
		return gcePDZonalHandle(zones[0], disk), nil
	case len(zones) > 1:
		region, err := gceRegion(zones)
		if err != nil {
			return "", fmt.Errorf("failed to get region from zones: %w", err)
		}
		return "projects/" + gceUnspecified + "/regions/" + region + "/disks/" + disk, nil
	}
	return gcePDZonalHandle(gceUnspecified, disk), nil
}

// gceRegion returns the one region of zones, each "{locale}-{region}-{zone}".
func gceRegion(zones []string) (string, error) {
	region := ""
	for _, z := range zones {
		parts := strings.Split(z, "-")
		if len(parts) != 3 {
			return "", fmt.Errorf("zone in unexpected format, expected: {locale}-{region}-{zone}, got: %v", z)
		}
		r := parts[0] + "-" + parts[1]
		if region != "" && r != region {
			return "", errors.New("multiple regions gotten from zones")
		}
		region = r
	}
	return region, nil
}

// azureDiskHandle returns the Azure Disk CSI volume handle (the data disk URI) of a managed disk;
// other kinds do not migrate.
func azureDiskHandle(src *v1.AzureDiskVolumeSource) (string, error) {
	if src.Kind != nil && !strings.EqualFold(string(*src.Kind), string(v1.AzureManagedDisk)) {
		return "", fmt.Errorf("kind(%v) is not supported in csi migration", *src.Kind)
	}
	return src.DataDiskURI, nil
}
