package httpserve

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
)

// TestServeOverTLS drives a real listener: the client certificate travels through the TLS
// handshake and reaches the reviewer as CN and O.
func TestServeOverTLS(t *testing.T) {
	fx := newServingFixture(t)
	clientCA := newTestCA(t, "client-ca")
	alice, _, _ := clientCA.issue(t, pkix.Name{CommonName: "alice", Organization: []string{"monitoring"}}, x509.ExtKeyUsageClientAuth)
	sar := &stubSAR{answer: func(spec authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
		return authorizationv1.SubjectAccessReviewStatus{Allowed: spec.User == "alice"}, nil
	}}
	r := startServer(t, Config{
		ClientCA:   clientCA.pem,
		Authorizer: sar,
		Metrics:    metricsFunc(func(w io.Writer) error { _, err := io.WriteString(w, "scheduler_pending_pods 3\n"); return err }),
		Configz:    func() any { return map[string]int{"parallelism": 16} },
		Profiling:  true,
	}, fx)
	withCert, anonymous := client(fx, alice), client(fx)

	tests := []struct {
		name       string
		c          *http.Client
		path       string
		wantCode   int
		wantBody   string // substring
		wantHeader map[string]string
	}{
		{"healthz for anyone", anonymous, "/healthz", 200, "ok", map[string]string{"Cache-Control": "no-cache, private"}},
		{"metrics refused to anonymous", anonymous, "/metrics", 403, `cannot get path \"/metrics\"`, map[string]string{"Content-Type": "application/json"}},
		{"metrics for an allowed client certificate", withCert, "/metrics", 200, "scheduler_pending_pods 3\n", map[string]string{"Content-Type": metricsContentType}},
		{"configz under componentconfig", withCert, "/configz", 200, `{"componentconfig":{"parallelism":16}}`, map[string]string{"Content-Type": "application/json"}},
		{"pprof index", withCert, "/debug/pprof/", 200, "goroutine", nil},
		{"named profile", withCert, "/debug/pprof/goroutine?debug=1", 200, "goroutine profile", nil},
		{"pprof symbol", withCert, "/debug/pprof/symbol", 200, "num_symbols", nil},
		{"unknown path", withCert, "/nothing", 404, "404 page not found", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.c.Get(r.url + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2", resp.Proto)
			}
		})
	}
	if specs := sar.Specs(); len(specs) == 0 || specs[len(specs)-1].User != "alice" || specs[len(specs)-1].Groups[0] != "monitoring" {
		t.Errorf("reviews %+v, want the last from alice in monitoring", specs)
	}
}

func TestDisableHTTP2(t *testing.T) {
	fx := newServingFixture(t)
	r := startServer(t, Config{DisableHTTP2: true}, fx)
	resp, err := client(fx).Get(r.url + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.ProtoMajor != 1 {
		t.Errorf("protocol %s, want HTTP/1.1", resp.Proto)
	}
}

func TestMinTLSVersionEnforced(t *testing.T) {
	fx := newServingFixture(t)
	r := startServer(t, Config{MinTLSVersion: "VersionTLS13"}, fx)
	c := client(fx)
	c.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS12
	if resp, err := c.Get(r.url + "/livez"); err == nil {
		resp.Body.Close()
		t.Fatal("TLS 1.2 client connected to a TLS 1.3-only server")
	}
}

func TestGracefulShutdown(t *testing.T) {
	tests := []struct {
		name         string
		timeout      time.Duration
		releaseAfter time.Duration // handler finishes this long after shutdown begins; <0: never
		wantResponse bool
	}{
		{"in-flight request finishes", 5 * time.Second, 20 * time.Millisecond, true},
		{"hung request is cut off at the bound", 100 * time.Millisecond, -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newServingFixture(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := mustNew(t, Config{Listener: ln, CertFile: fx.certFile, KeyFile: fx.keyFile, ShutdownTimeout: tc.timeout, AlwaysAllowPaths: []string{"/slow"}})
			entered, release := make(chan struct{}), make(chan struct{})
			if err := s.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				select {
				case <-release:
				case <-r.Context().Done(): // the connection was closed under us
				}
				io.WriteString(w, "done")
			})); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx) }()

			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := client(fx).Get("https://" + ln.Addr().String() + "/slow")
				if err != nil {
					got <- result{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				got <- result{string(b), err}
			}()
			<-entered
			if err := s.ShutdownCheck(nil); err != nil {
				t.Errorf("ShutdownCheck while serving = %v, want nil", err)
			}
			cancel()
			if tc.releaseAfter >= 0 {
				time.Sleep(tc.releaseAfter)
				close(release)
			}
			start := time.Now()
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve = %v, want nil", err)
				}
			case <-time.After(tc.timeout + 5*time.Second):
				t.Fatal("Serve did not return within the shutdown bound")
			}
			if err := s.ShutdownCheck(nil); err == nil || err.Error() != "process is shutting down" {
				t.Errorf("ShutdownCheck after shutdown = %v, want %q", err, "process is shutting down")
			}
			if waited := time.Since(start); waited > tc.timeout+2*time.Second {
				t.Errorf("Serve took %v after shutdown began, bound %v", waited, tc.timeout)
			}
			var res result
			select {
			case res = <-got:
			case <-time.After(3 * time.Second):
				close(release)
				t.Fatal("in-flight request still open after Serve returned")
			}
			if tc.wantResponse && (res.err != nil || res.body != "done") {
				t.Errorf("in-flight request = %q, %v; want it to complete", res.body, res.err)
			}
			if !tc.wantResponse && res.err == nil {
				t.Errorf("hung request completed with %q, want its connection closed", res.body)
			}
			if tc.releaseAfter < 0 {
				close(release)
			}
			if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				c.Close()
				t.Error("listener still accepts connections after Serve returned")
			}
		})
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	fx := newServingFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, Config{Listener: ln, CertFile: fx.certFile, KeyFile: fx.keyFile})
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Serve(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("Serve on a closed listener = %v (ctx %v), want an immediate error", err, ctx.Err())
	}
}

