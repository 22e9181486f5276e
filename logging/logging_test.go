package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// at is the time of the test records: 2026-12-03 09:52:18.123456 local time.
var at = time.Date(2026, 12, 3, 9, 52, 18, 123456789, time.Local)

func record(level slog.Level, msg string, args ...any) slog.Record {
	r := slog.NewRecord(at, level, msg, 0)
	r.Add(args...)
	return r
}

func TestText(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	head := func(sev string) string {
		return sev + "1203 09:52:18.123456 " + strings.Repeat(" ", 7-len(pid)) + pid + " ???:0] "
	}
	tests := []struct {
		name string
		r    slog.Record
		h    func(slog.Handler) slog.Handler
		want string
	}{
		{name: "a bound pod, as kube-scheduler writes it at -v=2",
			r:    record(V(2), "Successfully bound pod to node", "pod", KRef("default", "nginx"), "node", "n1", "evaluatedNodes", 3, "feasibleNodes", 2),
			want: head("I") + `"Successfully bound pod to node" pod="default/nginx" node="n1" evaluatedNodes=3 feasibleNodes=2`},
		{name: "errors, durations and booleans",
			r:    record(slog.LevelError, "binding failed", "err", errors.New(`pods "p" not found`), "took", 1500*time.Millisecond, "retry", true),
			want: head("E") + `"binding failed" err="pods \"p\" not found" took="1.5s" retry=true`},
		{name: "a warning", r: record(slog.LevelWarn, "careful"), want: head("W") + `"careful"`},
		{name: "attributes and groups from the logger",
			r: record(slog.LevelInfo, "m", "b", 2, slog.Group("g", "c", 3)),
			h: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("component", "scheduler")}).WithGroup("x")
			},
			want: head("I") + `"m" component="scheduler" x.b=2 x.g.c=3`},
		{name: "a cluster-scoped object and a list", r: record(slog.LevelInfo, "m", "node", KRef("", "n1"), "names", []string{"a", "b"}),
			want: head("I") + `"m" node="n1" names=["a" "b"]`},
		{name: "a printf-style line, as kube-scheduler's FLAG lines", r: record(V(1), `FLAG: --v="1"`, Plain()),
			want: head("I") + `FLAG: --v="1"`},
		{name: "an error record's err comes first, as klog's Error(err, ...)",
			r:    record(slog.LevelError, "failed", "pod", KRef("ns", "p"), "err", errors.New("boom")),
			h:    func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String("component", "c")}) },
			want: head("E") + `"failed" err="boom" component="c" pod="ns/p"`},
		{name: "a logger's name is not written, as klog's text",
			r:    record(slog.LevelError, "Error scheduling pod; retrying", Named("UnhandledError"), "pod", KRef("ns", "p"), "err", errors.New("boom")),
			want: head("E") + `"Error scheduling pod; retrying" err="boom" pod="ns/p"`},
		{name: "a key of the logger given again with the same value keeps its place",
			r: record(V(2), "m", "node", "n1", "pod", KRef("ns", "p")),
			h: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.Any("pod", KRef("ns", "p")), slog.Int("x", 1)})
			},
			want: head("I") + `"m" pod="ns/p" x=1 node="n1"`},
		{name: "a key of the logger given again with another value moves to its last place",
			r: record(V(2), "m", "node", "n1", "pod", KRef("ns", "q"), "y", 2),
			h: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.Any("pod", KRef("ns", "p")), slog.Int("x", 1)})
			},
			want: head("I") + `"m" x=1 node="n1" pod="ns/q" y=2`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var h slog.Handler = NewHandler(&buf, "text", 2)
			if tc.h != nil {
				h = tc.h(h)
			}
			if err := h.Handle(context.Background(), tc.r); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(buf.String(), "\n"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	// zap's epoch-milliseconds encoder: as many digits as the float needs.
	ts := strconv.FormatFloat(float64(at.UnixNano())/1e6, 'f', -1, 64)
	tests := []struct {
		name string
		r    slog.Record
		h    func(slog.Handler) slog.Handler
		want string
	}{
		{name: "a bound pod", r: record(V(2), "Successfully bound pod to node", "pod", KRef("default", "nginx"), "node", "n1", "evaluatedNodes", 3),
			want: `{"ts":` + ts + `,"caller":"???:0","msg":"Successfully bound pod to node","v":2,"pod":{"name":"nginx","namespace":"default"},"node":"n1","evaluatedNodes":3}`},
		{name: "the logger's attributes come before v, and a key given again is written again, as zap does",
			r: record(V(2), "Successfully bound pod to node", "pod", KRef("default", "nginx"), "node", "n1"),
			h: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.Any("pod", KRef("default", "nginx"))})
			},
			want: `{"ts":` + ts + `,"caller":"???:0","msg":"Successfully bound pod to node","pod":{"name":"nginx","namespace":"default"},"v":2,"pod":{"name":"nginx","namespace":"default"},"node":"n1"}`},
		{name: "an error has no v, and its err comes last",
			r:    record(slog.LevelError, "failed", "err", errors.New("boom"), "lock", "ns/l"),
			want: `{"ts":` + ts + `,"caller":"???:0","msg":"failed","lock":"ns/l","err":"boom"}`},
		{name: "an info record's err stays in place", r: record(V(0), "Failed to renew lease", "lock", "ns/l", "err", errors.New("boom"), "x", 1),
			want: `{"ts":` + ts + `,"caller":"???:0","msg":"Failed to renew lease","v":0,"lock":"ns/l","err":"boom","x":1}`},
		{name: "durations and Stringers as strings", r: record(V(0), "m", "took", 1500*time.Millisecond, "ip", stringer{"10.0.0.1"}),
			want: `{"ts":` + ts + `,"caller":"???:0","msg":"m","v":0,"took":"1.5s","ip":"10.0.0.1"}`},
		{name: "a named logger's record, as utilruntime.HandleError's",
			r:    record(slog.LevelError, "Error scheduling pod; retrying", Named("UnhandledError"), "pod", KRef("ns", "p"), "err", errors.New("boom")),
			want: `{"ts":` + ts + `,"logger":"UnhandledError","caller":"???:0","msg":"Error scheduling pod; retrying","pod":{"name":"p","namespace":"ns"},"err":"boom"}`},
		{name: "a printf-style line adds no key", r: record(V(1), `FLAG: --v="1"`, Plain()),
			want: `{"ts":` + ts + `,"caller":"???:0","msg":"FLAG: --v=\"1\"","v":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var h slog.Handler = NewHandler(&buf, "json", 2)
			if tc.h != nil {
				h = tc.h(h)
			}
			if err := h.Handle(context.Background(), tc.r); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(buf.String(), "\n"); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// stringer is a Stringer that encoding/json would write as an empty object.
type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestVerbosityAndCaller(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(&buf, "text", 2))
	log.Log(context.Background(), V(3), "too verbose")
	log.Debug("debug is V(4)")
	log.Log(context.Background(), V(2), "written")
	log.Info("info")
	out := buf.String()
	if strings.Contains(out, "too verbose") || strings.Contains(out, "debug is") {
		t.Errorf("records above -v=2 written:\n%s", out)
	}
	// The caller is this file, and the line a real one.
	if ok, _ := regexp.MatchString(`(?m)^I\d{4} [0-9:.]{15} +\d+ logging_test\.go:\d+\] "written"$`, out); !ok {
		t.Errorf("unexpected header:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d lines, want 2:\n%s", n, out)
	}
}

// TestVModule checks --vmodule: a matching file logs at its own verbosity (higher or lower than
// -v), others at -v; warnings always pass.
func TestVModule(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	tests := []struct {
		name    string
		v       int
		vmodule []string
		level   slog.Level
		want    bool
	}{
		{name: "this file raised to 4", v: 0, vmodule: []string{"logging_test=4"}, level: V(4), want: true},
		{name: "this file raised, a deeper level still off", v: 0, vmodule: []string{"logging_test=4"}, level: V(5), want: false},
		{name: "a glob", v: 0, vmodule: []string{"logging_*=2"}, level: V(2), want: true},
		{name: "a path pattern", v: 0, vmodule: []string{dir + "/logging_t*=3"}, level: V(3), want: true},
		{name: "a path pattern of another directory", v: 0, vmodule: []string{"/elsewhere/logging_test=3"}, level: V(3), want: false},
		{name: "another file's rule leaves this one at -v", v: 1, vmodule: []string{"scheduler=5"}, level: V(2), want: false},
		{name: "this file lowered below -v", v: 4, vmodule: []string{"logging_test=0"}, level: V(2), want: false},
		{name: "a warning always passes", v: 0, vmodule: []string{"logging_test=0"}, level: slog.LevelWarn, want: true},
		{name: "the first matching rule wins", v: 0, vmodule: []string{"logging_test=1", "logging_*=5"}, level: V(3), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(NewHandler(&buf, "text", tc.v, tc.vmodule...))
			log.Log(context.Background(), tc.level, "hello")
			if got := buf.Len() > 0; got != tc.want {
				t.Errorf("written: %v, want %v (%q)", got, tc.want, buf.String())
			}
		})
	}
}

// TestSetVerbosity checks that a changed -v reaches loggers derived before the change, and that
// --vmodule rules keep their own levels.
func TestSetVerbosity(t *testing.T) {
	tests := []struct {
		name    string
		from    int
		to      int
		vmodule []string
		level   slog.Level
		want    bool
	}{
		{name: "raised: a deeper record is written", from: 0, to: 4, level: V(4), want: true},
		{name: "raised: deeper still is not", from: 0, to: 4, level: V(5), want: false},
		{name: "lowered: a record once written is not", from: 4, to: 1, level: V(2), want: false},
		{name: "lowered to 0: info still written", from: 4, to: 0, level: V(0), want: true},
		{name: "negative is 0", from: 2, to: -3, level: V(1), want: false},
		{name: "a --vmodule rule keeps its level", from: 0, to: 5, vmodule: []string{"logging_test=1"}, level: V(3), want: false},
		{name: "a --vmodule rule still raises", from: 4, to: 0, vmodule: []string{"logging_test=3"}, level: V(3), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := NewHandler(&buf, "text", tc.from, tc.vmodule...)
			derived := slog.New(h).With("k", "v").WithGroup("g")
			h.SetVerbosity(tc.to)
			if got, want := h.Verbosity(), max(tc.to, 0); got != want {
				t.Errorf("Verbosity() = %d, want %d", got, want)
			}
			derived.Log(context.Background(), tc.level, "hello")
			if got := buf.Len() > 0; got != tc.want {
				t.Errorf("written: %v, want %v (%q)", got, tc.want, buf.String())
			}
		})
	}
}
