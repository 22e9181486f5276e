package nodevolumelimits

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEBSHandle(t *testing.T) {
	tests := []struct {
		name, id, want string
		wantErr        bool
	}{
		{name: "bare ID", id: "vol-0123", want: "vol-0123"},
		{name: "bare ID of any form is kept", id: "whatever/else", want: "whatever/else"},
		{name: "empty", id: "", want: ""},
		{name: "URL with zone", id: "aws://us-east-1a/vol-0123", want: "vol-0123"},
		{name: "URL without zone", id: "aws:///vol-0123", want: "vol-0123"},
		{name: "URL with a path that is no volume", id: "aws://us-east-1a/disk-1", wantErr: true},
		{name: "URL with nested path", id: "aws://us-east-1a/x/vol-1", wantErr: true},
		{name: "URL that does not parse", id: "aws://%zz/vol-1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ebsHandle(tc.id)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ebsHandle(%q) = %q, %v; want %q, error %v", tc.id, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestGCEPDVolumeHandle(t *testing.T) {
	tests := []struct {
		name    string
		labels  map[string]string
		want    string
		wantErr bool
	}{
		{name: "no zone label", want: "projects/UNSPECIFIED/zones/UNSPECIFIED/disks/d"},
		{name: "zonal, topology label", labels: map[string]string{v1.LabelTopologyZone: "us-central1-a"},
			want: "projects/UNSPECIFIED/zones/us-central1-a/disks/d"},
		{name: "beta label first", labels: map[string]string{v1.LabelFailureDomainBetaZone: "europe-west1-b", v1.LabelTopologyZone: "us-central1-a"},
			want: "projects/UNSPECIFIED/zones/europe-west1-b/disks/d"},
		{name: "regional", labels: map[string]string{v1.LabelTopologyZone: "us-central1-a__us-central1-b"},
			want: "projects/UNSPECIFIED/regions/us-central1/disks/d"},
		{name: "regional across regions", labels: map[string]string{v1.LabelTopologyZone: "us-central1-a__europe-west1-b"}, wantErr: true},
		{name: "regional with a malformed zone", labels: map[string]string{v1.LabelTopologyZone: "us-central1-a__zone"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv", Labels: tc.labels},
				Spec: v1.PersistentVolumeSpec{PersistentVolumeSource: v1.PersistentVolumeSource{
					GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: "d"}}}}
			got, err := gcePDVolumeHandle(pv)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("gcePDVolumeHandle = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestAzureDiskHandle(t *testing.T) {
	tests := []struct {
		name    string
		kind    *v1.AzureDataDiskKind
		wantErr bool
	}{
		{name: "kind unset"},
		{name: "managed", kind: new(v1.AzureManagedDisk)},
		{name: "managed, any case", kind: new(v1.AzureDataDiskKind("managed"))},
		{name: "shared blob", kind: new(v1.AzureSharedBlobDisk), wantErr: true},
		{name: "dedicated blob", kind: new(v1.AzureDedicatedBlobDisk), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := azureDiskHandle(&v1.AzureDiskVolumeSource{DataDiskURI: "uri", Kind: tc.kind})
			if (err != nil) != tc.wantErr || (err == nil && got != "uri") {
				t.Errorf("azureDiskHandle = %q, %v; want uri, error %v", got, err, tc.wantErr)
			}
		})
	}
}

// TestInTreeTypes checks each migrating type is found from an inline volume, a PV and its
// provisioner name, and maps to its CSI driver; only Azure File and vSphere are never counted.
func TestInTreeTypes(t *testing.T) {
	tests := []struct {
		plugin, driver string
		src            v1.VolumeSource
		pv             v1.PersistentVolumeSource
		counted        bool
	}{
		{awsEBSPlugin, "ebs.csi.aws.com", v1.VolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{}},
			v1.PersistentVolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{}}, true},
		{gcePDPlugin, "pd.csi.storage.gke.io", v1.VolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{}},
			v1.PersistentVolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{}}, true},
		{azureDiskPlugin, "disk.csi.azure.com", v1.VolumeSource{AzureDisk: &v1.AzureDiskVolumeSource{}},
			v1.PersistentVolumeSource{AzureDisk: &v1.AzureDiskVolumeSource{}}, true},
		{azureFilePlugin, "file.csi.azure.com", v1.VolumeSource{AzureFile: &v1.AzureFileVolumeSource{}},
			v1.PersistentVolumeSource{AzureFile: &v1.AzureFilePersistentVolumeSource{}}, false},
		{cinderPlugin, "cinder.csi.openstack.org", v1.VolumeSource{Cinder: &v1.CinderVolumeSource{}},
			v1.PersistentVolumeSource{Cinder: &v1.CinderPersistentVolumeSource{}}, true},
		{vSpherePlugin, "csi.vsphere.vmware.com", v1.VolumeSource{VsphereVolume: &v1.VsphereVirtualDiskVolumeSource{}},
			v1.PersistentVolumeSource{VsphereVolume: &v1.VsphereVirtualDiskVolumeSource{}}, false},
		{portworxPlugin, "pxd.portworx.com", v1.VolumeSource{PortworxVolume: &v1.PortworxVolumeSource{}},
			v1.PersistentVolumeSource{PortworxVolume: &v1.PortworxVolumeSource{}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.plugin, func(t *testing.T) {
			vol := &v1.Volume{Name: "v", VolumeSource: tc.src}
			pv := &v1.PersistentVolume{Spec: v1.PersistentVolumeSpec{PersistentVolumeSource: tc.pv}}
			for what, got := range map[string]*inTree{"inline": inlineType(vol), "pv": pvType(pv), "provisioner": pluginType(tc.plugin)} {
				if got == nil || got.plugin != tc.plugin || got.driver != tc.driver || got.counted != tc.counted {
					t.Errorf("%s: type %+v, want plugin %s, driver %s, counted %v", what, got, tc.plugin, tc.driver, tc.counted)
				}
			}
			if !judges(&v1.Pod{Spec: v1.PodSpec{Volumes: []v1.Volume{*vol}}}) {
				t.Error("a pod with the inline volume is not judged")
			}
		})
	}
	other := &v1.Volume{Name: "v", VolumeSource: v1.VolumeSource{NFS: &v1.NFSVolumeSource{}}}
	if inlineType(other) != nil || pluginType("kubernetes.io/nfs") != nil || pluginType(awsEBSDriver) != nil {
		t.Error("a type that does not migrate was found")
	}
}
