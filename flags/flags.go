// Package flags parses berth's command line, which is kube-scheduler v1.37's command line.
//
// Every flag kube-scheduler v1.37 registers is known here, under the same name, with the
// same default and the same value syntax. Each one is either supported (it has a field in
// Options), accepted as a no-op that Warnings reports and --help labels, or refused with an
// error wrapping ErrNotSupported. Nothing is silently ignored.
//
// Typical use from main:
//
//	opts, err := flags.Parse(os.Args[1:])
//	if errors.Is(err, flags.ErrHelp) {
//		flags.Usage(os.Stdout, "kube-scheduler")
//		os.Exit(0)
//	}
//	if err != nil { /* print err (one line) and exit 1 */ }
//	for _, w := range opts.Warnings() { logger.Warn(w) }
//
// Syntax follows kube-scheduler where the standard library allows: --flag=value and
// --flag value, a single dash works as well as two, '_' and '-' are the same inside flag
// names, booleans take =true/=false only after '=', lists are comma separated and repeating
// a list flag appends to it. Flags may follow positional arguments, but any non-empty
// positional argument is an error. The package writes nothing to stdout or stderr.
package flags

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"time"
)

// ErrHelp is returned by Parse when -h or --help was given. The caller prints Usage and
// exits successfully.
var ErrHelp = errors.New("help requested")

// ErrNotSupported is wrapped by the errors Parse returns for flags (or flag values) that
// kube-scheduler accepts but berth does not implement.
var ErrNotSupported = errors.New("not supported by berth")

// KubeVersion is the kube-scheduler minor version whose command line and behaviour berth
// implements.
const KubeVersion = "1.37"

// Options holds the value of every supported flag after Parse. Fields hold upstream's
// defaults when the flag was not given; use Changed to tell the two apart. Flags that are
// accepted only at values which change nothing (for example --emulated-version=1.37) have
// no field. An Options is not modified after Parse returns and is safe to read concurrently.
type Options struct {
	// ConfigFile is --config: the KubeSchedulerConfiguration file; empty means none. When
	// set, the Deprecated fields (except PodMaxInUnschedulablePodsDuration) are ignored, as
	// upstream does, and leader-election flags given explicitly override the file.
	ConfigFile string
	// WriteConfigTo is --write-config-to: if set, write the effective configuration there
	// and exit.
	WriteConfigTo string
	// Master is --master: the API server address, overriding the kubeconfig's server.
	Master string

	SecureServing  SecureServing
	Authentication Authentication
	Authorization  Authorization
	Deprecated     Deprecated
	LeaderElection LeaderElection

	// FeatureGates is --feature-gates, gate name to value ("kube:" prefixes removed). It is
	// nil when the flag was not given. Berth ships one behaviour, so most gates have no
	// effect and Warnings lists each one; GateEnabled answers for the few berth acts on.
	FeatureGates map[string]bool

	Metrics Metrics
	Logs    Logs

	// Version is --version: whether to print the version and exit, and in which form.
	Version VersionRequest

	// Values are every flag with its value as parsed, ordered by name, for the "FLAG:" lines
	// kube-scheduler logs at -v=1 (see FlagLines).
	Values []FlagValue

	help bool
	set  map[string]bool
}

// FlagValue is one flag's name (without dashes) and its value as the flag prints it.
type FlagValue struct{ Name, Value string }

// FlagLines returns kube-scheduler's start-up lines for the flags, one per flag:
// FLAG: --name="value".
func (o *Options) FlagLines() []string {
	out := make([]string, len(o.Values))
	for i, v := range o.Values {
		out[i] = fmt.Sprintf("FLAG: --%s=%q", v.Name, v.Value)
	}
	return out
}

// SecureServing holds the "Secure serving" flags.
type SecureServing struct {
	// BindAddress is --bind-address. The unspecified address (0.0.0.0 or ::) means all
	// interfaces and address families. Default 0.0.0.0.
	BindAddress netip.Addr
	// Port is --secure-port, 0..65535. 0 turns HTTPS serving off entirely. Default 10259.
	Port int
	// DisableHTTP2 is --disable-http2-serving: serve HTTP/1.1 only.
	DisableHTTP2 bool
	// CertDir is --cert-dir: where a self-signed pair is written when CertFile and KeyFile
	// are empty. Empty means the self-signed pair stays in memory.
	CertDir string
	// CertFile is --tls-cert-file (PEM, server certificate then any chain). Set together
	// with KeyFile or not at all.
	CertFile string
	// KeyFile is --tls-private-key-file (PEM), the key for CertFile.
	KeyFile string
	// CipherSuites is --tls-cipher-suites as crypto/tls IDs; nil means Go's defaults.
	CipherSuites []uint16
	// CurvePreferences is --tls-curve-preferences; nil means Go's defaults.
	CurvePreferences []tls.CurveID
	// MinVersion is --tls-min-version as a crypto/tls version constant; 0 means the
	// server's default (TLS 1.2).
	MinVersion uint16
	// HTTP2MaxStreamsPerConnection is --http2-max-streams-per-connection; 0 means Go's
	// default.
	HTTP2MaxStreamsPerConnection int
	// PermitPortSharing is --permit-port-sharing: bind with SO_REUSEPORT.
	PermitPortSharing bool
	// PermitAddressSharing is --permit-address-sharing: bind with SO_REUSEADDR.
	PermitAddressSharing bool
}

