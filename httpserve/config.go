package httpserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/metrics"
)

// Defaults kube-scheduler's flags use; the zero values in Config mean something else (see there).
const (
	DefaultCacheTTL        = 10 * time.Second // --authentication-token-webhook-cache-ttl, --authorization-webhook-cache-*-ttl
	DefaultShutdownTimeout = 5 * time.Second
)

// DefaultAlwaysAllowPaths are the paths anyone may read without authorization
// (--authorization-always-allow-paths).
var DefaultAlwaysAllowPaths = []string{"/healthz", "/readyz", "/livez"}

// MetricsWriter writes all metrics in the Prometheus text exposition format (version 0.0.4).
// It is called once per GET /metrics, possibly concurrently.
type MetricsWriter interface {
	WritePrometheus(w io.Writer) error
}

// TokenReviewer sends a TokenReview to the API server. kubeclient's TokenReviews() and
// client-go's AuthenticationV1().TokenReviews() satisfy it.
type TokenReviewer interface {
	Create(ctx context.Context, review *authenticationv1.TokenReview, opts metav1.CreateOptions) (*authenticationv1.TokenReview, error)
}

// SubjectAccessReviewer sends a SubjectAccessReview to the API server. kubeclient's
// SubjectAccessReviews() and client-go's AuthorizationV1().SubjectAccessReviews() satisfy it.
type SubjectAccessReviewer interface {
	Create(ctx context.Context, review *authorizationv1.SubjectAccessReview, opts metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error)
}

