package httpserve

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/berth-scheduler/berth/metrics"
)

// authMetrics are k8s.io/apiserver's instrumentation of delegated authentication and
// authorization, as kube-scheduler exposes it on /metrics: attempts and durations of each
// request's authentication and authorization, the bearer-token cache, the SubjectAccessReview
// calls, and the remaining lifetime of client certificates. Series whose labels come from a
// fixed set are resolved once, so counting a request only touches atomics. A nil *authMetrics,
// or any family that --disabled-metrics turned off, counts nothing. Safe for concurrent use.
type authMetrics struct {
	authnAttempts  map[string]*metrics.Counter   // authentication_attempts{result}
	authnDuration  map[string]*metrics.Histogram // authentication_duration_seconds{result}
	users          map[string]*metrics.Counter   // authenticated_user_requests{username}
	authzAttempts  map[string]*metrics.Counter   // authorization_attempts_total{result}
	authzDuration  map[string]*metrics.Histogram // authorization_duration_seconds{result}
	tokenRequests  map[bool]*metrics.Counter     // authentication_token_cache_request_total{status}, by hit
	tokenDuration  map[bool]*metrics.Histogram   // authentication_token_cache_request_duration_seconds{status}, by hit
	tokenFetches   map[bool]*metrics.Counter     // authentication_token_cache_fetch_total{status}, by ok
	tokenInFlight  *metrics.Gauge                // authentication_token_cache_active_fetch_count{status="in_flight"}
	tokenBlocked   *metrics.Gauge                // authentication_token_cache_active_fetch_count{status="blocked"}
	sarRequests    *metrics.CounterVec           // apiserver_delegated_authz_request_total{code}
	sarDuration    *metrics.HistogramVec         // apiserver_delegated_authz_request_duration_seconds{code}
	certExpiration *metrics.Histogram            // apiserver_client_certificate_expiration_seconds
}

// Result label values, as k8s.io/apiserver's filters write them. Its third authentication
// result, "failure" (no method applied), never happens in kube-scheduler nor in berth: both fall
// back to the anonymous user.
const (
	authnSuccess = "success"
	authnError   = "error"

	authzAllowed   = "allowed"
	authzDenied    = "denied"
	authzNoOpinion = "no-opinion"
	authzError     = "error"
)

// Usernames authenticated_user_requests names; any other counts as email_id (with an "@") or other.
var countedUsernames = []string{"admin", "client", "kube_proxy", "kubelet", "system:serviceaccount:kube-system:default"}

// Buckets as upstream's: 1ms doubling to about 16s for the filters, its own for the review calls,
// and a remaining-lifetime ladder from 30 minutes to a year for certificates.
var (
	filterBuckets     = metrics.ExponentialBuckets(0.001, 2, 15)
	reviewBuckets     = []float64{0.25, 0.5, 0.7, 1, 1.5, 3, 5, 10}
	tokenCacheBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10} // client_golang's defaults
	certBuckets       = []float64{0, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 345600, 604800, 2592000, 7776000, 15552000, 31104000}
)

// newAuthMetrics registers the families in reg; the token cache's only with tokens, as upstream
// registers them when it builds the cache for a TokenReview client.
func newAuthMetrics(reg *metrics.Registry, tokens bool) (*authMetrics, error) {
	var errs []error
	counter := func(name, help string, label string) *metrics.CounterVec {
		v, err := reg.Counter(name, help, label)
		errs = append(errs, err)
		return v
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *metrics.HistogramVec {
		v, err := reg.Histogram(name, help, buckets, labels...)
		errs = append(errs, err)
		return v
	}
	m := &authMetrics{}

	users := counter("authenticated_user_requests", "[ALPHA] Counter of authenticated requests broken out by username.", "username")
	m.users = counters(users, append(countedUsernames, "email_id", "other")...)
	authn := counter("authentication_attempts", "[ALPHA] Counter of authenticated attempts.", "result")
	m.authnAttempts = counters(authn, authnSuccess, authnError)
	authnDur := histogram("authentication_duration_seconds", "[ALPHA] Authentication duration in seconds broken out by result.", filterBuckets, "result")
	m.authnDuration = histograms(authnDur, authnSuccess, authnError)

	authz := counter("authorization_attempts_total", "[ALPHA] Counter of authorization attempts broken down by result. It can be either 'allowed', 'denied', 'no-opinion' or 'error'.", "result")
	m.authzAttempts = counters(authz, authzAllowed, authzDenied, authzNoOpinion, authzError)
	authzDur := histogram("authorization_duration_seconds", "[ALPHA] Authorization duration in seconds broken out by result.", filterBuckets, "result")
	m.authzDuration = histograms(authzDur, authzAllowed, authzDenied, authzNoOpinion, authzError)

	if tokens {
		errs = append(errs, m.registerTokenCache(reg))
	}
	m.sarRequests = counter("apiserver_delegated_authz_request_total", "[ALPHA] Number of HTTP requests partitioned by status code.", "code")
	m.sarDuration = histogram("apiserver_delegated_authz_request_duration_seconds", "[ALPHA] Request latency in seconds. Broken down by status code.", reviewBuckets, "code")

	certs := histogram("apiserver_client_certificate_expiration_seconds", "[ALPHA] Distribution of the remaining lifetime on the certificate used to authenticate a request.", certBuckets)
	m.certExpiration = certs.With()

	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering authentication and authorization metrics: %w", err)
	}
	return m, nil
}

