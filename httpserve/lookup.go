package httpserve

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
)

// AuthConfigMapNamespace is where the API server publishes its delegated-authentication
// settings: the namespace of the ConfigMaps LookupAuthentication reads.
const AuthConfigMapNamespace = metav1.NamespaceSystem

// The ConfigMap holding the delegated-authentication settings, and the role that grants read
// access to it.
const (
	authConfigMapName = "extension-apiserver-authentication"
	authReaderRole    = "extension-apiserver-authentication-reader"
)

// ConfigMapGetter reads ConfigMaps of one namespace: kubeclient's ConfigMaps(namespace) and
// client-go's CoreV1().ConfigMaps(namespace) satisfy it.
type ConfigMapGetter interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error)
}

// ClusterAuthInfo is the delegated-authentication configuration read from the cluster.
type ClusterAuthInfo struct {
	// ClientCA is the "client-ca-file" PEM bundle; nil when the cluster publishes none.
	ClientCA []byte
	// RequestHeader is built from the "requestheader-*" keys; nil when the cluster publishes no
	// "requestheader-client-ca-file". Its header lists are the cluster's, not the flag defaults.
	RequestHeader *RequestHeaderConfig
}

// LookupAuthentication reads kube-system/extension-apiserver-authentication as kube-scheduler
// does unless --authentication-skip-lookup is set. A missing ConfigMap is not an error: the
// result is then empty. A failed read or malformed content is an error; kube-scheduler tolerates
// it by default (--authentication-tolerate-lookup-failure) and continues without the cluster's
// settings, which the caller decides. configMaps must read the kube-system namespace
// (AuthConfigMapNamespace).
func LookupAuthentication(ctx context.Context, configMaps ConfigMapGetter) (*ClusterAuthInfo, error) {
	where := AuthConfigMapNamespace + "/" + authConfigMapName
	cm, err := configMaps.Get(ctx, authConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return &ClusterAuthInfo{}, nil
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("reading configmap %s (usually fixed by 'kubectl create rolebinding -n %s ROLEBINDING_NAME --role=%s --serviceaccount=YOUR_NS:YOUR_SA'): %w",
			where, AuthConfigMapNamespace, authReaderRole, err)
	case err != nil:
		return nil, fmt.Errorf("reading configmap %s: %w", where, err)
	}

	info := &ClusterAuthInfo{}
	if ca := cm.Data["client-ca-file"]; ca != "" {
		if _, err := certutil.ParseCertsPEM([]byte(ca)); err != nil {
			return nil, fmt.Errorf("configmap %s key client-ca-file: %w", where, err)
		}
		info.ClientCA = []byte(ca)
	}
	ca := cm.Data["requestheader-client-ca-file"]
	if ca == "" {
		return info, nil
	}
	if _, err := certutil.ParseCertsPEM([]byte(ca)); err != nil {
		return nil, fmt.Errorf("configmap %s key requestheader-client-ca-file: %w", where, err)
	}
	rh := &RequestHeaderConfig{ClientCA: []byte(ca)}
	lists := []struct {
		key string
		dst *[]string
	}{
		{"requestheader-username-headers", &rh.UsernameHeaders},
		{"requestheader-uid-headers", &rh.UIDHeaders},
		{"requestheader-group-headers", &rh.GroupHeaders},
		{"requestheader-extra-headers-prefix", &rh.ExtraHeaderPrefixes},
		{"requestheader-allowed-names", &rh.AllowedNames},
	}
	for _, l := range lists {
		raw := cm.Data[l.key]
		if raw == "" {
			continue
		}
		if err := json.Unmarshal([]byte(raw), l.dst); err != nil {
			return nil, fmt.Errorf("configmap %s key %s: want a JSON list of strings: %w", where, l.key, err)
		}
	}
	info.RequestHeader = rh
	return info, nil
}

// ApplyTo fills in what cfg does not configure itself, with upstream's precedence: a client CA
// or request-header CA set in cfg (from flags) wins over the cluster's.
func (i *ClusterAuthInfo) ApplyTo(cfg *Config) {
	if cfg.ClientCAFile == "" && len(cfg.ClientCA) == 0 && len(i.ClientCA) > 0 {
		cfg.ClientCA = slices.Clone(i.ClientCA)
	}
	if !cfg.RequestHeader.enabled() && i.RequestHeader != nil {
		rh := *i.RequestHeader
		rh.ClientCA = slices.Clone(rh.ClientCA)
		rh.UsernameHeaders = slices.Clone(rh.UsernameHeaders)
		rh.UIDHeaders = slices.Clone(rh.UIDHeaders)
		rh.GroupHeaders = slices.Clone(rh.GroupHeaders)
		rh.ExtraHeaderPrefixes = slices.Clone(rh.ExtraHeaderPrefixes)
		rh.AllowedNames = slices.Clone(rh.AllowedNames)
		cfg.RequestHeader = rh
	}
}
