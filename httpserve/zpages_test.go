package httpserve

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/berth-scheduler/berth/metrics"
)

const (
	acceptFlagz   = "application/json;as=Flagz;v=v1beta1;g=config.k8s.io"
	acceptStatusz = "application/json;as=Statusz;v=v1beta1;g=config.k8s.io"
)

// zpageServer serves every z-page to anyone, with a fixed clock 90 minutes and 5 seconds after
// the start.
func zpageServer(t *testing.T) (*Server, time.Time) {
	t.Helper()
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := mustNew(t, Config{
		AlwaysAllowPaths: []string{"/*"},
		Metrics:          metricsFunc(func(io.Writer) error { return nil }),
		Configz:          func() any { return nil },
		Profiling:        true,
		Flags: func() map[string]string {
			return map[string]string{"v": "2", "bind-address": "0.0.0.0", "kube-api-qps": "50"}
		},
		Status:       StatusInfo{StartTime: start, BinaryVersion: "1.37.0+berth.v1", EmulationVersion: "1.37", GoVersion: "go1.26.0"},
		SLIMetrics:   metrics.NewRegistry(),
		SetVerbosity: func(int) error { return nil },
		clock:        func() time.Time { return start.Add(90*time.Minute + 5*time.Second) },
	})
	// Mounted later, as main mounts them: /metrics/resources is listed in /statusz (under
	// /metrics), berth's own debugging endpoints are not.
	for _, p := range []string{"/metrics/resources", "/debug/explain/", "/debug/pending"} {
		if err := s.Handle(p, http.NotFoundHandler()); err != nil {
			t.Fatal(err)
		}
	}
	return s, start
}

// textPage checks the z-page header and returns the lines after it, and the separator used.
func textPage(t *testing.T, body, page string) []string {
	t.Helper()
	want := "\nkube-scheduler " + page + "\n" + zpageWarning + "\n"
	rest, ok := strings.CutPrefix(body, want)
	if !ok {
		t.Fatalf("body does not start with the %s header:\n%q", page, body)
	}
	return strings.Split(strings.TrimSuffix(rest, "\n"), "\n")
}

func TestFlagzText(t *testing.T) {
	s, _ := zpageServer(t)
	for _, accept := range []string{"", "text/plain", "*/*", "text/*", "application/json, text/plain;q=0.9"} {
		t.Run("accept "+accept, func(t *testing.T) {
			rec := do(t, s, http.MethodGet, "/flagz", http.Header{"Accept": {accept}})
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("code %d, content type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			lines := textPage(t, rec.Body.String(), "flagz")
			line := regexp.MustCompile(`^([a-z-]+)(:|: |=| )(.*)$`)
			var names []string
			seps := map[string]bool{}
			for _, l := range lines {
				m := line.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("line %q is not name<sep>value", l)
				}
				names = append(names, m[1])
				seps[m[2]] = true
			}
			if want := []string{"bind-address", "kube-api-qps", "v"}; !slices.Equal(names, want) {
				t.Errorf("flags %v, want %v (sorted)", names, want)
			}
			if len(seps) != 1 {
				t.Errorf("separators %v, want one per page", seps)
			}
		})
	}
}