// registerTokenCache registers the bearer-token cache's families. Upstream gives them no help
// text, so only the stability level shows.
func (m *authMetrics) registerTokenCache(reg *metrics.Registry) error {
	requests, err1 := reg.Counter("authentication_token_cache_request_total", "[ALPHA] ", "status")
	duration, err2 := reg.Histogram("authentication_token_cache_request_duration_seconds", "[ALPHA] ", tokenCacheBuckets, "status")
	fetches, err3 := reg.Counter("authentication_token_cache_fetch_total", "[ALPHA] ", "status")
	active, err4 := reg.Gauge("authentication_token_cache_active_fetch_count", "[ALPHA] ", "status")
	m.tokenRequests = map[bool]*metrics.Counter{true: requests.With("hit"), false: requests.With("miss")}
	m.tokenDuration = map[bool]*metrics.Histogram{true: duration.With("hit"), false: duration.With("miss")}
	m.tokenFetches = map[bool]*metrics.Counter{true: fetches.With("ok"), false: fetches.With("error")}
	m.tokenInFlight, m.tokenBlocked = active.With("in_flight"), active.With("blocked")
	return errors.Join(err1, err2, err3, err4)
}

func counters(v *metrics.CounterVec, values ...string) map[string]*metrics.Counter {
	m := make(map[string]*metrics.Counter, len(values))
	for _, s := range values {
		m[s] = v.With(s)
	}
	return m
}

func histograms(v *metrics.HistogramVec, values ...string) map[string]*metrics.Histogram {
	m := make(map[string]*metrics.Histogram, len(values))
	for _, s := range values {
		m[s] = v.With(s)
	}
	return m
}

// authenticated records one request's authentication, which began at start: an error when its
// credentials were rejected, else a success for user u.
func (m *authMetrics) authenticated(u *userInfo, err error, start time.Time) {
	if m == nil {
		return
	}
	result := authnSuccess
	if err != nil {
		result = authnError
	} else {
		m.users[compressUsername(u.Name)].Inc()
	}
	m.authnAttempts[result].Inc()
	m.authnDuration[result].Observe(time.Since(start).Seconds())
}

// compressUsername keeps authenticated_user_requests' cardinality fixed, as upstream does.
func compressUsername(name string) string {
	for _, n := range countedUsernames {
		if name == n {
			return name
		}
	}
	if strings.Contains(name, "@") {
		return "email_id"
	}
	return "other"
}

// authorized records one request's authorization, which began at start.
func (m *authMetrics) authorized(v verdict, start time.Time) {
	if m == nil {
		return
	}
	var result string
	switch {
	case v.allowed:
		result = authzAllowed
	case v.err != nil:
		result = authzError
	case v.denied:
		result = authzDenied
	default:
		result = authzNoOpinion
	}
	m.authzAttempts[result].Inc()
	m.authzDuration[result].Observe(time.Since(start).Seconds())
}

// tokenLookup records one bearer-token cache lookup, which began at start. Upstream counts whole
// milliseconds.
func (m *authMetrics) tokenLookup(hit bool, start time.Time) {
	if m == nil {
		return
	}
	m.tokenRequests[hit].Inc()
	m.tokenDuration[hit].Observe(float64(time.Since(start).Milliseconds()) / 1000)
}

// tokenBlocking marks a request waiting for a TokenReview (its own or one it shares) until the
// returned function is called.
func (m *authMetrics) tokenBlocking() (done func()) {
	if m == nil {
		return func() {}
	}
	m.tokenBlocked.Inc()
	return m.tokenBlocked.Dec
}

// tokenFetching marks a TokenReview in flight until the returned function is called with
// whether it succeeded.
func (m *authMetrics) tokenFetching() (done func(ok bool)) {
	if m == nil {
		return func(bool) {}
	}
	m.tokenInFlight.Inc()
	return func(ok bool) {
		m.tokenFetches[ok].Inc()
		m.tokenInFlight.Dec()
	}
}

// reviewed records one SubjectAccessReview call that took d and failed with err (nil: it
// succeeded). The code is the API server's HTTP status: 201 for a created review, the status of
// an API error, and "<error>" when no response came, as upstream labels them.
func (m *authMetrics) reviewed(err error, d time.Duration) {
	if m == nil {
		return
	}
	code := "201"
	if err != nil {
		code = "<error>"
		var status apierrors.APIStatus
		if errors.As(err, &status) && status.Status().Code != 0 {
			code = strconv.Itoa(int(status.Status().Code))
		}
	}
	m.sarRequests.With(code).Inc()
	m.sarDuration.With(code).Observe(d.Seconds())
}

// clientCertPresented records the remaining lifetime of a client certificate at now, before it
// is verified, as upstream's x509 authenticator does.
func (m *authMetrics) clientCertPresented(notAfter, now time.Time) {
	if m == nil {
		return
	}
	m.certExpiration.Observe(notAfter.Sub(now).Seconds())
}
