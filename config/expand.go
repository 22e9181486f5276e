package config

import (
	"fmt"
	"slices"
)

// Enabled returns the plugins that run at point in this profile, in the order they run, resolved
// from the point's own set and multiPoint as kube-scheduler's framework resolves them. At Score
// and PlacementScore each plugin carries its effective weight (an unset or 0 weight counts as 1);
// elsewhere Weight is nil. The profile must come from Load or FromFlags: entries a validated
// profile cannot hold are skipped.
func (p *Profile) Enabled(point ExtensionPoint) []Plugin {
	out, _ := p.expand(point)
	return out
}

// expand resolves point, reporting what upstream's framework refuses: a plugin that does not
// implement point, or one enabled twice. Names must already be known (see validateNames).
//
// The order is upstream's: first the point's own entries that override a multiPoint entry, then
// the multiPoint plugins implementing point (unless disabled there), then the point's other
// entries. "*" disabled at the point keeps multiPoint out entirely.
func (p *Profile) expand(point ExtensionPoint) ([]Plugin, error) {
	if p.Plugins == nil {
		return nil, nil
	}
	set := p.Plugins.set(point)
	var own []string
	for _, pl := range set.Enabled {
		switch {
		case !Known(pl.Name):
			continue
		case !implements(pl.Name, point):
			return nil, fmt.Errorf("plugin %q does not implement the %s extension point", pl.Name, point)
		case slices.Contains(own, pl.Name):
			return nil, fmt.Errorf("plugin %q is enabled twice at %s", pl.Name, point)
		}
		own = append(own, pl.Name)
	}
	disabled := map[string]bool{}
	for _, pl := range set.Disabled {
		disabled[pl.Name] = true
	}
	var names []string
	if !disabled["*"] {
		var overrides, multi []string
		for _, pl := range p.Plugins.MultiPoint.Enabled {
			switch {
			case !Known(pl.Name) || !implements(pl.Name, point) || disabled[pl.Name]:
			case slices.Contains(own, pl.Name):
				overrides = append(overrides, pl.Name)
			case slices.Contains(multi, pl.Name):
				return nil, fmt.Errorf("plugin %q is enabled twice through multiPoint", pl.Name)
			default:
				multi = append(multi, pl.Name)
			}
		}
		for _, name := range own {
			if slices.Contains(overrides, name) {
				names = append(names, name)
			}
		}
		names = append(names, multi...)
		for _, name := range own {
			if !slices.Contains(overrides, name) {
				names = append(names, name)
			}
		}
	} else {
		names = own
	}
	out := make([]Plugin, len(names))
	weights := p.weights(point)
	for i, name := range names {
		out[i] = Plugin{Name: name}
		if w, ok := weights[name]; ok {
			out[i].Weight = ptr(w)
		}
	}
	return out, nil
}

// weights returns the effective weight of every plugin implementing point that is enabled at
// point or through multiPoint: the first weight given, the point's own list before multiPoint,
// with 0 counting as 1. Only Score and PlacementScore have weights.
func (p *Profile) weights(point ExtensionPoint) map[string]int32 {
	if point != Score && point != PlacementScore {
		return nil
	}
	out := map[string]int32{}
	for _, pl := range append(slices.Clone(p.Plugins.set(point).Enabled), p.Plugins.MultiPoint.Enabled...) {
		if _, seen := out[pl.Name]; seen || !Known(pl.Name) || !implements(pl.Name, point) {
			continue
		}
		w := deref(pl.Weight)
		if w == 0 {
			w = 1
		}
		out[pl.Name] = w
	}
	return out
}

// EnabledPlugins returns, sorted, every plugin the profile enables at some extension point or
// through multiPoint: the plugins kube-scheduler would instantiate for it.
func (p *Profile) EnabledPlugins() []string {
	var names []string
	for name := range p.needed() {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// PluginArgs returns the arguments configured for the plugin called name, or nil. In an
// effective configuration every enabled plugin that takes arguments has them.
func (p *Profile) PluginArgs(name string) PluginArgs {
	for _, pc := range p.PluginConfig {
		if pc.Name == name {
			return pc.Args.Object
		}
	}
	return nil
}
