package tainttoleration

import "github.com/berth-scheduler/berth/scheduler/decide"

var _ decide.NodeObjectFilter = filter{}
