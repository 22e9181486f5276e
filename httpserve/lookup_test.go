package httpserve

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
)

// client-go's typed clients satisfy the package's interfaces, as kubeclient's do (main uses them).
var (
	_ ConfigMapGetter       = corev1client.ConfigMapInterface(nil)
	_ TokenReviewer         = authenticationv1client.TokenReviewInterface(nil)
	_ SubjectAccessReviewer = authorizationv1client.SubjectAccessReviewInterface(nil)
)

func authConfigMap(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "extension-apiserver-authentication"},
		Data:       data,
	}
}

func TestLookupAuthentication(t *testing.T) {
	clientCA, proxyCA := newTestCA(t, "client-ca"), newTestCA(t, "proxy-ca")
	tests := []struct {
		name    string
		objects []runtime.Object
		getErr  error
		want    *ClusterAuthInfo
		wantErr []string
	}{
		{
			name: "missing configmap is empty, not an error",
			want: &ClusterAuthInfo{},
		},
		{
			name: "client CA only",
			objects: []runtime.Object{authConfigMap(map[string]string{
				"client-ca-file": string(clientCA.pem),
			})},
			want: &ClusterAuthInfo{ClientCA: clientCA.pem},
		},
		{
			name: "full front-proxy settings",
			objects: []runtime.Object{authConfigMap(map[string]string{
				"client-ca-file":                     string(clientCA.pem),
				"requestheader-client-ca-file":       string(proxyCA.pem),
				"requestheader-allowed-names":        `["front-proxy-client"]`,
				"requestheader-username-headers":     `["X-Remote-User"]`,
				"requestheader-uid-headers":          `["X-Remote-Uid"]`,
				"requestheader-group-headers":        `["X-Remote-Group"]`,
				"requestheader-extra-headers-prefix": `["X-Remote-Extra-"]`,
			})},
			want: &ClusterAuthInfo{ClientCA: clientCA.pem, RequestHeader: &RequestHeaderConfig{
				ClientCA:            proxyCA.pem,
				AllowedNames:        []string{"front-proxy-client"},
				UsernameHeaders:     []string{"X-Remote-User"},
				UIDHeaders:          []string{"X-Remote-Uid"},
				GroupHeaders:        []string{"X-Remote-Group"},
				ExtraHeaderPrefixes: []string{"X-Remote-Extra-"},
			}},
		},
		{
			name: "header lists without their CA are ignored",
			objects: []runtime.Object{authConfigMap(map[string]string{
				"requestheader-username-headers": `["X-Remote-User"]`,
			})},
			want: &ClusterAuthInfo{},
		},
		{
			name: "malformed header list names its key",
			objects: []runtime.Object{authConfigMap(map[string]string{
				"requestheader-client-ca-file":   string(proxyCA.pem),
				"requestheader-username-headers": `X-Remote-User`,
			})},
			wantErr: []string{"requestheader-username-headers"},
		},
		{
			name:    "malformed CA names its key",
			objects: []runtime.Object{authConfigMap(map[string]string{"client-ca-file": "garbage"})},
			wantErr: []string{"client-ca-file"},
		},
		{
			name:    "forbidden read explains the role",
			getErr:  apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "extension-apiserver-authentication", nil),
			wantErr: []string{"extension-apiserver-authentication-reader"},
		},
		{
			name:    "other read failures are errors",
			getErr:  apierrors.NewServiceUnavailable("etcd down"),
			wantErr: []string{"reading configmap kube-system/extension-apiserver-authentication"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(tc.objects...)
			if tc.getErr != nil {
				cs.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tc.getErr
				})
			}
			got, err := LookupAuthentication(context.Background(), cs.CoreV1().ConfigMaps(AuthConfigMapNamespace))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("LookupAuthentication = %+v, want an error", got)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestClusterAuthInfoApplyTo(t *testing.T) {
	cluster := &ClusterAuthInfo{
		ClientCA:      []byte("cluster-ca"),
		RequestHeader: &RequestHeaderConfig{ClientCA: []byte("cluster-proxy-ca"), UsernameHeaders: []string{"X-Remote-User"}},
	}
	tests := []struct {
		name string
		cfg  Config
		want Config
	}{
		{
			name: "fills what is unset",
			want: Config{ClientCA: []byte("cluster-ca"), RequestHeader: *cluster.RequestHeader},
		},
		{
			name: "flag files win",
			cfg:  Config{ClientCAFile: "/ca.crt", RequestHeader: RequestHeaderConfig{ClientCAFile: "/proxy.crt", UsernameHeaders: []string{"X-User"}}},
			want: Config{ClientCAFile: "/ca.crt", RequestHeader: RequestHeaderConfig{ClientCAFile: "/proxy.crt", UsernameHeaders: []string{"X-User"}}},
		},
		{
			name: "flag header defaults without a CA are replaced by the cluster's settings",
			cfg:  Config{RequestHeader: RequestHeaderConfig{UsernameHeaders: []string{"x-remote-user"}, GroupHeaders: []string{"x-remote-group"}}},
			want: Config{ClientCA: []byte("cluster-ca"), RequestHeader: *cluster.RequestHeader},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cluster.ApplyTo(&cfg)
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("got %+v, want %+v", cfg, tc.want)
			}
		})
	}
}

