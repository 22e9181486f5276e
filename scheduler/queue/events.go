package queue

import "strings"

// Events is a set of cluster event kinds, one bit each. The caller tells the queue which
// events could make an unschedulable pod fit (usually the union of what the rejecting plugins
// care about) and reports events as they happen; the queue only intersects the bits.
type Events uint32

// The event kinds. Their labels (String) follow upstream's ClusterEvent labels.
const (
	// NodeAdd: a node was added.
	NodeAdd Events = 1 << iota
	// NodeChange: a node's allocatable, labels, taints or spec.unschedulable changed.
	NodeChange
	// AssignedPodAdd: a pod bound to a node appeared.
	AssignedPodAdd
	// AssignedPodChange: a pod bound to a node changed (labels, resources).
	AssignedPodChange
	// AssignedPodDelete: a pod bound to a node went away, freeing room.
	AssignedPodDelete
	// NamespaceChange: a namespace was added or its labels changed.
	NamespaceChange
	// PodChange: the pending pod itself changed its labels or spec (or the names of its
	// generated ResourceClaims in its status). The queue raises it for the pod named in Update;
	// callers include it in a pod's interest when the rejecting plugins would judge an updated
	// pod differently.
	PodChange
	// PVCAdd, PVCChange: a PersistentVolumeClaim was added or changed.
	PVCAdd
	PVCChange
	// PVAdd, PVChange: a PersistentVolume was added or changed.
	PVAdd
	PVChange
	// StorageClassAdd, StorageClassChange: a StorageClass was added or changed.
	StorageClassAdd
	StorageClassChange
	// CSINodeAdd, CSINodeChange: a CSINode was added or changed.
	CSINodeAdd
	CSINodeChange
	// CSIDriverChange: a CSIDriver changed.
	CSIDriverChange
	// CSIStorageCapacityAdd, CSIStorageCapacityChange: a CSIStorageCapacity was added or changed.
	CSIStorageCapacityAdd
	CSIStorageCapacityChange
	// VolumeAttachmentDelete: a VolumeAttachment was deleted (a volume detached).
	VolumeAttachmentDelete
	// ResourceClaimAdd, ResourceClaimChange, ResourceClaimDelete: a ResourceClaim was added,
	// changed (allocated, deallocated, reserved) or deleted.
	ResourceClaimAdd
	ResourceClaimChange
	ResourceClaimDelete
	// ResourceSliceAdd, ResourceSliceChange: a ResourceSlice was added or changed (a
	// DeviceTaintRule's change is reported as a ResourceSliceChange: it changes devices too).
	ResourceSliceAdd
	ResourceSliceChange
	// DeviceClassAdd, DeviceClassChange: a DeviceClass was added or changed.
	DeviceClassAdd
	DeviceClassChange
)

// StorageEvents are the storage event kinds.
const StorageEvents = PVCAdd | PVCChange | PVAdd | PVChange | StorageClassAdd | StorageClassChange |
	CSINodeAdd | CSINodeChange | CSIDriverChange | CSIStorageCapacityAdd | CSIStorageCapacityChange | VolumeAttachmentDelete

// DeviceEvents are the resource.k8s.io event kinds.
const DeviceEvents = ResourceClaimAdd | ResourceClaimChange | ResourceClaimDelete | ResourceSliceAdd |
	ResourceSliceChange | DeviceClassAdd | DeviceClassChange

// AllEvents matches every event kind.
const AllEvents = NodeAdd | NodeChange | AssignedPodAdd | AssignedPodChange | AssignedPodDelete |
	NamespaceChange | PodChange | StorageEvents | DeviceEvents

// numEventKinds is the number of bits in AllEvents.
const numEventKinds = 26

var eventLabels = [numEventKinds]string{
	"NodeAdd",
	"NodeUpdate",
	"AssignedPodAdd",
	"AssignedPodUpdate",
	"AssignedPodDelete",
	"NamespaceUpdate",
	"TargetPodUpdate",
	"PersistentVolumeClaimAdd",
	"PersistentVolumeClaimUpdate",
	"PersistentVolumeAdd",
	"PersistentVolumeUpdate",
	"StorageClassAdd",
	"StorageClassUpdate",
	"CSINodeAdd",
	"CSINodeUpdate",
	"CSIDriverUpdate",
	"CSIStorageCapacityAdd",
	"CSIStorageCapacityUpdate",
	"VolumeAttachmentDelete",
	"ResourceClaimAdd",
	"ResourceClaimUpdate",
	"ResourceClaimDelete",
	"ResourceSliceAdd",
	"ResourceSliceUpdate",
	"DeviceClassAdd",
	"DeviceClassUpdate",
}

// String returns the labels of the set bits joined by "|", or "None" for the empty set.
func (e Events) String() string {
	var names []string
	for i, label := range eventLabels {
		if e&(1<<i) != 0 {
			names = append(names, label)
		}
	}
	if len(names) == 0 {
		return "None"
	}
	return strings.Join(names, "|")
}

// Event labels the queue itself uses when reporting incoming pods.
const (
	eventPodAdd          = "UnscheduledPodAdd"
	eventGatesRemoved    = "TargetPodUpdatePodSchedulingGatesEliminated"
	eventAttemptFailure  = "ScheduleAttemptFailure"
	eventBackoffComplete = "BackoffComplete"
	eventTimeout         = "UnschedulableTimeout"
)
