package httpserve

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
)

// metricsContentType is the Prometheus text exposition format.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// installEndpoints mounts everything the configuration enables: the three health endpoints,
// /metrics, /metrics/slis, /configz, the z-pages /flagz and /statusz, and the debugging
// handlers (pprof, /debug/flags), which /statusz does not list, as upstream.
func (s *Server) installEndpoints() error {
	var errs []error
	add := func(path string, h http.Handler, prefix bool) { errs = append(errs, s.mux.handle(path, h, prefix)) }
	hide := func(path string, h http.Handler, prefix bool) {
		errs = append(errs, s.mux.handleUnlisted(path, h, prefix))
	}
	for _, e := range s.health {
		add("/"+e.name, http.HandlerFunc(e.serveAll), false)
		add("/"+e.name+"/", http.HandlerFunc(e.serveOne), true)
	}
	if s.cfg.Metrics != nil {
		add("/metrics", metricsHandler(s.cfg.Metrics), false)
	}
	if s.slis != nil {
		add("/metrics/slis", s.slis.handler(s.cfg.SLIMetrics, func(err error) { s.log.Warn("writing /metrics/slis", "err", err) }), false)
	}
	if s.cfg.Configz != nil {
		add("/configz", configzHandler(s.cfg.Configz), false)
	}
	if s.cfg.Flags != nil {
		add("/flagz", flagzPage(s.cfg.componentName(), s.cfg.Flags), false)
	}
	if s.cfg.Profiling {
		hide("/debug/pprof", http.RedirectHandler("/debug/pprof/", http.StatusFound), false)
		hide("/debug/pprof/", http.HandlerFunc(pprof.Index), true) // the index and named profiles
		hide("/debug/pprof/profile", http.HandlerFunc(pprof.Profile), false)
		hide("/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol), false)
		hide("/debug/pprof/trace", http.HandlerFunc(pprof.Trace), false)
		if s.cfg.SetVerbosity != nil {
			hide("/debug/flags", debugFlagsIndex("v"), false)
			hide("/debug/flags/", debugFlagsIndex("v"), true)
			hide("/debug/flags/v", verbosityHandler(s.cfg.SetVerbosity), false)
		}
	}
	// Last, so that it lists what was mounted before it (and paths mounted later with Handle),
	// but not itself, as upstream's.
	if !s.cfg.Status.StartTime.IsZero() {
		paths := func() []string {
			return slices.DeleteFunc(s.mux.listed(), func(p string) bool { return p == "/statusz" })
		}
		add("/statusz", statuszPage(s.cfg.componentName(), s.cfg.Status, paths, s.cfg.now), false)
	}
	return errors.Join(errs...)
}

// metricsHandler renders m into a buffer first, so a failure becomes a clean 500 rather than a
// truncated page. The body is gzipped for clients that ask, as Prometheus does.
func metricsHandler(m MetricsWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if err := m.WritePrometheus(&buf); err != nil {
			http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", metricsContentType)
		if !acceptsGzip(r) {
			_, _ = buf.WriteTo(w)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz := gzip.NewWriter(w)
		_, _ = buf.WriteTo(gz)
		_ = gz.Close()
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// configzHandler serves {"componentconfig": cfg()} as kube-scheduler registers its
// configuration under that name.
func configzHandler(cfg func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(map[string]any{"componentconfig": cfg()})
		if err != nil {
			http.Error(w, fmt.Sprintf("error marshaling json: %v", err), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	})
}
