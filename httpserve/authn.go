package httpserve

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Well-known identities, as the API server defines them.
const (
	anonymousUser        = "system:anonymous"
	unauthenticatedGroup = "system:unauthenticated"
	authenticatedGroup   = "system:authenticated"
	mastersGroup         = "system:masters"
	credentialIDKey      = "authentication.kubernetes.io/credential-id"
)

// uidOID is the X.500 UID attribute; a client certificate carrying one sets the user's UID.
var uidOID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// userInfo is who a request is, as the authorizer and SubjectAccessReviews see it. Values shared
// through caches are never modified; functions that change a user return a copy.
type userInfo struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// credentialCheck is one authentication method. ok=false with a nil error means the request did
// not use this method; an error means it did and the credential was rejected.
type credentialCheck func(r *http.Request) (u *userInfo, ok bool, err error)

// authenticator tries the configured methods in upstream's order: front-proxy headers, client
// certificate, bearer token. The first that succeeds wins. If none does and any of them failed,
// authentication fails; if none was used at all, the request is anonymous.
type authenticator struct {
	checks []credentialCheck
	// headersToClear are removed from authenticated requests so handlers never trust them.
	headersToClear RequestHeaderConfig
}

func newAuthenticator(rh *requestHeaderAuth, cert *clientCertAuth, token *tokenAuth) *authenticator {
	a := &authenticator{headersToClear: RequestHeaderConfig{
		UsernameHeaders:     []string{"X-Remote-User"},
		UIDHeaders:          []string{"X-Remote-Uid"},
		GroupHeaders:        []string{"X-Remote-Group"},
		ExtraHeaderPrefixes: []string{"X-Remote-Extra-"},
	}}
	if rh != nil {
		a.checks = append(a.checks, rh.authenticate)
		h := &a.headersToClear
		h.UsernameHeaders = append(h.UsernameHeaders, rh.cfg.UsernameHeaders...)
		h.UIDHeaders = append(h.UIDHeaders, rh.cfg.UIDHeaders...)
		h.GroupHeaders = append(h.GroupHeaders, rh.cfg.GroupHeaders...)
		h.ExtraHeaderPrefixes = append(h.ExtraHeaderPrefixes, rh.cfg.ExtraHeaderPrefixes...)
	}
	if cert != nil {
		a.checks = append(a.checks, cert.authenticate)
	}
	if token != nil {
		a.checks = append(a.checks, token.authenticate)
	}
	return a
}

