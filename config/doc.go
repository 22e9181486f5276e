// Package config reads, defaults, validates and writes kube-scheduler's configuration file,
// KubeSchedulerConfiguration of kubescheduler.config.k8s.io/v1, the way kube-scheduler v1.37 does:
// a file it accepts is accepted here unchanged and defaulted to the same values, and a file it
// refuses is refused here, with a message naming the file and the field path.
//
//	cfg, err := config.FromFlags(opts) // --config, or the flags alone, as kube-scheduler does
//	if err != nil { /* one line: print it and exit 1 */ }
//	if opts.WriteConfigTo != "" { err = config.WriteFile(opts.WriteConfigTo, cfg) /* exit 0 */ }
//
// The types mirror the v1 API field for field (same JSON names, pointers where v1 has them), so
// that the effective configuration marshals to what kube-scheduler writes with --write-config-to
// and serves on /configz. Decoding is strict: unknown and duplicated fields are errors that name
// their path. Defaulting follows upstream's v1 defaults, including its default plugin set; plugin
// names and the extension points each plugin implements are upstream's (see Known), whether or
// not berth implements the plugin. Scheduler extenders and plugins kube-scheduler v1.37 does not
// ship are refused.
//
// A loaded configuration is in its effective form (see Load): every default applied, each
// profile's pluginConfig reduced to its enabled plugins and sorted by name. It is not modified
// afterwards and is safe to read concurrently.
package config
