package scheduler

import (
	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
	"github.com/berth-scheduler/berth/scheduler/plugins/interpodaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodedeclaredfeatures"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodename"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeports"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeunschedulable"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodevolumelimits"
	"github.com/berth-scheduler/berth/scheduler/plugins/podtopologyspread"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumebinding"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumerestrictions"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumezone"
	"github.com/berth-scheduler/berth/scheduler/queue"
)

// Events that can make a pod fit after a plugin rejected it (upstream's queueing hints, coarsely).
var (
	nodeEvents      = queue.NodeAdd | queue.NodeChange
	podEvents       = queue.AssignedPodAdd | queue.AssignedPodChange | queue.AssignedPodDelete
	defaultInterest = map[string]queue.Events{
		nodeunschedulable.Name:    nodeEvents | queue.PodChange,
		nodename.Name:             queue.NodeAdd,
		tainttoleration.Name:      nodeEvents | queue.PodChange,
		nodeaffinity.Name:         nodeEvents | queue.PodChange,
		nodedeclaredfeatures.Name: nodeEvents | queue.PodChange,
		nodeports.Name:            queue.NodeAdd | queue.AssignedPodDelete | queue.PodChange,
		// A DeviceClass may come to provide an extended resource the pod lacked (DRAExtendedResource).
		noderesources.FitName: nodeEvents | queue.AssignedPodDelete | queue.AssignedPodChange | queue.PodChange |
			queue.DeviceClassAdd | queue.DeviceClassChange,
		podtopologyspread.Name: nodeEvents | podEvents | queue.PodChange,
		interpodaffinity.Name:  nodeEvents | podEvents | queue.NamespaceChange | queue.PodChange,
		// spec.volumes cannot change: no PodChange for the volume plugins.
		volumebinding.Name: nodeEvents | queue.PVCAdd | queue.PVCChange | queue.PVAdd | queue.PVChange | queue.StorageClassAdd |
			queue.StorageClassChange | queue.CSINodeAdd | queue.CSINodeChange | queue.CSIDriverChange | queue.CSIStorageCapacityAdd |
			queue.CSIStorageCapacityChange,
		volumerestrictions.Name: queue.NodeAdd | queue.AssignedPodDelete | queue.PVCAdd,
		volumezone.Name: nodeEvents | queue.PVCAdd | queue.PVCChange | queue.PVAdd | queue.PVChange |
			queue.StorageClassAdd,
		// As upstream: claims, classes and slices; the pod's own change covers the names of
		// its generated claims appearing in its status.
		dynamicresources.Name: nodeEvents | queue.PodChange | queue.DeviceEvents,
		nodevolumelimits.Name: queue.CSINodeAdd | queue.CSINodeChange | queue.AssignedPodDelete | queue.PVCAdd | queue.VolumeAttachmentDelete | queue.PodChange,
	}
)

// DefaultProfile builds kube-scheduler v1.37's default profile (its default plugins, arguments
// and weights, see config.Default) for pods whose spec.schedulerName is name, through
// ProfilesFromConfig: there is one wiring. The order is upstream's: cheap node-local checks first
// (so most rejections cost little), then resources, then the checks that need cluster-wide counts
// (topology spread, inter-pod affinity). seed makes tie-breaking reproducible. f provides the
// Services and controllers that default topology spreading reads (nil: none).
func DefaultProfile(name string, f *kubeclient.Informers, seed uint64) (Profile, error) {
	cfg := config.Default()
	cfg.Profiles[0].SchedulerName = &name
	profiles, err := ProfilesFromConfig(cfg, f, seed)
	if err != nil {
		return Profile{}, err
	}
	return profiles[0], nil
}
