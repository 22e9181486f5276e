package interpodaffinity

import (
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var (
	_ decide.FilterPlugin = (*InterPodAffinity)(nil)
	_ decide.ScorePlugin  = (*InterPodAffinity)(nil)
	_ decide.NodeFilter   = (*PodFilter)(nil)
	_ decide.NodeScorer   = (*scorer)(nil)
	_ decide.Normalizer   = (*scorer)(nil)
	_ podChanges          = (*PodFilter)(nil)
)

// podChanges is the optional preemption ability described in the plugin architecture.
type podChanges interface {
	AddPod(p *snapshot.PodInfo, n *snapshot.NodeInfo)
	RemovePod(p *snapshot.PodInfo, n *snapshot.NodeInfo)
}
