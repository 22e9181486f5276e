package kubeclient_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/kubeclient"
)

// request is what the test server saw of one request.
type request struct {
	Method, Path, Query            string
	Accept, ContentType, UserAgent string
	Body                           string
}

// recorder is an API server that records every request and answers an empty JSON object (an
// empty stream for watches), which both clients decode into any type.
type recorder struct {
	mu   sync.Mutex
	seen []request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.seen = append(r.seen, request{
		Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
		Accept: req.Header.Get("Accept"), ContentType: req.Header.Get("Content-Type"), UserAgent: req.Header.Get("User-Agent"),
		Body: string(body),
	})
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if req.URL.Query().Get("watch") == "true" {
		return
	}
	_, _ = io.WriteString(w, "{}")
}

func (r *recorder) take() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

func seconds(n int64) *int64 { return &n }

// apiCall is one call made once through kubeclient and once through client-go's Clientset.
type apiCall struct {
	name   string
	ours   func(ctx context.Context, c *kubeclient.Client) error
	theirs func(ctx context.Context, c kubernetes.Interface) error
}

var (
	lease = &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-scheduler", Namespace: "kube-system", ResourceVersion: "9"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: new("berth-1"), LeaseDurationSeconds: new(int32(15))},
	}
	event = &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "p.1", Namespace: "ns"}, Reason: "Scheduled", Type: "Normal", Note: "assigned",
		Regarding: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "ns", Name: "p"},
	}
	binding = &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "n1"},
	}
	claim = &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data-0", Namespace: "ns", ResourceVersion: "3",
			Annotations: map[string]string{"volume.kubernetes.io/selected-node": "n1"}},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: new("local")},
	}
	volume = &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1", ResourceVersion: "4"},
		Spec:       corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "data-0"}},
	}
	resourceClaim = &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "ns", ResourceVersion: "5"},
		Status:     resourcev1.ResourceClaimStatus{ReservedFor: []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "u1"}}},
	}
	tokenReview = &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "t0ken"}}
	sar         = &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "alice", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
	}}
	podListOpts = metav1.ListOptions{FieldSelector: kubeclient.NonTerminalPods, Limit: 500, ResourceVersion: "0", TimeoutSeconds: seconds(30)}
	watchOpts   = metav1.ListOptions{ResourceVersion: "7", AllowWatchBookmarks: true, TimeoutSeconds: seconds(300)}
	leaseWatch  = metav1.ListOptions{FieldSelector: "metadata.name=kube-scheduler", TimeoutSeconds: seconds(60)}
	statusPatch = []byte(`{"status":{"conditions":[{"type":"PodScheduled","status":"False"}]}}`)
	force       = true
)

