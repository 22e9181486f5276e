package config

import "slices"

// ExtensionPoint is one of the scheduling framework's extension points, named as the
// configuration's plugins field names it.
type ExtensionPoint string

// The extension points of kube-scheduler v1.37.
const (
	PreEnqueue         ExtensionPoint = "preEnqueue"
	QueueSort          ExtensionPoint = "queueSort"
	PreFilter          ExtensionPoint = "preFilter"
	Filter             ExtensionPoint = "filter"
	PostFilter         ExtensionPoint = "postFilter"
	PreScore           ExtensionPoint = "preScore"
	Score              ExtensionPoint = "score"
	Reserve            ExtensionPoint = "reserve"
	Permit             ExtensionPoint = "permit"
	PreBind            ExtensionPoint = "preBind"
	Bind               ExtensionPoint = "bind"
	PostBind           ExtensionPoint = "postBind"
	PlacementGenerate  ExtensionPoint = "placementGenerate"
	PlacementScore     ExtensionPoint = "placementScore"
	PodGroupPostFilter ExtensionPoint = "podGroupPostFilter"
)

// extensionPoints are all the points, in the order upstream's framework builds them (and so the
// order in which its errors surface).
var extensionPoints = []ExtensionPoint{
	PreFilter, Filter, PostFilter, Reserve, PreScore, Score, PreBind, Bind, PostBind, Permit,
	PreEnqueue, QueueSort, PlacementGenerate, PlacementScore, PodGroupPostFilter,
}

// multiPoint stands for Plugins.MultiPoint in lists of plugin sets.
const multiPoint ExtensionPoint = "multiPoint"

// pluginSets names every PluginSet of Plugins: the extension points, then multiPoint.
var pluginSets = append(slices.Clone(extensionPoints), multiPoint)

// set returns the PluginSet of point (multiPoint included); nil for an unknown point.
func (p *Plugins) set(point ExtensionPoint) *PluginSet {
	switch point {
	case multiPoint:
		return &p.MultiPoint
	case PreEnqueue:
		return &p.PreEnqueue
	case QueueSort:
		return &p.QueueSort
	case PreFilter:
		return &p.PreFilter
	case Filter:
		return &p.Filter
	case PostFilter:
		return &p.PostFilter
	case PreScore:
		return &p.PreScore
	case Score:
		return &p.Score
	case Reserve:
		return &p.Reserve
	case Permit:
		return &p.Permit
	case PreBind:
		return &p.PreBind
	case Bind:
		return &p.Bind
	case PostBind:
		return &p.PostBind
	case PlacementGenerate:
		return &p.PlacementGenerate
	case PlacementScore:
		return &p.PlacementScore
	case PodGroupPostFilter:
		return &p.PodGroupPostFilter
	}
	return nil
}

// pluginInfo is what the configuration layer knows of an upstream plugin.
type pluginInfo struct {
	// points are the extension points the plugin implements.
	points []ExtensionPoint
	// newArgs returns empty typed arguments; nil when the plugin takes none.
	newArgs func() PluginArgs
}

var (
	filterPoints = []ExtensionPoint{PreFilter, Filter}
	scorePoints  = []ExtensionPoint{PreFilter, Filter, PreScore, Score}
)

// registry holds kube-scheduler v1.37's in-tree plugins, whether or not berth implements them:
// a configuration naming any other plugin is refused.
var registry = map[string]pluginInfo{
	"PrioritySort":                    {points: []ExtensionPoint{QueueSort}},
	"SchedulingGates":                 {points: []ExtensionPoint{PreEnqueue}},
	"DefaultBinder":                   {points: []ExtensionPoint{Bind}},
	"NodeName":                        {points: filterPoints},
	"NodeUnschedulable":               {points: filterPoints},
	"NodePorts":                       {points: filterPoints},
	"NodeDeclaredFeatures":            {points: filterPoints},
	"VolumeRestrictions":              {points: filterPoints},
	"NodeVolumeLimits":                {points: filterPoints},
	"VolumeZone":                      {points: filterPoints},
	"TaintToleration":                 {points: scorePoints},
	"NodeAffinity":                    {points: scorePoints, newArgs: func() PluginArgs { return &NodeAffinityArgs{} }},
	"PodTopologySpread":               {points: scorePoints, newArgs: func() PluginArgs { return &PodTopologySpreadArgs{} }},
	"InterPodAffinity":                {points: scorePoints, newArgs: func() PluginArgs { return &InterPodAffinityArgs{} }},
	"NodeResourcesFit":                {points: append(slices.Clone(scorePoints), PlacementScore), newArgs: func() PluginArgs { return &NodeResourcesFitArgs{} }},
	"NodeResourcesBalancedAllocation": {points: []ExtensionPoint{PreScore, Score}, newArgs: func() PluginArgs { return &NodeResourcesBalancedAllocationArgs{} }},
	"ImageLocality":                   {points: []ExtensionPoint{Score}},
	"VolumeBinding": {points: []ExtensionPoint{PreFilter, Filter, PreScore, Score, Reserve, PreBind},
		newArgs: func() PluginArgs { return &VolumeBindingArgs{} }},
	"DynamicResources": {points: []ExtensionPoint{PreEnqueue, PreFilter, Filter, PostFilter, Score, Reserve, PreBind, PodGroupPostFilter},
		newArgs: func() PluginArgs { return &DynamicResourcesArgs{} }},
	"DefaultPreemption": {points: []ExtensionPoint{PreEnqueue, PostFilter, PodGroupPostFilter},
		newArgs: func() PluginArgs { return &DefaultPreemptionArgs{} }},
	// Not enabled by default in v1.37 (their feature gates are off), but in-tree.
	"DeferredPodScheduling":      {points: []ExtensionPoint{PreFilter, Filter, Permit}},
	"GangScheduling":             {points: []ExtensionPoint{PreEnqueue, Permit}},
	"TopologyPlacementGenerator": {points: []ExtensionPoint{PlacementGenerate}},
	"PodGroupPodsCount":          {points: []ExtensionPoint{PlacementScore}},
}

// Known reports whether name is one of kube-scheduler v1.37's in-tree plugins.
func Known(name string) bool {
	_, ok := registry[name]
	return ok
}

// implements reports whether the plugin called name implements point.
func implements(name string, point ExtensionPoint) bool {
	return slices.Contains(registry[name].points, point)
}

// defaultPlugins returns a fresh copy of kube-scheduler v1.37's default plugins: all enabled
// through multiPoint, with the score weights upstream gives them.
func defaultPlugins() *Plugins {
	w := func(name string, weight int32) Plugin { return Plugin{Name: name, Weight: ptr(weight)} }
	n := func(name string) Plugin { return Plugin{Name: name} }
	return &Plugins{MultiPoint: PluginSet{Enabled: []Plugin{
		n("SchedulingGates"),
		n("PrioritySort"),
		n("NodeName"),
		n("NodeUnschedulable"),
		w("TaintToleration", 3),
		w("NodeAffinity", 2),
		n("NodePorts"),
		w("NodeResourcesFit", 1),
		n("VolumeRestrictions"),
		n("NodeVolumeLimits"),
		n("VolumeBinding"),
		n("VolumeZone"),
		w("PodTopologySpread", 2),
		w("InterPodAffinity", 2),
		w("DynamicResources", 2),
		n("DefaultPreemption"),
		w("NodeResourcesBalancedAllocation", 1),
		w("ImageLocality", 1),
		n("DefaultBinder"),
		n("NodeDeclaredFeatures"),
	}}}
}