// Authentication holds the "Authentication" flags for delegated authentication.
type Authentication struct {
	// Kubeconfig is --authentication-kubeconfig; empty means the in-cluster config if
	// available, otherwise all token requests are anonymous.
	Kubeconfig string
	// SkipLookup is --authentication-skip-lookup: do not read missing client-CA and
	// request-header settings from the kube-system/extension-apiserver-authentication
	// ConfigMap.
	SkipLookup bool
	// TolerateLookupFailure is --authentication-tolerate-lookup-failure: a failed ConfigMap
	// lookup is not fatal. Default true (kube-scheduler's default).
	TolerateLookupFailure bool
	// TokenWebhookCacheTTL is --authentication-token-webhook-cache-ttl. Default 10s.
	TokenWebhookCacheTTL time.Duration
	// ClientCAFile is --client-ca-file: CA bundle for client-certificate authentication.
	ClientCAFile string
	// RequestHeader holds the --requestheader-* flags.
	RequestHeader RequestHeader
}

// RequestHeader holds the --requestheader-* flags (front-proxy authentication).
type RequestHeader struct {
	// ClientCAFile is --requestheader-client-ca-file: CA bundle that a proxy's client
	// certificate must chain to before identity headers are trusted.
	ClientCAFile string
	// AllowedNames is --requestheader-allowed-names: allowed proxy certificate common
	// names; empty allows any certificate ClientCAFile verifies.
	AllowedNames []string
	// UsernameHeaders is --requestheader-username-headers. Default [x-remote-user].
	UsernameHeaders []string
	// UIDHeaders is --requestheader-uid-headers. Default none.
	UIDHeaders []string
	// GroupHeaders is --requestheader-group-headers. Default [x-remote-group].
	GroupHeaders []string
	// ExtraHeaderPrefixes is --requestheader-extra-headers-prefix. Default [x-remote-extra-].
	ExtraHeaderPrefixes []string
}

// Authorization holds the "Authorization" flags for delegated authorization.
type Authorization struct {
	// Kubeconfig is --authorization-kubeconfig; empty means the in-cluster config if
	// available, otherwise every request not in AlwaysAllowPaths is forbidden.
	Kubeconfig string
	// AlwaysAllowPaths is --authorization-always-allow-paths. Default
	// [/healthz /readyz /livez]; an empty value clears it.
	AlwaysAllowPaths []string
	// AuthorizedTTL is --authorization-webhook-cache-authorized-ttl. Default 10s.
	AuthorizedTTL time.Duration
	// UnauthorizedTTL is --authorization-webhook-cache-unauthorized-ttl. Default 10s.
	UnauthorizedTTL time.Duration
}

// Deprecated holds upstream's "Deprecated" flags. All but PodMaxInUnschedulablePodsDuration
// apply only when ConfigFile is empty; with --config the file's values win.
type Deprecated struct {
	// Profiling is --profiling: serve /debug/pprof. Default true.
	Profiling bool
	// ContentionProfiling is --contention-profiling: enable block profiling when profiling
	// is on. Default true.
	ContentionProfiling bool
	// Kubeconfig is --kubeconfig: how to reach the API server.
	Kubeconfig string
	// ContentType is --kube-api-content-type. Default application/vnd.kubernetes.protobuf;
	// empty means client-go's default (JSON).
	ContentType string
	// QPS is --kube-api-qps. Default 50. Negative turns client-side rate limiting off and 0
	// means client-go's default, as in client-go.
	QPS float32
	// Burst is --kube-api-burst, >= 0. Default 100.
	Burst int32
	// PodMaxInUnschedulablePodsDuration is --pod-max-in-unschedulable-pods-duration: the
	// longest a pod waits among unschedulable pods before it is retried. Default 5m. It
	// applies with or without --config.
	PodMaxInUnschedulablePodsDuration time.Duration
}

// LeaderElection holds the "Leader election" flags. With --config, explicitly given flags
// override the file (see Options.Changed) and the caller validates the merged result with
// Validate.
type LeaderElection struct {
	// LeaderElect is --leader-elect: acquire the lease before scheduling. Default true.
	LeaderElect bool
	// LeaseDuration is --leader-elect-lease-duration. Default 15s.
	LeaseDuration time.Duration
	// RenewDeadline is --leader-elect-renew-deadline. Default 10s.
	RenewDeadline time.Duration
	// RetryPeriod is --leader-elect-retry-period. Default 2s.
	RetryPeriod time.Duration
	// ResourceLock is --leader-elect-resource-lock; always "leases" (the only kind berth
	// and kube-scheduler v1.37 support).
	ResourceLock string
	// ResourceName is --leader-elect-resource-name. Default kube-scheduler.
	ResourceName string
	// ResourceNamespace is --leader-elect-resource-namespace. Default kube-system.
	ResourceNamespace string
}

