package httpserve

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// pathMux routes by exact path first, then by the longest registered prefix, like the API
// server's path recorder mux. Unlike http.ServeMux it reports conflicts as errors instead of
// panicking. It is safe for concurrent use; handlers may be added while serving.
type pathMux struct {
	mu       sync.RWMutex
	exact    map[string]http.Handler
	prefixes map[string]http.Handler
	unlisted map[string]bool // registered paths left out of listed (pprof, /debug/flags)
}

func newPathMux() *pathMux {
	return &pathMux{exact: map[string]http.Handler{}, prefixes: map[string]http.Handler{}, unlisted: map[string]bool{}}
}

// handle registers h for path, or for every path under it when prefix is set. The path is
// listed (see listed).
func (m *pathMux) handle(path string, h http.Handler, prefix bool) error {
	return m.register(path, h, prefix, true)
}

// handleUnlisted is handle for a path that /statusz does not list, as upstream hides its
// debugging handlers.
func (m *pathMux) handleUnlisted(path string, h http.Handler, prefix bool) error {
	return m.register(path, h, prefix, false)
}

func (m *pathMux) register(path string, h http.Handler, prefix, listed bool) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("path %q must start with /", path)
	}
	if h == nil {
		return fmt.Errorf("path %q: nil handler", path)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	routes := m.exact
	if prefix {
		routes = m.prefixes
	}
	if _, ok := routes[path]; ok {
		return fmt.Errorf("path %q is already handled", path)
	}
	routes[path] = h
	if !listed {
		m.unlisted[path] = true
	}
	return nil
}

// listed returns the registered paths, exact and prefix, that are not unlisted, sorted.
func (m *pathMux) listed() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for _, routes := range []map[string]http.Handler{m.exact, m.prefixes} {
		for p := range routes {
			if !m.unlisted[p] {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *pathMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := m.lookup(r.URL.Path); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	http.NotFound(w, r)
}

func (m *pathMux) lookup(path string) http.Handler {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if h, ok := m.exact[path]; ok {
		return h
	}
	var best string
	var found http.Handler
	for p, h := range m.prefixes {
		if strings.HasPrefix(path, p) && len(p) > len(best) {
			best, found = p, h
		}
	}
	return found
}
