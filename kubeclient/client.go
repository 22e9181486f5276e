// Package kubeclient is berth's Kubernetes API client: typed access to the few resources berth
// reads and writes, and shared informers over them, without client-go's full Clientset.
//
// client-go's kubernetes package and its typed clients register every API group the Kubernetes
// release knows in one scheme, and that generated code is most of a binary that links them.
// kubeclient registers only the groups berth uses (core/v1, apps/v1, coordination.k8s.io/v1,
// events.k8s.io/v1, authentication.k8s.io/v1, authorization.k8s.io/v1, policy/v1, resource.k8s.io/v1,
// storage.k8s.io/v1) and builds one
// rest.RESTClient per group version the way the Clientset does: one shared HTTP transport, one
// shared rate limiter (--kube-api-qps/--kube-api-burst cover all groups together), and the
// content types of the rest.Config, with protobuf as the default where the config names none, as
// client-go's typed clients prefer it for these resources.
//
// The namespaced clients (Pods(ns), Leases(ns), Events(ns), ...) have exactly the method
// signatures of client-go's typed clients, so a consumer can declare a small interface that both
// these values and client-go's fake typed clients (k8s.io/client-go/kubernetes/fake, in tests)
// satisfy:
//
//	c, err := kubeclient.New(restConfig)
//	lease, err := c.Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
//	inf := kubeclient.NewInformers(c)
//	inf.Pods().AddEventHandler(handler)
//	inf.Start(ctx)
//	err = inf.WaitForCacheSync(ctx)
package kubeclient