// Metrics holds the "Metrics" flags. They are accepted (with upstream's syntax checks) but
// have no effect in berth; Warnings reports any that were given.
type Metrics struct {
	// ShowHiddenMetricsForVersion is --show-hidden-metrics-for-version; only the previous
	// minor version (1.36) is accepted, as upstream.
	ShowHiddenMetricsForVersion string
	// DisabledMetrics is --disabled-metrics.
	DisabledMetrics []string
	// AllowMetricLabels holds each --allow-metric-labels value as given.
	AllowMetricLabels []string
	// AllowMetricLabelsManifest is --allow-metric-labels-manifest.
	AllowMetricLabelsManifest string
}

// Logs holds the "Logs" flags.
type Logs struct {
	// Format is --logging-format: "text" (default) or "json".
	Format string
	// Verbosity is -v/--v, 0..2^31-1. Default 0.
	Verbosity uint32
	// VModule holds the --vmodule pattern=N items: per source file verbosity, as klog's;
	// only valid with the text format, as upstream.
	VModule []string
	// FlushFrequency is --log-flush-frequency, > 0. Default 5s. Accepted but without
	// effect: berth does not buffer log output.
	FlushFrequency time.Duration
}

// VersionRequest says whether --version asked to print the version and how.
type VersionRequest string

// Values of VersionRequest.
const (
	VersionNone VersionRequest = ""     // --version not given, or --version=false
	VersionText VersionRequest = "true" // --version or --version=true: one human line
	VersionRaw  VersionRequest = "raw"  // --version=raw: the full version struct
)

// Parse parses args (the command line without the program name) into Options.
//
// It returns ErrHelp when -h/--help was given and the flags parsed. Any other failure is
// an error whose message is one line naming the flag and the problem. When --version was
// given, Parse returns after per-flag checks and skips cross-flag validation, as upstream
// prints the version before validating.
func Parse(args []string) (*Options, error) {
	o := defaults()
	r := newRegistry(o)
	flagArgs, positional, err := r.split(args)
	if err != nil {
		return nil, err
	}
	if err := r.fs.Parse(flagArgs); err != nil {
		if r.failed != nil {
			return nil, r.failed
		}
		return nil, fmt.Errorf("parsing flags: %w", err)
	}
	r.fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	r.fs.VisitAll(func(f *flag.Flag) {
		if t, ok := f.Value.(*tracked); ok && t.name == f.Name { // not a one-letter alias
			o.Values = append(o.Values, FlagValue{Name: f.Name, Value: f.Value.String()})
		}
	})
	if o.help {
		return nil, ErrHelp
	}
	if len(positional) > 0 {
		return nil, fmt.Errorf("positional arguments are not accepted, got %q", positional)
	}
	if o.Version != VersionNone {
		return o, nil
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// Changed reports whether the flag with the given canonical name (without dashes, e.g.
// "leader-elect") was given on the command line.
func (o *Options) Changed(name string) bool {
	return o.set[name]
}

// defaults returns Options holding kube-scheduler v1.37's flag defaults.
func defaults() *Options {
	return &Options{
		SecureServing: SecureServing{
			BindAddress: netip.IPv4Unspecified(),
			Port:        10259,
		},
		Authentication: Authentication{
			TolerateLookupFailure: true,
			TokenWebhookCacheTTL:  10 * time.Second,
			RequestHeader: RequestHeader{
				UsernameHeaders:     []string{"x-remote-user"},
				GroupHeaders:        []string{"x-remote-group"},
				ExtraHeaderPrefixes: []string{"x-remote-extra-"},
			},
		},
		Authorization: Authorization{
			AlwaysAllowPaths: []string{"/healthz", "/readyz", "/livez"},
			AuthorizedTTL:    10 * time.Second,
			UnauthorizedTTL:  10 * time.Second,
		},
		Deprecated: Deprecated{
			Profiling:                         true,
			ContentionProfiling:               true,
			ContentType:                       contentTypeProtobuf,
			QPS:                               50,
			Burst:                             100,
			PodMaxInUnschedulablePodsDuration: 5 * time.Minute,
		},
		LeaderElection: LeaderElection{
			LeaderElect:       true,
			LeaseDuration:     15 * time.Second,
			RenewDeadline:     10 * time.Second,
			RetryPeriod:       2 * time.Second,
			ResourceLock:      "leases",
			ResourceName:      "kube-scheduler",
			ResourceNamespace: "kube-system",
		},
		Logs: Logs{
			Format:         "text",
			FlushFrequency: 5 * time.Second,
		},
		set: map[string]bool{},
	}
}