// calls are the calls berth makes, each in both clients.
var calls = []apiCall{
	{"get pod",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Pods("ns").Get(ctx, "p", metav1.GetOptions{ResourceVersion: "5"})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods("ns").Get(ctx, "p", metav1.GetOptions{ResourceVersion: "5"})
			return err
		}},
	{"list non-terminal pods in all namespaces",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Pods("").List(ctx, podListOpts)
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods("").List(ctx, podListOpts)
			return err
		}},
	{"watch pods",
		func(ctx context.Context, c *kubeclient.Client) error { return stop(c.Pods("").Watch(ctx, watchOpts)) },
		func(ctx context.Context, c kubernetes.Interface) error {
			return stop(c.CoreV1().Pods("").Watch(ctx, watchOpts))
		}},
	{"bind pod",
		func(ctx context.Context, c *kubeclient.Client) error {
			return c.Pods("ns").Bind(ctx, binding, metav1.CreateOptions{})
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Pods("ns").Bind(ctx, binding, metav1.CreateOptions{})
		}},
	{"bind pod with options",
		func(ctx context.Context, c *kubeclient.Client) error {
			return c.Pods("ns").Bind(ctx, binding, metav1.CreateOptions{DryRun: []string{"All"}, FieldManager: "berth"})
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Pods("ns").Bind(ctx, binding, metav1.CreateOptions{DryRun: []string{"All"}, FieldManager: "berth"})
		}},
	{"patch pod status with options",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Pods("ns").Patch(ctx, "p", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{Force: &force, FieldValidation: "Strict"}, "status")
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods("ns").Patch(ctx, "p", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{Force: &force, FieldValidation: "Strict"}, "status")
			return err
		}},
	{"patch pod status",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Pods("ns").Patch(ctx, "p", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{}, "status")
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods("ns").Patch(ctx, "p", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{}, "status")
			return err
		}},
	{"update claim",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.PersistentVolumeClaims("ns").Update(ctx, claim, metav1.UpdateOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().PersistentVolumeClaims("ns").Update(ctx, claim, metav1.UpdateOptions{})
			return err
		}},
	{"update claim with options",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.PersistentVolumeClaims("ns").Update(ctx, claim, metav1.UpdateOptions{FieldManager: "berth"})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().PersistentVolumeClaims("ns").Update(ctx, claim, metav1.UpdateOptions{FieldManager: "berth"})
			return err
		}},
	{"update volume",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.PersistentVolumes().Update(ctx, volume, metav1.UpdateOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().PersistentVolumes().Update(ctx, volume, metav1.UpdateOptions{})
			return err
		}},
	{"update resource claim status",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.ResourceClaims("ns").UpdateStatus(ctx, resourceClaim, metav1.UpdateOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.ResourceV1().ResourceClaims("ns").UpdateStatus(ctx, resourceClaim, metav1.UpdateOptions{})
			return err
		}},
	{"patch resource claim status",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.ResourceClaims("ns").Patch(ctx, "rc", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{}, "status")
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.ResourceV1().ResourceClaims("ns").Patch(ctx, "rc", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{}, "status")
			return err
		}},
	{"delete pod with a UID precondition",
		func(ctx context.Context, c *kubeclient.Client) error {
			uid := types.UID("u1")
			return c.Pods("ns").Delete(ctx, "p", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			uid := types.UID("u1")
			return c.CoreV1().Pods("ns").Delete(ctx, "p", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		}},
	{"list nodes",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Nodes().List(ctx, metav1.ListOptions{Limit: 500})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 500})
			return err
		}},
	{"watch namespaces",
		func(ctx context.Context, c *kubeclient.Client) error {
			return stop(c.Namespaces().Watch(ctx, watchOpts))
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			return stop(c.CoreV1().Namespaces().Watch(ctx, watchOpts))
		}},
	{"list services",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Services("").List(ctx, metav1.ListOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
			return err
		}},
	{"watch replication controllers",
		func(ctx context.Context, c *kubeclient.Client) error {
			return stop(c.ReplicationControllers("").Watch(ctx, watchOpts))
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			return stop(c.CoreV1().ReplicationControllers("").Watch(ctx, watchOpts))
		}},
	{"get config map",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
			return err
		}},
	{"list replica sets",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.ReplicaSets("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AppsV1().ReplicaSets("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
			return err
		}},
	{"watch stateful sets",
		func(ctx context.Context, c *kubeclient.Client) error {
			return stop(c.StatefulSets("").Watch(ctx, watchOpts))
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			return stop(c.AppsV1().StatefulSets("").Watch(ctx, watchOpts))
		}},
	{"get lease",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
			return err
		}},
	{"create lease",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Leases("kube-system").Create(ctx, lease, metav1.CreateOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoordinationV1().Leases("kube-system").Create(ctx, lease, metav1.CreateOptions{})
			return err
		}},
	{"update lease",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Leases("kube-system").Update(ctx, lease, metav1.UpdateOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoordinationV1().Leases("kube-system").Update(ctx, lease, metav1.UpdateOptions{})
			return err
		}},
	{"watch lease",
		func(ctx context.Context, c *kubeclient.Client) error {
			return stop(c.Leases("kube-system").Watch(ctx, leaseWatch))
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			return stop(c.CoordinationV1().Leases("kube-system").Watch(ctx, leaseWatch))
		}},
	{"create event",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Events("ns").Create(ctx, event, metav1.CreateOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.EventsV1().Events("ns").Create(ctx, event, metav1.CreateOptions{})
			return err
		}},
	{"patch event series",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.Events("ns").Patch(ctx, "p.1", types.MergePatchType, []byte(`{"series":{"count":2}}`), metav1.PatchOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.EventsV1().Events("ns").Patch(ctx, "p.1", types.MergePatchType, []byte(`{"series":{"count":2}}`), metav1.PatchOptions{})
			return err
		}},
	{"create token review",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.TokenReviews().Create(ctx, tokenReview, metav1.CreateOptions{})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AuthenticationV1().TokenReviews().Create(ctx, tokenReview, metav1.CreateOptions{})
			return err
		}},
	{"create subject access review",
		func(ctx context.Context, c *kubeclient.Client) error {
			_, err := c.SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{DryRun: []string{"All"}})
			return err
		},
		func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{DryRun: []string{"All"}})
			return err
		}},
}

