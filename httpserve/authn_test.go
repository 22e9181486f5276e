package httpserve

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
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

// authnFixture holds a client CA, a front-proxy CA and certificates issued by them.
type authnFixture struct {
	clientCA, proxyCA *testCA
	alice             *x509.Certificate // CN=alice, O=[team-a team-b], client auth
	withUID           *x509.Certificate // CN=bob with a UID attribute
	admin             *x509.Certificate // CN=root, O=system:masters
	noCN              *x509.Certificate // no common name
	serverOnly        *x509.Certificate // signed by the client CA, but only for server auth
	stranger          *x509.Certificate // signed by an unknown CA
	proxy             *x509.Certificate // CN=front-proxy, signed by the proxy CA
	otherProxy        *x509.Certificate // CN=intruder, signed by the proxy CA
}

func newAuthnFixture(t *testing.T) authnFixture {
	t.Helper()
	f := authnFixture{clientCA: newTestCA(t, "client-ca"), proxyCA: newTestCA(t, "front-proxy-ca")}
	issue := func(ca *testCA, subject pkix.Name, usage x509.ExtKeyUsage) *x509.Certificate {
		pair, _, _ := ca.issue(t, subject, usage)
		return leaf(t, pair)
	}
	f.alice = issue(f.clientCA, pkix.Name{CommonName: "alice", Organization: []string{"team-a", "team-b"}}, x509.ExtKeyUsageClientAuth)
	f.withUID = issue(f.clientCA, pkix.Name{CommonName: "bob", ExtraNames: []pkix.AttributeTypeAndValue{{Type: uidOID, Value: "uid-42"}}}, x509.ExtKeyUsageClientAuth)
	f.admin = issue(f.clientCA, pkix.Name{CommonName: "root", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth)
	f.noCN = issue(f.clientCA, pkix.Name{Organization: []string{"team-a"}}, x509.ExtKeyUsageClientAuth)
	f.serverOnly = issue(f.clientCA, pkix.Name{CommonName: "server"}, x509.ExtKeyUsageServerAuth)
	f.stranger = issue(newTestCA(t, "other-ca"), pkix.Name{CommonName: "mallory"}, x509.ExtKeyUsageClientAuth)
	f.proxy = issue(f.proxyCA, pkix.Name{CommonName: "front-proxy"}, x509.ExtKeyUsageClientAuth)
	f.otherProxy = issue(f.proxyCA, pkix.Name{CommonName: "intruder"}, x509.ExtKeyUsageClientAuth)
	return f
}

func (f authnFixture) config(tokens TokenReviewer, sar SubjectAccessReviewer) Config {
	return Config{
		ClientCA: f.clientCA.pem,
		RequestHeader: RequestHeaderConfig{
			ClientCA:            f.proxyCA.pem,
			AllowedNames:        []string{"front-proxy"},
			UsernameHeaders:     []string{"X-Remote-User"},
			UIDHeaders:          []string{"X-Remote-Uid"},
			GroupHeaders:        []string{"X-Remote-Group"},
			ExtraHeaderPrefixes: []string{"X-Remote-Extra-"},
		},
		TokenReviewer: tokens,
		Authorizer:    sar,
	}
}

// fingerprint is the credential ID the API server records for a certificate.
func fingerprint(c *x509.Certificate) []string {
	sum := sha256.Sum256(c.Raw)
	return []string{"X509SHA256=" + hex.EncodeToString(sum[:])}
}

func TestAuthentication(t *testing.T) {
	f := newAuthnFixture(t)
	tokens := &stubTokens{answer: func(token string) (authenticationv1.TokenReviewStatus, error) {
		switch token {
		case "good":
			return authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{
				Username: "system:serviceaccount:monitoring:prometheus", UID: "sa-uid",
				Groups: []string{"system:serviceaccounts"}, Extra: map[string]authenticationv1.ExtraValue{"scopes": {"a"}},
			}}, nil
		case "broken":
			return authenticationv1.TokenReviewStatus{}, errors.New("connection refused")
		case "reported":
			return authenticationv1.TokenReviewStatus{Error: "token expired"}, nil
		}
		return authenticationv1.TokenReviewStatus{}, nil
	}}
	anonymous := &authorizationv1.SubjectAccessReviewSpec{User: anonymousUser, Groups: []string{unauthenticatedGroup}}
	tests := []struct {
		name     string
		header   http.Header
		peers    []*x509.Certificate
		wantCode int
		wantUser *authorizationv1.SubjectAccessReviewSpec // what the reviewer saw, nil: not asked
	}{
		{
			name:     "no credentials is anonymous",
			wantCode: http.StatusOK,
			wantUser: anonymous,
		},
		{
			name:     "client certificate gives CN and O",
			peers:    []*x509.Certificate{f.alice},
			wantCode: http.StatusOK,
			wantUser: &authorizationv1.SubjectAccessReviewSpec{
				User: "alice", Groups: []string{"team-a", "team-b", authenticatedGroup},
				Extra: map[string]authorizationv1.ExtraValue{credentialIDKey: fingerprint(f.alice)},
			},
		},
		{
			name:     "client certificate UID attribute becomes the UID",
			peers:    []*x509.Certificate{f.withUID},
			wantCode: http.StatusOK,
			wantUser: &authorizationv1.SubjectAccessReviewSpec{
				User: "bob", UID: "uid-42", Groups: []string{authenticatedGroup},
				Extra: map[string]authorizationv1.ExtraValue{credentialIDKey: fingerprint(f.withUID)},
			},
		},
		{
			name:     "system:masters is allowed without a review",
			peers:    []*x509.Certificate{f.admin},
			wantCode: http.StatusOK,
		},
		{
			name:     "certificate from an unknown CA is rejected",
			peers:    []*x509.Certificate{f.stranger},
			wantCode: http.StatusUnauthorized,
		},
		{
			name:     "certificate not valid for client auth is rejected",
			peers:    []*x509.Certificate{f.serverOnly},
			wantCode: http.StatusUnauthorized,
		},
		{
			// The client CA check passes without a user, and the front-proxy check's failure is
			// then what counts, as with upstream's union of authenticators.
			name:     "certificate without a common name is rejected",
			peers:    []*x509.Certificate{f.noCN},
			wantCode: http.StatusUnauthorized,
		},
		{
			name: "front proxy names the user in headers",
			header: http.Header{
				"X-Remote-User":                     {"carol"},
				"X-Remote-Uid":                      {"carol-uid"},
				"X-Remote-Group":                    {"g1", "g2"},
				"X-Remote-Extra-Scopes":             {"s1"},
				"X-Remote-Extra-Acme.com%2fproject": {"p"},
			},
			peers:    []*x509.Certificate{f.proxy},
			wantCode: http.StatusOK,
			wantUser: &authorizationv1.SubjectAccessReviewSpec{
				User: "carol", UID: "carol-uid", Groups: []string{"g1", "g2", authenticatedGroup},
				Extra: map[string]authorizationv1.ExtraValue{"scopes": {"s1"}, "acme.com/project": {"p"}},
			},
		},
		{
			name:     "front proxy with a name outside the allowed list is rejected",
			header:   http.Header{"X-Remote-User": {"carol"}},
			peers:    []*x509.Certificate{f.otherProxy},
			wantCode: http.StatusUnauthorized,
		},
		{
			name:     "front proxy certificate without a user header is rejected",
			peers:    []*x509.Certificate{f.proxy},
			wantCode: http.StatusUnauthorized,
		},
		{
			name:     "user headers from a plain client are ignored",
			header:   http.Header{"X-Remote-User": {"carol"}, "X-Remote-Group": {"system:masters"}},
			peers:    []*x509.Certificate{f.alice},
			wantCode: http.StatusOK,
			wantUser: &authorizationv1.SubjectAccessReviewSpec{
				User: "alice", Groups: []string{"team-a", "team-b", authenticatedGroup},
				Extra: map[string]authorizationv1.ExtraValue{credentialIDKey: fingerprint(f.alice)},
			},
		},
		{
			name:     "bearer token reviewed by the API server",
			header:   http.Header{"Authorization": {"Bearer good"}},
			wantCode: http.StatusOK,
			wantUser: &authorizationv1.SubjectAccessReviewSpec{
				User: "system:serviceaccount:monitoring:prometheus", UID: "sa-uid",
				Groups: []string{"system:serviceaccounts", authenticatedGroup},
				Extra:  map[string]authorizationv1.ExtraValue{"scopes": {"a"}},
			},
		},
		{
			name:     "bearer scheme is case-insensitive",
			header:   http.Header{"Authorization": {"bearer good"}},
			wantCode: http.StatusOK,
			wantUser: &authorizationv1.SubjectAccessReviewSpec{
				User: "system:serviceaccount:monitoring:prometheus", UID: "sa-uid",
				Groups: []string{"system:serviceaccounts", authenticatedGroup},
				Extra:  map[string]authorizationv1.ExtraValue{"scopes": {"a"}},
			},
		},
		{
			name:     "rejected token is 401",
			header:   http.Header{"Authorization": {"Bearer nope"}},
			wantCode: http.StatusUnauthorized,
		},
		{
			name:     "token review error is 401",
			header:   http.Header{"Authorization": {"Bearer broken"}},
			wantCode: http.StatusUnauthorized,
		},
		{
			name:     "token review reporting an error is 401",
			header:   http.Header{"Authorization": {"Bearer reported"}},
			wantCode: http.StatusUnauthorized,
		},
		{
			name:     "other authorization schemes are anonymous",
			header:   http.Header{"Authorization": {"Basic YTpi"}},
			wantCode: http.StatusOK,
			wantUser: anonymous,
		},
		{
			name:     "a valid certificate wins over a bad token",
			header:   http.Header{"Authorization": {"Bearer nope"}},
			peers:    []*x509.Certificate{f.alice},
			wantCode: http.StatusOK,
			wantUser: &authorizationv1.SubjectAccessReviewSpec{
				User: "alice", Groups: []string{"team-a", "team-b", authenticatedGroup},
				Extra: map[string]authorizationv1.ExtraValue{credentialIDKey: fingerprint(f.alice)},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sar := &stubSAR{answer: allowAll}
			cfg := f.config(tokens, sar)
			cfg.Metrics = metricsFunc(func(w io.Writer) error { return nil })
			s := mustNew(t, cfg)
			rec := do(t, s, http.MethodGet, "/metrics", tc.header, tc.peers...)
			if rec.Code != tc.wantCode {
				t.Fatalf("code = %d (%s), want %d", rec.Code, rec.Body.String(), tc.wantCode)
			}
			specs := sar.Specs()
			if tc.wantUser == nil {
				if len(specs) != 0 {
					t.Errorf("reviewer asked %+v, want no review", specs)
				}
				return
			}
			if len(specs) != 1 {
				t.Fatalf("reviewer asked %d times, want 1", len(specs))
			}
			got := specs[0]
			got.NonResourceAttributes = nil
			if !reflect.DeepEqual(got, *tc.wantUser) {
				t.Errorf("reviewed user:\n got %+v\nwant %+v", got, *tc.wantUser)
			}
		})
	}
}

