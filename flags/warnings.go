package flags

import "fmt"

// noEffectFlags are accepted with upstream's syntax checks but change nothing in berth.
var noEffectFlags = []string{
	"log-flush-frequency",
	"min-compatibility-version",
	"show-hidden-metrics-for-version",
}

// configOverriddenFlags are the deprecated flags that kube-scheduler ignores when --config
// is given.
var configOverriddenFlags = []string{
	"contention-profiling",
	"kube-api-burst",
	"kube-api-content-type",
	"kube-api-qps",
	"kubeconfig",
	"profiling",
}

// Warnings lists, one line each and in a stable order, what was accepted but will have no
// effect, for main to log at startup: each feature gate berth does not act on, each no-op flag that was given,
// deprecated flags overridden by --config, and request-header lists missing the standard
// header (as kube-scheduler warns). It returns nil when there is nothing to say.
func (o *Options) Warnings() []string {
	var w []string
	for _, name := range sortedKeys(o.FeatureGates) {
		if honouredGates[name] {
			continue
		}
		w = append(w, fmt.Sprintf("--feature-gates: %s=%t has no effect: berth implements kube-scheduler v%s's default behaviour only",
			name, o.FeatureGates[name], KubeVersion))
	}
	for _, name := range noEffectFlags {
		if o.Changed(name) {
			w = append(w, fmt.Sprintf("--%s is accepted for compatibility but has no effect in berth", name))
		}
	}
	if o.ConfigFile != "" {
		for _, name := range configOverriddenFlags {
			if o.Changed(name) {
				w = append(w, fmt.Sprintf("--%s is ignored because --config is given; set it in the configuration file", name))
			}
		}
	}
	rh := &o.Authentication.RequestHeader
	for _, l := range []struct {
		flag, standard string
		items          []string
	}{
		{"requestheader-username-headers", "X-Remote-User", rh.UsernameHeaders},
		{"requestheader-group-headers", "X-Remote-Group", rh.GroupHeaders},
		{"requestheader-extra-headers-prefix", "X-Remote-Extra-", rh.ExtraHeaderPrefixes},
	} {
		if len(l.items) > 0 && !hasFold(l.items, l.standard) {
			w = append(w, fmt.Sprintf("--%s does not include the standard %s; API aggregation will not work", l.flag, l.standard))
		}
	}
	return w
}
