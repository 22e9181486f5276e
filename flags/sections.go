package flags

import (
	"errors"
	"strings"
)

// This file declares every flag, section by section in upstream's order. Help texts say
// what the flag does in berth; flags without effect say so.

const noEffect = " Accepted for compatibility; has no effect in berth."

const ignoredWithConfig = " Ignored when --config is given."

// PreviousVersion is the minor version before KubeVersion.
const PreviousVersion = "1.36"

const (
	contentTypeJSON     = "application/json"
	contentTypeProtobuf = "application/vnd.kubernetes.protobuf"
)

func registerMisc(s *section, o *Options) {
	s.add("config", "string", stringValue(&o.ConfigFile),
		"Path to a KubeSchedulerConfiguration file.")
	s.add("master", "string", stringValue(&o.Master),
		"Address of the Kubernetes API server; overrides the server named in the kubeconfig.")
	s.add("write-config-to", "string", stringValue(&o.WriteConfigTo),
		"If set, write the effective configuration to this file and exit.")
}

func registerSecureServing(s *section, ss *SecureServing) {
	s.add("bind-address", "ip", ipValue(&ss.BindAddress),
		"IP address to listen on for --secure-port. Blank or unspecified (0.0.0.0 or ::) listens on all interfaces and address families.")
	s.add("cert-dir", "string", stringValue(&ss.CertDir),
		"Directory for the self-signed serving certificate used when --tls-cert-file and --tls-private-key-file are not given. Empty keeps it in memory.")
	s.add("disable-http2-serving", "", &boolValue{p: &ss.DisableHTTP2},
		"If true, serve HTTP/1.1 only.")
	s.add("http2-max-streams-per-connection", "int", intValue(&ss.HTTP2MaxStreamsPerConnection),
		"Maximum concurrent HTTP/2 streams per client connection. 0 uses Go's default.")
	s.add("permit-address-sharing", "", &boolValue{p: &ss.PermitAddressSharing},
		"If true, bind with SO_REUSEADDR: allows binding a wildcard and a specific address at once and does not wait for sockets in TIME_WAIT.")
	s.add("permit-port-sharing", "", &boolValue{p: &ss.PermitPortSharing},
		"If true, bind with SO_REUSEPORT so several processes can listen on the same address and port.")
	s.add("secure-port", "int", intValue(&ss.Port),
		"Port for HTTPS (health, metrics, debug endpoints) with authentication and authorization. 0 turns HTTPS off.")
	s.add("tls-cert-file", "string", stringValue(&ss.CertFile),
		"PEM file holding the serving certificate, followed by any intermediate certificates. Without it a self-signed certificate is generated (see --cert-dir).")
	s.add("tls-cipher-suites", "strings", cipherList(&ss.CipherSuites),
		"Comma-separated cipher suites the server allows; omitted means Go's defaults. Secure values: "+
			strings.Join(cipherNames(true), ", ")+". Insecure values: "+strings.Join(cipherNames(false), ", ")+".")
	s.add("tls-curve-preferences", "int32Slice", curveList(&ss.CurvePreferences),
		"Comma-separated numeric crypto/tls CurveID values allowed for key exchange; Go chooses among them in its own order. Omitted means Go's defaults.")
	s.add("tls-min-version", "string", tlsVersionValue(&ss.MinVersion),
		"Lowest TLS version accepted; omitted means VersionTLS12. Values: "+strings.Join(tlsVersionNames(), ", ")+".")
	s.add("tls-private-key-file", "string", stringValue(&ss.KeyFile),
		"PEM file holding the private key for --tls-cert-file.")
	s.add("tls-sni-cert-key", "namedCertKey", refusedValue{why: "per-name (SNI) certificates; use --tls-cert-file and --tls-private-key-file", shown: "[]"},
		"Not supported by berth: giving it is an error. Use --tls-cert-file and --tls-private-key-file.")
}

