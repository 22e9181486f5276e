package config

import (
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DefaultSchedulerName is the scheduler name of the profile a configuration without profiles gets.
const DefaultSchedulerName = "default-scheduler"

// setDefaults applies kube-scheduler v1.37's v1 defaults, in upstream's order.
func setDefaults(c *KubeSchedulerConfiguration) {
	if c.Parallelism == nil {
		c.Parallelism = ptr[int32](16)
	}
	if len(c.Profiles) == 0 {
		c.Profiles = append(c.Profiles, Profile{})
	}
	// Only a lone profile is named by default; validation requires names of the others.
	if len(c.Profiles) == 1 && c.Profiles[0].SchedulerName == nil {
		c.Profiles[0].SchedulerName = ptr(DefaultSchedulerName)
	}
	for i := range c.Profiles {
		defaultProfile(&c.Profiles[i])
	}
	if c.PercentageOfNodesToScore == nil {
		c.PercentageOfNodesToScore = ptr[int32](0)
	}

	le := &c.LeaderElection
	if le.ResourceLock == "" {
		le.ResourceLock = "leases"
	}
	if le.ResourceNamespace == "" {
		le.ResourceNamespace = "kube-system"
	}
	if le.ResourceName == "" {
		le.ResourceName = "kube-scheduler"
	}
	if le.LeaseDuration.Duration == 0 {
		le.LeaseDuration.Duration = 15 * time.Second
	}
	if le.RenewDeadline.Duration == 0 {
		le.RenewDeadline.Duration = 10 * time.Second
	}
	if le.RetryPeriod.Duration == 0 {
		le.RetryPeriod.Duration = 2 * time.Second
	}
	if le.LeaderElect == nil {
		le.LeaderElect = ptr(true)
	}

	cc := &c.ClientConnection
	if cc.ContentType == "" {
		cc.ContentType = "application/vnd.kubernetes.protobuf"
	}
	if cc.QPS == 0 {
		cc.QPS = 50
	}
	if cc.Burst == 0 {
		cc.Burst = 100
	}

	if c.PodInitialBackoffSeconds == nil {
		c.PodInitialBackoffSeconds = ptr[int64](1)
	}
	if c.PodMaxBackoffSeconds == nil {
		c.PodMaxBackoffSeconds = ptr[int64](10)
	}
	if c.EnableProfiling == nil {
		c.EnableProfiling = ptr(true)
	}
	if *c.EnableProfiling && c.EnableContentionProfiling == nil {
		c.EnableContentionProfiling = ptr(true)
	}
}

// defaultProfile merges the default plugins into p's and gives every enabled plugin that takes
// arguments defaulted arguments.
func defaultProfile(p *Profile) {
	p.Plugins = mergePlugins(defaultPlugins(), p.Plugins)
	configured := map[string]bool{}
	for i := range p.PluginConfig {
		configured[p.PluginConfig[i].Name] = true
		if obj := p.PluginConfig[i].Args.Object; obj != nil {
			obj.setDefaults()
		}
	}
	for _, name := range argNames(p.Plugins) {
		info := registry[name]
		if configured[name] || info.newArgs == nil {
			continue
		}
		obj := info.newArgs()
		obj.setDefaults()
		p.PluginConfig = append(p.PluginConfig, PluginConfig{Name: name, Args: Args{Object: obj}})
	}
}

// argNames returns, sorted, the plugins enabled anywhere but podGroupPostFilter: the ones
// upstream's defaulting gives arguments to.
func argNames(p *Plugins) []string {
	var names []string
	for _, point := range pluginSets {
		if point == PodGroupPostFilter {
			continue
		}
		for _, pl := range p.set(point).Enabled {
			names = append(names, pl.Name)
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// mergePlugins overlays custom on the defaults, per extension point (see mergePluginSet).
func mergePlugins(defaults, custom *Plugins) *Plugins {
	if custom == nil {
		return defaults
	}
	for _, point := range pluginSets {
		*defaults.set(point) = mergePluginSet(*defaults.set(point), *custom.set(point))
	}
	return defaults
}

// mergePluginSet is upstream's merge: the defaults not disabled (none when "*" is), each
// replaced in place by a custom entry of the same name, then the other custom entries in order.
// Disabled entries lose their weights.
func mergePluginSet(defaults, custom PluginSet) PluginSet {
	var out PluginSet
	disabled := map[string]bool{}
	for _, list := range [][]Plugin{custom.Disabled, defaults.Disabled} {
		for _, pl := range list {
			out.Disabled = append(out.Disabled, Plugin{Name: pl.Name})
			disabled[pl.Name] = true
		}
	}
	last := map[string]int{} // a name's last custom index replaces the default
	for i, pl := range custom.Enabled {
		last[pl.Name] = i
	}
	replaced := map[int]bool{}
	if !disabled["*"] {
		for _, pl := range defaults.Enabled {
			if disabled[pl.Name] {
				continue
			}
			if i, ok := last[pl.Name]; ok {
				pl = custom.Enabled[i]
				replaced[i] = true
			}
			out.Enabled = append(out.Enabled, pl)
		}
	}
	for i, pl := range custom.Enabled {
		if !replaced[i] {
			out.Enabled = append(out.Enabled, pl)
		}
	}
	return out
}

// complete turns a defaulted, valid configuration into its effective form, the one kube-scheduler
// writes: each profile keeps the arguments of its enabled plugins only, sorted by name, typed
// arguments carry their apiVersion and kind, and unset weights and flags read 0 and false.
func complete(c *KubeSchedulerConfiguration) {
	c.APIVersion, c.Kind = GroupVersion, Kind
	if c.EnableContentionProfiling == nil {
		c.EnableContentionProfiling = ptr(false)
	}
	for i := range c.Profiles {
		p := &c.Profiles[i]
		if p.SchedulerName == nil {
			p.SchedulerName = ptr("")
		}
		for _, point := range pluginSets {
			set := p.Plugins.set(point)
			for _, list := range [][]Plugin{set.Enabled, set.Disabled} {
				for j := range list {
					if list[j].Weight == nil {
						list[j].Weight = ptr[int32](0)
					}
				}
			}
		}
		needed := p.needed()
		var kept []PluginConfig
		for _, pc := range p.PluginConfig {
			if !needed[pc.Name] || pc.Args.IsZero() {
				continue
			}
			if pc.Args.Object != nil {
				pc.Args.Object.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(GroupVersion, pc.Name+"Args"))
			}
			kept = append(kept, pc)
		}
		sort.SliceStable(kept, func(a, b int) bool { return kept[a].Name < kept[b].Name })
		p.PluginConfig = kept
	}
}

// needed returns the plugins enabled at any extension point or through multiPoint: the ones
// upstream's framework instantiates.
func (p *Profile) needed() map[string]bool {
	out := map[string]bool{}
	if p.Plugins == nil {
		return out
	}
	for _, point := range pluginSets {
		for _, pl := range p.Plugins.set(point).Enabled {
			out[pl.Name] = true
		}
	}
	return out
}
