package kubeclient

import (
	"context"
	"errors"
	"math"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientmetrics "k8s.io/client-go/tools/metrics"

	"github.com/berth-scheduler/berth/metrics"
)

// The rest_client_* families kube-scheduler exposes: client-go counts every request through the
// hooks in k8s.io/client-go/tools/metrics, and kube-scheduler's component-base fills those hooks
// with these names, labels and buckets. berth fills them with its own registry, and its poster
// (the direct path for bindings and events) counts into the same families.

var (
	clientLatencyBuckets = []float64{0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60}
	clientSizeBuckets    = []float64{64, 256, 512, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216}
	clientRotationAge    = []float64{600, 1800, 3600, 14400, 86400, 604800, 2592000, 7776000, 15552000, 31104000, 124416000}
)

// clientMetrics are the families of one registry.
type clientMetrics struct {
	latency, rateLimiter           *metrics.HistogramVec // verb, host
	requestSize, responseSize      *metrics.HistogramVec // verb, host
	results                        *metrics.CounterVec   // code, method, host
	retries                        *metrics.CounterVec   // code, verb, host
	certExpiry                     atomic.Pointer[time.Time]
	certRotation                   *metrics.HistogramVec // no labels
	execCalls                      *metrics.CounterVec   // code, call_status
	transportEntries               *metrics.GaugeVec     // no labels
	transportCreates, caReloads    *metrics.CounterVec   // result; result, reason
	certRotationGC, transportCache *metrics.CounterVec   // no labels; result
}

// current is where client-go's hooks count: the registry of the last RegisterClientMetrics call.
// client-go takes its hooks once per process, so they forward here rather than hold a registry.
var (
	current      atomic.Pointer[clientMetrics]
	registerOnce sync.Once
)

// RegisterClientMetrics registers kube-scheduler's rest_client_* families in r and makes every
// API request of this process (client-go's and the poster's) count into them from now on.
func RegisterClientMetrics(r *metrics.Registry) error {
	m := &clientMetrics{}
	var errs []error
	hist := func(name, help string, buckets []float64, labels ...string) *metrics.HistogramVec {
		v, err := r.Histogram(name, "[ALPHA] "+help, buckets, labels...)
		errs = append(errs, err)
		return v
	}
	counter := func(name, help string, labels ...string) *metrics.CounterVec {
		v, err := r.Counter(name, "[ALPHA] "+help, labels...)
		errs = append(errs, err)
		return v
	}
	m.latency = hist("rest_client_request_duration_seconds", "Request latency in seconds. Broken down by verb, and host.", clientLatencyBuckets, "verb", "host")
	m.requestSize = hist("rest_client_request_size_bytes", "Request size in bytes. Broken down by verb and host.", clientSizeBuckets, "verb", "host")
	m.responseSize = hist("rest_client_response_size_bytes", "Response size in bytes. Broken down by verb and host.", clientSizeBuckets, "verb", "host")
	m.rateLimiter = hist("rest_client_rate_limiter_duration_seconds", "Client side rate limiter latency in seconds. Broken down by verb, and host.", clientLatencyBuckets, "verb", "host")
	m.results = counter("rest_client_requests_total", "Number of HTTP requests, partitioned by status code, method, and host.", "code", "method", "host")
	m.retries = counter("rest_client_request_retries_total", "Number of request retries, partitioned by status code, verb, and host.", "code", "verb", "host")
	errs = append(errs, r.GaugeFunc("rest_client_exec_plugin_ttl_seconds",
		"[ALPHA] Gauge of the shortest TTL (time-to-live) of the client certificate(s) managed by the auth exec plugin. The value is in seconds until certificate expiry (negative if already expired). If auth exec plugins are unused or manage no TLS certificates, the value will be +INF.",
		func() float64 {
			if e := m.certExpiry.Load(); e != nil {
				return time.Until(*e).Seconds()
			}
			return math.Inf(1)
		}))
	m.certRotation = hist("rest_client_exec_plugin_certificate_rotation_age",
		"Histogram of the number of seconds the last auth exec plugin client certificate lived before being rotated. If auth exec plugin client certificates are unused, histogram will contain no data.",
		clientRotationAge)
	m.execCalls = counter("rest_client_exec_plugin_call_total",
		"Number of calls to an exec plugin, partitioned by the type of event encountered (no_error, plugin_execution_error, plugin_not_found_error, client_internal_error) and an optional exit code. The exit code will be set to 0 if and only if the plugin call was successful.",
		"code", "call_status")
	entries, err := r.Gauge("rest_client_transport_cache_entries", "[ALPHA] Number of transport entries in the internal cache.")
	errs = append(errs, err)
	m.transportEntries = entries
	m.transportCreates = counter("rest_client_transport_create_calls_total",
		"Number of calls to get a new transport, partitioned by the result of the operation hit: obtained from the cache, miss: created and added to the cache, miss-gc: recreated and added back to the cache after being garbage collected, uncacheable: created and not cached",
		"result")
	m.caReloads = counter("rest_client_transport_ca_reload_total", "Number of times a CA reload is attempted, partitioned by the result and reason for the reload attempt", "result", "reason")
	m.certRotationGC = counter("rest_client_transport_cert_rotation_gc_calls_total", "Number of times a cert rotation goroutine cancel func is called via GC cleanup of the associated transport")
	m.transportCache = counter("rest_client_transport_cache_gc_calls_total", "Number of times a GC cleanup attempts to delete a transport cache entry, partitioned by the result: deleted, skipped", "result")
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// kube-scheduler shows its unlabelled families from the start, at zero.
	m.certRotation.With()
	m.transportEntries.With()
	m.certRotationGC.With()
	current.Store(m)
	registerOnce.Do(func() {
		clientmetrics.Register(clientmetrics.RegisterOpts{
			ClientCertExpiry:             certExpiryHook{},
			ClientCertRotationAge:        rotationHook{},
			RequestLatency:               latencyHook{func(m *clientMetrics) *metrics.HistogramVec { return m.latency }},
			RateLimiterLatency:           latencyHook{func(m *clientMetrics) *metrics.HistogramVec { return m.rateLimiter }},
			RequestSize:                  sizeHook{func(m *clientMetrics) *metrics.HistogramVec { return m.requestSize }},
			ResponseSize:                 sizeHook{func(m *clientMetrics) *metrics.HistogramVec { return m.responseSize }},
			RequestResult:                resultHook{},
			RequestRetry:                 retryHook{},
			ExecPluginCalls:              execCallsHook{},
			ExecPluginPolicyCalls:        execPolicyHook{},
			TransportCacheEntries:        transportEntriesHook{},
			TransportCreateCalls:         labelHook{func(m *clientMetrics) *metrics.CounterVec { return m.transportCreates }},
			TransportCAReloads:           caReloadHook{},
			TransportCertRotationGCCalls: certRotationGCHook{},
			TransportCacheGCCalls:        labelHook{func(m *clientMetrics) *metrics.CounterVec { return m.transportCache }},
		})
	})
	return nil
}