func stop[W interface{ Stop() }](w W, err error) error {
	if err != nil {
		return err
	}
	w.Stop()
	return nil
}

// TestRequestsMatchClientGo makes every call berth makes through kubeclient and through
// client-go's Clientset, under each content-type configuration, and wants the API server to see
// the same requests: method, path, query parameters, content negotiation and body bytes.
func TestRequestsMatchClientGo(t *testing.T) {
	contents := []struct {
		name                string
		contentType, accept string
	}{
		{name: "unset (protobuf preferred)"},
		{name: "json", contentType: "application/json"},
		{name: "protobuf as kube-scheduler", contentType: "application/vnd.kubernetes.protobuf", accept: "application/vnd.kubernetes.protobuf,application/json"},
	}
	for _, content := range contents {
		for _, call := range calls {
			t.Run(content.name+"/"+call.name, func(t *testing.T) {
				srv := &recorder{}
				ours, theirs := bothClients(t, srv, rest.ContentConfig{ContentType: content.contentType, AcceptContentTypes: content.accept})
				ctx := context.Background()
				if err := call.ours(ctx, ours); err != nil {
					t.Errorf("kubeclient: %v", err)
				}
				got := srv.take()
				if err := call.theirs(ctx, theirs); err != nil {
					t.Errorf("client-go: %v", err)
				}
				want := srv.take()
				if len(got) != 1 {
					t.Fatalf("kubeclient sent %d requests, want 1: %+v", len(got), got)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("kubeclient sent\n%+v\nclient-go sent\n%+v", got, want)
				}
			})
		}
	}
}

// bothClients starts a test server of handler, closed when the test ends, and returns kubeclient
// and client-go's Clientset, both configured for it with content and no rate limit.
func bothClients(t *testing.T, handler http.Handler, content rest.ContentConfig) (*kubeclient.Client, kubernetes.Interface) {
	t.Helper()
	ts := httptest.NewServer(handler)
	t.Cleanup(ts.Close)
	cfg := &rest.Config{Host: ts.URL, QPS: -1, ContentConfig: content}
	ours, err := kubeclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ours, theirs
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *rest.Config
		wantErr bool
	}{
		{name: "nil config", cfg: nil, wantErr: true},
		{name: "QPS without burst", cfg: &rest.Config{Host: "https://127.0.0.1:1", QPS: 50}, wantErr: true},
		{name: "QPS and burst", cfg: &rest.Config{Host: "https://127.0.0.1:1", QPS: 50, Burst: 100}},
		{name: "no rate limit", cfg: &rest.Config{Host: "https://127.0.0.1:1", QPS: -1}},
		{name: "bad host", cfg: &rest.Config{Host: "http://a b"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kubeclient.New(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New = %v, %v; want error %v", c, err, tc.wantErr)
			}
		})
	}
}
