package httpserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the secure endpoint. Build it with New, add health checks, then Listen and Serve.
// AddHealthCheck, Handle, Addr and Handler are safe to call concurrently with Serve.
type Server struct {
	cfg     Config
	log     *slog.Logger
	tls     *tls.Config // nil when serving is disabled
	authn   *authenticator
	authz   *authorizer
	mux     *pathMux
	health  map[Endpoint]*healthEndpoint
	slis    *sliMetrics  // nil without Config.SLIMetrics
	auth    *authMetrics // nil without Config.AuthMetrics
	handler http.Handler

	mu      sync.Mutex
	ln      net.Listener
	started bool // Serve has been called

	stopping atomic.Bool // Serve's context has ended (see ShutdownCheck)
}

// New validates cfg, loads the CA bundles and the serving certificate (generating a self-signed
// one if none is configured) and mounts the endpoints. Errors name the field or file at fault.
// With serving disabled (Port 0 and no Listener) no serving certificate is loaded, but Handler
// still works.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("invalid secure serving config: %w", err)
	}
	cfg.AlwaysAllowPaths = slices.Clone(cfg.alwaysAllowPaths())
	s := &Server{cfg: cfg, log: cfg.logger(), mux: newPathMux()}

	clientCAs, err := loadCAs(caField("ClientCA", cfg.ClientCAFile), cfg.ClientCAFile, cfg.ClientCA)
	if err != nil {
		return nil, err
	}
	rh := cfg.RequestHeader
	rhCAs, err := loadCAs(caField("RequestHeader.ClientCA", rh.ClientCAFile), rh.ClientCAFile, rh.ClientCA)
	if err != nil {
		return nil, err
	}
	if cfg.AuthMetrics != nil {
		if s.auth, err = newAuthMetrics(cfg.AuthMetrics, cfg.TokenReviewer != nil); err != nil {
			return nil, err
		}
	}
	if err := s.setUpAuth(clientCAs, rhCAs); err != nil {
		return nil, err
	}

	var advertised *x509.CertPool
	if len(clientCAs)+len(rhCAs) > 0 {
		advertised = poolOf(clientCAs, rhCAs)
	}
	tlsCfg, err := tlsConfig(&s.cfg, advertised, s.log)
	if err != nil {
		return nil, err
	}
	if cfg.serving() {
		cert, err := loadServingCert(&s.cfg, s.log)
		if err != nil {
			return nil, err
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
		s.tls = tlsCfg
	}

	if cfg.SLIMetrics != nil {
		if s.slis, err = newSLIMetrics(cfg.SLIMetrics); err != nil {
			return nil, err
		}
	}
	s.health = map[Endpoint]*healthEndpoint{}
	for _, e := range []Endpoint{Healthz, Livez, Readyz} {
		s.health[e] = &healthEndpoint{name: strings.TrimPrefix(string(e), "/"), log: s.log, slis: s.slis}
	}
	if err := s.installEndpoints(); err != nil {
		return nil, fmt.Errorf("mounting endpoints: %w", err)
	}
	if cfg.Profiling && cfg.ContentionProfiling {
		runtime.SetBlockProfileRate(1)
	}
	s.handler = s.handlerChain(s.mux)
	return s, nil
}

// caField names the CA setting in errors: the File field if a file was given.
func caField(base, file string) string {
	if file != "" {
		return base + "File"
	}
	return base
}

// setUpAuth builds the authenticator and authorizer from the loaded CA certificates.
func (s *Server) setUpAuth(clientCAs, rhCAs []*x509.Certificate) error {
	var rh *requestHeaderAuth
	if len(rhCAs) > 0 {
		rh = &requestHeaderAuth{roots: poolOf(rhCAs), cfg: s.cfg.RequestHeader.trimmed(), now: s.cfg.now}
	}
	var cert *clientCertAuth
	if len(clientCAs) > 0 {
		cert = &clientCertAuth{roots: poolOf(clientCAs), now: s.cfg.now, metrics: s.auth}
	}
	var token *tokenAuth
	if s.cfg.TokenReviewer != nil {
		var err error
		if token, err = newTokenAuth(s.cfg.TokenReviewer, s.cfg.TokenCacheTTL, s.cfg.now); err != nil {
			return err
		}
		token.metrics = s.auth
	}
	s.authn = newAuthenticator(rh, cert, token)

	paths, err := newPathMatcher(s.cfg.AlwaysAllowPaths)
	if err != nil {
		return fmt.Errorf("AlwaysAllowPaths: %w", err)
	}
	if s.cfg.Authorizer == nil {
		s.log.Warn("No authorization-kubeconfig provided, so SubjectAccessReview of authorization tokens won't work.")
	}
	s.authz = &authorizer{
		paths:    paths,
		reviewer: s.cfg.Authorizer,
		allowTTL: s.cfg.AllowCacheTTL,
		denyTTL:  s.cfg.DenyCacheTTL,
		cache:    newTTLCache[authzStatus](s.cfg.now),
		metrics:  s.auth,
	}
	return nil
}

