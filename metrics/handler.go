package metrics

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// Handler returns an http.Handler that serves the registry in the text
// format, gzip-compressed when the client accepts it. Errors reading some
// families do not fail the request: the rest is served with status 200 and
// the error is passed to onError, which may be nil and must be safe for
// concurrent use. The handler does not look at the method or path; mount it
// where it belongs (conventionally GET /metrics).
func (r *Registry) Handler(onError func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body bytes.Buffer
		if err := r.WritePrometheus(&body); err != nil && onError != nil {
			onError(err) // bytes.Buffer never fails: this is a read error
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(req.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			_, _ = body.WriteTo(gz) // a failed write means the client went away
			_ = gz.Close()
			return
		}
		h.Set("Content-Length", strconv.Itoa(body.Len()))
		_, _ = body.WriteTo(w)
	})
}

// acceptsGzip reports whether an Accept-Encoding header value lists gzip
// without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
