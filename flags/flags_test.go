package flags

import (
	"crypto/tls"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, args ...string) *Options {
	t.Helper()
	o, err := Parse(args)
	if err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return o
}

func TestParseDefaults(t *testing.T) {
	o := mustParse(t)
	cases := []struct {
		name      string
		got, want any
	}{
		{"config", o.ConfigFile, ""},
		{"master", o.Master, ""},
		{"bind-address", o.SecureServing.BindAddress, netip.MustParseAddr("0.0.0.0")},
		{"secure-port", o.SecureServing.Port, 10259},
		{"tls-min-version", o.SecureServing.MinVersion, uint16(0)},
		{"tls-cipher-suites", o.SecureServing.CipherSuites, []uint16(nil)},
		{"authentication-tolerate-lookup-failure", o.Authentication.TolerateLookupFailure, true},
		{"authentication-skip-lookup", o.Authentication.SkipLookup, false},
		{"authentication-token-webhook-cache-ttl", o.Authentication.TokenWebhookCacheTTL, 10 * time.Second},
		{"requestheader-username-headers", o.Authentication.RequestHeader.UsernameHeaders, []string{"x-remote-user"}},
		{"requestheader-group-headers", o.Authentication.RequestHeader.GroupHeaders, []string{"x-remote-group"}},
		{"requestheader-extra-headers-prefix", o.Authentication.RequestHeader.ExtraHeaderPrefixes, []string{"x-remote-extra-"}},
		{"requestheader-uid-headers", o.Authentication.RequestHeader.UIDHeaders, []string(nil)},
		{"authorization-always-allow-paths", o.Authorization.AlwaysAllowPaths, []string{"/healthz", "/readyz", "/livez"}},
		{"authorization-webhook-cache-authorized-ttl", o.Authorization.AuthorizedTTL, 10 * time.Second},
		{"authorization-webhook-cache-unauthorized-ttl", o.Authorization.UnauthorizedTTL, 10 * time.Second},
		{"profiling", o.Deprecated.Profiling, true},
		{"contention-profiling", o.Deprecated.ContentionProfiling, true},
		{"kube-api-content-type", o.Deprecated.ContentType, "application/vnd.kubernetes.protobuf"},
		{"kube-api-qps", o.Deprecated.QPS, float32(50)},
		{"kube-api-burst", o.Deprecated.Burst, int32(100)},
		{"pod-max-in-unschedulable-pods-duration", o.Deprecated.PodMaxInUnschedulablePodsDuration, 5 * time.Minute},
		{"leader-elect", o.LeaderElection.LeaderElect, true},
		{"leader-elect-lease-duration", o.LeaderElection.LeaseDuration, 15 * time.Second},
		{"leader-elect-renew-deadline", o.LeaderElection.RenewDeadline, 10 * time.Second},
		{"leader-elect-retry-period", o.LeaderElection.RetryPeriod, 2 * time.Second},
		{"leader-elect-resource-lock", o.LeaderElection.ResourceLock, "leases"},
		{"leader-elect-resource-name", o.LeaderElection.ResourceName, "kube-scheduler"},
		{"leader-elect-resource-namespace", o.LeaderElection.ResourceNamespace, "kube-system"},
		{"feature-gates", o.FeatureGates, map[string]bool(nil)},
		{"logging-format", o.Logs.Format, "text"},
		{"v", o.Logs.Verbosity, uint32(0)},
		{"log-flush-frequency", o.Logs.FlushFrequency, 5 * time.Second},
		{"version", o.Version, VersionNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("default = %#v, want %#v", c.got, c.want)
			}
			if o.Changed(c.name) {
				t.Errorf("Changed(%q) = true without the flag", c.name)
			}
		})
	}
	if w := o.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() with defaults = %q, want none", w)
	}
}