// The hooks client-go calls; each counts into the current registry's family, or nowhere before
// the first RegisterClientMetrics.

type latencyHook struct {
	vec func(*clientMetrics) *metrics.HistogramVec
}

func (h latencyHook) Observe(_ context.Context, verb string, u url.URL, d time.Duration) {
	if m := current.Load(); m != nil {
		h.vec(m).With(verb, u.Host).Observe(d.Seconds())
	}
}

type sizeHook struct {
	vec func(*clientMetrics) *metrics.HistogramVec
}

func (h sizeHook) Observe(_ context.Context, verb, host string, size float64) {
	if m := current.Load(); m != nil {
		h.vec(m).With(verb, host).Observe(size)
	}
}

type resultHook struct{}

func (resultHook) Increment(ctx context.Context, code, method, host string) {
	m := current.Load()
	if m == nil {
		return
	}
	m.results.With(code, method, host).Inc()
	if r, ok := ctx.Value(retryKey{}).(*atomic.Bool); ok && r.CompareAndSwap(false, true) {
		m.retries.With(code, method, host).Inc()
	}
}

// retryKey marks the context of a call the poster hands to client-go after its own attempt was
// answered "retry later": client-go's first attempt is then the call's second, a retry.
type retryKey struct{}

func retrying(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryKey{}, new(atomic.Bool))
}

type retryHook struct{}

func (retryHook) IncrementRetry(_ context.Context, code, verb, host string) {
	if m := current.Load(); m != nil {
		m.retries.With(code, verb, host).Inc()
	}
}

type certExpiryHook struct{}

func (certExpiryHook) Set(expiry *time.Time) {
	if m := current.Load(); m != nil {
		m.certExpiry.Store(expiry)
	}
}

type rotationHook struct{}

func (rotationHook) Observe(d time.Duration) {
	if m := current.Load(); m != nil {
		m.certRotation.With().Observe(d.Seconds())
	}
}

type execCallsHook struct{}

func (execCallsHook) Increment(code int, status string) {
	if m := current.Load(); m != nil {
		m.execCalls.With(strconv.Itoa(code), status).Inc()
	}
}

// execPolicyHook counts nowhere, as kube-scheduler: its component-base never registers the family
// (rest_client_exec_plugin_policy_call_total) it defines for this hook.
type execPolicyHook struct{}

func (execPolicyHook) Increment(string) {}

type transportEntriesHook struct{}

func (transportEntriesHook) Observe(n int) {
	if m := current.Load(); m != nil {
		m.transportEntries.With().Set(float64(n))
	}
}

type labelHook struct {
	vec func(*clientMetrics) *metrics.CounterVec
}

func (h labelHook) Increment(result string) {
	if m := current.Load(); m != nil {
		h.vec(m).With(result).Inc()
	}
}

type caReloadHook struct{}

func (caReloadHook) Increment(result, reason string) {
	if m := current.Load(); m != nil {
		m.caReloads.With(result, reason).Inc()
	}
}

type certRotationGCHook struct{}

func (certRotationGCHook) Increment() {
	if m := current.Load(); m != nil {
		m.certRotationGC.With().Inc()
	}
}

// countRequest counts one attempt the poster made as client-go's rest.Request counts it. waited
// is the rate limiter's wait (negative: no limiter, nothing observed); code the HTTP status, 0 for
// a transport error; received the answer's size, negative when client-go would not count it (an
// error answer it cannot decode). When the server asked for a retry (handed), the call goes on in
// client-go, which observes its latency and answer size; this attempt counts as a request.
func countRequest(verb, host string, waited, took time.Duration, sent, received int, code int, handed bool) {
	m := current.Load()
	if m == nil {
		return
	}
	if waited >= 0 {
		m.rateLimiter.With(verb, host).Observe(waited.Seconds())
	}
	m.requestSize.With(verb, host).Observe(float64(sent))
	c := "<error>"
	if code != 0 {
		c = strconv.Itoa(code)
	}
	m.results.With(c, verb, host).Inc()
	if handed {
		return
	}
	m.latency.With(verb, host).Observe(took.Seconds())
	if received >= 0 {
		m.responseSize.With(verb, host).Observe(float64(received))
	}
}