// Config describes the secure endpoint. The zero value of each field is documented; New copies
// the Config, so later changes to the caller's value have no effect.
type Config struct {
	// BindAddress is the IP address to listen on (--bind-address). Empty or an unspecified address
	// (0.0.0.0, ::) listens on all interfaces.
	BindAddress string
	// Port is the HTTPS port (--secure-port). 0 disables serving, as upstream: New then loads no
	// certificates, Listen does nothing and Serve only waits for its context. Ignored when
	// Listener is set.
	Port int
	// Listener, when set, is served instead of binding BindAddress:Port (tests, inherited
	// sockets). Serve closes it.
	Listener net.Listener

	// CertFile and KeyFile are the serving certificate (chain) and key (--tls-cert-file,
	// --tls-private-key-file); both or neither. With neither, a self-signed certificate for
	// localhost and 127.0.0.1 (and BindAddress, if specific) is used: read from
	// CertDir/kube-scheduler.crt and .key if present, otherwise generated and written there; with
	// no CertDir it is generated in memory.
	CertDir, CertFile, KeyFile string
	// MinTLSVersion is a name such as "VersionTLS12" (--tls-min-version); empty means TLS 1.2.
	MinTLSVersion string
	// CipherSuites are crypto/tls cipher suite names (--tls-cipher-suites); empty means Go's
	// defaults.
	CipherSuites []string
	// CurvePreferences are numeric crypto/tls CurveID values (--tls-curve-preferences); empty
	// means Go's defaults.
	CurvePreferences []int32
	// DisableHTTP2 serves HTTP/1.1 only (--disable-http2-serving).
	DisableHTTP2 bool
	// HTTP2MaxStreamsPerConnection limits concurrent HTTP/2 streams per client
	// (--http2-max-streams-per-connection); 0 means 100, as upstream.
	HTTP2MaxStreamsPerConnection int

	// ClientCAFile is a PEM bundle (--client-ca-file); a client certificate verified against it
	// for client authentication authenticates as user = CN, groups = O. ClientCA is the same as
	// PEM data (as found by LookupAuthentication); set at most one. Neither: no client
	// certificate authentication.
	ClientCAFile string
	ClientCA     []byte
	// RequestHeader configures front-proxy authentication; see RequestHeaderConfig.
	RequestHeader RequestHeaderConfig

	// TokenReviewer authenticates bearer tokens; nil means bearer tokens are not looked at, so a
	// request carrying only a token is anonymous.
	TokenReviewer TokenReviewer
	// TokenCacheTTL is how long a TokenReview answer (authenticated or not, but not an error) is
	// reused; 0 disables the cache. kube-scheduler's default is DefaultCacheTTL.
	TokenCacheTTL time.Duration

	// Authorizer reviews requests outside AlwaysAllowPaths from users outside system:masters;
	// nil means they are all forbidden (403).
	Authorizer SubjectAccessReviewer
	// AlwaysAllowPaths need no authorization (any user, including anonymous, may read them).
	// A trailing "*" makes a prefix pattern; "*" elsewhere is an error. nil means
	// DefaultAlwaysAllowPaths; an empty non-nil slice means none.
	AlwaysAllowPaths []string
	// AllowCacheTTL and DenyCacheTTL are how long allowed and refused review answers are reused;
	// 0 disables that half of the cache. kube-scheduler's default for both is DefaultCacheTTL.
	AllowCacheTTL, DenyCacheTTL time.Duration

	// Profiling mounts /debug/pprof/; ContentionProfiling (with Profiling) also sets the
	// process-wide block profile rate to 1 when New is called.
	Profiling, ContentionProfiling bool
	// Metrics serves /metrics; nil means /metrics is 404.
	Metrics MetricsWriter
	// Configz returns the effective configuration, served at /configz as JSON under the key
	// "componentconfig" as upstream does; nil means /configz is 404. Called per request.
	Configz func() any

	// ComponentName names the component in the z-pages (their text header and metadata.name);
	// empty means "kube-scheduler".
	ComponentName string
	// Flags returns the effective command line, flag name (without dashes) to value, served at
	// /flagz; nil means /flagz is 404. Called per request.
	Flags func() map[string]string
	// Status is what /statusz reports; a zero Status.StartTime means /statusz is 404.
	Status StatusInfo
	// SLIMetrics, when set, is the registry served at /metrics/slis: New registers
	// kubernetes_healthcheck, kubernetes_healthchecks_total and process_start_time_seconds in
	// it, and the health endpoints record each check they run there. nil means /metrics/slis is
	// 404. Configure it (disabled families, label allow-lists) before New.
	SLIMetrics *metrics.Registry
	// AuthMetrics, when set, is the registry (the one served at /metrics) in which New registers
	// k8s.io/apiserver's authentication and authorization families: authentication_*,
	// authorization_*, authenticated_user_requests, apiserver_delegated_authz_* and
	// apiserver_client_certificate_expiration_seconds (and, with a TokenReviewer,
	// authentication_token_cache_*); every request is then counted there.
	// nil means nothing is counted. Configure it before New.
	AuthMetrics *metrics.Registry
	// SetVerbosity changes the log verbosity (-v) at run time; with Profiling it is served as
	// PUT /debug/flags/v, as in kube-scheduler. nil means /debug/flags/v is 404.
	SetVerbosity func(v int) error

	// ShutdownTimeout bounds how long Serve waits for in-flight requests once its context is
	// done; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives serving, authentication and health-check logs; nil means slog.Default().
	Logger *slog.Logger

	// clock replaces time.Now in caches and certificate checks (tests only).
	clock func() time.Time
}

// RequestHeaderConfig is front-proxy (request-header) authentication: a client certificate
// verified against the request-header CA vouches for the user named in request headers.
type RequestHeaderConfig struct {
	// ClientCAFile (--requestheader-client-ca-file) or ClientCA (PEM data): at most one. Neither
	// disables request-header authentication.
	ClientCAFile string
	ClientCA     []byte
	// AllowedNames are the proxy certificate common names trusted (--requestheader-allowed-names);
	// empty trusts any certificate the CA verifies.
	AllowedNames []string
	// Header names read in order (--requestheader-*-headers); the first non-empty username and
	// UID win, groups are collected from all group headers, and extra keys are the lower-cased,
	// %-unescaped remainder after a prefix. nil reads nothing: kube-scheduler's flags default to
	// X-Remote-User, X-Remote-Group and X-Remote-Extra-.
	UsernameHeaders, UIDHeaders, GroupHeaders, ExtraHeaderPrefixes []string
}

func (r RequestHeaderConfig) enabled() bool {
	return r.ClientCAFile != "" || len(r.ClientCA) > 0
}

// Endpoint names a health endpoint that checks can be added to.
type Endpoint string

// The health endpoints. /healthz is kept for compatibility; probes should use /livez and /readyz.
const (
	Healthz Endpoint = "/healthz"
	Livez   Endpoint = "/livez"
	Readyz  Endpoint = "/readyz"
)