func TestZPagesStructured(t *testing.T) {
	s, start := zpageServer(t)
	tests := []struct {
		name        string
		path        string
		accept      string
		wantType    string
		wantWarning bool
		want        map[string]any // top-level fields compared as JSON values
	}{
		{
			name: "flagz v1beta1", path: "/flagz", accept: acceptFlagz,
			wantType: "application/json;g=config.k8s.io;v=v1beta1;as=Flagz",
			want: map[string]any{"kind": "Flagz", "apiVersion": "config.k8s.io/v1beta1",
				"flags": map[string]any{"v": "2", "bind-address": "0.0.0.0", "kube-api-qps": "50"}},
		},
		{
			name: "flagz v1alpha1 is deprecated", path: "/flagz", accept: "application/json;as=Flagz;v=v1alpha1;g=config.k8s.io",
			wantType: "application/json;g=config.k8s.io;v=v1alpha1;as=Flagz", wantWarning: true,
			want: map[string]any{"kind": "Flagz", "apiVersion": "config.k8s.io/v1alpha1"},
		},
		{
			name: "statusz v1beta1", path: "/statusz", accept: acceptStatusz,
			wantType: "application/json;g=config.k8s.io;v=v1beta1;as=Statusz",
			want: map[string]any{"kind": "Statusz", "apiVersion": "config.k8s.io/v1beta1",
				"startTime": start.Format(time.RFC3339), "uptimeSeconds": float64(90*60 + 5),
				"goVersion": "go1.26.0", "binaryVersion": "1.37.0+berth.v1", "emulationVersion": "1.37",
				"paths": []any{"/configz", "/flagz", "/healthz", "/livez", "/metrics", "/readyz"}},
		},
		{
			name: "a wildcard with the kind", path: "/statusz", accept: "text/plain;q=0.5, */*;as=Statusz;v=v1beta1;g=config.k8s.io",
			wantType: "application/json;g=config.k8s.io;v=v1beta1;as=Statusz",
			want:     map[string]any{"kind": "Statusz"},
		},
		{
			name: "yaml", path: "/statusz", accept: "application/yaml;as=Statusz;v=v1beta1;g=config.k8s.io",
			wantType: "application/yaml;g=config.k8s.io;v=v1beta1;as=Statusz",
			want:     map[string]any{"kind": "Statusz", "binaryVersion": "1.37.0+berth.v1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s, http.MethodGet, tc.path, http.Header{"Accept": {tc.accept}})
			if rec.Code != http.StatusOK {
				t.Fatalf("code %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.wantType {
				t.Errorf("content type %q, want %q", got, tc.wantType)
			}
			if got := rec.Header().Get("Warning") != ""; got != tc.wantWarning {
				t.Errorf("Warning header %q, want one: %v", rec.Header().Get("Warning"), tc.wantWarning)
			}
			var got map[string]any
			if err := yaml.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if md, _ := got["metadata"].(map[string]any); md["name"] != "kube-scheduler" {
				t.Errorf("metadata %v, want name kube-scheduler", got["metadata"])
			}
			for k, v := range tc.want {
				gj, _ := json.Marshal(got[k])
				wj, _ := json.Marshal(v)
				if string(gj) != string(wj) {
					t.Errorf("%s = %s, want %s", k, gj, wj)
				}
			}
		})
	}
}

func TestZPagesNotAcceptable(t *testing.T) {
	s, _ := zpageServer(t)
	for _, accept := range []string{
		"application/json", // structured without naming the kind
		"application/json;as=Statusz;v=v1beta1;g=config.k8s.io", // the other page's kind
		"application/json;as=Flagz;v=v2;g=config.k8s.io",        // an unknown version
		"text/plain;as=Flagz;v=v1beta1;g=config.k8s.io",         // text cannot be converted
		"application/xml",
		"application/json;as=Flagz;v=v1beta1;g=config.k8s.io;stream=watch",
	} {
		t.Run(accept, func(t *testing.T) {
			rec := do(t, s, http.MethodGet, "/flagz", http.Header{"Accept": {accept}})
			if rec.Code != http.StatusNotAcceptable {
				t.Fatalf("code %d, want 406: %s", rec.Code, rec.Body)
			}
			var st struct{ Kind, Reason, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			want := "only the following media types are accepted: application/json, application/yaml, text/plain"
			if st.Kind != "Status" || st.Reason != "NotAcceptable" || st.Message != want {
				t.Errorf("status %+v", st)
			}
		})
	}
}

func TestStatuszText(t *testing.T) {
	s, start := zpageServer(t)
	rec := do(t, s, http.MethodGet, "/statusz", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	lines := textPage(t, rec.Body.String(), "statusz")
	sep := `(?::|: |=| )`
	want := []string{
		``,
		`Started` + sep + ` ` + regexp.QuoteMeta(start.Local().Format(time.UnixDate)),
		`Up` + sep + ` 1 hr 30 min 05 sec`,
		`Go version` + sep + ` go1\.26\.0`,
		`Binary version` + sep + ` 1\.37\.0\+berth\.v1`,
		`Emulation version` + sep + ` 1\.37`,
		`Paths` + sep + ` /configz /flagz /healthz /livez /metrics /readyz`,
	}
	if len(lines) != len(want) {
		t.Fatalf("lines %q, want %d", lines, len(want))
	}
	for i, w := range want {
		if !regexp.MustCompile("^" + w + "$").MatchString(lines[i]) {
			t.Errorf("line %d %q, want %s", i, lines[i], w)
		}
	}
}

func TestParseAcceptOrder(t *testing.T) {
	got := parseAccept("*/*;q=0.8, text/*, application/json;as=X;q=0.8, bad, text/plain, a/b/c, *")
	var order []string
	for _, c := range got {
		order = append(order, c.typ+"/"+c.subtype)
	}
	want := []string{"text/plain", "application/json", "text/*", "*/*", "*/*"}
	if !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	// The API server's comparison puts a concrete type ahead of a wildcard whatever their q.
	got = parseAccept("*/*, application/json;q=0.5")
	if got[0].typ != "application" {
		t.Errorf("first clause %+v, want application/json", got[0])
	}
}

func TestSLIMetrics(t *testing.T) {
	s, _ := zpageServer(t)
	healthy := true
	check := func(*http.Request) error {
		if healthy {
			return nil
		}
		return errors.New("down")
	}
	if err := s.AddHealthCheck("flaky", check, Readyz); err != nil {
		t.Fatal(err)
	}
	do(t, s, http.MethodGet, "/readyz", nil)
	healthy = false
	do(t, s, http.MethodGet, "/readyz", nil)
	do(t, s, http.MethodGet, "/readyz/flaky", nil)         // the sub-path is not counted
	do(t, s, http.MethodGet, "/readyz?exclude=flaky", nil) // nor an excluded check
	do(t, s, http.MethodGet, "/livez", nil)
	rec := do(t, s, http.MethodGet, "/metrics/slis", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != metrics.ContentType {
		t.Fatalf("code %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		"# HELP kubernetes_healthcheck [STABLE] This metric records the result of a single healthcheck.\n# TYPE kubernetes_healthcheck gauge\n",
		`kubernetes_healthcheck{name="flaky",type="readyz"} 0` + "\n",
		`kubernetes_healthcheck{name="ping",type="livez"} 1` + "\n",
		"# TYPE kubernetes_healthchecks_total counter\n",
		`kubernetes_healthchecks_total{name="flaky",status="error",type="readyz"} 1` + "\n",
		`kubernetes_healthchecks_total{name="flaky",status="success",type="readyz"} 1` + "\n",
		`kubernetes_healthchecks_total{name="ping",status="success",type="livez"} 1` + "\n",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics/slis lacks %q:\n%s", want, body)
		}
	}
	if rec := do(t, s, http.MethodDelete, "/metrics/slis", nil); rec.Code != http.StatusOK || rec.Body.String() != "metrics reset\n" {
		t.Fatalf("DELETE: %d %q", rec.Code, rec.Body)
	}
	if body := do(t, s, http.MethodGet, "/metrics/slis", nil).Body.String(); strings.Contains(body, "kubernetes_health") {
		t.Errorf("series left after DELETE:\n%s", body)
	}
}

func TestVerbosityFlag(t *testing.T) {
	var set []int
	setter := func(v int) error {
		if v == 13 {
			return errors.New("unlucky")
		}
		set = append(set, v)
		return nil
	}
	tests := []struct {
		name      string
		method    string
		body      string
		wantCode  int
		wantBody  string
		wantLevel int // -1: the setter is not called
	}{
		{"a level", http.MethodPut, "3", http.StatusOK, "successfully set klog.logging.verbosity to 3\n", 3},
		{"not a number", http.MethodPut, "three", http.StatusBadRequest, "strconv.ParseUint: parsing \"three\": invalid syntax\n", -1},
		{"a newline is not a number", http.MethodPut, "3\n", http.StatusBadRequest, "strconv.ParseUint: parsing \"3\\n\": invalid syntax\n", -1},
		{"beyond klog's int32", http.MethodPut, "4294967295", http.StatusBadRequest,
			"failed set klog.logging.verbosity 4294967295: strconv.ParseInt: parsing \"4294967295\": value out of range\n", -1},
		{"the setter refuses", http.MethodPut, "13", http.StatusBadRequest, "unlucky\n", -1},
		{"GET", http.MethodGet, "", http.StatusNotAcceptable, "unsupported http method\n", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set = nil
			s := mustNew(t, Config{AlwaysAllowPaths: []string{"/*"}, Profiling: true, SetVerbosity: setter})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, "/debug/flags/v", strings.NewReader(tc.body)))
			if rec.Code != tc.wantCode || rec.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
			if tc.wantLevel >= 0 && !slices.Equal(set, []int{tc.wantLevel}) || tc.wantLevel < 0 && len(set) > 0 {
				t.Errorf("setter called with %v, want %d", set, tc.wantLevel)
			}
		})
	}
	t.Run("index", func(t *testing.T) {
		s := mustNew(t, Config{AlwaysAllowPaths: []string{"/*"}, Profiling: true, SetVerbosity: setter})
		for _, p := range []string{"/debug/flags", "/debug/flags/", "/debug/flags/other"} {
			if rec := do(t, s, http.MethodGet, p, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<tr>v<br>") {
				t.Errorf("GET %s: %d %q", p, rec.Code, rec.Body)
			}
		}
	})
	t.Run("without profiling", func(t *testing.T) {
		s := mustNew(t, Config{AlwaysAllowPaths: []string{"/*"}, SetVerbosity: setter})
		if rec := do(t, s, http.MethodPut, "/debug/flags/v", nil); rec.Code != http.StatusNotFound {
			t.Errorf("code %d, want 404", rec.Code)
		}
	})
}