// AddHealthCheck adds a named check to the given endpoints (all three when none are given);
// the check is then also served alone at <endpoint>/<name>. It is called for every request to
// those endpoints, concurrently, with that request. Names must be non-empty, contain no "/",
// and be unique per endpoint. May be called while serving.
func (s *Server) AddHealthCheck(name string, check func(*http.Request) error, where ...Endpoint) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("adding health check: name %q must be non-empty and contain no /", name)
	}
	if check == nil {
		return fmt.Errorf("adding health check %q: nil check", name)
	}
	if len(where) == 0 {
		where = []Endpoint{Healthz, Livez, Readyz}
	}
	var errs []error
	for _, e := range where {
		h, ok := s.health[e]
		if !ok {
			errs = append(errs, fmt.Errorf("adding health check %q: unknown endpoint %q", name, e))
			continue
		}
		if err := h.add(healthCheck{name: name, check: check}); err != nil {
			errs = append(errs, fmt.Errorf("adding health check: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ShutdownCheck is kube-scheduler's "shutdown" readiness check: it fails once the context Serve
// was given has ended, while in-flight requests finish.
func (s *Server) ShutdownCheck(*http.Request) error {
	if s.stopping.Load() {
		return errors.New("process is shutting down")
	}
	return nil
}

// Handle mounts an extra endpoint behind the same authentication and authorization; a path
// ending in "/" also serves everything below it. It fails if the path is taken. May be called
// while serving. Paths under /debug/ are not listed in /statusz, as upstream lists none of its
// debugging handlers.
func (s *Server) Handle(path string, h http.Handler) error {
	mount := s.mux.handle
	if strings.HasPrefix(path, "/debug/") {
		mount = s.mux.handleUnlisted
	}
	if err := mount(path, h, strings.HasSuffix(path, "/")); err != nil {
		return fmt.Errorf("mounting %s: %w", path, err)
	}
	return nil
}

// Handler returns the endpoints wrapped in the request filters and authentication and
// authorization: what Serve serves, usable directly in tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds BindAddress:Port, or adopts cfg.Listener, so that callers can report readiness
// only once the port is open. It does nothing when serving is disabled. Serve calls it if the
// caller did not; Serve closes the socket, so a caller that listens must also serve.
func (s *Server) Listen() error {
	if !s.cfg.serving() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("listening: already listening")
	}
	if s.cfg.Listener != nil {
		s.ln = s.cfg.Listener
		return nil
	}
	addr := net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address, or nil before Listen and when serving is disabled.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve serves HTTPS until ctx is done, then stops accepting connections and gives in-flight
// requests up to ShutdownTimeout to finish before closing them; it then returns nil. It returns
// an error if the listener fails or if it cannot listen. With serving disabled it just waits
// for ctx. Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.cfg.serving() {
		<-ctx.Done()
		return nil
	}
	ln, err := s.startServing()
	if err != nil {
		return err
	}
	srv := s.httpServer()
	s.log.Info("Serving securely", "address", ln.Addr().String())

	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-served:
		return fmt.Errorf("serving HTTPS on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.stopping.Store(true)

	bound := s.cfg.shutdownTimeout()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bound)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		s.log.Warn("In-flight requests did not finish in time; closing their connections", "timeout", bound, "err", err)
		_ = srv.Close()
	}
	<-served // ServeTLS has returned http.ErrServerClosed
	s.log.Info("Stopped listening", "address", ln.Addr().String())
	return nil
}

func (s *Server) startServing() (net.Listener, error) {
	s.mu.Lock()
	listening := s.ln != nil
	s.mu.Unlock()
	if !listening {
		if err := s.Listen(); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil, errors.New("serving: Serve was already called")
	}
	s.started = true
	return s.ln, nil
}

// httpServer applies the upstream server limits: 1 MiB of headers, 32s to read them, 90s idle
// connections, and HTTP/2 with 100 streams per connection unless configured otherwise.
func (s *Server) httpServer() *http.Server {
	const frameSize = 256 << 10 // upstream sizes HTTP/2 buffers for the 99th percentile body
	streams := s.cfg.HTTP2MaxStreamsPerConnection
	if streams == 0 {
		streams = 100
	}
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tls,
		MaxHeaderBytes:    1 << 20,
		ReadHeaderTimeout: 32 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          log.New(serverErrorLog{s.log}, "", 0),
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:      streams,
			MaxReadFrameSize:          frameSize,
			MaxReceiveBufferPerStream: frameSize,
		},
	}
	if s.cfg.DisableHTTP2 {
		var p http.Protocols
		p.SetHTTP1(true)
		srv.Protocols = &p
	}
	return srv
}

// serverErrorLog routes net/http's own messages to the logger; TLS handshake failures (port
// scanners, clients rejecting the self-signed certificate) are routine and logged at debug.
type serverErrorLog struct{ log *slog.Logger }

func (w serverErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		w.log.Debug(msg)
	} else {
		w.log.Warn(msg)
	}
	return len(p), nil
}
