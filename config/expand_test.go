package config

import (
	"fmt"
	"reflect"
	"testing"
)

// names renders plugins as "Name" or "Name:weight".
func names(pls []Plugin) []string {
	out := []string{}
	for _, p := range pls {
		if p.Weight != nil {
			out = append(out, fmt.Sprintf("%s:%d", p.Name, *p.Weight))
		} else {
			out = append(out, p.Name)
		}
	}
	return out
}

func TestEnabled(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		point ExtensionPoint
		want  []string
	}{
		{"default filters in upstream's order", "", Filter, []string{
			"NodeName", "NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit",
			"VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding", "VolumeZone", "PodTopologySpread",
			"InterPodAffinity", "DynamicResources", "NodeDeclaredFeatures"}},
		{"default scores with weights", "", Score, []string{
			"TaintToleration:3", "NodeAffinity:2", "NodeResourcesFit:1", "VolumeBinding:1", "PodTopologySpread:2",
			"InterPodAffinity:2", "DynamicResources:2", "NodeResourcesBalancedAllocation:1", "ImageLocality:1"}},
		{"default queue sort, binder and gates", "", QueueSort, []string{"PrioritySort"}},
		{"default pre-enqueue", "", PreEnqueue, []string{"SchedulingGates", "DynamicResources", "DefaultPreemption"}},
		{"the point's own weight wins over multiPoint's", "profiles:\n- plugins:\n    score:\n      enabled: [{name: ImageLocality, weight: 5}]\n",
			Score, []string{"ImageLocality:5", "TaintToleration:3", "NodeAffinity:2", "NodeResourcesFit:1", "VolumeBinding:1",
				"PodTopologySpread:2", "InterPodAffinity:2", "DynamicResources:2", "NodeResourcesBalancedAllocation:1"}},
		{"disabled at the point only", "profiles:\n- plugins:\n    filter:\n      disabled: [{name: NodePorts}, {name: VolumeZone}]\n",
			Filter, []string{"NodeName", "NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodeResourcesFit",
				"VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding", "PodTopologySpread", "InterPodAffinity",
				"DynamicResources", "NodeDeclaredFeatures"}},
		{"star at the point keeps only its own list", "profiles:\n- plugins:\n    filter:\n      disabled: [{name: '*'}]\n      enabled: [{name: NodePorts}, {name: NodeName}]\n",
			Filter, []string{"NodePorts", "NodeName"}},
		{"star in multiPoint with explicit plugins", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      enabled: [{name: PrioritySort}, {name: DefaultBinder}, {name: TaintToleration, weight: 4}, {name: NodeName}]\n",
			Score, []string{"TaintToleration:4"}},
		{"a zero weight counts as one", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      enabled: [{name: PrioritySort}, {name: DefaultBinder}, {name: ImageLocality, weight: 0}]\n",
			Score, []string{"ImageLocality:1"}},
		{"own entries that override multiPoint come first, the rest last", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      enabled: [{name: PrioritySort}, {name: DefaultBinder}, {name: NodeName}, {name: NodePorts}]\n    filter:\n      enabled: [{name: TaintToleration}, {name: NodePorts}]\n",
			Filter, []string{"NodePorts", "NodeName", "TaintToleration"}},
		{"weights do not apply elsewhere", "", PreScore, []string{"TaintToleration", "NodeAffinity", "NodeResourcesFit",
			"VolumeBinding", "PodTopologySpread", "InterPodAffinity", "NodeResourcesBalancedAllocation"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoad(t, tc.body)
			if got := names(cfg.Profiles[0].Enabled(tc.point)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Enabled(%s) =\n%v\nwant\n%v", tc.point, got, tc.want)
			}
		})
	}
}

func TestProfileHelpers(t *testing.T) {
	cfg := mustLoad(t, "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      enabled: [{name: PrioritySort}, {name: DefaultBinder}, {name: NodeAffinity}]\n")
	p := &cfg.Profiles[0]
	if got, want := p.EnabledPlugins(), []string{"DefaultBinder", "NodeAffinity", "PrioritySort"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EnabledPlugins() = %v, want %v", got, want)
	}
	if _, ok := p.PluginArgs("NodeAffinity").(*NodeAffinityArgs); !ok {
		t.Errorf("PluginArgs(NodeAffinity) = %#v, want defaulted NodeAffinityArgs", p.PluginArgs("NodeAffinity"))
	}
	if a := p.PluginArgs("InterPodAffinity"); a != nil {
		t.Errorf("PluginArgs of a plugin not enabled = %#v, want nil", a)
	}
}
