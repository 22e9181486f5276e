// Package logging writes berth's log/slog records the way kube-scheduler's klog does, so that log
// pipelines built for kube-scheduler keep working: klog's text format by default
// (`I1203 09:52:18.123456   12345 file.go:123] "msg" key="value"`), and with
// --logging-format=json the keys of Kubernetes' JSON logs (ts in milliseconds, caller, msg, v).
//
// Verbosity maps onto slog levels: klog's V(n) is slog.Level(-n) (see V), so Info is V(0) and
// slog's Debug is V(4); a handler built for -v=N writes the records of V(N) and below. Warnings and
// errors are always written, marked W and E in text (JSON error records carry no "v", as klog's).
// Handler.SetVerbosity changes -v while running (kube-scheduler's PUT /debug/flags/v), for every
// logger derived from the handler.
//
// Code keeps using slog; a pod or another object is logged as KRef(namespace, name), which prints
// as "namespace/name" in text and as {"name":...,"namespace":...} in JSON, as klog.KObj does.
package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// V is the slog level of klog's verbosity n: V(0) is slog.LevelInfo, V(4) slog.LevelDebug.
func V(n int) slog.Level { return slog.Level(-n) }

// ObjectRef names a namespaced object in logs, as klog.KRef does.
type ObjectRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// KRef returns the reference of the object called name in namespace ("" for cluster-scoped).
func KRef(namespace, name string) ObjectRef { return ObjectRef{Name: name, Namespace: namespace} }

// String is "namespace/name", or the name alone without a namespace.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// NewHandler returns a handler writing to w in format "text" (klog's; the default) or "json",
// enabled for the records of klog verbosity `verbosity` and below. vmodule, klog's --vmodule
// (pattern=N items, see VModule), raises or lowers the verbosity of the source files matching a
// pattern; items that do not parse are ignored (the flags package checked them).
func NewHandler(w io.Writer, format string, verbosity int, vmodule ...string) *Handler {
	h := &Handler{out: &output{w: w}, json: format == "json", levels: &levels{}, pid: os.Getpid()}
	h.levels.vmoduleMin = slog.LevelInfo
	for _, item := range vmodule {
		pat, lvl, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(lvl)
		if !ok || err != nil || pat == "" {
			continue
		}
		h.vmodule = append(h.vmodule, vmoduleRule{pattern: strings.TrimSuffix(pat, ".go"), level: V(n)})
		h.levels.vmoduleMin = min(h.levels.vmoduleMin, V(n))
	}
	h.SetVerbosity(verbosity)
	return h
}

// levels are the thresholds shared by a handler and every handler derived from it (WithAttrs,
// WithGroup), so that SetVerbosity reaches all loggers at once.
type levels struct {
	min        atomic.Int64 // slog.Level of -v
	enabledMin atomic.Int64 // the lowest level any file may write: min(-v, vmoduleMin)
	vmoduleMin slog.Level   // the lowest --vmodule level; fixed at NewHandler
}

// SetVerbosity changes -v while logging, for this handler and all derived from it: records of
// klog verbosity n and below are written from now on (kube-scheduler's PUT /debug/flags/v).
// --vmodule rules keep their levels. Negative n is taken as 0. Safe for concurrent use.
func (h *Handler) SetVerbosity(n int) {
	l := V(max(n, 0))
	h.levels.min.Store(int64(l))
	h.levels.enabledMin.Store(int64(min(l, h.levels.vmoduleMin)))
}

// Verbosity returns the current -v.
func (h *Handler) Verbosity() int { return -int(h.levels.min.Load()) }

// vmoduleRule is one --vmodule item: the files matching pattern log at level (a klog V level)
// and below, whatever -v says.
type vmoduleRule struct {
	pattern string // a glob, matched against the file name without ".go", or the whole path if it holds a "/"
	level   slog.Level
}

// levelFor returns the lowest level written for a record from pc: the first matching --vmodule
// rule's, else -v's.
func (h *Handler) levelFor(pc uintptr) slog.Level {
	current := slog.Level(h.levels.min.Load())
	if pc == 0 || len(h.vmodule) == 0 {
		return current
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	path := strings.TrimSuffix(f.File, ".go")
	base := filepath.Base(path)
	for _, r := range h.vmodule {
		target := base
		if strings.Contains(r.pattern, "/") {
			target = path
		}
		if ok, _ := filepath.Match(r.pattern, target); ok {
			return r.level
		}
	}
	return current
}

// output serialises writes of all handlers derived from one NewHandler.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

// Handler is the slog.Handler NewHandler returns. It is safe for concurrent use.
type Handler struct {
	out  *output
	json bool
	// levels hold -v; Enabled answers for the lowest level any file may write, and Handle then
	// checks the record's file against vmodule, the --vmodule rules.
	levels  *levels
	vmodule []vmoduleRule
	pid     int
	attrs   []slog.Attr // from WithAttrs, keys already prefixed by their groups
	group   string      // prefix for later attributes: "g1.g2."
}

// Enabled reports whether records at level l may be written.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return int64(l) >= h.levels.enabledMin.Load()
}

