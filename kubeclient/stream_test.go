package kubeclient

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

func TestStreamConfig(t *testing.T) {
	errOwnDial := errors.New("the caller's dial")
	ownDial := func(ctx context.Context, network, addr string) (net.Conn, error) { return nil, errOwnDial }
	tests := []struct {
		name     string
		cfg      rest.Config
		want     bool
		wantDial bool // the caller's dial kept
	}{
		{name: "TLS host", cfg: rest.Config{Host: "https://10.0.0.1:6443"}, want: true},
		{name: "the caller's dial is kept", cfg: rest.Config{Host: "https://10.0.0.1:6443", Dial: ownDial}, want: true, wantDial: true},
		{name: "plain HTTP", cfg: rest.Config{Host: "http://127.0.0.1:8080"}},
		{name: "host without a scheme but a CA", cfg: rest.Config{Host: "10.0.0.1:6443", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca")}}, want: true},
		{name: "the caller's transport", cfg: rest.Config{Host: "https://10.0.0.1:6443", Transport: http.DefaultTransport}},
		{name: "the caller's protocols", cfg: rest.Config{Host: "https://10.0.0.1:6443", TLSClientConfig: rest.TLSClientConfig{NextProtos: []string{"h2"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.cfg
			got, ok := streamConfig(&tc.cfg)
			if ok != tc.want {
				t.Fatalf("streamConfig ok = %v, want %v", ok, tc.want)
			}
			if len(tc.cfg.TLSClientConfig.NextProtos) != len(orig.TLSClientConfig.NextProtos) || (tc.cfg.Dial == nil) != (orig.Dial == nil) {
				t.Errorf("streamConfig modified the caller's config: %+v", tc.cfg)
			}
			if !ok {
				return
			}
			if p := got.TLSClientConfig.NextProtos; len(p) != 1 || p[0] != "http/1.1" {
				t.Errorf("NextProtos = %q, want only http/1.1", p)
			}
			if got.Dial == nil {
				t.Fatal("no dial: dead connections would go unnoticed for the kernel's default keepalive")
			}
			if _, err := got.Dial(context.Background(), "tcp", "127.0.0.1:0"); tc.wantDial != errors.Is(err, errOwnDial) {
				t.Errorf("dial answered %v; want the caller's dial: %v", err, tc.wantDial)
			}
			if got.Host != orig.Host || got.QPS != orig.QPS {
				t.Errorf("stream config %+v lost the caller's settings %+v", got, orig)
			}
		})
	}
}

// TestListsAndWatchesUseHTTP1 checks, against a TLS server that offers HTTP/2, that lists and
// watches arrive over HTTP/1.1 while every other request (gets, creates, bindings, patches) shares
// HTTP/2, and that all of them succeed.
func TestListsAndWatchesUseHTTP1(t *testing.T) {
	var mu sync.Mutex
	proto := map[string]int{} // "METHOD path[?watch]" -> HTTP major version
	pod := corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", ResourceVersion: "7"}}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		if r.URL.Query().Get("watch") == "true" {
			key += "?watch"
		}
		mu.Lock()
		proto[key] = r.ProtoMajor
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(key, "?watch"):
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "ADDED", "object": pod})
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
			_ = json.NewEncoder(w).Encode(corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}, Items: []corev1.Pod{pod}})
		case strings.HasSuffix(r.URL.Path, "/binding"):
			_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess})
		default:
			_ = json.NewEncoder(w).Encode(pod)
		}
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	c, err := New(&rest.Config{Host: ts.URL, QPS: -1, TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		ContentConfig: rest.ContentConfig{ContentType: "application/json", AcceptContentTypes: "application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	pods := c.Pods(metav1.NamespaceAll)
	if l, err := pods.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 1 {
		t.Fatalf("List = %v, %v", l, err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if ev, ok := <-w.ResultChan(); !ok || ev.Object.(*corev1.Pod).Name != "p" {
		t.Errorf("watch event = %+v, %v", ev, ok)
	}
	w.Stop()
	if _, err := c.Pods("ns").Get(ctx, "p", metav1.GetOptions{}); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if err := c.Pods("ns").Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if _, err := c.Pods("ns").Patch(ctx, "p", types.StrategicMergePatchType, []byte(`{}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("Patch: %v", err)
	}
	want := map[string]int{
		"GET /api/v1/pods":                          1,
		"GET /api/v1/pods?watch":                    1,
		"GET /api/v1/namespaces/ns/pods/p":          2,
		"POST /api/v1/namespaces/ns/pods/p/binding": 2,
		"PATCH /api/v1/namespaces/ns/pods/p/status": 2,
	}
	mu.Lock()
	defer mu.Unlock()
	for k, v := range want {
		if proto[k] != v {
			t.Errorf("%s over HTTP/%d, want HTTP/%d", k, proto[k], v)
		}
	}
}