func registerAuthentication(s *section, a *Authentication) {
	rh := &a.RequestHeader
	s.add("authentication-kubeconfig", "string", stringValue(&a.Kubeconfig),
		"Kubeconfig for the API server used to create tokenreviews.authentication.k8s.io. Optional: if empty, bearer tokens are treated as anonymous and no client CA is looked up in the cluster.")
	s.add("authentication-skip-lookup", "", &boolValue{p: &a.SkipLookup},
		"If true, do not read missing client-CA and request-header settings from the kube-system/extension-apiserver-authentication ConfigMap.")
	s.add("authentication-token-webhook-cache-ttl", "duration", durationValue(&a.TokenWebhookCacheTTL),
		"How long to cache token review answers.")
	s.add("authentication-tolerate-lookup-failure", "", &boolValue{p: &a.TolerateLookupFailure},
		"If true, a failed lookup of the authentication ConfigMap is not fatal; requests may then all be treated as anonymous.")
	s.add("client-ca-file", "string", stringValue(&a.ClientCAFile),
		"CA bundle: a request with a client certificate signed by one of these authorities is authenticated as the certificate's CommonName.")
	s.add("requestheader-allowed-names", "strings", stringList(&rh.AllowedNames),
		"Client certificate common names allowed to assert identities in request headers. Empty allows any certificate --requestheader-client-ca-file verifies.")
	s.add("requestheader-client-ca-file", "string", stringValue(&rh.ClientCAFile),
		"CA bundle that a proxy's client certificate must chain to before the identity headers it sends are trusted.")
	s.add("requestheader-extra-headers-prefix", "strings", stringList(&rh.ExtraHeaderPrefixes),
		"Request header prefixes carrying extra user attributes. X-Remote-Extra- is the standard one.")
	s.add("requestheader-group-headers", "strings", stringList(&rh.GroupHeaders),
		"Request headers carrying group names. X-Remote-Group is the standard one.")
	s.add("requestheader-uid-headers", "strings", stringList(&rh.UIDHeaders),
		"Request headers carrying the user's UID. If set, it must include X-Remote-Uid.")
	s.add("requestheader-username-headers", "strings", stringList(&rh.UsernameHeaders),
		"Request headers carrying the user name. X-Remote-User is the standard one.")
}

func registerAuthorization(s *section, a *Authorization) {
	s.add("authorization-always-allow-paths", "strings", stringList(&a.AlwaysAllowPaths),
		"HTTP paths served without asking the API server for authorization.")
	s.add("authorization-kubeconfig", "string", stringValue(&a.Kubeconfig),
		"Kubeconfig for the API server used to create subjectaccessreviews.authorization.k8s.io. Optional: if empty, every request not in --authorization-always-allow-paths is forbidden.")
	s.add("authorization-webhook-cache-authorized-ttl", "duration", durationValue(&a.AuthorizedTTL),
		"How long to cache 'allowed' answers from the API server.")
	s.add("authorization-webhook-cache-unauthorized-ttl", "duration", durationValue(&a.UnauthorizedTTL),
		"How long to cache 'denied' answers from the API server.")
}

func registerDeprecated(s *section, d *Deprecated) {
	s.add("contention-profiling", "", &boolValue{p: &d.ContentionProfiling},
		"DEPRECATED: enable block profiling when --profiling is on."+ignoredWithConfig)
	s.add("kube-api-burst", "int32", int32Value(&d.Burst),
		"DEPRECATED: burst of requests allowed above --kube-api-qps when talking to the API server."+ignoredWithConfig)
	s.add("kube-api-content-type", "string", oneOfValue(&d.ContentType, contentTypeProtobuf, contentTypeJSON, ""),
		"DEPRECATED: content type of requests to the API server: "+contentTypeProtobuf+" or "+contentTypeJSON+"."+ignoredWithConfig)
	s.add("kube-api-qps", "float32", float32Value(&d.QPS),
		"DEPRECATED: sustained requests per second to the API server; a negative value turns client-side rate limiting off."+ignoredWithConfig)
	s.add("kubeconfig", "string", stringValue(&d.Kubeconfig),
		"DEPRECATED: kubeconfig file with the API server location and credentials."+ignoredWithConfig)
	s.add("pod-max-in-unschedulable-pods-duration", "duration", durationValue(&d.PodMaxInUnschedulablePodsDuration),
		"DEPRECATED: longest time a pod stays among unschedulable pods before it is retried. Applies even with --config.")
	s.add("profiling", "", &boolValue{p: &d.Profiling},
		"DEPRECATED: serve profiling data at /debug/pprof/."+ignoredWithConfig)
}

func registerLeaderElection(s *section, le *LeaderElection) {
	s.add("leader-elect", "", &boolValue{p: &le.LeaderElect},
		"Acquire a Lease and schedule only while holding it. Enable when running several replicas for high availability.")
	s.add("leader-elect-lease-duration", "duration", durationValue(&le.LeaseDuration),
		"How long other candidates wait after the last observed renewal before taking over; the longest a stopped leader can go unreplaced.")
	s.add("leader-elect-renew-deadline", "duration", durationValue(&le.RenewDeadline),
		"How long the leader keeps retrying to renew before it stops leading. Must be less than the lease duration.")
	s.add("leader-elect-resource-lock", "string", oneOfValueUnsupported(&le.ResourceLock, "leases"),
		"Kind of object used as the lock. Only 'leases' is supported.")
	s.add("leader-elect-resource-name", "string", stringValue(&le.ResourceName),
		"Name of the lock object.")
	s.add("leader-elect-resource-namespace", "string", stringValue(&le.ResourceNamespace),
		"Namespace of the lock object.")
	s.add("leader-elect-retry-period", "duration", durationValue(&le.RetryPeriod),
		"How long candidates and the leader wait between attempts to acquire or renew.")
}