// WithAttrs returns a handler that adds as to every record; it shares h's verbosity.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.group, as)...)
	return &c
}

// WithGroup returns a handler that puts later attributes under name; it shares h's verbosity.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// prefixed returns as with group (and nested groups) folded into the keys, dropping empty ones.
func prefixed(group string, as []slog.Attr) []slog.Attr {
	var out []slog.Attr
	for _, a := range as {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			continue
		}
		if a.Value.Kind() == slog.KindGroup {
			g := group
			if a.Key != "" {
				g += a.Key + "."
			}
			out = append(out, prefixed(g, a.Value.Group())...)
			continue
		}
		a.Key = group + a.Key
		out = append(out, a)
	}
	return out
}

// plainKey marks a record whose message klog would have written with a printf-style call
// (Infof): in text it is written as is, not quoted. See Plain.
const plainKey = "\x00plain"

// Plain is the attribute that makes the text format write a record's message unquoted, as
// klog's printf-style calls do (kube-scheduler's "FLAG: --v=\"2\"" lines). It adds no key.
func Plain() slog.Attr { return slog.Bool(plainKey, true) }

// nameKey carries the name of the logger a record comes from. See Named.
const nameKey = "\x00logger"

// Named is the attribute that names the logger a record comes from, as klog.LoggerWithName does
// (kube-scheduler's utilruntime.HandleError lines come from "UnhandledError"). JSON writes it as
// "logger", after "ts", as zap does; klog's text leaves it out. Give it to the record, not to
// With.
func Named(name string) slog.Attr { return slog.String(nameKey, name) }

// Handle writes r, unless --vmodule or a lowered -v leaves out records of its level from its file.
//
// The keys come in the order kube-scheduler's loggers write them. In text, as klog: an error
// record's "err" first, then the logger's attributes (WithAttrs), then the record's; a key given
// again with the same value keeps its first place, with another value it moves to its last. In
// JSON, as Kubernetes' zap logger: the logger's attributes, "v", the record's, and an error
// record's "err" last; a key given twice is written twice.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn && r.Level < h.levelFor(r.PC) {
		return nil
	}
	var own []slog.Attr
	plain, name := false, ""
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case plainKey:
			plain = true
		case nameKey:
			name = a.Value.String()
		default:
			own = append(own, a)
		}
		return true
	})
	own = prefixed(h.group, own)
	var errAttr []slog.Attr // an error record's "err", which both formats move
	if r.Level >= slog.LevelError {
		if i := slices.IndexFunc(own, func(a slog.Attr) bool { return a.Key == "err" }); i >= 0 {
			errAttr = []slog.Attr{own[i]}
			own = slices.Delete(own, i, i+1)
		}
	}
	file, line := caller(r.PC)
	var b []byte
	if h.json {
		b = h.appendJSON(nil, r, name, own, errAttr, file, line)
	} else {
		b = h.appendText(nil, r, slices.Concat(errAttr, h.attrs, own), file, line, plain)
	}
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(b)
	return err
}

