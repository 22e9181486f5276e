package httpserve

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// handlerChain wraps the endpoint mux with the filters kube-scheduler uses, outermost first:
// panic recovery, request logging, Cache-Control, then authentication and authorization.
func (s *Server) handlerChain(endpoints http.Handler) http.Handler {
	h := s.guard(endpoints)
	h = withCacheControl(h)
	h = withLogging(h, s.log)
	return withPanicRecovery(h, s.log)
}

// guard authenticates and authorizes every request before it reaches next.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		u, err := s.authn.authenticate(r)
		s.auth.authenticated(u, err, start)
		if err != nil {
			s.log.Info("Unable to authenticate the request", "path", r.URL.Path, "err", err)
			if r.ProtoMajor == 2 {
				// Make unauthenticated HTTP/2 clients reconnect rather than hold a connection.
				w.Header().Set("Connection", "close")
			}
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized", nil)
			return
		}
		if r.ProtoMajor == 2 && u.Name == anonymousUser {
			w.Header().Set("Connection", "close")
		}
		// Non-resource requests use the lower-cased method as their verb.
		verb := strings.ToLower(r.Method)
		start = time.Now()
		v := s.authz.authorize(r.Context(), u, r.URL.Path, verb)
		s.auth.authorized(v, start)
		switch {
		case v.allowed:
			next.ServeHTTP(w, r)
		case v.err != nil:
			s.log.Error("Authorization failed", "path", r.URL.Path, "user", u.Name, "err", v.err)
			http.Error(w, htmlEscaper.Replace(fmt.Sprintf("Internal Server Error: %q: %v", r.RequestURI, v.err)), http.StatusInternalServerError)
		default:
			s.log.Debug("Forbidden", "uri", r.RequestURI, "user", u.Name, "reason", v.reason)
			msg := "forbidden: " + htmlEscaper.Replace(fmt.Sprintf("User %q cannot %s path %q", u.Name, verb, r.URL.Path))
			if v.reason != "" {
				msg += ": " + v.reason
			}
			w.Header().Set("X-Content-Type-Options", "nosniff")
			writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, msg, &metav1.StatusDetails{})
		}
	})
}

var htmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;")

// writeStatus writes a v1 Status body, as the API server's error responses are.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string, details *metav1.StatusDetails) {
	body, err := json.Marshal(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   reason,
		Details:  details,
		Code:     int32(code),
	})
	if err != nil {
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func withCacheControl(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if w.Header().Get("Cache-Control") == "" {
			w.Header().Set("Cache-Control", "no-cache, private")
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the response code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's Flusher and deadlines.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func withLogging(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		log.Debug("HTTP", "verb", r.Method, "uri", r.RequestURI, "status", rec.code,
			"latency", time.Since(start), "remote", r.RemoteAddr, "userAgent", r.UserAgent())
	})
}

func withPanicRecovery(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // net/http's own signal to abort the response; let it through.
			}
			log.Error("Request handler panicked", "uri", r.RequestURI, "panic", v, "stack", string(debug.Stack()))
			http.Error(w, "This request caused the server to panic. Look in the logs for details.", http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}