// authenticate returns the request's user, or an error when its credentials were rejected.
// On success it strips the credential headers from r.
func (a *authenticator) authenticate(r *http.Request) (*userInfo, error) {
	var errs []error
	for _, check := range a.checks {
		u, ok, err := check(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			a.clearCredentials(r.Header)
			return withAuthenticatedGroup(u), nil
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	a.clearCredentials(r.Header)
	return &userInfo{Name: anonymousUser, Groups: []string{unauthenticatedGroup}}, nil
}

func (a *authenticator) clearCredentials(h http.Header) {
	h.Del("Authorization")
	clearHeaders(h, a.headersToClear)
}

// withAuthenticatedGroup adds system:authenticated unless the user already has it, is
// anonymous, or is explicitly unauthenticated.
func withAuthenticatedGroup(u *userInfo) *userInfo {
	if u.Name == anonymousUser || slices.Contains(u.Groups, authenticatedGroup) || slices.Contains(u.Groups, unauthenticatedGroup) {
		return u
	}
	c := *u
	c.Groups = append(slices.Clip(slices.Clone(u.Groups)), authenticatedGroup)
	return &c
}

// verifyClientCert checks a presented chain against roots for client authentication, using the
// rest of the chain as intermediates.
func verifyClientCert(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	opts := x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(chain) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range chain[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if _, err := chain[0].Verify(opts); err != nil {
		leaf := chain[0]
		return fmt.Errorf("verifying certificate SN=%d, SKID=%X, AKID=%X failed: %w", leaf.SerialNumber, leaf.SubjectKeyId, leaf.AuthorityKeyId, err)
	}
	return nil
}

// clientCertAuth authenticates a client certificate signed by the client CA as user = CN,
// groups = O, UID = the subject's UID attribute.
type clientCertAuth struct {
	roots   *x509.CertPool
	now     func() time.Time
	metrics *authMetrics // observes each presented certificate's remaining lifetime
}

func (a *clientCertAuth) authenticate(r *http.Request) (*userInfo, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	leaf, now := r.TLS.PeerCertificates[0], a.now()
	a.metrics.clientCertPresented(leaf.NotAfter, now)
	if err := verifyClientCert(r.TLS.PeerCertificates, a.roots, now); err != nil {
		return nil, false, err
	}
	if leaf.Subject.CommonName == "" {
		return nil, false, nil
	}
	uid, err := certUID(leaf)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(leaf.Raw)
	return &userInfo{
		Name:   leaf.Subject.CommonName,
		UID:    uid,
		Groups: slices.Clone(leaf.Subject.Organization),
		Extra:  map[string][]string{credentialIDKey: {"X509SHA256=" + hex.EncodeToString(sum[:])}},
	}, true, nil
}

func certUID(c *x509.Certificate) (string, error) {
	var uids []string
	for _, n := range c.Subject.Names {
		if !n.Type.Equal(uidOID) {
			continue
		}
		s, ok := n.Value.(string)
		if !ok {
			return "", errors.New("client certificate UID attribute is not a string")
		}
		uids = append(uids, s)
	}
	switch {
	case len(uids) == 0:
		return "", nil
	case len(uids) > 1:
		return "", fmt.Errorf("client certificate has %d UID attributes, want at most 1", len(uids))
	case uids[0] == "":
		return "", errors.New("client certificate UID attribute is empty")
	}
	return uids[0], nil
}

// requestHeaderAuth trusts user headers on requests whose client certificate the front-proxy
// CA verifies (and whose CN is allowed, when a list is set).
type requestHeaderAuth struct {
	roots *x509.CertPool
	cfg   RequestHeaderConfig // trimmed
	now   func() time.Time
}

func (a *requestHeaderAuth) authenticate(r *http.Request) (*userInfo, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	if err := verifyClientCert(r.TLS.PeerCertificates, a.roots, a.now()); err != nil {
		return nil, false, err
	}
	if cn := r.TLS.PeerCertificates[0].Subject.CommonName; len(a.cfg.AllowedNames) > 0 && !slices.Contains(a.cfg.AllowedNames, cn) {
		return nil, false, fmt.Errorf("x509: subject with cn=%s is not in the allowed list", cn)
	}
	name := firstHeader(r.Header, a.cfg.UsernameHeaders)
	if name == "" {
		return nil, false, nil
	}
	u := &userInfo{
		Name:   name,
		UID:    firstHeader(r.Header, a.cfg.UIDHeaders),
		Groups: []string{},
		Extra:  map[string][]string{},
	}
	for _, h := range a.cfg.GroupHeaders {
		for _, v := range r.Header[http.CanonicalHeaderKey(h)] {
			if v != "" {
				u.Groups = append(u.Groups, v)
			}
		}
	}
	for _, prefix := range a.cfg.ExtraHeaderPrefixes {
		for h, vs := range r.Header {
			if !hasPrefixFold(h, prefix) {
				continue
			}
			key := strings.ToLower(h[len(prefix):])
			if unescaped, err := url.PathUnescape(key); err == nil {
				key = unescaped
			}
			u.Extra[key] = append(u.Extra[key], vs...)
		}
	}
	return u, true, nil
}

func firstHeader(h http.Header, names []string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func clearHeaders(h http.Header, c RequestHeaderConfig) {
	for _, list := range [][]string{c.UsernameHeaders, c.UIDHeaders, c.GroupHeaders} {
		for _, n := range list {
			h.Del(n)
		}
	}
	for _, prefix := range c.ExtraHeaderPrefixes {
		for k := range h {
			if hasPrefixFold(k, prefix) {
				delete(h, k)
			}
		}
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
