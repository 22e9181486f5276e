package httpserve

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAuthorization(t *testing.T) {
	deny := func(reason string) func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		return func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
			return authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: reason}, nil
		}
	}
	noOpinion := func(reason string) func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		return func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
			return authorizationv1.SubjectAccessReviewStatus{Reason: reason}, nil
		}
	}
	tokens := &stubTokens{answer: func(token string) (authenticationv1.TokenReviewStatus, error) {
		return authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: token}}, nil
	}}
	asDave := http.Header{"Authorization": {"Bearer dave"}}
	tests := []struct {
		name        string
		allowPaths  []string // nil: defaults
		noReviewer  bool
		answer      func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error)
		method      string
		target      string
		header      http.Header
		wantCode    int
		wantMessage string // Status message of a 403
		wantReview  *authorizationv1.NonResourceAttributes
	}{
		{
			name:     "default always-allowed path needs no credentials",
			target:   "/readyz",
			wantCode: http.StatusOK,
		},
		{
			name:        "health sub-path is not always allowed by default",
			noReviewer:  true,
			target:      "/healthz/ping",
			wantCode:    http.StatusForbidden,
			wantMessage: `forbidden: User "system:anonymous" cannot get path "/healthz/ping"`,
		},
		{
			name:       "prefix pattern allows everything below it",
			allowPaths: []string{"/metrics*"},
			noReviewer: true,
			target:     "/metrics",
			wantCode:   http.StatusOK,
		},
		{
			name:        "empty list allows nothing without review",
			allowPaths:  []string{},
			noReviewer:  true,
			target:      "/healthz",
			wantCode:    http.StatusForbidden,
			wantMessage: `forbidden: User "system:anonymous" cannot get path "/healthz"`,
		},
		{
			name:        "anonymous without a reviewer is forbidden",
			noReviewer:  true,
			target:      "/metrics",
			wantCode:    http.StatusForbidden,
			wantMessage: `forbidden: User "system:anonymous" cannot get path "/metrics"`,
		},
		{
			name:       "reviewer allows",
			answer:     allowAll,
			target:     "/metrics",
			header:     asDave,
			wantCode:   http.StatusOK,
			wantReview: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		},
		{
			name:        "reviewer denies with a reason",
			answer:      deny("no RBAC binding"),
			target:      "/metrics",
			header:      asDave,
			wantCode:    http.StatusForbidden,
			wantMessage: `forbidden: User "dave" cannot get path "/metrics": no RBAC binding`,
			wantReview:  &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		},
		{
			name:        "reviewer without opinion is forbidden, naming the authorizer of the reason",
			answer:      noOpinion("no rule matched"),
			target:      "/configz",
			header:      asDave,
			wantCode:    http.StatusForbidden,
			wantMessage: "forbidden: User \"dave\" cannot get path \"/configz\": kubernetes.io/webhook: no rule matched",
			wantReview:  &authorizationv1.NonResourceAttributes{Path: "/configz", Verb: "get"},
		},
		{
			name:       "verb is the lower-cased method",
			answer:     allowAll,
			method:     http.MethodPut,
			target:     "/debug/flags/v",
			header:     asDave,
			wantCode:   http.StatusNotFound, // allowed, but nothing is mounted there
			wantReview: &authorizationv1.NonResourceAttributes{Path: "/debug/flags/v", Verb: "put"},
		},
		{
			name: "review failure is 500",
			answer: func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
				return authorizationv1.SubjectAccessReviewStatus{}, errors.New("apiserver down")
			},
			target:     "/metrics",
			header:     asDave,
			wantCode:   http.StatusInternalServerError,
			wantReview: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		},
		{
			name: "contradictory answer is 500",
			answer: func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
				return authorizationv1.SubjectAccessReviewStatus{Allowed: true, Denied: true}, nil
			},
			target:     "/metrics",
			header:     asDave,
			wantCode:   http.StatusInternalServerError,
			wantReview: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		},
		{
			name:        "user name is escaped in the message",
			noReviewer:  true,
			target:      "/metrics",
			header:      http.Header{"Authorization": {"Bearer <b>"}},
			wantCode:    http.StatusForbidden,
			wantMessage: `forbidden: User "&lt;b&gt;" cannot get path "/metrics"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				AlwaysAllowPaths: tc.allowPaths,
				TokenReviewer:    tokens,
				Metrics:          metricsFunc(func(w io.Writer) error { _, err := io.WriteString(w, "up 1\n"); return err }),
				Configz:          func() any { return map[string]string{"k": "v"} },
			}
			sar := &stubSAR{answer: tc.answer}
			if !tc.noReviewer {
				cfg.Authorizer = sar
			}
			s := mustNew(t, cfg)
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			rec := do(t, s, method, tc.target, tc.header)
			if rec.Code != tc.wantCode {
				t.Fatalf("code = %d (%s), want %d", rec.Code, rec.Body.String(), tc.wantCode)
			}
			if tc.wantMessage != "" {
				var st metav1.Status
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("body %q: %v", rec.Body.String(), err)
				}
				if st.Message != tc.wantMessage || st.Reason != metav1.StatusReasonForbidden || st.Code != 403 || st.Kind != "Status" {
					t.Errorf("status = %+v, want Forbidden with message %q", st, tc.wantMessage)
				}
			}
			specs := sar.Specs()
			switch {
			case tc.wantReview == nil && len(specs) > 0:
				t.Errorf("reviewer asked %+v, want no review", specs)
			case tc.wantReview != nil && len(specs) != 1:
				t.Errorf("reviewer asked %d times, want 1", len(specs))
			case tc.wantReview != nil && !reflect.DeepEqual(specs[0].NonResourceAttributes, tc.wantReview):
				t.Errorf("reviewed %+v, want %+v", specs[0].NonResourceAttributes, tc.wantReview)
			}
		})
	}
}

func TestAuthorizationCache(t *testing.T) {
	tests := []struct {
		name      string
		allowTTL  time.Duration
		denyTTL   time.Duration
		allowed   bool
		fail      bool
		requests  []string        // tokens (user names), one request each
		steps     []time.Duration // clock advance before requests[1:]
		wantCalls int
	}{
		{"allow reused within its TTL", 10 * time.Second, time.Second, true, false, []string{"a", "a"}, []time.Duration{5 * time.Second}, 1},
		{"allow expires after its TTL", 10 * time.Second, time.Minute, true, false, []string{"a", "a"}, []time.Duration{10 * time.Second}, 2},
		{"deny reused within its TTL", time.Second, 10 * time.Second, false, false, []string{"a", "a"}, []time.Duration{5 * time.Second}, 1},
		{"deny expires after its TTL", time.Minute, 10 * time.Second, false, false, []string{"a", "a"}, []time.Duration{11 * time.Second}, 2},
		{"zero TTL disables caching", 0, 0, true, false, []string{"a", "a"}, []time.Duration{0}, 2},
		{"failures are not cached", time.Minute, time.Minute, false, true, []string{"a", "a"}, []time.Duration{0}, 2},
		{"answers are per user", time.Minute, time.Minute, true, false, []string{"a", "b", "a"}, []time.Duration{0, 0}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sar := &stubSAR{answer: func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
				if tc.fail {
					return authorizationv1.SubjectAccessReviewStatus{}, errors.New("boom")
				}
				return authorizationv1.SubjectAccessReviewStatus{Allowed: tc.allowed}, nil
			}}
			tokens := &stubTokens{answer: func(token string) (authenticationv1.TokenReviewStatus, error) {
				return authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: token}}, nil
			}}
			clock := newFakeClock()
			s := mustNew(t, Config{
				TokenReviewer: tokens, TokenCacheTTL: time.Hour,
				Authorizer: sar, AllowCacheTTL: tc.allowTTL, DenyCacheTTL: tc.denyTTL,
				Configz: func() any { return nil }, clock: clock.Now,
			})
			for i, user := range tc.requests {
				if i > 0 {
					clock.Step(tc.steps[i-1])
				}
				do(t, s, http.MethodGet, "/configz", http.Header{"Authorization": {"Bearer " + user}})
			}
			if got := len(sar.Specs()); got != tc.wantCalls {
				t.Errorf("reviews = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestPathMatcher(t *testing.T) {
	tests := []struct {
		name    string
		paths   []string
		match   []string
		noMatch []string
		wantErr string
	}{
		{
			name:    "exact paths",
			paths:   []string{"/healthz", "livez"},
			match:   []string{"/healthz", "/livez", "healthz"},
			noMatch: []string{"/healthz/ping", "/healthzx", "/"},
		},
		{
			name:    "trailing star is a prefix",
			paths:   []string{"/debug/*", "/metrics*"},
			match:   []string{"/debug/", "/debug/pprof/heap", "/metrics", "/metrics/resources", "/metricsfoo"},
			noMatch: []string{"/debug", "/configz"},
		},
		{
			name:    "root alone",
			paths:   []string{"/"},
			match:   []string{"/", ""},
			noMatch: []string{"/a"},
		},
		{
			name:    "star elsewhere is refused",
			paths:   []string{"/a*b"},
			wantErr: "only a trailing *",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newPathMatcher(tc.paths)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.match {
				if !m.match(p) {
					t.Errorf("match(%q) = false, want true", p)
				}
			}
			for _, p := range tc.noMatch {
				if m.match(p) {
					t.Errorf("match(%q) = true, want false", p)
				}
			}
		})
	}
}
