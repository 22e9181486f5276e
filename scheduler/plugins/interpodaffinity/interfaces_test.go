package interpodaffinity

import (
	"github.com/berth-scheduler/berth/scheduler/decide"
)

var (
	_ decide.FilterPlugin = (*InterPodAffinity)(nil)
	_ decide.ScorePlugin  = (*InterPodAffinity)(nil)
	_ decide.NodeFilter   = (*PodFilter)(nil)
	_ decide.NodeScorer   = (*scorer)(nil)
	_ decide.Normalizer   = (*scorer)(nil)
	_ decide.PodChanger   = (*PodFilter)(nil)
)
