// Package debugz serves berth's scheduling debug endpoints as http.Handlers, for the secure
// server to mount behind its authentication and authorization (never always-allowed):
//
//	GET /debug/explain/NAMESPACE/POD[?nodes=a,b]   why a pod is pending, or why it is where it is
//	GET /debug/pending                            every pending pod, oldest first
//
// Both answer JSON, or plain text for "Accept: text/plain". They run one at a time (a request
// waits up to MaxWait, then gets 429), so a burst of them takes at most one CPU from scheduling.
// Only the leader answers: a standby's
// queue is empty and its decisions are not the ones made, so it answers 503 naming the Lease
// holder. The data comes from a Source (package scheduler's Scheduler); this package only
// translates between it and HTTP.
package debugz

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-scheduler/berth/scheduler/explain"
)

// Paths the handlers are mounted at: ExplainPrefix takes NAMESPACE/POD after it.
const (
	ExplainPrefix = "/debug/explain/"
	PendingPath   = "/debug/pending"
)

// Source answers the endpoints. Its methods are called concurrently, from request goroutines.
type Source interface {
	// Explain explains pod namespace/name, listing only nodes when not empty. Its errors wrap
	// explain.ErrPodNotFound or explain.ErrNotOurs when that is what went wrong.
	Explain(namespace, name string, nodes []string) (*explain.Report, error)
	// Pending lists the pending pods, oldest first, with their ages at now.
	Pending(now time.Time) []explain.Pending
}

// Leadership tells whether this replica schedules, and who does (election.Elector).
type Leadership interface {
	IsLeader() bool
	Holder() string
	Identity() string
}

// MaxWait is how long a request waits for the one explain that may run at a time before it is
// answered 429: explains run one after another, so that however many arrive they take at most
// one CPU from scheduling.
const MaxWait = 5 * time.Second

// Handlers serves the endpoints. It is safe for concurrent use.
type Handlers struct {
	src  Source
	lead Leadership // nil: leader election is off, this replica always schedules
	now  func() time.Time
	// slot holds a token while an explain or a pending list is computed.
	slot    chan struct{}
	maxWait time.Duration
}

// New returns the handlers over src. lead may be nil (leader election off).
func New(src Source, lead Leadership) *Handlers {
	return &Handlers{src: src, lead: lead, now: time.Now, slot: make(chan struct{}, 1), maxWait: MaxWait}
}

// acquire waits for the slot, at most maxWait and while the request lasts; false when it did
// not get it (the response is written then).
func (h *Handlers) acquire(w http.ResponseWriter, r *http.Request) bool {
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slot <- struct{}{}:
		return true
	case <-t.C:
		w.Header().Set("Retry-After", "1")
		fail(w, r, http.StatusTooManyRequests, fmt.Errorf("another explain has been running for %s: retry", h.maxWait))
	case <-r.Context().Done():
	}
	return false
}

func (h *Handlers) release() { <-h.slot }

// Mount registers both endpoints with handle (httpserve.Server's Handle, whose paths ending in
// "/" are prefixes).
func (h *Handlers) Mount(handle func(path string, h http.Handler) error) error {
	if err := handle(ExplainPrefix, http.HandlerFunc(h.explain)); err != nil {
		return err
	}
	return handle(PendingPath, http.HandlerFunc(h.pending))
}

func (h *Handlers) explain(w http.ResponseWriter, r *http.Request) {
	if !h.admit(w, r) {
		return
	}
	ns, name, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, ExplainPrefix), "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		fail(w, r, http.StatusNotFound, fmt.Errorf("want %sNAMESPACE/POD, got %s", ExplainPrefix, r.URL.Path))
		return
	}
	var nodes []string
	if v := r.URL.Query().Get("nodes"); v != "" {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				nodes = append(nodes, n)
			}
		}
	}
	if !h.acquire(w, r) {
		return
	}
	rep, err := h.src.Explain(ns, name, nodes)
	h.release()
	switch {
	case errors.Is(err, explain.ErrPodNotFound), errors.Is(err, explain.ErrNotOurs):
		fail(w, r, http.StatusNotFound, err)
		return
	case err != nil:
		fail(w, r, http.StatusInternalServerError, err)
		return
	}
	if wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = rep.Text(w) // the client went away
		return
	}
	writeJSON(w, r, http.StatusOK, rep)
}

func (h *Handlers) pending(w http.ResponseWriter, r *http.Request) {
	if !h.admit(w, r) {
		return
	}
	if !h.acquire(w, r) {
		return
	}
	pods := h.src.Pending(h.now())
	h.release()
	if wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = explain.PendingText(w, pods)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Pods []explain.Pending `json:"pods"`
	}{pods})
}

// admit answers requests this replica must not: other methods than GET, and any request on a
// standby (503, naming the Lease holder).
func (h *Handlers) admit(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fail(w, r, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed", r.Method))
		return false
	}
	if h.lead == nil || h.lead.IsLeader() {
		return true
	}
	holder := h.lead.Holder()
	msg := fmt.Sprintf("%s is a standby, not the leader: ask the Lease holder %q", h.lead.Identity(), holder)
	if holder == "" {
		msg = fmt.Sprintf("%s is a standby and the Lease has no holder now: retry shortly", h.lead.Identity())
	}
	w.Header().Set("Retry-After", "5")
	if wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, msg)
		return false
	}
	writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"error": msg, "leader": holder})
	return false
}

func wantsText(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/plain") && !strings.Contains(a, "application/json")
}

func fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	if wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintln(w, err.Error())
		return
	}
	writeJSON(w, r, code, map[string]string{"error": err.Error()})
}

// writeJSON writes v, indented for a person (see pretty).
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	if pretty(r) {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v) // the client went away
}

// pretty reports whether the answer should be indented, as kube-apiserver decides it: when
// ?pretty= says true, or else for curl, wget and browsers. Programs get compact JSON, which costs
// a quarter less to write.
func pretty(r *http.Request) bool {
	if v := r.URL.Query().Get("pretty"); v != "" {
		b, err := strconv.ParseBool(v)
		return err == nil && b
	}
	ua := r.UserAgent()
	return strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/5.0")
}
