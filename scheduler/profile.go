package scheduler

import (
	"fmt"

	"k8s.io/client-go/informers"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/imagelocality"
	"github.com/berth-scheduler/berth/scheduler/plugins/interpodaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodename"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeports"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeunschedulable"
	"github.com/berth-scheduler/berth/scheduler/plugins/podtopologyspread"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/queue"
)

// Events that can make a pod fit after a plugin rejected it (upstream's queueing hints, coarsely).
var (
	nodeEvents      = queue.NodeAdd | queue.NodeChange
	podEvents       = queue.AssignedPodAdd | queue.AssignedPodChange | queue.AssignedPodDelete
	defaultInterest = map[string]queue.Events{
		nodeunschedulable.Name: nodeEvents | queue.PodChange,
		nodename.Name:          queue.NodeAdd,
		tainttoleration.Name:   nodeEvents | queue.PodChange,
		nodeaffinity.Name:      nodeEvents | queue.PodChange,
		nodeports.Name:         queue.NodeAdd | queue.AssignedPodDelete | queue.PodChange,
		noderesources.FitName:  nodeEvents | queue.AssignedPodDelete | queue.AssignedPodChange | queue.PodChange,
		podtopologyspread.Name: nodeEvents | podEvents | queue.PodChange,
		interpodaffinity.Name:  nodeEvents | podEvents | queue.NamespaceChange | queue.PodChange,
	}
)

// DefaultProfile wires kube-scheduler v1.37's default plugins, with its default arguments and
// weights, for pods whose spec.schedulerName is name. The order is upstream's: cheap node-local
// checks first (so most rejections cost little), then resources, then the checks that need
// cluster-wide counts (topology spread, inter-pod affinity). seed makes tie-breaking reproducible.
// The factory provides the Services and controllers that default topology spreading reads.
func DefaultProfile(name string, f informers.SharedInformerFactory, seed uint64) (Profile, error) {
	fit, err := noderesources.NewFit(noderesources.DefaultFitArgs())
	if err != nil {
		return Profile{}, fmt.Errorf("NodeResourcesFit: %w", err)
	}
	balanced, err := noderesources.NewBalancedAllocation(noderesources.DefaultBalancedAllocationArgs())
	if err != nil {
		return Profile{}, fmt.Errorf("NodeResourcesBalancedAllocation: %w", err)
	}
	affinity, err := nodeaffinity.New(nodeaffinity.DefaultArgs())
	if err != nil {
		return Profile{}, fmt.Errorf("NodeAffinity: %w", err)
	}
	spread, err := podtopologyspread.New(podtopologyspread.DefaultArgs(), podtopologyspread.Listers{
		Services:               f.Core().V1().Services().Lister(),
		ReplicationControllers: f.Core().V1().ReplicationControllers().Lister(),
		ReplicaSets:            f.Apps().V1().ReplicaSets().Lister(),
		StatefulSets:           f.Apps().V1().StatefulSets().Lister(),
	})
	if err != nil {
		return Profile{}, fmt.Errorf("PodTopologySpread: %w", err)
	}
	interPod, err := interpodaffinity.New(interpodaffinity.DefaultArgs())
	if err != nil {
		return Profile{}, fmt.Errorf("InterPodAffinity: %w", err)
	}
	taints := tainttoleration.New()

	d, err := decide.New(decide.Profile{
		Filters: []decide.FilterPlugin{
			nodeunschedulable.New(),
			nodename.New(),
			taints,
			affinity,
			nodeports.New(),
			fit,
			spread,
			interPod,
		},
		Scorers: []decide.WeightedScorer{
			{Plugin: taints, Weight: 3},
			{Plugin: affinity, Weight: 2},
			{Plugin: fit, Weight: 1},
			{Plugin: spread, Weight: 2},
			{Plugin: interPod, Weight: 2},
			{Plugin: balanced, Weight: 1},
			{Plugin: imagelocality.New(), Weight: 1},
		},
		Seed: seed,
	})
	if err != nil {
		return Profile{}, err
	}
	return Profile{SchedulerName: name, Decider: d, Interest: defaultInterest}, nil
}
