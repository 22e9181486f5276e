package httpserve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

var serial = struct {
	sync.Mutex
	n int64
}{n: 100}

// issue signs a leaf for subject with the given extended key usage. Server leaves get
// localhost and 127.0.0.1 as names.
func (ca *testCA) issue(t *testing.T, subject pkix.Name, usage x509.ExtKeyUsage) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial.Lock()
	serial.n++
	sn := big.NewInt(serial.n)
	serial.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

// leaf returns the parsed certificate of a pair.
func leaf(t *testing.T, pair tls.Certificate) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeClock is a settable clock for caches and certificate checks.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stubTokens answers TokenReviews from a table and counts calls.
type stubTokens struct {
	mu     sync.Mutex
	calls  int
	answer func(token string) (authenticationv1.TokenReviewStatus, error)
}

func (s *stubTokens) Create(_ context.Context, r *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	st, err := s.answer(r.Spec.Token)
	if err != nil {
		return nil, err
	}
	out := r.DeepCopy()
	out.Status = st
	return out, nil
}

func (s *stubTokens) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// stubSAR answers SubjectAccessReviews with a function and records what it was asked.
type stubSAR struct {
	mu     sync.Mutex
	specs  []authorizationv1.SubjectAccessReviewSpec
	answer func(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error)
}

func (s *stubSAR) Create(_ context.Context, r *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	s.mu.Lock()
	s.specs = append(s.specs, *r.Spec.DeepCopy())
	s.mu.Unlock()
	st, err := s.answer(r.Spec)
	if err != nil {
		return nil, err
	}
	out := r.DeepCopy()
	out.Status = st
	return out, nil
}

func (s *stubSAR) Specs() []authorizationv1.SubjectAccessReviewSpec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authorizationv1.SubjectAccessReviewSpec(nil), s.specs...)
}

func allowAll(authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
	return authorizationv1.SubjectAccessReviewStatus{Allowed: true}, nil
}

// metricsFunc adapts a function to MetricsWriter.
type metricsFunc func(io.Writer) error

func (f metricsFunc) WritePrometheus(w io.Writer) error { return f(w) }

// mustNew builds a Server or fails the test.
func mustNew(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// do sends a request straight to the handler chain, optionally as if over TLS with peer
// certificates, and returns the recorded response.
func do(t *testing.T, s *Server, method, target string, header http.Header, peers ...*x509.Certificate) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	if len(peers) > 0 {
		req.TLS = &tls.ConnectionState{PeerCertificates: peers}
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// servingFixture is a server certificate on disk plus the pool that trusts it.
type servingFixture struct {
	certFile, keyFile string
	roots             *x509.CertPool
}

func newServingFixture(t *testing.T) servingFixture {
	t.Helper()
	ca := newTestCA(t, "serving-ca")
	_, certPEM, keyPEM := ca.issue(t, pkix.Name{CommonName: "localhost"}, x509.ExtKeyUsageServerAuth)
	dir := t.TempDir()
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	return servingFixture{
		certFile: writeFile(t, dir, "tls.crt", certPEM),
		keyFile:  writeFile(t, dir, "tls.key", keyPEM),
		roots:    roots,
	}
}

// running is a Server serving on 127.0.0.1 in the background.
type running struct {
	srv    *Server
	url    string
	cancel context.CancelFunc
	done   chan error
}

// startServer fills in a listener and serving certificate, starts Serve, and stops it at the
// end of the test.
func startServer(t *testing.T, cfg Config, fx servingFixture) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	cfg.CertFile, cfg.KeyFile = fx.certFile, fx.keyFile
	s := mustNew(t, cfg)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: s, url: "https://" + s.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return r
}

// client trusts the fixture and presents certs, if any.
func client(fx servingFixture, certs ...tls.Certificate) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: fx.roots, Certificates: certs},
			ForceAttemptHTTP2: true,
		},
	}
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
