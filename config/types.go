package config

import (
	"bytes"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The group/version and kind of the configuration file.
const (
	GroupVersion = "kubescheduler.config.k8s.io/v1"
	Kind         = "KubeSchedulerConfiguration"
)

// KubeSchedulerConfiguration mirrors kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration.
// Pointer fields are nil when the file omits them; defaulting sets every one of them.
type KubeSchedulerConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	// Parallelism bounds the goroutines of one scheduling decision; > 0, default 16.
	Parallelism      *int32           `json:"parallelism,omitempty"`
	LeaderElection   LeaderElection   `json:"leaderElection"`
	ClientConnection ClientConnection `json:"clientConnection"`
	// EnableProfiling serves /debug/pprof; default true.
	EnableProfiling *bool `json:"enableProfiling,omitempty"`
	// EnableContentionProfiling enables block profiling; default true when profiling is on.
	EnableContentionProfiling *bool `json:"enableContentionProfiling,omitempty"`
	// PercentageOfNodesToScore is 0..100; 0 (the default) is adaptive. A profile's own value wins.
	PercentageOfNodesToScore *int32 `json:"percentageOfNodesToScore,omitempty"`
	// PodInitialBackoffSeconds is the first backoff of an unschedulable pod; > 0, default 1.
	PodInitialBackoffSeconds *int64 `json:"podInitialBackoffSeconds,omitempty"`
	// PodMaxBackoffSeconds caps the backoff; >= PodInitialBackoffSeconds, default 10.
	PodMaxBackoffSeconds *int64 `json:"podMaxBackoffSeconds,omitempty"`
	// Profiles are the scheduler names served; defaulting adds "default-scheduler" when empty.
	Profiles []Profile `json:"profiles,omitempty"`
	// Extenders are decoded only to be refused: berth does not call scheduler extenders.
	Extenders []json.RawMessage `json:"extenders,omitempty"`
	// DelayCacheUntilActive defers filling the informer caches until leadership is won.
	DelayCacheUntilActive bool `json:"delayCacheUntilActive,omitempty"`
}

// LeaderElection mirrors component-base's v1alpha1 LeaderElectionConfiguration.
type LeaderElection struct {
	// LeaderElect is whether to take the Lease before scheduling; default true.
	LeaderElect   *bool    `json:"leaderElect"`
	LeaseDuration Duration `json:"leaseDuration"`
	RenewDeadline Duration `json:"renewDeadline"`
	RetryPeriod   Duration `json:"retryPeriod"`
	// ResourceLock must be "leases" when LeaderElect is true.
	ResourceLock      string `json:"resourceLock"`
	ResourceName      string `json:"resourceName"`
	ResourceNamespace string `json:"resourceNamespace"`
}

// ClientConnection mirrors component-base's v1alpha1 ClientConnectionConfiguration.
type ClientConnection struct {
	// Kubeconfig is the kubeconfig file; empty means in-cluster (or --master alone).
	Kubeconfig         string  `json:"kubeconfig"`
	AcceptContentTypes string  `json:"acceptContentTypes"`
	ContentType        string  `json:"contentType"`
	QPS                float32 `json:"qps"`
	Burst              int32   `json:"burst"`
}

// Profile mirrors KubeSchedulerProfile: the plugins and arguments used for the pods whose
// spec.schedulerName is SchedulerName.
type Profile struct {
	SchedulerName *string `json:"schedulerName,omitempty"`
	// PercentageOfNodesToScore overrides the top-level value for this profile when set.
	PercentageOfNodesToScore *int32         `json:"percentageOfNodesToScore,omitempty"`
	Plugins                  *Plugins       `json:"plugins,omitempty"`
	PluginConfig             []PluginConfig `json:"pluginConfig,omitempty"`
}

// Name returns the profile's scheduler name ("" when unset).
func (p *Profile) Name() string {
	if p.SchedulerName == nil {
		return ""
	}
	return *p.SchedulerName
}

// Plugins mirrors v1 Plugins: one PluginSet per extension point, and MultiPoint, which enables a
// plugin at every extension point it implements.
type Plugins struct {
	PreEnqueue         PluginSet `json:"preEnqueue"`
	QueueSort          PluginSet `json:"queueSort"`
	PreFilter          PluginSet `json:"preFilter"`
	Filter             PluginSet `json:"filter"`
	PostFilter         PluginSet `json:"postFilter"`
	PreScore           PluginSet `json:"preScore"`
	Score              PluginSet `json:"score"`
	Reserve            PluginSet `json:"reserve"`
	Permit             PluginSet `json:"permit"`
	PreBind            PluginSet `json:"preBind"`
	Bind               PluginSet `json:"bind"`
	PostBind           PluginSet `json:"postBind"`
	MultiPoint         PluginSet `json:"multiPoint"`
	PlacementGenerate  PluginSet `json:"placementGenerate"`
	PlacementScore     PluginSet `json:"placementScore"`
	PodGroupPostFilter PluginSet `json:"podGroupPostFilter"`
}

// PluginSet lists the plugins enabled at an extension point, in order, and the default plugins
// disabled there ("*" disables them all).
type PluginSet struct {
	Enabled  []Plugin `json:"enabled,omitempty"`
	Disabled []Plugin `json:"disabled,omitempty"`
}

// Plugin names a plugin; Weight matters only for score and placementScore plugins, where 0 (or
// nil) counts as 1.
type Plugin struct {
	Name   string `json:"name"`
	Weight *int32 `json:"weight,omitempty"`
}

// PluginConfig holds the arguments of one plugin.
type PluginConfig struct {
	Name string `json:"name"`
	Args Args   `json:"args,omitzero"`
}

// Args is a plugin's arguments. After decoding, Object holds the typed arguments of the plugins
// that have an argument type (*NodeResourcesFitArgs and the others in this package) and is nil
// for the rest, whose Raw JSON is kept as given.
type Args struct {
	Object PluginArgs
	Raw    json.RawMessage
}

// IsZero reports whether no arguments are held.
func (a Args) IsZero() bool { return a.Object == nil && isNull(a.Raw) }

// UnmarshalJSON keeps the raw arguments; they are decoded once the plugin's name is known.
func (a *Args) UnmarshalJSON(b []byte) error {
	a.Object = nil
	a.Raw = nil
	if !isNull(b) {
		a.Raw = append(json.RawMessage(nil), b...)
	}
	return nil
}

// MarshalJSON writes the typed arguments, or the raw ones.
func (a Args) MarshalJSON() ([]byte, error) {
	if a.Object != nil {
		return json.Marshal(a.Object)
	}
	if isNull(a.Raw) {
		return []byte("null"), nil
	}
	return a.Raw, nil
}

func isNull(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}
