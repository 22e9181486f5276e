package kubeclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/metrics"
)

// listWatchServer serves the core/v1 collections in objects to lists, to watches that ask for
// initial events (client-go's streaming list), and to plain watches, which stay open and quiet.
// Collections listed in failing answer 500. It records the field selector of every request.
type listWatchServer struct {
	objects map[string][]runtime.Object // by resource, e.g. "pods"
	failing map[string]bool

	mu        sync.Mutex
	selectors map[string][]string
}

func (s *listWatchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resource := strings.TrimPrefix(r.URL.Path, "/api/v1/")
	q := r.URL.Query()
	s.mu.Lock()
	s.selectors[resource] = append(s.selectors[resource], q.Get("fieldSelector"))
	s.mu.Unlock()
	if s.failing[resource] {
		http.Error(w, "unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	switch {
	case q.Get("watch") != "true":
		items := make([]json.RawMessage, 0, len(s.objects[resource]))
		for _, o := range s.objects[resource] {
			b, _ := json.Marshal(o)
			items = append(items, b)
		}
		_ = enc.Encode(map[string]any{"kind": "List", "apiVersion": "v1", "metadata": map[string]string{"resourceVersion": "10"}, "items": items})
		return
	case q.Get("sendInitialEvents") == "true":
		for _, o := range s.objects[resource] {
			_ = enc.Encode(map[string]any{"type": "ADDED", "object": o})
		}
		_ = enc.Encode(map[string]any{"type": "BOOKMARK", "object": map[string]any{"kind": kindOf[resource], "apiVersion": "v1",
			"metadata": map[string]any{"resourceVersion": "10", "annotations": map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}})
	}
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

var kindOf = map[string]string{"pods": "Pod", "nodes": "Node", "namespaces": "Namespace", "services": "Service"}

func (s *listWatchServer) selectorsOf(resource string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.selectors[resource])
}

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "3"}}
}