func TestUnauthorizedBody(t *testing.T) {
	f := newAuthnFixture(t)
	s := mustNew(t, f.config(nil, nil))
	rec := do(t, s, http.MethodGet, "/healthz", nil, f.stranger)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("code = %d, want 401 (bad credentials are refused even on always-allowed paths)", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var st metav1.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	want := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: "Unauthorized", Reason: metav1.StatusReasonUnauthorized, Code: 401,
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("status = %+v, want %+v", st, want)
	}
}

func TestCredentialHeadersAreStripped(t *testing.T) {
	f := newAuthnFixture(t)
	cfg := f.config(nil, nil)
	s := mustNew(t, cfg)
	var seen http.Header
	if err := s.Handle("/echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() })); err != nil {
		t.Fatal(err)
	}
	rec := do(t, s, http.MethodGet, "/echo", http.Header{
		"X-Remote-User":        {"system:admin"},
		"X-Remote-Group":       {"system:masters"},
		"X-Remote-Extra-Thing": {"x"},
		"Authorization":        {"Basic YTpi"},
		"Accept":               {"text/plain"},
	}, f.admin)
	if rec.Code != http.StatusOK {
		t.Fatalf("code = %d, want 200", rec.Code)
	}
	for _, h := range []string{"X-Remote-User", "X-Remote-Group", "X-Remote-Extra-Thing", "Authorization"} {
		if v := seen.Get(h); v != "" {
			t.Errorf("handler saw %s: %q, want it removed", h, v)
		}
	}
	if seen.Get("Accept") != "text/plain" {
		t.Errorf("unrelated header Accept was removed")
	}
}