func TestListen(t *testing.T) {
	t.Run("binds the configured port", func(t *testing.T) {
		fx := newServingFixture(t)
		probe, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := probe.Addr().(*net.TCPAddr).Port
		probe.Close()
		s := mustNew(t, Config{BindAddress: "127.0.0.1", Port: port, CertFile: fx.certFile, KeyFile: fx.keyFile})
		if s.Addr() != nil {
			t.Error("Addr before Listen is not nil")
		}
		if err := s.Listen(); err != nil {
			t.Fatal(err)
		}
		if got := s.Addr().String(); got != "127.0.0.1:"+strconv.Itoa(port) {
			t.Errorf("Addr = %s, want port %d", got, port)
		}
		if err := s.Listen(); err == nil {
			t.Error("second Listen succeeded")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Serve(ctx); err != nil {
			t.Errorf("Serve with a done context = %v", err)
		}
		if err := s.Serve(context.Background()); err == nil {
			t.Error("second Serve succeeded")
		}
	})
	t.Run("port in use is an error", func(t *testing.T) {
		fx := newServingFixture(t)
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		s := mustNew(t, Config{BindAddress: "127.0.0.1", Port: busy.Addr().(*net.TCPAddr).Port, CertFile: fx.certFile, KeyFile: fx.keyFile})
		if err := s.Listen(); err == nil {
			t.Error("Listen on a busy port succeeded")
		}
	})
	t.Run("port 0 disables serving", func(t *testing.T) {
		s := mustNew(t, Config{})
		if err := s.Listen(); err != nil || s.Addr() != nil {
			t.Errorf("Listen = %v, Addr = %v; want nil, nil", err, s.Addr())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if err := s.Serve(ctx); err != nil {
			t.Errorf("Serve = %v, want nil once ctx is done", err)
		}
	})
}

func TestMetricsEndpoint(t *testing.T) {
	const page = "# TYPE up gauge\nup 1\n"
	tests := []struct {
		name     string
		metrics  MetricsWriter
		gzip     bool
		wantCode int
		wantBody string
	}{
		{"plain", metricsFunc(func(w io.Writer) error { _, err := io.WriteString(w, page); return err }), false, 200, page},
		{"gzip when asked", metricsFunc(func(w io.Writer) error { _, err := io.WriteString(w, page); return err }), true, 200, page},
		{"writer failure is 500", metricsFunc(func(w io.Writer) error { io.WriteString(w, "partial"); return errors.New("collector broke") }), false, 500, "collector broke"},
		{"no writer is 404", nil, false, 404, "404 page not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, Config{Metrics: tc.metrics, AlwaysAllowPaths: []string{"/metrics"}})
			h := http.Header{}
			if tc.gzip {
				h.Set("Accept-Encoding", "gzip")
			}
			rec := do(t, s, http.MethodGet, "/metrics", h)
			body := rec.Body.String()
			if rec.Header().Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			} else if tc.gzip && tc.wantCode == 200 {
				t.Error("gzip asked for but not used")
			}
			if rec.Code != tc.wantCode || !strings.Contains(body, tc.wantBody) || (tc.wantCode == 200 && strings.Contains(body, "partial")) {
				t.Errorf("= %d %q, want %d containing %q", rec.Code, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode == 200 && rec.Header().Get("Content-Type") != metricsContentType {
				t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestOptionalEndpointsAbsent(t *testing.T) {
	s := mustNew(t, Config{AlwaysAllowPaths: []string{"/*"}})
	for _, p := range []string{"/metrics", "/configz", "/debug/pprof/", "/debug/pprof/profile", "/flagz", "/statusz", "/metrics/slis", "/debug/flags/v"} {
		if rec := do(t, s, http.MethodGet, p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404 when not configured", p, rec.Code)
		}
	}
}

func TestHandleConflicts(t *testing.T) {
	s := mustNew(t, Config{Metrics: metricsFunc(func(io.Writer) error { return nil })})
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	tests := []struct {
		name, path string
		h          http.Handler
	}{
		{"taken path", "/metrics", ok},
		{"taken prefix", "/healthz/", ok},
		{"relative path", "metrics2", ok},
		{"nil handler", "/x", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Handle(tc.path, tc.h); err == nil {
				t.Errorf("Handle(%q) succeeded, want an error", tc.path)
			}
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	s := mustNew(t, Config{AlwaysAllowPaths: []string{"/boom"}})
	if err := s.Handle("/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaput") })); err != nil {
		t.Fatal(err)
	}
	if rec := do(t, s, http.MethodGet, "/boom", nil); rec.Code != http.StatusInternalServerError {
		t.Errorf("code = %d, want 500", rec.Code)
	}
}