func TestParseSyntax(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		check func(*Options) bool
	}{
		{"double dash equals", []string{"--secure-port=1234"}, func(o *Options) bool { return o.SecureServing.Port == 1234 }},
		{"double dash space", []string{"--secure-port", "1234"}, func(o *Options) bool { return o.SecureServing.Port == 1234 }},
		{"single dash", []string{"-secure-port=1234"}, func(o *Options) bool { return o.SecureServing.Port == 1234 }},
		{"underscore", []string{"--leader_elect=false"}, func(o *Options) bool { return !o.LeaderElection.LeaderElect }},
		{"underscore space value", []string{"--leader_elect_resource_name", "a_b"}, func(o *Options) bool {
			return o.LeaderElection.ResourceName == "a_b" // only the name is normalised
		}},
		{"underscore value kept", []string{"--master=http://a_b:8080"}, func(o *Options) bool { return o.Master == "http://a_b:8080" }},
		{"bool without value", []string{"--permit-port-sharing"}, func(o *Options) bool { return o.SecureServing.PermitPortSharing }},
		{"bool false", []string{"--profiling=false"}, func(o *Options) bool { return !o.Deprecated.Profiling }},
		{"negative value after space", []string{"--kube-api-qps", "-1"}, func(o *Options) bool { return o.Deprecated.QPS == -1 }},
		{"value looking like a flag", []string{"--kubeconfig", "--odd_name"}, func(o *Options) bool { return o.Deprecated.Kubeconfig == "--odd_name" }},
		{"empty value", []string{"--master", ""}, func(o *Options) bool { return o.Master == "" }},
		{"last wins", []string{"--v=2", "-v", "4"}, func(o *Options) bool { return o.Logs.Verbosity == 4 }},
		{"empty positional ignored", []string{"", "--v=3", ""}, func(o *Options) bool { return o.Logs.Verbosity == 3 }},
		{"terminator then empty", []string{"--v=1", "--", ""}, func(o *Options) bool { return o.Logs.Verbosity == 1 }},
		{"list replaces default", []string{"--authorization-always-allow-paths=/a,/b"}, func(o *Options) bool {
			return reflect.DeepEqual(o.Authorization.AlwaysAllowPaths, []string{"/a", "/b"})
		}},
		{"list repeated appends", []string{"--authorization-always-allow-paths=/a", "--authorization-always-allow-paths=/b"}, func(o *Options) bool {
			return reflect.DeepEqual(o.Authorization.AlwaysAllowPaths, []string{"/a", "/b"})
		}},
		{"list emptied", []string{"--authorization-always-allow-paths="}, func(o *Options) bool { return len(o.Authorization.AlwaysAllowPaths) == 0 }},
		{"list quoted comma", []string{`--requestheader-allowed-names="a,b",c`}, func(o *Options) bool {
			return reflect.DeepEqual(o.Authentication.RequestHeader.AllowedNames, []string{"a,b", "c"})
		}},
		{"ipv6 bind", []string{"--bind-address=::"}, func(o *Options) bool { return o.SecureServing.BindAddress == netip.IPv6Unspecified() }},
		{"blank bind keeps default", []string{"--bind-address="}, func(o *Options) bool { return o.SecureServing.BindAddress == netip.IPv4Unspecified() }},
		{"port zero disables", []string{"--secure-port=0"}, func(o *Options) bool { return o.SecureServing.Port == 0 }},
		{"hex int", []string{"--kube-api-burst=0x10"}, func(o *Options) bool { return o.Deprecated.Burst == 16 }},
		{"tls names", []string{"--tls-min-version=VersionTLS13", "--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"}, func(o *Options) bool {
			return o.SecureServing.MinVersion == tls.VersionTLS13 &&
				reflect.DeepEqual(o.SecureServing.CipherSuites, []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256})
		}},
		{"insecure cipher accepted", []string{"--tls-cipher-suites=TLS_RSA_WITH_AES_128_CBC_SHA"}, func(o *Options) bool {
			return reflect.DeepEqual(o.SecureServing.CipherSuites, []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA})
		}},
		{"curves", []string{"--tls-curve-preferences=29,23"}, func(o *Options) bool {
			return reflect.DeepEqual(o.SecureServing.CurvePreferences, []tls.CurveID{tls.X25519, tls.CurveP256})
		}},
		{"tls pair", []string{"--tls-cert-file=c.pem", "--tls-private-key-file=k.pem"}, func(o *Options) bool {
			return o.SecureServing.CertFile == "c.pem" && o.SecureServing.KeyFile == "k.pem"
		}},
		{"feature gates", []string{"--feature-gates=SchedulerAsyncAPICalls=true, OpportunisticBatching=false", "--feature-gates", "kube:GenericWorkload=1,SchedulerAsyncAPICalls=false"}, func(o *Options) bool {
			return reflect.DeepEqual(o.FeatureGates, map[string]bool{"SchedulerAsyncAPICalls": false, "OpportunisticBatching": false, "GenericWorkload": true})
		}},
		{"a locked gate at its locked value", []string{"--feature-gates=DRAAdminAccess=true"}, func(o *Options) bool { return o.FeatureGates["DRAAdminAccess"] }},
		{"AllBeta=false and a beta gate back on", []string{"--feature-gates=AllBeta=false,SchedulerPopFromBackoffQ=true"}, func(o *Options) bool {
			return !o.FeatureGates["AllBeta"] && o.FeatureGates["SchedulerPopFromBackoffQ"]
		}},
		{"vmodule", []string{"--vmodule=foo*=3,bar=1"}, func(o *Options) bool { return reflect.DeepEqual(o.Logs.VModule, []string{"foo*=3", "bar=1"}) }},
		{"json format", []string{"--logging-format=json"}, func(o *Options) bool { return o.Logs.Format == "json" }},
		{"json content type", []string{"--kube-api-content-type=application/json"}, func(o *Options) bool { return o.Deprecated.ContentType == "application/json" }},
		{"version", []string{"--version"}, func(o *Options) bool { return o.Version == VersionText }},
		{"version raw", []string{"--version=raw"}, func(o *Options) bool { return o.Version == VersionRaw }},
		{"version false", []string{"--version=false"}, func(o *Options) bool { return o.Version == VersionNone }},
		{"version skips validation", []string{"--version", "--secure-port=70000"}, func(o *Options) bool { return o.Version == VersionText }},
		{"no-op values accepted", []string{"--emulated-version=1.37", "--min-compatibility-version=kube=1.36", "--log-text-split-stream=false", "--log-json-info-buffer-size=0Mi"}, func(o *Options) bool { return true }},
		{"hidden metrics previous version", []string{"--show-hidden-metrics-for-version=1.36"}, func(o *Options) bool { return o.Metrics.ShowHiddenMetricsForVersion == "1.36" }},
		{"leader election off skips timing rules", []string{"--leader-elect=false", "--leader-elect-renew-deadline=1m"}, func(o *Options) bool { return !o.LeaderElection.LeaderElect }},
		{"config defers timing rules", []string{"--config=c.yaml", "--leader-elect-renew-deadline=30s"}, func(o *Options) bool {
			return o.LeaderElection.RenewDeadline == 30*time.Second
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := mustParse(t, c.args...)
			if !c.check(o) {
				t.Errorf("Parse(%q) gave unexpected options: %+v", c.args, *o)
			}
		})
	}
}