import (
	"fmt"
	"net"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Client reaches the API server for berth's resources. Make one with New; the zero value is not
// usable. Its methods only build small values and are safe for concurrent use, as are the values
// they return.
type Client struct {
	core, apps, coordination, events, authentication, authorization, resource, policy, storage group
	params                                                                                     runtime.ParameterCodec
	// corePost, eventsPost and resourcePost send the writes of every scheduled pod (bindings,
	// events, status patches, claim and volume updates) without client-go's request builder;
	// nil when the content configuration leaves the choice to client-go (see poster).
	corePost, eventsPost, resourcePost *poster
}

// New builds a Client from cfg, which it does not modify. As client-go's Clientset: an empty
// UserAgent becomes client-go's default; without a RateLimiter, a positive QPS makes one token
// bucket of QPS and Burst (which must then be positive) shared by every group; the HTTP
// transport is shared too.
func New(cfg *rest.Config) (*Client, error) {
	if cfg == nil {
		return nil, fmt.Errorf("creating API client: rest config is nil")
	}
	s, err := loadScheme()
	if err != nil {
		return nil, fmt.Errorf("creating API client: %w", err)
	}
	base := *cfg
	if base.UserAgent == "" {
		base.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	httpClient, err := rest.HTTPClientFor(&base)
	if err != nil {
		return nil, fmt.Errorf("creating API client transport: %w", err)
	}
	if base.RateLimiter == nil && base.QPS > 0 {
		if base.Burst <= 0 {
			return nil, fmt.Errorf("creating API client: burst %d must be positive when QPS %v is", base.Burst, base.QPS)
		}
		base.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(base.QPS, base.Burst)
	}
	streamClient := httpClient
	if sc, ok := streamConfig(&base); ok {
		if streamClient, err = rest.HTTPClientFor(sc); err != nil {
			return nil, fmt.Errorf("creating API client transport for lists and watches: %w", err)
		}
	}
	serializer := lowCopy(rest.CodecFactoryForGeneratedClient(s.scheme, s.codecs).WithoutConversion(), s.scheme)
	forGroup := func(gv schema.GroupVersion, apiPath string) (group, error) {
		c := base
		c.GroupVersion = &gv
		c.APIPath = apiPath
		c.NegotiatedSerializer = serializer
		rc, err := rest.RESTClientForConfigAndClient(&c, httpClient)
		if err != nil {
			return group{}, fmt.Errorf("creating API client for %s: %w", gv, err)
		}
		g := group{rest: rc, stream: rc}
		if streamClient != httpClient {
			if g.stream, err = rest.RESTClientForConfigAndClient(&c, streamClient); err != nil {
				return group{}, fmt.Errorf("creating API client for %s: %w", gv, err)
			}
		}
		return g, nil
	}
	c := &Client{params: s.params}
	groups := []struct {
		dst     *group
		gv      schema.GroupVersion
		apiPath string
	}{
		{&c.core, corev1.SchemeGroupVersion, "/api"},
		{&c.apps, appsv1.SchemeGroupVersion, "/apis"},
		{&c.coordination, coordinationv1.SchemeGroupVersion, "/apis"},
		{&c.events, eventsv1.SchemeGroupVersion, "/apis"},
		{&c.authentication, authenticationv1.SchemeGroupVersion, "/apis"},
		{&c.authorization, authorizationv1.SchemeGroupVersion, "/apis"},
		{&c.resource, resourcev1.SchemeGroupVersion, "/apis"},
		{&c.policy, policyv1.SchemeGroupVersion, "/apis"},
		{&c.storage, storagev1.SchemeGroupVersion, "/apis"},
	}
	for _, g := range groups {
		if *g.dst, err = forGroup(g.gv, g.apiPath); err != nil {
			return nil, err
		}
	}
	c.corePost = newPoster(c.core.rest, httpClient, base.UserAgent, base.ContentConfig, serializer, corev1.SchemeGroupVersion)
	c.eventsPost = newPoster(c.events.rest, httpClient, base.UserAgent, base.ContentConfig, serializer, eventsv1.SchemeGroupVersion)
	c.resourcePost = newPoster(c.resource.rest, httpClient, base.UserAgent, base.ContentConfig, serializer, resourcev1.SchemeGroupVersion)
	return c, nil
}

// group reaches one API group version: rest for every request but lists and watches, which go
// through stream.
//
// Lists and watches stream objects: at start-up every pod and node of the cluster, then every
// change. Over HTTP/2, client-go's transport hands each response's bytes from its connection's
// read loop to the reader through a pipe, and sends the server a flow-control WINDOW_UPDATE
// frame (a TLS record and a write syscall) for every 4 KiB read; with 50,000 pods those frames
// alone were 6% of berth's CPU at start-up. So, where the connection is TLS and the caller left
// the protocol choice open, stream is a second client of the same config (credentials, rate
// limiter, user agent, proxy) that speaks HTTP/1.1: the watch reads its own connection, one per
// concurrent list or watch (about twenty). The writes stay on the one HTTP/2 connection, where
// hundreds of concurrent bindings share it. See streamConfig for dead-connection detection.
type group struct {
	rest, stream *rest.RESTClient
}

// streamKeepAlive makes the kernel probe an idle list or watch connection after 30s and give up
// after three unanswered probes 5s apart: an API server that vanished without closing the
// connection ends the watch after about 45s, as client-go's HTTP/2 health check (a ping after 30s
// of silence, 15s to answer) does on the shared connection.
var streamKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}

// streamConfig returns the config of the client for lists and watches (see group), or false
// when cfg's own must serve them: a plain-HTTP server (HTTP/1.1 already), a caller-supplied
// transport (its protocol is its own), or TLS protocols the caller chose.
func streamConfig(cfg *rest.Config) (*rest.Config, bool) {
	if !rest.IsConfigTransportTLS(*cfg) || cfg.Transport != nil || len(cfg.TLSClientConfig.NextProtos) > 0 {
		return nil, false
	}
	c := *cfg
	c.TLSClientConfig.NextProtos = []string{"http/1.1"}
	if c.Dial == nil {
		c.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAliveConfig: streamKeepAlive}).DialContext
	}
	return &c, true
}

// RateLimiter returns the token bucket every request of c waits on (nil: none).
func (c *Client) RateLimiter() flowcontrol.RateLimiter { return c.core.rest.GetRateLimiter() }

