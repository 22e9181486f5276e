package config

import (
	"bytes"
	"os"
	"reflect"
	"testing"
	"time"
)

// TestDefaultMatchesUpstream compares Default with what kube-scheduler v1.37.2 wrote for a file
// holding only apiVersion and kind (testdata/upstream-default.yaml, from its --write-config-to).
func TestDefaultMatchesUpstream(t *testing.T) {
	want, err := os.ReadFile("testdata/upstream-default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := written(t, Default())
	if !reflect.DeepEqual(normalised(t, got), normalised(t, want)) {
		t.Errorf("Default() written:\n%s\nupstream wrote:\n%s", got, want)
	}
	if !bytes.Equal(got, want) {
		t.Logf("same content, different text:\n%s", got)
	}
	if loaded := written(t, mustLoad(t, "")); !bytes.Equal(loaded, got) {
		t.Errorf("loading an empty configuration differs from Default():\n%s", loaded)
	}
}

func TestSetDefaultsKeepsGivenValues(t *testing.T) {
	cfg := mustLoad(t, `parallelism: 3
percentageOfNodesToScore: 40
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
enableProfiling: false
leaderElection: {leaderElect: false, leaseDuration: 30s, resourceName: berth}
clientConnection: {kubeconfig: /k, qps: 5, burst: 7, contentType: application/json}
profiles:
- schedulerName: berth
  percentageOfNodesToScore: 70
`)
	le, cc := cfg.LeaderElection, cfg.ClientConnection
	checks := []struct {
		name      string
		got, want any
	}{
		{"parallelism", *cfg.Parallelism, int32(3)},
		{"percentage", *cfg.PercentageOfNodesToScore, int32(40)},
		{"initial backoff", *cfg.PodInitialBackoffSeconds, int64(2)},
		{"max backoff", *cfg.PodMaxBackoffSeconds, int64(20)},
		{"profiling", *cfg.EnableProfiling, false},
		{"contention profiling is not defaulted without profiling", *cfg.EnableContentionProfiling, false},
		{"leader elect", *le.LeaderElect, false},
		{"lease duration", le.LeaseDuration.Duration, 30 * time.Second},
		{"renew deadline defaulted", le.RenewDeadline.Duration, 10 * time.Second},
		{"resource name", le.ResourceName, "berth"},
		{"resource namespace defaulted", le.ResourceNamespace, "kube-system"},
		{"kubeconfig", cc.Kubeconfig, "/k"},
		{"qps", cc.QPS, float32(5)},
		{"burst", cc.Burst, int32(7)},
		{"content type", cc.ContentType, "application/json"},
		{"scheduler name", cfg.Profiles[0].Name(), "berth"},
		{"profile percentage", *cfg.Profiles[0].PercentageOfNodesToScore, int32(70)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestMergePluginSet(t *testing.T) {
	p := func(name string, w ...int32) Plugin {
		pl := Plugin{Name: name}
		if len(w) > 0 {
			pl.Weight = ptr(w[0])
		}
		return pl
	}
	defaults := PluginSet{Enabled: []Plugin{p("A"), p("B", 2), p("C", 3)}}
	tests := []struct {
		name   string
		custom PluginSet
		want   PluginSet
	}{
		{"nothing custom keeps the defaults", PluginSet{}, defaults},
		{"custom entries come after the defaults", PluginSet{Enabled: []Plugin{p("D")}},
			PluginSet{Enabled: []Plugin{p("A"), p("B", 2), p("C", 3), p("D")}}},
		{"a default re-enabled is replaced in place", PluginSet{Enabled: []Plugin{p("D"), p("B", 9)}},
			PluginSet{Enabled: []Plugin{p("A"), p("B", 9), p("C", 3), p("D")}}},
		{"the last of repeated custom entries replaces, the others are appended", PluginSet{Enabled: []Plugin{p("B", 5), p("B", 6)}},
			PluginSet{Enabled: []Plugin{p("A"), p("B", 6), p("C", 3), p("B", 5)}}},
		{"disabled defaults are dropped and listed without weight", PluginSet{Disabled: []Plugin{p("B", 4)}},
			PluginSet{Enabled: []Plugin{p("A"), p("C", 3)}, Disabled: []Plugin{p("B")}}},
		{"star drops every default", PluginSet{Enabled: []Plugin{p("C", 1)}, Disabled: []Plugin{p("*")}},
			PluginSet{Enabled: []Plugin{p("C", 1)}, Disabled: []Plugin{p("*")}}},
		{"disabled and enabled is enabled, at the end", PluginSet{Enabled: []Plugin{p("A")}, Disabled: []Plugin{p("A")}},
			PluginSet{Enabled: []Plugin{p("B", 2), p("C", 3), p("A")}, Disabled: []Plugin{p("A")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergePluginSet(defaults, tc.custom); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEffectivePluginConfig(t *testing.T) {
	cfg := mustLoad(t, `profiles:
- plugins:
    multiPoint:
      disabled: [{name: VolumeBinding}, {name: DefaultPreemption}]
  pluginConfig:
  - name: VolumeBinding
    args: {bindTimeoutSeconds: 5}
  - name: NodeName
    args: {x: 1}
  - name: NodeResourcesBalancedAllocation
    args: {resources: [{name: cpu}]}
`)
	var names []string
	for _, pc := range cfg.Profiles[0].PluginConfig {
		names = append(names, pc.Name)
	}
	want := []string{"DynamicResources", "InterPodAffinity", "NodeAffinity", "NodeName", "NodeResourcesBalancedAllocation", "NodeResourcesFit", "PodTopologySpread"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("pluginConfig = %v, want the enabled plugins' sorted: %v", names, want)
	}
	ba, ok := cfg.Profiles[0].PluginArgs("NodeResourcesBalancedAllocation").(*NodeResourcesBalancedAllocationArgs)
	if !ok || len(ba.Resources) != 1 || ba.Resources[0].Weight != 1 || ba.Kind != "NodeResourcesBalancedAllocationArgs" || ba.APIVersion != GroupVersion {
		t.Errorf("balanced allocation args = %+v, want cpu with weight defaulted to 1 and the kind set", ba)
	}
	for _, pl := range cfg.Profiles[0].Plugins.MultiPoint.Disabled {
		if pl.Weight == nil || *pl.Weight != 0 {
			t.Errorf("disabled %s has weight %v, want 0 as upstream writes", pl.Name, pl.Weight)
		}
	}
}