func registerFeatureGates(s *section, o *Options) {
	// The version flags accept only the values that change nothing, so they have no field.
	s.add("emulated-version", "strings", compatVersionValue{allowed: []string{KubeVersion}},
		"Version whose behaviour to emulate, as [kube=]major.minor. Only "+KubeVersion+" is accepted; berth always behaves as kube-scheduler v"+KubeVersion+".")
	s.add("feature-gates", "[kube:]Name=bool,...", featureGateValue{p: &o.FeatureGates},
		"Comma-separated Name=true|false feature gates; may be repeated."+noEffect+" Berth implements v"+KubeVersion+"'s default behaviour only.")
	s.add("min-compatibility-version", "strings", compatVersionValue{allowed: []string{PreviousVersion, KubeVersion}},
		"Oldest control-plane version to stay compatible with, as [kube=]major.minor. Only "+PreviousVersion+" and "+KubeVersion+" are accepted."+noEffect)
}

func registerMetrics(s *section, m *Metrics) {
	s.add("allow-metric-labels", "mapStringString", metricLabelsValue{p: &m.AllowMetricLabels},
		"Per metric label, the values allowed, as metricName,labelName='v1,v2'; other values are counted as \"unexpected\". May be repeated.")
	s.add("allow-metric-labels-manifest", "string", stringValue(&m.AllowMetricLabelsManifest),
		"YAML file holding the --allow-metric-labels mapping (\"metricName,labelName\": \"v1,v2\").")
	s.add("disabled-metrics", "strings", stringList(&m.DisabledMetrics),
		"Fully qualified names of metrics not to expose.")
	s.add("show-hidden-metrics-for-version", "string", hiddenMetricsValue(&m.ShowHiddenMetricsForVersion),
		"Previous minor version ("+PreviousVersion+") whose hidden metrics to show. Berth has no hidden metrics."+noEffect)
}

func registerLogs(s *section, l *Logs) {
	s.add("log-flush-frequency", "duration", durationValue(&l.FlushFrequency),
		"Longest time between log flushes. Must be positive."+noEffect+" Log lines are written unbuffered.")
	s.add("log-json-info-buffer-size", "quantity", zeroQuantityValue{what: "buffering info messages"},
		"[Alpha] Buffer size for info messages with split JSON streams. Only 0 is supported.")
	s.add("log-json-split-stream", "", &boolValue{p: new(bool), check: refuseTrue("splitting log streams")},
		"[Alpha] Write JSON errors to stderr and info to stdout. Only false is supported.")
	s.add("log-text-info-buffer-size", "quantity", zeroQuantityValue{what: "buffering info messages"},
		"[Alpha] Buffer size for info messages with split text streams. Only 0 is supported.")
	s.add("log-text-split-stream", "", &boolValue{p: new(bool), check: refuseTrue("splitting log streams")},
		"[Alpha] Write text errors to stderr and info to stdout. Only false is supported.")
	s.add("logging-format", "string", oneOfValue(&l.Format, "text", "json"),
		"Log format: text or json.")
	s.addShort("v", "v", "Level", verbosityValue(&l.Verbosity),
		"Log verbosity level.")
	s.add("vmodule", "pattern=N,...", vmoduleList(&l.VModule),
		"Comma-separated pattern=N per-file verbosity settings (text format only): files whose name (without .go) matches pattern, or whose path does if pattern holds a /, log at -v=N.")
}

func registerGlobal(s *section, o *Options) {
	s.addShort("help", "h", "", &boolValue{p: &o.help},
		"Print this help and exit.")
	s.add("version", "version[=true]", versionValue{p: &o.Version},
		"--version or --version=raw prints version information and exits.")
}

// oneOfValueUnsupported is oneOfValue whose other values are refused as not supported.
func oneOfValueUnsupported(p *string, allowed ...string) *scalar[string] {
	v := oneOfValue(p, allowed...)
	v.parse = func(s string) (string, error) {
		for _, a := range allowed {
			if s == a {
				return s, nil
			}
		}
		return "", unsupported("only %s", quoteAll(allowed))
	}
	return v
}

// hiddenMetricsValue accepts only the previous minor version, as upstream does.
func hiddenMetricsValue(p *string) *scalar[string] {
	v := stringValue(p)
	v.parse = func(s string) (string, error) {
		if s != "" && s != PreviousVersion {
			return "", errors.New("must be omitted or " + PreviousVersion + ": only the previous minor version is allowed")
		}
		return s, nil
	}
	return v
}

func refuseTrue(what string) func(bool) error {
	return func(b bool) error {
		if b {
			return unsupported("%s", what)
		}
		return nil
	}
}

// cipherNames lists the suite names crypto/tls implements, secure or insecure.
func cipherNames(secure bool) []string {
	var names []string
	for _, n := range sortedKeys(cipherIDs) {
		if isInsecureCipher(cipherIDs[n]) != secure {
			names = append(names, n)
		}
	}
	return names
}
