package scheduler

import (
	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler/queue"
)

// registerStorageHandlers feeds the cache's storage view (see snapshot.Storage) from the claim,
// volume, StorageClass and CSI informers, and its device view (snapshot.Devices) from the
// resource.k8s.io informers, and tells the queue of the changes that can make a pod the volume
// and device plugins rejected fit.
func (s *Scheduler) registerStorageHandlers(f *kubeclient.Informers) error {
	c := s.cache
	regs := []struct {
		what, kind string
		inf        toolscache.SharedIndexInformer
		h          toolscache.ResourceEventHandlerFuncs
	}{
		{"persistentvolumeclaim", "PersistentVolumeClaim", f.PersistentVolumeClaims(), handler(s, c.SetClaim, c.RemoveClaim, queue.PVCAdd, queue.PVCChange, 0)},
		{"persistentvolume", "PersistentVolume", f.PersistentVolumes(), handler(s, c.SetVolume, c.RemoveVolume, queue.PVAdd, queue.PVChange, 0)},
		{"storageclass", "StorageClass", f.StorageClasses(), handler(s, c.SetClass, c.RemoveClass, queue.StorageClassAdd, queue.StorageClassChange, 0)},
		{"csinode", "CSINode", f.CSINodes(), handler(s, c.SetCSINode, c.RemoveCSINode, queue.CSINodeAdd, queue.CSINodeChange, 0)},
		{"csidriver", "CSIDriver", f.CSIDrivers(), handler(s, c.SetDriver, c.RemoveDriver, 0, queue.CSIDriverChange, 0)},
		{"csistoragecapacity", "CSIStorageCapacity", f.CSIStorageCapacities(), handler(s, c.SetCapacity, c.RemoveCapacity, queue.CSIStorageCapacityAdd, queue.CSIStorageCapacityChange, 0)},
		{"volumeattachment", "VolumeAttachment", f.VolumeAttachments(), handler(s, c.SetAttachment, c.RemoveAttachment, 0, 0, queue.VolumeAttachmentDelete)},
		{"resourceclaim", "ResourceClaim", f.ResourceClaims(), handler(s, c.SetResourceClaim, c.RemoveResourceClaim, queue.ResourceClaimAdd, queue.ResourceClaimChange, queue.ResourceClaimDelete)},
		{"deviceclass", "DeviceClass", f.DeviceClasses(), handler(s, c.SetDeviceClass, c.RemoveDeviceClass, queue.DeviceClassAdd, queue.DeviceClassChange, 0)},
		{"resourceslice", "ResourceSlice", f.ResourceSlices(), handler(s, c.SetResourceSlice, c.RemoveResourceSlice, queue.ResourceSliceAdd, queue.ResourceSliceChange, 0)},
		{"devicetaintrule", "DeviceTaintRule", f.DeviceTaintRules(), handler(s, c.SetDeviceTaintRule, c.RemoveDeviceTaintRule, queue.ResourceSliceChange, queue.ResourceSliceChange, queue.ResourceSliceChange)},
	}
	for _, r := range regs {
		if err := s.addHandler(r.what, r.inf, s.timed(kindLabels(r.kind), r.h)); err != nil {
			return err
		}
	}
	return nil
}

// storageObject are the storage and device types the cache keeps.
type storageObject interface {
	*v1.PersistentVolumeClaim | *v1.PersistentVolume | *storagev1.StorageClass | *storagev1.CSINode |
		*storagev1.CSIDriver | *storagev1.CSIStorageCapacity | *storagev1.VolumeAttachment |
		*resourcev1.ResourceClaim | *resourcev1.DeviceClass | *resourcev1.ResourceSlice | *resourcev1.DeviceTaintRule
}

// handler records objects of type T with set and remove, and raises add, update and del (0:
// none) on the queue.
func handler[T storageObject](s *Scheduler, set, remove func(T), add, update, del queue.Events) toolscache.ResourceEventHandlerFuncs {
	raise := func(ev queue.Events) {
		if ev != 0 {
			s.queue.OnEvent(ev)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if t, ok := o.(T); ok {
				set(t)
				raise(add)
			}
		},
		UpdateFunc: func(_, n any) {
			if t, ok := n.(T); ok {
				set(t)
				raise(update)
			}
		},
		DeleteFunc: func(o any) {
			if t, ok := unwrap[T](o); ok {
				remove(t)
				raise(del)
			}
		},
	}
}
