package httpserve

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// healthCheck is one named check; a nil error means healthy.
type healthCheck struct {
	name  string
	check func(*http.Request) error
}

// pingCheck always passes. An endpoint with no checks of its own runs it, as upstream installs
// ping only when it is given no other checks.
var pingCheck = healthCheck{name: "ping", check: func(*http.Request) error { return nil }}

// healthEndpoint serves one of /healthz, /livez, /readyz and its per-check sub-paths. Checks may
// be added while serving; it is safe for concurrent use.
type healthEndpoint struct {
	name string // path without the slash, used in the "<name> check passed" lines
	log  *slog.Logger
	slis *sliMetrics // records each check serveAll runs; nil records nothing

	mu     sync.RWMutex
	checks []healthCheck
}

func (e *healthEndpoint) add(c healthCheck) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, have := range e.checks {
		if have.name == c.name {
			return fmt.Errorf("/%s already has a check named %q", e.name, c.name)
		}
	}
	e.checks = append(e.checks, c)
	return nil
}

func (e *healthEndpoint) current() []healthCheck {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if len(e.checks) == 0 {
		return []healthCheck{pingCheck}
	}
	return slices.Clone(e.checks)
}

// serveAll runs every check not excluded by ?exclude=name. Success is "ok", or with ?verbose a
// line per check; failure is always the per-check list with 500, the reasons withheld from
// the body and logged instead.
func (e *healthEndpoint) serveAll(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	excluded := map[string]bool{}
	for _, name := range query["exclude"] {
		excluded[name] = true
	}
	var out, reasons bytes.Buffer
	var failed []string
	for _, c := range e.current() {
		if excluded[c.name] {
			delete(excluded, c.name)
			fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.name)
			continue
		}
		err := c.check(r)
		e.slis.observe(c.name, e.name, err == nil)
		if err != nil {
			fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.name)
			fmt.Fprintf(&reasons, "[-]%s failed: %v\n", c.name, err)
			failed = append(failed, c.name)
			continue
		}
		fmt.Fprintf(&out, "[+]%s ok\n", c.name)
	}
	if len(excluded) > 0 {
		unknown := make([]string, 0, len(excluded))
		for name := range excluded {
			unknown = append(unknown, fmt.Sprintf("%q", name))
		}
		slices.Sort(unknown)
		fmt.Fprintf(&out, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(unknown, ","))
	}
	if len(failed) > 0 {
		e.log.Info("Health check failed", "endpoint", "/"+e.name, "checks", strings.Join(failed, ","), "details", reasons.String())
		http.Error(w, fmt.Sprintf("%s%s check failed", out.String(), e.name), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, verbose := query["verbose"]; !verbose {
		fmt.Fprint(w, "ok")
		return
	}
	_, _ = out.WriteTo(w)
	fmt.Fprintf(w, "%s check passed\n", e.name)
}

// serveOne serves /<endpoint>/<check>: "ok", or 500 with the check's error, as upstream does.
func (e *healthEndpoint) serveOne(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/"+e.name+"/")
	for _, c := range e.current() {
		if c.name != name {
			continue
		}
		if err := c.check(r); err != nil {
			http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
		return
	}
	http.NotFound(w, r)
}