// caller returns the file (its directory and base name) and line of pc; "???" when unknown.
func caller(pc uintptr) (string, int) {
	if pc == 0 {
		return "???", 0
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	if f.File == "" {
		return "???", 0
	}
	return filepath.Base(filepath.Dir(f.File)) + "/" + filepath.Base(f.File), f.Line
}

func severity(l slog.Level) byte {
	switch {
	case l >= slog.LevelError:
		return 'E'
	case l >= slog.LevelWarn:
		return 'W'
	}
	return 'I'
}

// appendText writes klog's header and its structured key/value form.
func (h *Handler) appendText(b []byte, r slog.Record, attrs []slog.Attr, file string, line int, plain bool) []byte {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	_, mon, day := t.Date()
	hh, mm, ss := t.Clock()
	b = fmt.Appendf(b, "%c%02d%02d %02d:%02d:%02d.%06d %7d %s:%d] ", severity(r.Level), int(mon), day, hh, mm, ss,
		t.Nanosecond()/1000, h.pid, filepath.Base(file), line)
	if plain {
		b = append(b, r.Message...)
	} else {
		b = strconv.AppendQuote(b, r.Message)
	}
	return append(appendTextAttrs(b, attrs), '\n')
}

// appendTextAttrs writes attrs as klog does, " key=value" each, dropping duplicate keys as klog's
// serializer does: a pair written again with the same value is dropped, one with another value
// replaces the earlier pair, at its own place.
func appendTextAttrs(b []byte, attrs []slog.Attr) []byte {
	type span struct {
		key        string
		start, end int // the pair's bytes in b
	}
	var spans [16]span // on the stack for the usual few keys
	written := spans[:0]
	for _, a := range attrs {
		start := len(b)
		b = append(b, ' ')
		b = append(b, a.Key...)
		b = append(b, '=')
		b = appendTextValue(b, a.Value)
		i := slices.IndexFunc(written, func(s span) bool { return s.key == a.Key })
		if i < 0 {
			written = append(written, span{a.Key, start, len(b)})
			continue
		}
		old := written[i]
		if bytes.Equal(b[old.start:old.end], b[start:]) {
			b = b[:start]
			continue
		}
		n := old.end - old.start
		b = append(b[:old.start], b[old.end:]...)
		written = slices.Delete(written, i, i+1)
		for j := i; j < len(written); j++ {
			written[j].start -= n
			written[j].end -= n
		}
		written = append(written, span{a.Key, start - n, len(b)})
	}
	return b
}

// appendTextValue writes strings, errors and Stringers quoted, other values as %+v, as klog does.
func appendTextValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return strconv.AppendQuote(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindFloat64:
		return strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindDuration, slog.KindTime:
		return strconv.AppendQuote(b, v.String())
	}
	switch x := v.Any().(type) {
	case error:
		return strconv.AppendQuote(b, x.Error())
	case fmt.Stringer:
		return strconv.AppendQuote(b, x.String())
	case []string:
		quoted := make([]string, len(x))
		for i, s := range x {
			quoted[i] = strconv.Quote(s)
		}
		return append(append(append(b, '['), strings.Join(quoted, " ")...), ']')
	default:
		return fmt.Appendf(b, "%+v", x)
	}
}

// appendJSON writes one JSON object with the keys of Kubernetes' JSON logs first: ts (epoch
// milliseconds, written as zap writes a float), logger (name, if any), caller and msg; then the
// logger's attributes, "v" (not for errors), own, and errAttr.
func (h *Handler) appendJSON(b []byte, r slog.Record, name string, own, errAttr []slog.Attr, file string, line int) []byte {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b = append(b, `{"ts":`...)
	b = strconv.AppendFloat(b, float64(t.UnixNano())/float64(time.Millisecond), 'f', -1, 64)
	if name != "" {
		b = append(b, `,"logger":`...)
		b = appendJSONValue(b, name)
	}
	b = append(b, `,"caller":`...)
	b = appendJSONValue(b, file+":"+strconv.Itoa(line))
	b = append(b, `,"msg":`...)
	b = appendJSONValue(b, r.Message)
	b = appendJSONAttrs(b, h.attrs)
	if r.Level < slog.LevelError {
		b = append(b, `,"v":`...)
		b = strconv.AppendInt(b, int64(max(0, -int(r.Level))), 10)
	}
	b = appendJSONAttrs(b, own)
	b = appendJSONAttrs(b, errAttr)
	return append(b, "}\n"...)
}

// appendJSONAttrs writes ,"key":value for each of attrs, values as zap renders them: durations
// and times as strings, errors as their message, an ObjectRef as an object, other Stringers as
// their string, everything else as encoding/json does.
func appendJSONAttrs(b []byte, attrs []slog.Attr) []byte {
	for _, a := range attrs {
		b = append(b, ',')
		b = appendJSONValue(b, a.Key)
		b = append(b, ':')
		switch v := a.Value; v.Kind() {
		case slog.KindDuration, slog.KindTime:
			b = appendJSONValue(b, v.String())
		default:
			x := v.Any()
			switch y := x.(type) {
			case ObjectRef: // klog.KObj's shape, {"name","namespace"}
			case error:
				x = y.Error()
			case fmt.Stringer:
				x = y.String()
			}
			b = appendJSONValue(b, x)
		}
	}
	return b
}

func appendJSONValue(b []byte, x any) []byte {
	j, err := json.Marshal(x)
	if err != nil {
		j, _ = json.Marshal(fmt.Sprintf("%+v", x))
	}
	return append(b, j...)
}
