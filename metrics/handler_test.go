package metrics

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name           string
		acceptEncoding string
		wantGzip       bool
	}{
		{"plain", "", false},
		{"gzip accepted", "deflate, gzip;q=0.8", true},
		{"gzip refused", "gzip;q=0, deflate", false},
		{"other codings only", "br, deflate", false},
	}
	reg := NewRegistry()
	c := must(reg.Counter("hits_total", "Hits.", "code"))(t)
	c.With("200").Add(5)
	want := exposition(t, reg)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tt.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEncoding)
			}
			rec := httptest.NewRecorder()
			reg.Handler(nil).ServeHTTP(rec, req)

			if rec.Code != http.StatusOK {
				t.Errorf("status = %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != ContentType {
				t.Errorf("Content-Type = %q, want %q", got, ContentType)
			}
			body := io.Reader(rec.Body)
			if gotGzip := rec.Header().Get("Content-Encoding") == "gzip"; gotGzip != tt.wantGzip {
				t.Fatalf("gzip = %v, want %v", gotGzip, tt.wantGzip)
			}
			if tt.wantGzip {
				gz, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = gz
			}
			got, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("body = %q, want %q", got, want)
			}
		})
	}
}

func TestHandlerServesPartialOutputOnReadError(t *testing.T) {
	reg := NewRegistry()
	reg.procRoot = t.TempDir() // empty: every process metric fails to read
	if err := reg.register(processFamilies()...); err != nil {
		t.Fatal(err)
	}
	if err := reg.GaugeFunc("up", "", func() float64 { return 1 }); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	h := reg.Handler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))

	if rec.Code != http.StatusOK || rec.Body.String() != "# TYPE up gauge\nup 1\n" {
		t.Errorf("response = %d %q, want 200 with only the readable family", rec.Code, rec.Body.String())
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "process") {
		t.Errorf("onError got %v, want one error about process metrics", errs)
	}
}