// Pods reaches pods in namespace; "" (metav1.NamespaceAll) means all namespaces, for List and
// Watch only.
func (c *Client) Pods(namespace string) PodResource {
	r := newResource[corev1.Pod, corev1.PodList](c.core, c.params, "pods", namespace)
	r.post = c.corePost
	return PodResource{r}
}

// Nodes reaches nodes.
func (c *Client) Nodes() Resource[*corev1.Node, *corev1.NodeList] {
	return newResource[corev1.Node, corev1.NodeList](c.core, c.params, "nodes", "")
}

// Namespaces reaches namespaces.
func (c *Client) Namespaces() Resource[*corev1.Namespace, *corev1.NamespaceList] {
	return newResource[corev1.Namespace, corev1.NamespaceList](c.core, c.params, "namespaces", "")
}

// Services reaches services in namespace ("" for all namespaces).
func (c *Client) Services(namespace string) Resource[*corev1.Service, *corev1.ServiceList] {
	return newResource[corev1.Service, corev1.ServiceList](c.core, c.params, "services", namespace)
}

// ReplicationControllers reaches replication controllers in namespace ("" for all namespaces).
func (c *Client) ReplicationControllers(namespace string) Resource[*corev1.ReplicationController, *corev1.ReplicationControllerList] {
	return newResource[corev1.ReplicationController, corev1.ReplicationControllerList](c.core, c.params, "replicationcontrollers", namespace)
}

// ConfigMaps reaches config maps in namespace.
func (c *Client) ConfigMaps(namespace string) Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return newResource[corev1.ConfigMap, corev1.ConfigMapList](c.core, c.params, "configmaps", namespace)
}

// ReplicaSets reaches apps/v1 replica sets in namespace ("" for all namespaces).
func (c *Client) ReplicaSets(namespace string) Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
	return newResource[appsv1.ReplicaSet, appsv1.ReplicaSetList](c.apps, c.params, "replicasets", namespace)
}

// StatefulSets reaches apps/v1 stateful sets in namespace ("" for all namespaces).
func (c *Client) StatefulSets(namespace string) Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
	return newResource[appsv1.StatefulSet, appsv1.StatefulSetList](c.apps, c.params, "statefulsets", namespace)
}

// Leases reaches coordination.k8s.io/v1 leases in namespace.
func (c *Client) Leases(namespace string) Resource[*coordinationv1.Lease, *coordinationv1.LeaseList] {
	return newResource[coordinationv1.Lease, coordinationv1.LeaseList](c.coordination, c.params, "leases", namespace)
}

// Events reaches events.k8s.io/v1 events in namespace.
func (c *Client) Events(namespace string) Resource[*eventsv1.Event, *eventsv1.EventList] {
	r := newResource[eventsv1.Event, eventsv1.EventList](c.events, c.params, "events", namespace)
	r.post = c.eventsPost
	return r
}

// PodDisruptionBudgets reaches policy/v1 pod disruption budgets in namespace ("" for all
// namespaces).
func (c *Client) PodDisruptionBudgets(namespace string) Resource[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList] {
	return newResource[policyv1.PodDisruptionBudget, policyv1.PodDisruptionBudgetList](c.policy, c.params, "poddisruptionbudgets", namespace)
}

// DeviceClasses reaches resource.k8s.io/v1 device classes.
func (c *Client) DeviceClasses() Resource[*resourcev1.DeviceClass, *resourcev1.DeviceClassList] {
	return newResource[resourcev1.DeviceClass, resourcev1.DeviceClassList](c.resource, c.params, "deviceclasses", "")
}

// ResourceClaims reaches resource.k8s.io/v1 resource claims in namespace ("" for all namespaces).
func (c *Client) ResourceClaims(namespace string) Resource[*resourcev1.ResourceClaim, *resourcev1.ResourceClaimList] {
	r := newResource[resourcev1.ResourceClaim, resourcev1.ResourceClaimList](c.resource, c.params, "resourceclaims", namespace)
	r.post = c.resourcePost
	return r
}