// validate checks the fields that need no I/O; it names every bad field it finds.
func (c *Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.BindAddress != "" && net.ParseIP(c.BindAddress) == nil {
		bad("BindAddress", "%q is not an IP address", c.BindAddress)
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("Port", "%d must be between 0 and 65535 (0 disables serving)", c.Port)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("CertFile/KeyFile", "both or neither must be set (got CertFile=%q, KeyFile=%q)", c.CertFile, c.KeyFile)
	}
	if c.ClientCAFile != "" && len(c.ClientCA) > 0 {
		bad("ClientCAFile/ClientCA", "set at most one")
	}
	if c.RequestHeader.ClientCAFile != "" && len(c.RequestHeader.ClientCA) > 0 {
		bad("RequestHeader.ClientCAFile/ClientCA", "set at most one")
	}
	errs = append(errs, c.RequestHeader.validate()...)
	if c.HTTP2MaxStreamsPerConnection < 0 {
		bad("HTTP2MaxStreamsPerConnection", "%d must not be negative", c.HTTP2MaxStreamsPerConnection)
	}
	durations := []struct {
		field string
		d     time.Duration
	}{
		{"TokenCacheTTL", c.TokenCacheTTL}, {"AllowCacheTTL", c.AllowCacheTTL},
		{"DenyCacheTTL", c.DenyCacheTTL}, {"ShutdownTimeout", c.ShutdownTimeout},
	}
	for _, f := range durations {
		if f.d < 0 {
			bad(f.field, "%v must not be negative", f.d)
		}
	}
	if _, err := newPathMatcher(c.AlwaysAllowPaths); err != nil {
		bad("AlwaysAllowPaths", "%v", err)
	}
	return errors.Join(errs...)
}

func (r RequestHeaderConfig) validate() []error {
	var errs []error
	lists := []struct {
		field string
		names []string
	}{
		{"RequestHeader.UsernameHeaders", r.UsernameHeaders},
		{"RequestHeader.UIDHeaders", r.UIDHeaders},
		{"RequestHeader.GroupHeaders", r.GroupHeaders},
		{"RequestHeader.ExtraHeaderPrefixes", r.ExtraHeaderPrefixes},
		{"RequestHeader.AllowedNames", r.AllowedNames},
	}
	for _, l := range lists {
		for _, n := range l.names {
			if strings.TrimSpace(n) == "" {
				errs = append(errs, fmt.Errorf("%s: empty value", l.field))
				break
			}
		}
	}
	// Upstream refuses UID headers that leave out the standard one, since aggregation relies on it.
	if len(r.UIDHeaders) > 0 && !containsFold(r.UIDHeaders, "X-Remote-Uid") {
		errs = append(errs, fmt.Errorf("RequestHeader.UIDHeaders: set without the standard X-Remote-Uid header"))
	}
	return errs
}

// trimmed returns the header lists with surrounding spaces removed, as upstream does.
func (r RequestHeaderConfig) trimmed() RequestHeaderConfig {
	trim := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			out = append(out, strings.TrimSpace(s))
		}
		return out
	}
	r.UsernameHeaders = trim(r.UsernameHeaders)
	r.UIDHeaders = trim(r.UIDHeaders)
	r.GroupHeaders = trim(r.GroupHeaders)
	r.ExtraHeaderPrefixes = trim(r.ExtraHeaderPrefixes)
	return r
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// shutdownTimeout and the other accessors apply the documented zero-value meanings.
func (c *Config) shutdownTimeout() time.Duration {
	if c.ShutdownTimeout == 0 {
		return DefaultShutdownTimeout
	}
	return c.ShutdownTimeout
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

func (c *Config) now() time.Time {
	if c.clock == nil {
		return time.Now()
	}
	return c.clock()
}

func (c *Config) componentName() string {
	if c.ComponentName == "" {
		return defaultComponentName
	}
	return c.ComponentName
}

func (c *Config) alwaysAllowPaths() []string {
	if c.AlwaysAllowPaths == nil {
		return DefaultAlwaysAllowPaths
	}
	return c.AlwaysAllowPaths
}

// serving reports whether the endpoint listens at all.
func (c *Config) serving() bool { return c.Port != 0 || c.Listener != nil }