// TestTypedClientsAsReviewers wires the generated client-go clients in as the reviewers and
// checks what they are asked, through the fake clientset's reactors.
func TestTypedClientsAsReviewers(t *testing.T) {
	cs := fake.NewClientset()
	var gotToken string
	var gotSAR authorizationv1.SubjectAccessReviewSpec
	cs.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
		gotToken = tr.Spec.Token
		if len(tr.Spec.Audiences) != 0 {
			t.Errorf("TokenReview audiences = %v, want none", tr.Spec.Audiences)
		}
		tr.Status = authenticationv1.TokenReviewStatus{Authenticated: tr.Spec.Token == "sa-token", User: authenticationv1.UserInfo{
			Username: "system:serviceaccount:monitoring:prometheus", Groups: []string{"system:serviceaccounts"},
		}}
		return true, tr, nil
	})
	cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		gotSAR = sar.Spec
		sar.Status.Allowed = sar.Spec.NonResourceAttributes != nil && sar.Spec.NonResourceAttributes.Path == "/metrics"
		return true, sar, nil
	})
	s := mustNew(t, Config{
		TokenReviewer: cs.AuthenticationV1().TokenReviews(),
		Authorizer:    cs.AuthorizationV1().SubjectAccessReviews(),
		Metrics:       metricsFunc(func(io.Writer) error { return nil }),
		Configz:       func() any { return nil },
	})

	tests := []struct {
		name     string
		token    string
		path     string
		wantCode int
	}{
		{"allowed path", "sa-token", "/metrics", http.StatusOK},
		{"denied path", "sa-token", "/configz", http.StatusForbidden},
		{"rejected token", "stolen", "/metrics", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s, http.MethodGet, tc.path, http.Header{"Authorization": {"Bearer " + tc.token}})
			if rec.Code != tc.wantCode {
				t.Fatalf("code = %d (%s), want %d", rec.Code, rec.Body.String(), tc.wantCode)
			}
			if gotToken != tc.token {
				t.Errorf("TokenReview token = %q, want %q", gotToken, tc.token)
			}
			if tc.wantCode == http.StatusUnauthorized {
				return
			}
			want := authorizationv1.SubjectAccessReviewSpec{
				User:                  "system:serviceaccount:monitoring:prometheus",
				Groups:                []string{"system:serviceaccounts", authenticatedGroup},
				NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: tc.path, Verb: "get"},
			}
			if !reflect.DeepEqual(gotSAR, want) {
				t.Errorf("SubjectAccessReview spec = %+v, want %+v", gotSAR, want)
			}
		})
	}
}
