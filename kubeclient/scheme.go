package kubeclient

import (
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// schemeSet is the type registry every Client shares, with what is derived from it: the codecs
// that encode bodies and decode responses (JSON, YAML, protobuf), and the parameter codec that
// turns ListOptions, GetOptions, CreateOptions, ... into query parameters.
type schemeSet struct {
	scheme *runtime.Scheme
	codecs serializer.CodecFactory
	params runtime.ParameterCodec
}

// loadScheme builds the registry once, on first use.
var loadScheme = sync.OnceValues(newScheme)

// newScheme registers the option types under the core "v1" version (as client-go's
// kubernetes/scheme does, so options encode as query parameters for every group), then the API
// groups berth uses and nothing else.
func newScheme() (*schemeSet, error) {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	groups := []struct {
		gv  schema.GroupVersion
		add func(*runtime.Scheme) error
	}{
		{corev1.SchemeGroupVersion, corev1.AddToScheme},
		{appsv1.SchemeGroupVersion, appsv1.AddToScheme},
		{coordinationv1.SchemeGroupVersion, coordinationv1.AddToScheme},
		{eventsv1.SchemeGroupVersion, eventsv1.AddToScheme},
		{authenticationv1.SchemeGroupVersion, authenticationv1.AddToScheme},
		{authorizationv1.SchemeGroupVersion, authorizationv1.AddToScheme},
		{resourcev1.SchemeGroupVersion, resourcev1.AddToScheme},
		{policyv1.SchemeGroupVersion, policyv1.AddToScheme},
		{storagev1.SchemeGroupVersion, storagev1.AddToScheme},
	}
	for _, g := range groups {
		if err := g.add(s); err != nil {
			return nil, fmt.Errorf("registering API group %s: %w", g.gv, err)
		}
	}
	return &schemeSet{scheme: s, codecs: serializer.NewCodecFactory(s), params: runtime.NewParameterCodec(s)}, nil
}