// ResourceSlices reaches resource.k8s.io/v1 resource slices.
func (c *Client) ResourceSlices() Resource[*resourcev1.ResourceSlice, *resourcev1.ResourceSliceList] {
	return newResource[resourcev1.ResourceSlice, resourcev1.ResourceSliceList](c.resource, c.params, "resourceslices", "")
}

// DeviceTaintRules reaches resource.k8s.io/v1 device taint rules.
func (c *Client) DeviceTaintRules() Resource[*resourcev1.DeviceTaintRule, *resourcev1.DeviceTaintRuleList] {
	return newResource[resourcev1.DeviceTaintRule, resourcev1.DeviceTaintRuleList](c.resource, c.params, "devicetaintrules", "")
}

// PersistentVolumeClaims reaches persistent volume claims in namespace ("" for all namespaces).
func (c *Client) PersistentVolumeClaims(namespace string) Resource[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList] {
	r := newResource[corev1.PersistentVolumeClaim, corev1.PersistentVolumeClaimList](c.core, c.params, "persistentvolumeclaims", namespace)
	r.post = c.corePost
	return r
}

// PersistentVolumes reaches persistent volumes.
func (c *Client) PersistentVolumes() Resource[*corev1.PersistentVolume, *corev1.PersistentVolumeList] {
	r := newResource[corev1.PersistentVolume, corev1.PersistentVolumeList](c.core, c.params, "persistentvolumes", "")
	r.post = c.corePost
	return r
}

// StorageClasses reaches storage.k8s.io/v1 storage classes.
func (c *Client) StorageClasses() Resource[*storagev1.StorageClass, *storagev1.StorageClassList] {
	return newResource[storagev1.StorageClass, storagev1.StorageClassList](c.storage, c.params, "storageclasses", "")
}

// CSINodes reaches storage.k8s.io/v1 CSI nodes.
func (c *Client) CSINodes() Resource[*storagev1.CSINode, *storagev1.CSINodeList] {
	return newResource[storagev1.CSINode, storagev1.CSINodeList](c.storage, c.params, "csinodes", "")
}

// CSIDrivers reaches storage.k8s.io/v1 CSI drivers.
func (c *Client) CSIDrivers() Resource[*storagev1.CSIDriver, *storagev1.CSIDriverList] {
	return newResource[storagev1.CSIDriver, storagev1.CSIDriverList](c.storage, c.params, "csidrivers", "")
}

// CSIStorageCapacities reaches storage.k8s.io/v1 CSI storage capacities in namespace ("" for all
// namespaces).
func (c *Client) CSIStorageCapacities(namespace string) Resource[*storagev1.CSIStorageCapacity, *storagev1.CSIStorageCapacityList] {
	return newResource[storagev1.CSIStorageCapacity, storagev1.CSIStorageCapacityList](c.storage, c.params, "csistoragecapacities", namespace)
}

// VolumeAttachments reaches storage.k8s.io/v1 volume attachments.
func (c *Client) VolumeAttachments() Resource[*storagev1.VolumeAttachment, *storagev1.VolumeAttachmentList] {
	return newResource[storagev1.VolumeAttachment, storagev1.VolumeAttachmentList](c.storage, c.params, "volumeattachments", "")
}

// TokenReviews sends authentication.k8s.io/v1 TokenReviews.
func (c *Client) TokenReviews() Review[*authenticationv1.TokenReview] {
	return newReview[authenticationv1.TokenReview](c.authentication, c.params, "tokenreviews")
}

// SubjectAccessReviews sends authorization.k8s.io/v1 SubjectAccessReviews.
func (c *Client) SubjectAccessReviews() Review[*authorizationv1.SubjectAccessReview] {
	return newReview[authorizationv1.SubjectAccessReview](c.authorization, c.params, "subjectaccessreviews")
}
