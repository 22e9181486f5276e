package httpserve

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/berth-scheduler/berth/metrics"
)

// authRequest is one request of TestAuthMetrics: a bearer token, or a client certificate with
// this CN (issued by the client CA, valid for another hour, then the clock is moved 10 minutes).
type authRequest struct {
	path, token, certCN string
}

func TestAuthMetrics(t *testing.T) {
	type status = authorizationv1.SubjectAccessReviewStatus
	sarAnswers := map[string]func() (status, error){
		"allow":      func() (status, error) { return status{Allowed: true}, nil },
		"deny":       func() (status, error) { return status{Denied: true, Reason: "no"}, nil },
		"no-opinion": func() (status, error) { return status{}, nil },
		"api-error":  func() (status, error) { return status{}, apierrors.NewInternalError(errors.New("boom")) },
		"no-answer":  func() (status, error) { return status{}, errors.New("connection refused") },
	}
	tests := []struct {
		name     string
		sar      string // key of sarAnswers
		noTokens bool   // no TokenReviewer
		disabled []string
		requests []authRequest
		want     []string // exposition lines
		absent   []string // prefixes of lines that must not be there
	}{
		{
			name: "anonymous request to an always-allowed path", sar: "deny",
			requests: []authRequest{{path: "/healthz"}},
			want: []string{
				`authentication_attempts{result="success"} 1`,
				`authentication_duration_seconds_count{result="success"} 1`,
				`authenticated_user_requests{username="other"} 1`,
				`authorization_attempts_total{result="allowed"} 1`,
				`authorization_duration_seconds_count{result="allowed"} 1`,
				`authentication_token_cache_request_total{status="miss"} 0`,
			},
			absent: []string{`apiserver_delegated_authz_request_total{`, `apiserver_client_certificate_expiration_seconds_count 1`},
		},
		{
			name: "review allows a token user", sar: "allow",
			requests: []authRequest{{path: "/configz", token: "admin"}},
			want: []string{
				`authenticated_user_requests{username="admin"} 1`,
				`authorization_attempts_total{result="allowed"} 1`,
				`apiserver_delegated_authz_request_total{code="201"} 1`,
				`apiserver_delegated_authz_request_duration_seconds_count{code="201"} 1`,
				`authentication_token_cache_request_total{status="miss"} 1`,
				`authentication_token_cache_request_duration_seconds_count{status="miss"} 1`,
				`authentication_token_cache_fetch_total{status="ok"} 1`,
				`authentication_token_cache_active_fetch_count{status="blocked"} 0`,
				`authentication_token_cache_active_fetch_count{status="in_flight"} 0`,
			},
		},
		{
			name: "review denies", sar: "deny",
			requests: []authRequest{{path: "/configz", token: "jane@example.com"}},
			want: []string{
				`authenticated_user_requests{username="email_id"} 1`,
				`authorization_attempts_total{result="denied"} 1`,
				`authorization_attempts_total{result="allowed"} 0`,
				`authorization_duration_seconds_count{result="denied"} 1`,
			},
		},
		{
			name: "review has no opinion", sar: "no-opinion",
			requests: []authRequest{{path: "/configz", token: "kubelet"}},
			want: []string{
				`authorization_attempts_total{result="no-opinion"} 1`,
				`authorization_attempts_total{result="denied"} 0`,
			},
		},
		{
			name: "review fails with an API status", sar: "api-error",
			requests: []authRequest{{path: "/configz", token: "admin"}},
			want: []string{
				`authorization_attempts_total{result="error"} 1`,
				`apiserver_delegated_authz_request_total{code="500"} 1`,
			},
		},
		{
			name: "review gets no answer", sar: "no-answer",
			requests: []authRequest{{path: "/configz", token: "admin"}},
			want: []string{
				`authorization_attempts_total{result="error"} 1`,
				`apiserver_delegated_authz_request_total{code="<error>"} 1`,
			},
		},
		{
			name: "token cache hit after a miss", sar: "allow",
			requests: []authRequest{{path: "/configz", token: "admin"}, {path: "/configz", token: "admin"}},
			want: []string{
				`authentication_token_cache_request_total{status="hit"} 1`,
				`authentication_token_cache_request_total{status="miss"} 1`,
				`authentication_token_cache_request_duration_seconds_count{status="hit"} 1`,
				`authentication_token_cache_fetch_total{status="ok"} 1`,
				`authenticated_user_requests{username="admin"} 2`,
				`apiserver_delegated_authz_request_total{code="201"} 1`, // the answer is cached too
			},
		},
		{
			name: "token review fails", sar: "allow",
			requests: []authRequest{{path: "/configz", token: "broken"}},
			want: []string{
				`authentication_attempts{result="error"} 1`,
				`authentication_duration_seconds_count{result="error"} 1`,
				`authentication_token_cache_fetch_total{status="error"} 1`,
				`authentication_token_cache_request_total{status="miss"} 1`,
				`authorization_attempts_total{result="allowed"} 0`,
			},
		},
		{
			name: "client certificate's remaining lifetime", sar: "allow",
			requests: []authRequest{{path: "/configz", certCN: "kubelet"}},
			want: []string{
				`apiserver_client_certificate_expiration_seconds_bucket{le="1800"} 0`,
				`apiserver_client_certificate_expiration_seconds_bucket{le="3600"} 1`,
				`apiserver_client_certificate_expiration_seconds_count 1`,
				`authenticated_user_requests{username="kubelet"} 1`,
				`authentication_token_cache_request_total{status="miss"} 0`,
			},
		},
		{
			name: "no token cache without a token reviewer", sar: "allow", noTokens: true,
			requests: []authRequest{{path: "/healthz", token: "admin"}},
			want:     []string{`authenticated_user_requests{username="other"} 1`},
			absent:   []string{`authentication_token_cache_`, `# HELP authentication_token_cache_`},
		},
		{
			name: "disabled families count nothing", sar: "allow",
			disabled: []string{"authorization_attempts_total", "apiserver_delegated_authz_request_total"},
			requests: []authRequest{{path: "/configz", token: "admin"}},
			want:     []string{`authorization_duration_seconds_count{result="allowed"} 1`},
			absent:   []string{`authorization_attempts_total`, `apiserver_delegated_authz_request_total`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			reg.Configure(tc.disabled, nil)
			ca := newTestCA(t, "client-ca")
			clock := newFakeClock()
			answer := sarAnswers[tc.sar]
			cfg := Config{
				ClientCA: ca.pem,
				TokenReviewer: &stubTokens{answer: func(token string) (authenticationv1.TokenReviewStatus, error) {
					if token == "broken" {
						return authenticationv1.TokenReviewStatus{}, errors.New("timeout")
					}
					return authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: token}}, nil
				}},
				TokenCacheTTL: time.Minute,
				Authorizer: &stubSAR{answer: func(authorizationv1.SubjectAccessReviewSpec) (status, error) {
					return answer()
				}},
				AllowCacheTTL: time.Minute, DenyCacheTTL: time.Minute,
				Configz:     func() any { return 1 },
				AuthMetrics: reg,
				clock:       clock.Now,
			}
			if tc.noTokens {
				cfg.TokenReviewer = nil
			}
			s := mustNew(t, cfg)
			for _, r := range tc.requests {
				var header http.Header
				if r.token != "" {
					header = http.Header{"Authorization": {"Bearer " + r.token}}
				}
				var peers []*x509.Certificate
				if r.certCN != "" {
					pair, _, _ := ca.issue(t, pkix.Name{CommonName: r.certCN}, x509.ExtKeyUsageClientAuth)
					peers = append(peers, leaf(t, pair))
					clock.Step(10 * time.Minute)
				}
				do(t, s, http.MethodGet, r.path, header, peers...)
			}
			var b strings.Builder
			if err := reg.WritePrometheus(&b); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(b.String(), "\n")
			for _, w := range tc.want {
				if !slices.ContainsFunc(lines, func(l string) bool { return l == w }) {
					t.Errorf("exposition lacks %s:\n%s", w, b.String())
				}
			}
			for _, a := range tc.absent {
				if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, a) }) {
					t.Errorf("exposition has %s:\n%s", a, b.String())
				}
			}
		})
	}
}

func TestCompressUsername(t *testing.T) {
	for name, want := range map[string]string{
		"admin": "admin", "kubelet": "kubelet", "system:serviceaccount:kube-system:default": "system:serviceaccount:kube-system:default",
		"jane@example.com": "email_id", "system:anonymous": "other", "system:serviceaccount:kube-system:other": "other",
	} {
		if got := compressUsername(name); got != want {
			t.Errorf("compressUsername(%q) = %q, want %q", name, got, want)
		}
	}
}
