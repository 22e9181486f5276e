package config

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/berth-scheduler/berth/flags"
)

// Load reads the configuration file at path, decodes it strictly (see Decode), applies
// kube-scheduler's defaults, validates the result (see Validate) and returns its effective form.
// The error, if any, is one line naming the file and, for bad content, every bad field's path.
func Load(path string) (*KubeSchedulerConfiguration, error) {
	cfg, err := loadFile(path)
	if err != nil {
		return nil, err
	}
	return finish(cfg, "config file "+path)
}

// FromFlags returns the effective configuration of a command line, as kube-scheduler builds it.
// With --config it is the file's, with the leader-election flags given explicitly applied on top;
// the deprecated flags (--kubeconfig, --kube-api-qps, ...) are then ignored (flags.Options.Warnings
// says so). Without --config it is the default configuration with the deprecated and
// leader-election flags that were given applied. Errors are one line, as Load's.
func FromFlags(opts *flags.Options) (*KubeSchedulerConfiguration, error) {
	if opts.ConfigFile != "" {
		cfg, err := loadFile(opts.ConfigFile)
		if err != nil {
			return nil, err
		}
		applyLeaderElectionFlags(cfg, opts)
		return finish(cfg, "config file "+opts.ConfigFile+" with the leader election flags")
	}
	cfg := &KubeSchedulerConfiguration{}
	setDefaults(cfg)
	applyDeprecatedFlags(cfg, opts)
	applyLeaderElectionFlags(cfg, opts)
	return finish(cfg, "configuration from the flags")
}

// Default returns kube-scheduler v1.37's default configuration in its effective form: one
// profile, "default-scheduler", with the default plugins and arguments.
func Default() *KubeSchedulerConfiguration {
	cfg := &KubeSchedulerConfiguration{}
	setDefaults(cfg)
	complete(cfg)
	return cfg
}

// Write writes cfg as kube-scheduler's --write-config-to does: YAML with sorted keys.
func Write(w io.Writer, cfg *KubeSchedulerConfiguration) error {
	doc, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding the configuration: %w", err)
	}
	y, err := sigsyaml.JSONToYAML(doc)
	if err != nil {
		return fmt.Errorf("encoding the configuration as YAML: %w", err)
	}
	if _, err := w.Write(y); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	return nil
}

// WriteFile writes cfg (see Write) to the file at path, replacing it.
func WriteFile(path string, cfg *KubeSchedulerConfiguration) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--write-config-to: %w", err)
	}
	if err := Write(f, cfg); err != nil {
		f.Close()
		return fmt.Errorf("--write-config-to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--write-config-to %s: %w", path, err)
	}
	return nil
}

func loadFile(path string) (*KubeSchedulerConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the config file: %w", err)
	}
	cfg, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return cfg, nil
}

// parse decodes data and applies the defaults. Plugin names are checked before defaulting merges
// the default plugins in, so that the paths name the file's own list entries.
func parse(data []byte) (*KubeSchedulerConfiguration, error) {
	cfg, err := Decode(data)
	if err != nil {
		return nil, err
	}
	var errs field.ErrorList
	for i := range cfg.Profiles {
		errs = append(errs, validateNames(&cfg.Profiles[i], field.NewPath("profiles").Index(i))...)
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	setDefaults(cfg)
	return cfg, nil
}

// finish validates a defaulted configuration and completes it; source names it in errors.
func finish(cfg *KubeSchedulerConfiguration, source string) (*KubeSchedulerConfiguration, error) {
	if err := Validate(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	complete(cfg)
	return cfg, nil
}

// applyDeprecatedFlags applies the deprecated flags that were given, as kube-scheduler does when
// there is no --config.
func applyDeprecatedFlags(cfg *KubeSchedulerConfiguration, opts *flags.Options) {
	d := &opts.Deprecated
	if opts.Changed("profiling") {
		cfg.EnableProfiling = ptr(d.Profiling)
	}
	if opts.Changed("contention-profiling") {
		cfg.EnableContentionProfiling = ptr(d.ContentionProfiling)
	}
	cc := &cfg.ClientConnection
	if opts.Changed("kubeconfig") {
		cc.Kubeconfig = d.Kubeconfig
	}
	if opts.Changed("kube-api-content-type") {
		cc.ContentType = d.ContentType
	}
	if opts.Changed("kube-api-qps") {
		cc.QPS = d.QPS
	}
	if opts.Changed("kube-api-burst") {
		cc.Burst = d.Burst
	}
}

// applyLeaderElectionFlags applies the leader-election flags that were given; with or without
// --config they win over the configuration.
func applyLeaderElectionFlags(cfg *KubeSchedulerConfiguration, opts *flags.Options) {
	f, le := &opts.LeaderElection, &cfg.LeaderElection
	if opts.Changed("leader-elect") {
		le.LeaderElect = ptr(f.LeaderElect)
	}
	if opts.Changed("leader-elect-lease-duration") {
		le.LeaseDuration = Duration{Duration: f.LeaseDuration}
	}
	if opts.Changed("leader-elect-renew-deadline") {
		le.RenewDeadline = Duration{Duration: f.RenewDeadline}
	}
	if opts.Changed("leader-elect-retry-period") {
		le.RetryPeriod = Duration{Duration: f.RetryPeriod}
	}
	if opts.Changed("leader-elect-resource-lock") {
		le.ResourceLock = f.ResourceLock
	}
	if opts.Changed("leader-elect-resource-name") {
		le.ResourceName = f.ResourceName
	}
	if opts.Changed("leader-elect-resource-namespace") {
		le.ResourceNamespace = f.ResourceNamespace
	}
}