func startServer(t *testing.T, s *listWatchServer, opts ...kubeclient.InformerOption) *kubeclient.Informers {
	t.Helper()
	s.selectors = map[string][]string{}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := kubeclient.New(&rest.Config{Host: ts.URL, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return kubeclient.NewInformers(c, opts...)
}

// shutdown ends the informers' context and waits for them, failing the test if they hang.
func shutdown(t *testing.T, inf *kubeclient.Informers, cancel context.CancelFunc) {
	t.Helper()
	cancel()
	done := make(chan struct{})
	go func() { inf.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the context ended")
	}
}

func TestInformersSyncNonTerminalPods(t *testing.T) {
	srv := &listWatchServer{objects: map[string][]runtime.Object{"pods": {pod("a", "p1"), pod("b", "p2")}}}
	inf := startServer(t, srv)
	pods := inf.Pods()
	if inf.Pods() != pods {
		t.Fatal("Pods returned a second informer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer shutdown(t, inf, cancel)
	inf.Start(ctx)
	if err := inf.WaitForCacheSync(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range pods.GetStore().List() {
		p := o.(*corev1.Pod)
		keys = append(keys, p.Namespace+"/"+p.Name)
	}
	slices.Sort(keys)
	if want := []string{"a/p1", "b/p2"}; !slices.Equal(keys, want) {
		t.Errorf("pods in the cache = %v, want %v", keys, want)
	}
	if _, indexed := pods.GetIndexer().GetIndexers()[cache.NamespaceIndex]; indexed {
		t.Error("the pod store has a namespace index (nothing reads it)")
	}
	if _, indexed := inf.Services().GetIndexer().GetIndexers()[cache.NamespaceIndex]; !indexed {
		t.Error("the service store has no namespace index (its lister needs one)")
	}
	sels := srv.selectorsOf("pods")
	if len(sels) == 0 {
		t.Fatal("no pod requests")
	}
	for _, s := range sels {
		if s != kubeclient.NonTerminalPods {
			t.Errorf("pod request field selector %q, want %q", s, kubeclient.NonTerminalPods)
		}
	}
}

func TestInformersTrimObjects(t *testing.T) {
	p := pod("a", "p1")
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	p.Annotations = map[string]string{"big": "value"}
	srv := &listWatchServer{objects: map[string][]runtime.Object{"pods": {p}, "namespaces": {
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "3", Annotations: map[string]string{"big": "value"}}},
	}}}
	var mu sync.Mutex
	var seen []string
	inf := startServer(t, srv, kubeclient.WithTrim(func(obj any) {
		mu.Lock()
		defer mu.Unlock()
		if m, ok := obj.(metav1.Object); ok {
			if len(m.GetManagedFields()) > 0 {
				t.Errorf("%s reached trim with managedFields", m.GetName())
			}
			seen = append(seen, m.GetName())
			m.SetAnnotations(nil)
		}
	}))
	pods, namespaces := inf.Pods(), inf.Namespaces()
	ctx, cancel := context.WithCancel(context.Background())
	defer shutdown(t, inf, cancel)
	inf.Start(ctx)
	if err := inf.WaitForCacheSync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, store := range []interface{ List() []any }{pods.GetStore(), namespaces.GetStore()} {
		for _, o := range store.List() {
			if m := o.(metav1.Object); m.GetAnnotations() != nil {
				t.Errorf("%s in the cache untrimmed: annotations %v", m.GetName(), m.GetAnnotations())
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// client-go may transform an object more than once (trim must be idempotent).
	if slices.Sort(seen); !slices.Equal(slices.Compact(seen), []string{"a", "p1"}) {
		t.Errorf("trim saw %v, want the namespace a and the pod p1", seen)
	}
}

func TestInformersWaitForCacheSync(t *testing.T) {
	tests := []struct {
		name    string
		create  func(*kubeclient.Informers) // before Start
		late    func(*kubeclient.Informers) // after Start, not started
		wantErr string                      // "" for nil
	}{
		{
			name:   "every started informer synced",
			create: func(f *kubeclient.Informers) { f.Nodes(); f.Namespaces() },
		},
		{
			name:    "a failing list names its resource",
			create:  func(f *kubeclient.Informers) { f.Nodes(); f.Services() },
			wantErr: "informer caches for services did not sync",
		},
		{
			name:   "informers created after Start are not waited for",
			create: func(f *kubeclient.Informers) { f.Nodes() },
			late:   func(f *kubeclient.Informers) { f.Services() },
		},
		{
			name: "nothing started",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &listWatchServer{failing: map[string]bool{"services": true}}
			inf := startServer(t, srv)
			if tc.create != nil {
				tc.create(inf)
			}
			runCtx, cancel := context.WithCancel(context.Background())
			defer shutdown(t, inf, cancel)
			inf.Start(runCtx)
			if tc.late != nil {
				tc.late(inf)
			}
			ctx, stop := context.WithTimeout(runCtx, 200*time.Millisecond)
			defer stop()
			err := inf.WaitForCacheSync(ctx)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("WaitForCacheSync = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("WaitForCacheSync = %v, want an error containing %q", err, tc.wantErr)
			case tc.wantErr != "" && !errors.Is(err, context.DeadlineExceeded):
				t.Errorf("WaitForCacheSync = %v, want it to wrap the context's cause", err)
			}
			if tc.late != nil && len(srv.selectorsOf("services")) > 0 {
				t.Error("an informer created after Start made requests")
			}
		})
	}
}

func TestInformersStartAfterShutdown(t *testing.T) {
	srv := &listWatchServer{}
	inf := startServer(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	inf.Nodes()
	inf.Start(ctx)
	if err := inf.WaitForCacheSync(ctx); err != nil {
		t.Fatal(err)
	}
	shutdown(t, inf, cancel)
	inf.Namespaces()
	inf.Start(context.Background())
	waitCtx, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	if err := inf.WaitForCacheSync(waitCtx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.selectorsOf("namespaces")); n > 0 {
		t.Errorf("Start after Shutdown started an informer (%d requests)", n)
	}
}

// TestInformerMetrics: with WithMetrics the informers publish client-go's informer families
// under kube-scheduler's informer name, labelled by resource; a second set in the same process
// cannot reserve the name and counts nothing, without failing.
func TestInformerMetrics(t *testing.T) {
	srv := &listWatchServer{objects: map[string][]runtime.Object{"pods": {pod("a", "p1"), pod("b", "p2")}}}
	reg := metrics.NewRegistry()
	inf := startServer(t, srv, kubeclient.WithMetrics(reg))
	if err := inf.Err(); err != nil {
		t.Fatal(err)
	}
	second := startServer(t, &listWatchServer{}, kubeclient.WithMetrics(metrics.NewRegistry()))
	if err := second.Err(); err != nil {
		t.Fatalf("a second set of informers with metrics: %v", err)
	}
	inf.Pods()
	ctx, cancel := context.WithCancel(context.Background())
	defer shutdown(t, inf, cancel)
	inf.Start(ctx)
	if err := inf.WaitForCacheSync(ctx); err != nil {
		t.Fatal(err)
	}
	labels := `group="",name="kube-scheduler",resource="pods",version="v1"`
	deadline := time.Now().Add(5 * time.Second)
	for {
		var b strings.Builder
		if err := reg.WritePrometheus(&b); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		if strings.Contains(text, "informer_store_resource_version{"+labels+"} 10\n") &&
			strings.Contains(text, "informer_queued_items{"+labels+"}") &&
			strings.Contains(text, "informer_processing_latency_seconds_count{"+labels+"}") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod informer's metrics are missing:\n%s", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
