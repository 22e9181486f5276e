package kubeclient_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/metrics"
)

// answer is one scripted API server response.
type answer struct {
	code        int
	contentType string
	retryAfter  string
	body        []byte
}

// script answers requests in order, repeating the last answer, and counts them.
type script struct {
	mu      sync.Mutex
	answers []answer
	served  int
}

func (s *script) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	a := s.answers[min(s.served, len(s.answers)-1)]
	s.served++
	s.mu.Unlock()
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.code)
	_, _ = w.Write(a.body)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.served
	s.served = 0
	return n
}

// encodeAs encodes obj in the wire format of mediaType, as the API server does.
func encodeAs(t *testing.T, mediaType string, obj runtime.Object, gv schema.GroupVersion) []byte {
	t.Helper()
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		t.Fatalf("no serializer for %s", mediaType)
	}
	data, err := runtime.Encode(scheme.Codecs.EncoderForVersion(info.Serializer, gv), obj)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCreateAnswersMatchClientGo gives the binding and the event create, the two calls kubeclient
// makes without client-go's request builder, the answers an API server can give, and wants the
// same outcome as client-go's: the same error value (or none), the same decoded object, and no
// more requests than client-go makes plus the one it hands over after a retry request.
func TestCreateAnswersMatchClientGo(t *testing.T) {
	const pb, js = "application/vnd.kubernetes.protobuf", "application/json"
	status := func(err error) *metav1.Status {
		s := err.(*apierrors.StatusError).ErrStatus
		s.Kind, s.APIVersion = "Status", "v1"
		return &s
	}
	conflict := status(apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, "p", nil))
	gone := status(apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "p"))
	exists := status(apierrors.NewAlreadyExists(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "p.1"))
	created := event.DeepCopy()
	created.ResourceVersion, created.UID = "42", "e-1"
	v1 := schema.GroupVersion{Version: "v1"}

	cases := []struct {
		name    string
		answers func(contentType string) []answer
		// handed: kubeclient hands the call to client-go after the first retry request, so it
		// makes one request more when every answer asks for a retry (and proves it went direct).
		handed bool
	}{
		{name: "created", answers: func(ct string) []answer {
			return []answer{{code: 201, contentType: ct, body: encodeAs(t, ct, created, eventsv1.SchemeGroupVersion)}}
		}},
		{name: "conflict as a Status", answers: func(ct string) []answer {
			return []answer{{code: 409, contentType: ct, body: encodeAs(t, ct, conflict, v1)}}
		}},
		{name: "not found as a Status", answers: func(ct string) []answer {
			return []answer{{code: 404, contentType: ct, body: encodeAs(t, ct, gone, v1)}}
		}},
		{name: "already exists as a Status", answers: func(ct string) []answer {
			return []answer{{code: 409, contentType: ct, body: encodeAs(t, ct, exists, v1)}}
		}},
		{name: "server error as text", answers: func(string) []answer {
			return []answer{{code: 500, contentType: "text/plain", body: []byte("etcdserver: request timed out\n")}}
		}},
		{name: "forbidden without a body", answers: func(string) []answer { return []answer{{code: 403}} }},
		{name: "not a Status", answers: func(string) []answer {
			return []answer{{code: 422, contentType: js, body: []byte(`{"kind":"Pod","apiVersion":"v1"}`)}}
		}},
		{name: "throttled, then created", answers: func(ct string) []answer {
			return []answer{{code: 429, retryAfter: "0", contentType: "text/plain", body: []byte("too many requests")},
				{code: 201, contentType: ct, body: encodeAs(t, ct, created, eventsv1.SchemeGroupVersion)}}
		}},
		{name: "unavailable, retried until client-go gives up", handed: true, answers: func(string) []answer {
			return []answer{{code: 503, retryAfter: "0", contentType: "text/plain", body: []byte("shutting down")}}
		}},
		{name: "server error with a date in Retry-After is not retried", answers: func(string) []answer {
			return []answer{{code: 500, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"}}
		}},
	}
	for _, ct := range []string{pb, js} {
		for _, tc := range cases {
			t.Run(ct+"/"+tc.name, func(t *testing.T) {
				srv := &script{answers: tc.answers(ct)}
				ours, theirs := bothClients(t, srv, rest.ContentConfig{ContentType: ct})
				ctx := context.Background()

				ourMetrics := countClientMetrics(t)
				ourErr := ours.Pods("ns").Bind(ctx, binding, metav1.CreateOptions{})
				ourCalls := srv.count()
				theirMetrics := countClientMetrics(t)
				theirErr := theirs.CoreV1().Pods("ns").Bind(ctx, binding, metav1.CreateOptions{})
				theirCalls := srv.count()
				compare(t, "bind", ourErr, theirErr, ourCalls, theirCalls, tc.handed)
				if got, want := clientSamples(t, ourMetrics), clientSamples(t, theirMetrics); !tc.handed && !slices.Equal(got, want) {
					t.Errorf("bind: kubeclient counted\n%s\nclient-go counted\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}

				ourMetrics = countClientMetrics(t)
				ourEv, ourErr := ours.Events("ns").Create(ctx, event, metav1.CreateOptions{})
				ourCalls = srv.count()
				theirMetrics = countClientMetrics(t)
				theirEv, theirErr := theirs.EventsV1().Events("ns").Create(ctx, event, metav1.CreateOptions{})
				theirCalls = srv.count()
				compare(t, "event", ourErr, theirErr, ourCalls, theirCalls, tc.handed)
				if got, want := clientSamples(t, ourMetrics), clientSamples(t, theirMetrics); !tc.handed && !slices.Equal(got, want) {
					t.Errorf("event: kubeclient counted\n%s\nclient-go counted\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if !reflect.DeepEqual(ourEv, theirEv) {
					t.Errorf("event: kubeclient returned\n%+v\nclient-go returned\n%+v", ourEv, theirEv)
				}
			})
		}
	}
}

// countClientMetrics makes the requests from now on count into a new registry, which it returns.
func countClientMetrics(t *testing.T) *metrics.Registry {
	t.Helper()
	reg := metrics.NewRegistry()
	if err := kubeclient.RegisterClientMetrics(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

// clientSamples are reg's rest_client_* samples that do not depend on timing: the request and
// retry counts, every histogram's count, and the size histograms' buckets.
func clientSamples(t *testing.T, reg *metrics.Registry) []string {
	t.Helper()
	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		name, _, _ := strings.Cut(line, "{")
		switch {
		case strings.HasPrefix(line, "#"), !strings.HasPrefix(name, "rest_client_"):
		case strings.HasSuffix(name, "_total"), strings.HasSuffix(name, "_count"),
			strings.HasSuffix(name, "_size_bytes_bucket"):
			out = append(out, line)
		}
	}
	return out
}

func compare(t *testing.T, call string, ours, theirs error, ourCalls, theirCalls int, handed bool) {
	t.Helper()
	if !reflect.DeepEqual(ours, theirs) {
		t.Errorf("%s: kubeclient returned %#v (%v), client-go %#v (%v)", call, ours, ours, theirs, theirs)
	}
	want := theirCalls
	if handed {
		want++
	}
	if ourCalls != want {
		t.Errorf("%s: kubeclient made %d requests, want %d (client-go made %d)", call, ourCalls, want, theirCalls)
	}
}
