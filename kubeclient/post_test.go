package kubeclient_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
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
	warning     string
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
	if a.warning != "" {
		w.Header().Set("Warning", a.warning)
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

// TestWriteAnswersMatchClientGo gives the calls kubeclient makes without client-go's request
// builder (the binding and the event create, the pod status patch, the claim update) the answers
// an API server can give, and wants the same outcome as client-go's: the same error value (or
// none), the same decoded object, the same client metrics, and no more requests than client-go
// makes plus the one it hands over after a retry request.
func TestWriteAnswersMatchClientGo(t *testing.T) {
	const pb, js = "application/vnd.kubernetes.protobuf", "application/json"
	status := func(err error) *metav1.Status {
		s := err.(*apierrors.StatusError).ErrStatus
		s.Kind, s.APIVersion = "Status", "v1"
		return &s
	}
	conflict := status(apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, "p", nil))
	gone := status(apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "p"))
	exists := status(apierrors.NewAlreadyExists(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "p.1"))
	createdEvent := event.DeepCopy()
	createdEvent.ResourceVersion, createdEvent.UID = "42", "e-1"
	patchedPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", ResourceVersion: "43"},
		Status: corev1.PodStatus{NominatedNodeName: "n1"}}
	updatedClaim := claim.DeepCopy()
	updatedClaim.ResourceVersion = "44"
	v1 := schema.GroupVersion{Version: "v1"}

	type write struct {
		name    string
		ok      func(ct string) []byte // the answer to a successful call
		ours    func(ctx context.Context, c *kubeclient.Client) (any, error)
		theirs  func(ctx context.Context, c kubernetes.Interface) (any, error)
		decoded bool // the call returns the decoded answer
	}
	writes := []write{
		{name: "bind", ok: func(string) []byte { return nil },
			ours: func(ctx context.Context, c *kubeclient.Client) (any, error) {
				return nil, c.Pods("ns").Bind(ctx, binding, metav1.CreateOptions{})
			},
			theirs: func(ctx context.Context, c kubernetes.Interface) (any, error) {
				return nil, c.CoreV1().Pods("ns").Bind(ctx, binding, metav1.CreateOptions{})
			}},
		{name: "event", decoded: true, ok: func(ct string) []byte { return encodeAs(t, ct, createdEvent, eventsv1.SchemeGroupVersion) },
			ours: func(ctx context.Context, c *kubeclient.Client) (any, error) {
				return c.Events("ns").Create(ctx, event, metav1.CreateOptions{})
			},
			theirs: func(ctx context.Context, c kubernetes.Interface) (any, error) {
				return c.EventsV1().Events("ns").Create(ctx, event, metav1.CreateOptions{})
			}},
		{name: "status patch", decoded: true, ok: func(ct string) []byte { return encodeAs(t, ct, patchedPod, v1) },
			ours: func(ctx context.Context, c *kubeclient.Client) (any, error) {
				return c.Pods("ns").Patch(ctx, "p", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{}, "status")
			},
			theirs: func(ctx context.Context, c kubernetes.Interface) (any, error) {
				return c.CoreV1().Pods("ns").Patch(ctx, "p", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{}, "status")
			}},
		{name: "claim update", decoded: true, ok: func(ct string) []byte { return encodeAs(t, ct, updatedClaim, v1) },
			ours: func(ctx context.Context, c *kubeclient.Client) (any, error) {
				return c.PersistentVolumeClaims("ns").Update(ctx, claim, metav1.UpdateOptions{})
			},
			theirs: func(ctx context.Context, c kubernetes.Interface) (any, error) {
				return c.CoreV1().PersistentVolumeClaims("ns").Update(ctx, claim, metav1.UpdateOptions{})
			}},
	}

	cases := []struct {
		name    string
		answers func(contentType string, ok []byte) []answer
		// handed: kubeclient hands the call to client-go after the first retry request, so it
		// makes one request more when every answer asks for a retry (and proves it went direct).
		handed bool
	}{
		{name: "done", answers: func(ct string, ok []byte) []answer {
			return []answer{{code: 200, contentType: ct, body: ok}}
		}},
		{name: "conflict as a Status", answers: func(ct string, _ []byte) []answer {
			return []answer{{code: 409, contentType: ct, body: encodeAs(t, ct, conflict, v1)}}
		}},
		{name: "not found as a Status", answers: func(ct string, _ []byte) []answer {
			return []answer{{code: 404, contentType: ct, body: encodeAs(t, ct, gone, v1)}}
		}},
		{name: "already exists as a Status", answers: func(ct string, _ []byte) []answer {
			return []answer{{code: 409, contentType: ct, body: encodeAs(t, ct, exists, v1)}}
		}},
		{name: "server error as text", answers: func(string, []byte) []answer {
			return []answer{{code: 500, contentType: "text/plain", body: []byte("etcdserver: request timed out\n")}}
		}},
		{name: "forbidden without a body", answers: func(string, []byte) []answer { return []answer{{code: 403}} }},
		{name: "not a Status", answers: func(string, []byte) []answer {
			return []answer{{code: 422, contentType: js, body: []byte(`{"kind":"Pod","apiVersion":"v1"}`)}}
		}},
		{name: "throttled, then done", answers: func(ct string, ok []byte) []answer {
			return []answer{{code: 429, retryAfter: "0", contentType: "text/plain", body: []byte("too many requests")},
				{code: 200, contentType: ct, body: ok}}
		}},
		{name: "unavailable, retried until client-go gives up", handed: true, answers: func(string, []byte) []answer {
			return []answer{{code: 503, retryAfter: "0", contentType: "text/plain", body: []byte("shutting down")}}
		}},
		{name: "server error with a date in Retry-After is not retried", answers: func(string, []byte) []answer {
			return []answer{{code: 500, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"}}
		}},
		{name: "done with a warning", answers: func(ct string, ok []byte) []answer {
			return []answer{{code: 200, contentType: ct, body: ok, warning: `299 - "deprecated field"`}}
		}},
	}
	for _, ct := range []string{pb, js} {
		for _, tc := range cases {
			for _, w := range writes {
				t.Run(ct+"/"+tc.name+"/"+w.name, func(t *testing.T) {
					srv := &script{answers: tc.answers(ct, w.ok(ct))}
					ours, theirs := bothClients(t, srv, rest.ContentConfig{ContentType: ct})
					ctx := context.Background()

					ourMetrics := countClientMetrics(t)
					ourOut, ourErr := w.ours(ctx, ours)
					ourCalls := srv.count()
					theirMetrics := countClientMetrics(t)
					theirOut, theirErr := w.theirs(ctx, theirs)
					theirCalls := srv.count()
					compare(t, w.name, ourErr, theirErr, ourCalls, theirCalls, tc.handed)
					if got, want := clientSamples(t, ourMetrics), clientSamples(t, theirMetrics); !tc.handed && !slices.Equal(got, want) {
						t.Errorf("kubeclient counted\n%s\nclient-go counted\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
					if w.decoded && !reflect.DeepEqual(ourOut, theirOut) {
						t.Errorf("kubeclient returned\n%+v\nclient-go returned\n%+v", ourOut, theirOut)
					}
				})
			}
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
		case name == "rest_client_transport_cache_gc_calls_total":
			// Counted when the garbage collector frees an earlier test's TLS transport: at
			// any moment, for no request.
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