func TestParseChanged(t *testing.T) {
	o := mustParse(t, "--leader_elect_lease_duration=20s", "-v=0")
	for name, want := range map[string]bool{
		"leader-elect-lease-duration": true,
		"v":                           true, // set to its default value: still changed
		"leader-elect":                false,
	} {
		if got := o.Changed(name); got != want {
			t.Errorf("Changed(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseHelp(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr error // ErrHelp, or nil for "some other error"
	}{
		{"long", []string{"--help"}, ErrHelp},
		{"short", []string{"-h"}, ErrHelp},
		{"single dash long", []string{"-help"}, ErrHelp},
		{"with positional", []string{"--help", "extra"}, ErrHelp},
		{"with invalid combination", []string{"--help", "--secure-port=70000"}, ErrHelp},
		{"unknown flag wins", []string{"--help", "--nope"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := Parse(c.args)
			if o != nil {
				t.Errorf("Parse(%q) returned options with %v", c.args, err)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want %v", c.args, err, c.wantErr)
			}
			if c.wantErr == nil && (err == nil || errors.Is(err, ErrHelp)) {
				t.Fatalf("Parse(%q) error = %v, want a parse error", c.args, err)
			}
		})
	}
	if _, err := Parse([]string{"--help=false"}); err != nil {
		t.Errorf("--help=false: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name        string
		args        []string
		want        string // substring of the message
		unsupported bool   // the error wraps ErrNotSupported
	}{
		// unknown flags and bad syntax
		{"unknown flag", []string{"--no-such-flag"}, "unknown flag: --no-such-flag", false},
		{"unknown flag with value", []string{"-bogus_name=1"}, "unknown flag: -bogus_name", false},
		{"missing value", []string{"--kubeconfig"}, "flag needs an argument: --kubeconfig", false},
		{"triple dash", []string{"---v=1"}, "bad flag syntax: ---v=1", false},
		{"a newline in an unknown flag is quoted", []string{"-kubeconfig\n=1"}, `unknown flag: "-kubeconfig\n"`, false},
		{"bool with space value", []string{"--leader-elect", "false"}, `positional arguments are not accepted, got ["false"]`, false},
		// positional arguments
		{"positional", []string{"run"}, `positional arguments are not accepted, got ["run"]`, false},
		{"positional between flags", []string{"--v=1", "a", "--v=2", "b"}, `got ["a" "b"]`, false},
		{"positional after terminator", []string{"--", "--v=2"}, `got ["--v=2"]`, false},
		{"lone dash", []string{"-"}, `got ["-"]`, false},
		// bad values
		{"qps not a number", []string{"--kube-api-qps=abc"}, `invalid value "abc" for flag --kube-api-qps: must be a number`, false},
		{"qps infinite", []string{"--kube-api-qps=Inf"}, `--kube-api-qps: must be a finite number`, false},
		{"burst overflow", []string{"--kube-api-burst=3000000000"}, `--kube-api-burst: out of range`, false},
		{"port not int", []string{"--secure-port=http"}, `invalid value "http" for flag --secure-port`, false},
		{"duration", []string{"--leader-elect-lease-duration=15"}, `invalid value "15" for flag --leader-elect-lease-duration: must be a duration`, false},
		{"bool", []string{"--leader-elect=yes"}, `invalid value "yes" for flag --leader-elect: must be true or false`, false},
		{"bind address", []string{"--bind-address=localhost"}, `invalid value "localhost" for flag --bind-address`, false},
		{"bind address zone", []string{"--bind-address=fe80::1%eth0"}, `--bind-address`, false},
		{"tls version", []string{"--tls-min-version=TLS1.2"}, `--tls-min-version: must be one of VersionTLS10`, false},
		{"cipher", []string{"--tls-cipher-suites=TLS_AES_128_GCM_SHA256,NOPE"}, `unknown cipher suite "NOPE"`, false},
		{"curve unknown", []string{"--tls-curve-preferences=99"}, `curve 99 is not implemented`, false},
		{"curve not number", []string{"--tls-curve-preferences=X25519"}, `--tls-curve-preferences: curve "X25519" must be a number`, false},
		{"content type", []string{"--kube-api-content-type=application/yaml"}, `--kube-api-content-type: must be one of`, false},
		{"logging format", []string{"--logging-format=xml"}, `--logging-format: must be one of "text", "json"`, false},
		{"verbosity negative", []string{"-v=-1"}, `invalid value "-1" for flag --v`, false},
		{"vmodule syntax", []string{"--vmodule=foo"}, `"foo" does not have the form pattern=N`, false},
		{"vmodule level", []string{"--vmodule=foo=x"}, `--vmodule: "foo=x": N must be an integer`, false},
		{"feature gate no value", []string{"--feature-gates=Foo"}, `--feature-gates: "Foo" has no =true or =false`, false},
		{"feature gate bad bool", []string{"--feature-gates=Foo=maybe"}, `Foo=maybe: value must be true or false`, false},
		{"feature gate no name", []string{"--feature-gates==true"}, `has no gate name`, false},
		// as kube-scheduler v1.37 (its words)
		{"feature gate unknown", []string{"--feature-gates=NoSuchGate=true"}, `--feature-gates: unrecognized feature gate: NoSuchGate`, false},
		{"feature gate locked", []string{"--feature-gates=DRAAdminAccess=false"}, `cannot set feature gate DRAAdminAccess to false, feature is locked to true`, false},
		{"feature gate dependency", []string{"--feature-gates=DRADeviceCompatibilityGroups=true,DRAPartitionableDevices=false"},
			`--feature-gates: DRADeviceCompatibilityGroups is enabled, but depends on features that are disabled: [DRAPartitionableDevices]`, false},
		{"feature gate dependency, repeated flag", []string{"--feature-gates=DRAPartitionableDevices=false", "--feature-gates=DRADeviceCompatibilityGroups=true"},
			`DRADeviceCompatibilityGroups is enabled, but depends on features that are disabled: [DRAPartitionableDevices]`, false},
		{"feature gate dependencies of AllAlpha", []string{"--feature-gates=AllAlpha=true"},
			`--feature-gates: [CompositePodGroup is enabled, but depends on features that are disabled: [GenericWorkload], PodGroupPreemptionPolicy is enabled`, false},
		{"version value", []string{"--version=yes"}, `--version: must be true, false or raw`, false},
		{"hidden metrics version", []string{"--show-hidden-metrics-for-version=1.30"}, `only the previous minor version`, false},
		{"emulated version syntax", []string{"--emulated-version=1"}, `must have the form major.minor`, false},
		{"quantity syntax", []string{"--log-text-info-buffer-size=lots"}, `--log-text-info-buffer-size: must be a quantity`, false},
		{"metric labels syntax", []string{"--allow-metric-labels=foo"}, `--allow-metric-labels: must have the form`, false},
		// refused: accepted by kube-scheduler, not by berth
		{"sni", []string{"--tls-sni-cert-key=a.crt,a.key"}, `--tls-sni-cert-key=a.crt,a.key: not supported by berth`, true},
		{"resource lock", []string{"--leader-elect-resource-lock=endpointsleases"}, `--leader-elect-resource-lock=endpointsleases: not supported by berth`, true},
		{"feature gate component", []string{"--feature-gates=wardle:GenericWorkload=true"}, `component "wardle"`, true},
		{"emulated version", []string{"--emulated-version=1.35"}, `--emulated-version=1.35: not supported by berth`, true},
		{"min compatibility", []string{"--min-compatibility-version=1.30"}, `not supported by berth`, true},
		{"version override", []string{"--version=v1.37.9"}, `--version=v1.37.9: not supported by berth`, true},
		{"split stream", []string{"--log-text-split-stream"}, `--log-text-split-stream=true: not supported by berth`, true},
		{"info buffer", []string{"--log-json-info-buffer-size=1Ki"}, `not supported by berth`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := Parse(c.args)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error containing %q", c.args, o, c.want)
			}
			if o != nil {
				t.Errorf("Parse(%q) returned options along with error %v", c.args, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", c.args, msg, c.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			if got := errors.Is(err, ErrNotSupported); got != c.unsupported {
				t.Errorf("errors.Is(err, ErrNotSupported) = %v, want %v (err: %v)", got, c.unsupported, err)
			}
		})
	}
}

func TestParseIsIndependent(t *testing.T) {
	// Each Parse starts from the defaults: no state leaks between calls.
	mustParse(t, "--authorization-always-allow-paths=/x", "--feature-gates=GenericWorkload=true")
	o := mustParse(t)
	if !reflect.DeepEqual(o.Authorization.AlwaysAllowPaths, []string{"/healthz", "/readyz", "/livez"}) {
		t.Errorf("second Parse saw the first one's list: %q", o.Authorization.AlwaysAllowPaths)
	}
	if o.FeatureGates != nil {
		t.Errorf("second Parse saw the first one's feature gates: %v", o.FeatureGates)
	}
}

// TestFlagLines checks the "FLAG:" lines kube-scheduler logs at -v=1: every flag once (no
// one-letter alias), by name, with the value as kube-scheduler prints it.
func TestFlagLines(t *testing.T) {
	o := mustParse(t, "-v=1", "--vmodule=sched*=4,queue=5", "--feature-gates=GenericWorkload=true", "--kube-api-qps=100")
	lines := o.FlagLines()
	want := map[string]bool{
		`FLAG: --v="1"`:                                                        true,
		`FLAG: --vmodule="sched*=4,queue=5"`:                                   true,
		`FLAG: --feature-gates="GenericWorkload=true"`:                         true,
		`FLAG: --kube-api-qps="100"`:                                           true,
		`FLAG: --allow-metric-labels="[]"`:                                     true,
		`FLAG: --tls-sni-cert-key="[]"`:                                        true,
		`FLAG: --emulated-version="[]"`:                                        true,
		`FLAG: --authorization-always-allow-paths="[/healthz,/readyz,/livez]"`: true,
		`FLAG: --help="false"`:                                                 true,
	}
	for _, l := range lines {
		delete(want, l)
		if strings.HasPrefix(l, "FLAG: --h=") {
			t.Errorf("the -h alias has a line of its own: %s", l)
		}
	}
	for l := range want {
		t.Errorf("missing %s", l)
	}
	if !slices.IsSortedFunc(o.Values, func(a, b FlagValue) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("lines not ordered by flag name")
	}
	if len(lines) != 62 { // kube-scheduler v1.37 prints 62
		t.Errorf("%d lines, want 62 as kube-scheduler", len(lines))
	}
}
