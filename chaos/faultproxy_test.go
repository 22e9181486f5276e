package chaos

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

// fault is what the proxy does to one request.
type fault string

const (
	faultNone        fault = ""
	faultTooMany     fault = "429 Retry-After"
	faultUnavailable fault = "503 Retry-After"
	faultInternal    fault = "500"
	faultLost        fault = "500 after forwarding" // the API server acted; the answer is lost
	faultSlow        fault = "slow"
	faultDropWatch   fault = "dropped watch"
)

// Faults each kind of request may get, drawn uniformly.
var (
	watchFaults = []fault{faultTooMany, faultUnavailable, faultInternal, faultSlow, faultDropWatch, faultDropWatch}
	writeFaults = []fault{faultTooMany, faultUnavailable, faultInternal, faultLost, faultSlow}
	readFaults  = []fault{faultTooMany, faultUnavailable, faultInternal, faultSlow}
)

// faultProxy is an HTTPS reverse proxy in front of the API server for one client (berth). While
// injecting, it answers a share of the requests with a fault instead of the API server's
// answer: 429 or 503 with Retry-After: 1, 500 before or after forwarding the request (the
// latter is a write the API server made but whose answer never arrives), a delay of 1 to 3
// seconds before forwarding, or a watch stream cut after 1 to 5 seconds. Watches being few and
// long, it also cuts one open watch stream, drawn at random, every dropEvery while injecting.
// It forwards as the
// user of the client certificate it is given, whatever certificate the client shows. Methods
// are safe for concurrent use.
type faultProxy struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu           sync.Mutex
	rng          *rand.Rand
	rate         float64 // share of requests that get a fault; 0 while not injecting
	requests     int     // requests seen while injecting
	counts       map[fault]int
	lostBindings []string                             // pods whose binding the API server made but the client never heard of
	watches      map[*http.Request]context.CancelFunc // open watch streams, to cut
}

// startFaultProxy serves on a loopback port, forwarding to the control plane as user in groups.
// It stops when t ends. seed makes the choice of faults repeatable.
func startFaultProxy(t *testing.T, cp *testenv.ControlPlane, seed uint64, user string, groups ...string) *faultProxy {
	t.Helper()
	target, err := url.Parse(cp.URL)
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := cp.TLSClientCert(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := cp.CA.ServingCert([]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	servingCert, err := tls.X509KeyPair(serving.CertPEM, serving.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{rng: rand.New(rand.NewPCG(seed, seed)), counts: map[fault]int{},
		watches: map[*http.Request]context.CancelFunc{}}
	transport := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: cp.CertPool(), Certificates: []tls.Certificate{clientCert}},
		ForceAttemptHTTP2: true,
	}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewUnstartedServer(p)
	p.srv.EnableHTTP2 = true
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{servingCert}}
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.StartTLS()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.cutWatches(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		p.srv.CloseClientConnections()
		p.srv.Close()
		transport.CloseIdleConnections()
	})
	return p
}

// URL is the proxy's address, for a kubeconfig.
func (p *faultProxy) URL() string { return p.srv.URL }

// inject sets the share of requests that get a fault (0 stops injecting).
func (p *faultProxy) inject(rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = rate
}

// choose draws the fault for r.
func (p *faultProxy) choose(r *http.Request) fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate == 0 {
		return faultNone
	}
	p.requests++
	if p.rng.Float64() >= p.rate {
		return faultNone
	}
	faults := readFaults
	switch {
	case isWatch(r):
		faults = watchFaults
	case r.Method != http.MethodGet:
		faults = writeFaults
	}
	f := faults[p.rng.IntN(len(faults))]
	p.counts[f]++
	return f
}

// between returns a random duration in [lo, hi).
func (p *faultProxy) between(lo, hi time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return lo + time.Duration(p.rng.Int64N(int64(hi-lo)))
}

func isWatch(r *http.Request) bool {
	w := r.URL.Query().Get("watch")
	return w == "true" || w == "1"
}

// dropEvery is how often the proxy cuts an open watch stream while injecting.
const dropEvery = 2 * time.Second

// cutWatches cuts one open watch stream every dropEvery while injecting, until ctx ends.
func (p *faultProxy) cutWatches(ctx context.Context) {
	tick := time.NewTicker(dropEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.mu.Lock()
		if p.rate > 0 && len(p.watches) > 0 {
			open := make([]*http.Request, 0, len(p.watches))
			for r := range p.watches {
				open = append(open, r)
			}
			// Map order is random but not seeded: sort for a repeatable draw.
			sort.Slice(open, func(i, j int) bool { return open[i].URL.String() < open[j].URL.String() })
			r := open[p.rng.IntN(len(open))]
			p.watches[r]()
			delete(p.watches, r)
			p.counts[faultDropWatch]++
		}
		p.mu.Unlock()
	}
}

// forward sends r to the API server; a watch can be cut meanwhile by cutWatches.
func (p *faultProxy) forward(w http.ResponseWriter, r *http.Request) {
	if !isWatch(r) {
		p.proxy.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out := r.WithContext(ctx)
	p.mu.Lock()
	p.watches[out] = cancel
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.watches, out)
		p.mu.Unlock()
	}()
	// Cancelling the forwarded request mid-stream makes the proxy abort the client's stream
	// (http.ErrAbortHandler): the client sees its watch broken, not ended.
	p.proxy.ServeHTTP(w, out)
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p.choose(r) {
	case faultNone:
		p.forward(w, r)
	case faultTooMany:
		w.Header().Set("Retry-After", "1")
		writeStatus(w, http.StatusTooManyRequests, "TooManyRequests")
	case faultUnavailable:
		w.Header().Set("Retry-After", "1")
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable")
	case faultInternal:
		writeStatus(w, http.StatusInternalServerError, "InternalError")
	case faultLost:
		rec := httptest.NewRecorder()
		p.proxy.ServeHTTP(rec, r)
		if rec.Code == http.StatusCreated && strings.HasSuffix(r.URL.Path, "/binding") {
			p.mu.Lock()
			p.lostBindings = append(p.lostBindings, r.URL.Path)
			p.mu.Unlock()
		}
		writeStatus(w, http.StatusInternalServerError, "InternalError")
	case faultSlow:
		select {
		case <-r.Context().Done():
			return
		case <-time.After(p.between(time.Second, 3*time.Second)):
		}
		p.forward(w, r)
	case faultDropWatch:
		ctx, cancel := context.WithTimeout(r.Context(), p.between(time.Second, 5*time.Second))
		defer cancel()
		p.forward(w, r.WithContext(ctx))
	}
}

// writeStatus answers with a metav1.Status, as the API server would.
func writeStatus(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Failure",
		"message": "injected by the chaos test's proxy", "reason": reason, "code": code,
	})
}

// summary returns how many requests the proxy saw while injecting, how many of them got a
// fault, and the faults by kind.
func (p *faultProxy) summary() (requests, faults int, byKind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s []string
	for f, n := range p.counts {
		s = append(s, fmt.Sprintf("%s×%d", f, n))
		faults += n
	}
	sort.Strings(s)
	return p.requests, faults, strings.Join(s, ", ")
}

// lost returns the paths of the bindings whose answers were lost.
func (p *faultProxy) lost() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lostBindings...)
}
