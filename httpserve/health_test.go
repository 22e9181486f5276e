package httpserve

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestHealthEndpoints(t *testing.T) {
	failing := func(*http.Request) error { return errors.New("informers not synced") }
	passing := func(*http.Request) error { return nil }
	type check struct {
		name  string
		fn    func(*http.Request) error
		where []Endpoint
	}
	tests := []struct {
		name     string
		checks   []check
		target   string
		wantCode int
		wantBody string
	}{
		{
			name:     "no checks runs ping",
			target:   "/healthz",
			wantCode: http.StatusOK,
			wantBody: "ok",
		},
		{
			name:     "no checks verbose lists ping",
			target:   "/livez?verbose",
			wantCode: http.StatusOK,
			wantBody: "[+]ping ok\nlivez check passed\n",
		},
		{
			name:     "named checks replace ping and keep their order",
			checks:   []check{{"leaderElection", passing, nil}, {"sched-handler-sync", passing, []Endpoint{Readyz}}},
			target:   "/readyz?verbose=1",
			wantCode: http.StatusOK,
			wantBody: "[+]leaderElection ok\n[+]sched-handler-sync ok\nreadyz check passed\n",
		},
		{
			name:     "a check added only to readyz leaves livez alone",
			checks:   []check{{"sched-handler-sync", failing, []Endpoint{Readyz}}},
			target:   "/livez?verbose",
			wantCode: http.StatusOK,
			wantBody: "[+]ping ok\nlivez check passed\n",
		},
		{
			name:     "failing check lists all checks and withholds the reason",
			checks:   []check{{"leaderElection", passing, nil}, {"sched-handler-sync", failing, nil}},
			target:   "/readyz",
			wantCode: http.StatusInternalServerError,
			wantBody: "[+]leaderElection ok\n[-]sched-handler-sync failed: reason withheld\nreadyz check failed\n",
		},
		{
			name:     "excluded failing check passes",
			checks:   []check{{"leaderElection", passing, nil}, {"sched-handler-sync", failing, nil}},
			target:   "/healthz?verbose&exclude=sched-handler-sync",
			wantCode: http.StatusOK,
			wantBody: "[+]leaderElection ok\n[+]sched-handler-sync excluded: ok\nhealthz check passed\n",
		},
		{
			name:     "exclude is repeatable and unknown names are reported",
			checks:   []check{{"a", failing, nil}, {"b", failing, nil}},
			target:   "/healthz?verbose&exclude=a&exclude=b&exclude=zz&exclude=yy",
			wantCode: http.StatusOK,
			wantBody: "[+]a excluded: ok\n[+]b excluded: ok\nwarn: some health checks cannot be excluded: no matches for \"yy\",\"zz\"\nhealthz check passed\n",
		},
		{
			name:     "excluding without verbose is plain ok",
			checks:   []check{{"a", failing, nil}},
			target:   "/healthz?exclude=a",
			wantCode: http.StatusOK,
			wantBody: "ok",
		},
		{
			name:     "single check path passes",
			checks:   []check{{"leaderElection", passing, nil}},
			target:   "/healthz/leaderElection",
			wantCode: http.StatusOK,
			wantBody: "ok",
		},
		{
			name:     "single check path shows the error",
			checks:   []check{{"sched-handler-sync", failing, nil}},
			target:   "/readyz/sched-handler-sync",
			wantCode: http.StatusInternalServerError,
			wantBody: "internal server error: informers not synced\n",
		},
		{
			name:     "ping path exists while ping runs",
			target:   "/livez/ping",
			wantCode: http.StatusOK,
			wantBody: "ok",
		},
		{
			name:     "unknown check path is 404",
			checks:   []check{{"leaderElection", passing, nil}},
			target:   "/healthz/ping",
			wantCode: http.StatusNotFound,
			wantBody: "404 page not found\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Sub-paths are not always allowed by default; open them so anonymous requests reach them.
			s := mustNew(t, Config{AlwaysAllowPaths: []string{"/healthz*", "/livez*", "/readyz*"}})
			for _, c := range tc.checks {
				if err := s.AddHealthCheck(c.name, c.fn, c.where...); err != nil {
					t.Fatal(err)
				}
			}
			rec := do(t, s, http.MethodGet, tc.target, nil)
			if rec.Code != tc.wantCode || rec.Body.String() != tc.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tc.target, rec.Code, rec.Body.String(), tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestHealthFailureIsLoggedNotShown(t *testing.T) {
	var logs bytes.Buffer
	s := mustNew(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := s.AddHealthCheck("db", func(*http.Request) error { return errors.New("secret detail") }); err != nil {
		t.Fatal(err)
	}
	rec := do(t, s, http.MethodGet, "/healthz?verbose", nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("code = %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "secret detail") {
		t.Errorf("body %q shows the check's error", rec.Body.String())
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Errorf("logs %q do not record the check's error", logs.String())
	}
}

func TestAddHealthCheckErrors(t *testing.T) {
	ok := func(*http.Request) error { return nil }
	tests := []struct {
		name    string
		check   string
		fn      func(*http.Request) error
		where   []Endpoint
		wantErr string
	}{
		{"empty name", "", ok, nil, "must be non-empty"},
		{"slash in name", "a/b", ok, nil, "contain no /"},
		{"nil check", "x", nil, nil, "nil check"},
		{"unknown endpoint", "x", ok, []Endpoint{"/statusz"}, "unknown endpoint"},
		{"duplicate", "dup", ok, []Endpoint{Readyz}, "already has a check named"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, Config{})
			if err := s.AddHealthCheck("dup", ok); err != nil {
				t.Fatal(err)
			}
			err := s.AddHealthCheck(tc.check, tc.fn, tc.where...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("AddHealthCheck = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestHealthCheckAddedWhileServingIsUsed(t *testing.T) {
	s := mustNew(t, Config{})
	if rec := do(t, s, http.MethodGet, "/readyz", nil); rec.Code != http.StatusOK {
		t.Fatalf("before: code = %d, want 200", rec.Code)
	}
	if err := s.AddHealthCheck("late", func(*http.Request) error { return errors.New("no") }, Readyz); err != nil {
		t.Fatal(err)
	}
	if rec := do(t, s, http.MethodGet, "/readyz", nil); rec.Code != http.StatusInternalServerError {
		t.Errorf("after: code = %d, want 500", rec.Code)
	}
}