func TestTokenCache(t *testing.T) {
	const ttl = 10 * time.Second
	tests := []struct {
		name      string
		ttl       time.Duration
		token     string
		steps     []time.Duration // clock advance before each further request
		wantCalls int
		wantCode  int
	}{
		{"authenticated answer reused within the TTL", ttl, "good", []time.Duration{time.Second, 8 * time.Second}, 1, http.StatusOK},
		{"authenticated answer expires after the TTL", ttl, "good", []time.Duration{ttl}, 2, http.StatusOK},
		{"rejection is cached too", ttl, "bad", []time.Duration{time.Second}, 1, http.StatusUnauthorized},
		{"review errors are not cached", ttl, "broken", []time.Duration{0, 0}, 3, http.StatusUnauthorized},
		{"zero TTL disables the cache", 0, "good", []time.Duration{0}, 2, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens := &stubTokens{answer: func(token string) (authenticationv1.TokenReviewStatus, error) {
				switch token {
				case "good":
					return authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "u", Groups: []string{"system:masters"}}}, nil
				case "broken":
					return authenticationv1.TokenReviewStatus{}, errors.New("timeout")
				}
				return authenticationv1.TokenReviewStatus{}, nil
			}}
			clock := newFakeClock()
			cfg := Config{TokenReviewer: tokens, TokenCacheTTL: tc.ttl, clock: clock.Now, Metrics: metricsFunc(func(io.Writer) error { return nil })}
			s := mustNew(t, cfg)
			header := http.Header{"Authorization": {"Bearer " + tc.token}}
			rec := do(t, s, http.MethodGet, "/metrics", header)
			for _, d := range tc.steps {
				clock.Step(d)
				rec = do(t, s, http.MethodGet, "/metrics", header)
			}
			if rec.Code != tc.wantCode {
				t.Errorf("last code = %d, want %d", rec.Code, tc.wantCode)
			}
			if got := tokens.Calls(); got != tc.wantCalls {
				t.Errorf("TokenReviews = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestTokenCacheKeysByToken(t *testing.T) {
	tokens := &stubTokens{answer: func(token string) (authenticationv1.TokenReviewStatus, error) {
		return authenticationv1.TokenReviewStatus{Authenticated: strings.HasPrefix(token, "ok"), User: authenticationv1.UserInfo{Username: token, Groups: []string{"system:masters"}}}, nil
	}}
	s := mustNew(t, Config{TokenReviewer: tokens, TokenCacheTTL: time.Minute, Configz: func() any { return 1 }})
	for _, tok := range []string{"ok-1", "ok-2", "bad", "ok-1"} {
		do(t, s, http.MethodGet, "/configz", http.Header{"Authorization": {"Bearer " + tok}})
	}
	if got := tokens.Calls(); got != 3 {
		t.Errorf("TokenReviews = %d, want 3 (one per distinct token)", got)
	}
}
