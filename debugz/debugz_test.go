package debugz

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/scheduler/explain"
)

type fakeSource struct{ nodes []string }

func (f *fakeSource) Explain(ns, name string, nodes []string) (*explain.Report, error) {
	f.nodes = nodes
	switch name {
	case "missing":
		return nil, fmt.Errorf("pod %s/%s: %w", ns, name, explain.ErrPodNotFound)
	case "theirs":
		return nil, fmt.Errorf("pod %s/%s has schedulerName \"other\": %w", ns, name, explain.ErrNotOurs)
	}
	return &explain.Report{Pod: explain.PodRef{Namespace: ns, Name: name}, Profile: "default-scheduler"}, nil
}

func (f *fakeSource) Pending(time.Time) []explain.Pending {
	return []explain.Pending{{Namespace: "ns", Name: "old", State: "unschedulable", Attempts: 3}}
}

type fakeLead struct {
	leader bool
	holder string
}

func (l fakeLead) IsLeader() bool   { return l.leader }
func (l fakeLead) Holder() string   { return l.holder }
func (l fakeLead) Identity() string { return "me" }

func TestHandlers(t *testing.T) {
	tests := []struct {
		name       string
		lead       Leadership
		method     string
		path       string
		accept     string
		userAgent  string
		wantCode   int
		wantBody   string
		wantNodes  string
		wantHeader string // Content-Type prefix
	}{
		{name: "explain JSON", path: "/debug/explain/ns/p", wantCode: 200, wantBody: `"name":"p"`, wantHeader: "application/json"},
		{name: "indented for curl", path: "/debug/explain/ns/p", userAgent: "curl/8.5.0", wantCode: 200, wantBody: `"name": "p"`},
		{name: "indented when asked", path: "/debug/explain/ns/p?pretty=true", wantCode: 200, wantBody: `"name": "p"`},
		{name: "compact when asked", path: "/debug/explain/ns/p?pretty=0", userAgent: "curl/8.5.0", wantCode: 200, wantBody: `"name":"p"`},
		{name: "explain text", path: "/debug/explain/ns/p", accept: "text/plain", wantCode: 200, wantBody: "pod ns/p (profile default-scheduler)", wantHeader: "text/plain"},
		{name: "nodes listed", path: "/debug/explain/ns/p?nodes=a,+b,", wantCode: 200, wantNodes: "[a b]"},
		{name: "missing pod", path: "/debug/explain/ns/missing", wantCode: 404, wantBody: "pod not found"},
		{name: "another scheduler's pod", path: "/debug/explain/ns/theirs", wantCode: 404, wantBody: "not scheduled by this scheduler"},
		{name: "no pod name", path: "/debug/explain/ns", wantCode: 404, wantBody: "NAMESPACE/POD"},
		{name: "too deep", path: "/debug/explain/ns/p/x", wantCode: 404},
		{name: "standby", lead: fakeLead{holder: "berth-1"}, path: "/debug/explain/ns/p", wantCode: 503, wantBody: `"leader":"berth-1"`},
		{name: "standby, no holder", lead: fakeLead{}, path: "/debug/pending", accept: "text/plain", wantCode: 503, wantBody: "no holder"},
		{name: "leader", lead: fakeLead{leader: true, holder: "me"}, path: "/debug/pending", wantCode: 200, wantBody: `"name":"old"`},
		{name: "pending text", path: "/debug/pending", accept: "text/plain", wantCode: 200, wantBody: "unschedulable"},
		{name: "POST refused", method: http.MethodPost, path: "/debug/pending", wantCode: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{}
			mux := http.NewServeMux()
			h := New(src, tc.lead)
			if err := h.Mount(func(p string, hh http.Handler) error { mux.Handle(p, hh); return nil }); err != nil {
				t.Fatal(err)
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			req.Header.Set("User-Agent", tc.userAgent)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("%s %s = %d %q, want %d containing %q", method, tc.path, rec.Code, rec.Body.String(), tc.wantCode, tc.wantBody)
			}
			if tc.wantNodes != "" && fmt.Sprint(src.nodes) != tc.wantNodes {
				t.Errorf("nodes passed = %v, want %s", src.nodes, tc.wantNodes)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.wantHeader) {
				t.Errorf("Content-Type = %q, want %s...", ct, tc.wantHeader)
			}
		})
	}
}

// blockingSource holds every Explain until released.
type blockingSource struct {
	fakeSource
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSource) Explain(ns, name string, nodes []string) (*explain.Report, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.fakeSource.Explain(ns, name, nodes)
}

// TestOneExplainAtATime: a second explain waits for the first, and is answered 429 when the
// wait is too long.
func TestOneExplainAtATime(t *testing.T) {
	src := &blockingSource{entered: make(chan struct{}, 2), release: make(chan struct{})}
	h := New(src, nil)
	h.maxWait = 50 * time.Millisecond
	first := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.explain(rec, httptest.NewRequest(http.MethodGet, "/debug/explain/ns/a", nil))
		first <- rec.Code
	}()
	<-src.entered
	rec := httptest.NewRecorder()
	h.explain(rec, httptest.NewRequest(http.MethodGet, "/debug/explain/ns/b", nil))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second explain while the first runs: %d %q", rec.Code, rec.Body.String())
	}
	close(src.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first explain: %d", code)
	}
	rec = httptest.NewRecorder()
	h.explain(rec, httptest.NewRequest(http.MethodGet, "/debug/explain/ns/c", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("explain after the first ended: %d", rec.Code)
	}
}
