package kubeclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// NonTerminalPods is the field selector of the pod informer: pods that have finished
// (Succeeded or Failed) hold no resources, so the scheduler neither schedules nor counts them
// (kube-scheduler watches the same set).
const NonTerminalPods = "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed)

// Informers is a set of shared informers over one Client, each watching one resource in all
// namespaces with no resync and a namespace index (so client-go's listers can be built on their
// indexers), but for pods: nothing lists pods by namespace, and indexing a large cluster's pods
// was a third of what the informer spent on each at a cold start. An informer is created on the first call of its accessor, which returns the same
// informer from then on; Start starts those created so far. This is the part of client-go's
// SharedInformerFactory berth uses, for berth's resources only.
//
// The owner (main) calls the accessors while wiring, then Start(ctx), WaitForCacheSync(ctx), and
// after ctx has ended, Shutdown. All methods are safe for concurrent use.
type Informers struct {
	client *Client
	trim   func(obj any) // nil: none
	// metrics and name publish client-go's informer metrics (WithMetrics); nil: none.
	// metricsErr is WithMetrics' registration error, which NewInformers' caller reads with Err.
	metrics    *informerMetrics
	name       *cache.InformerName
	metricsErr error

	mu        sync.Mutex // guards the fields below
	informers []*informer
	stopping  bool
	running   sync.WaitGroup
}

type informer struct {
	resource string
	shared   cache.SharedIndexInformer
	started  bool
}

// InformerOption configures NewInformers.
type InformerOption func(*Informers)

// WithTrim has every informer pass each object to trim, after dropping its managedFields and
// before it enters the cache or reaches a handler. trim may change the object in place (it is
// the informer's own decoded copy) to drop what its owner never reads; it must be quick.
func WithTrim(trim func(obj any)) InformerOption {
	return func(f *Informers) { f.trim = trim }
}

// NewInformers returns an empty set of informers over c.
func NewInformers(c *Client, opts ...InformerOption) *Informers {
	f := &Informers{client: c}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Err reports an option that failed (WithMetrics' registration).
func (f *Informers) Err() error { return f.metricsErr }

// Pods is the informer of non-terminal pods (see NonTerminalPods) in all namespaces. Its store
// has no namespace index: look pods up by key, or list them all.
func (f *Informers) Pods() cache.SharedIndexInformer {
	return f.getIndexed("pods", &corev1.Pod{}, cache.Indexers{}, func() *cache.ListWatch {
		return listWatch(f.client.Pods(metav1.NamespaceAll).Resource, func(o *metav1.ListOptions) { o.FieldSelector = NonTerminalPods })
	})
}

// Nodes is the informer of nodes.
func (f *Informers) Nodes() cache.SharedIndexInformer {
	return f.get("nodes", &corev1.Node{}, func() *cache.ListWatch { return listWatch(f.client.Nodes(), nil) })
}

// Namespaces is the informer of namespaces.
func (f *Informers) Namespaces() cache.SharedIndexInformer {
	return f.get("namespaces", &corev1.Namespace{}, func() *cache.ListWatch { return listWatch(f.client.Namespaces(), nil) })
}

// Services is the informer of services.
func (f *Informers) Services() cache.SharedIndexInformer {
	return f.get("services", &corev1.Service{}, func() *cache.ListWatch {
		return listWatch(f.client.Services(metav1.NamespaceAll), nil)
	})
}

// ReplicationControllers is the informer of replication controllers.
func (f *Informers) ReplicationControllers() cache.SharedIndexInformer {
	return f.get("replicationcontrollers", &corev1.ReplicationController{}, func() *cache.ListWatch {
		return listWatch(f.client.ReplicationControllers(metav1.NamespaceAll), nil)
	})
}

// ReplicaSets is the informer of apps/v1 replica sets.
func (f *Informers) ReplicaSets() cache.SharedIndexInformer {
	return f.get("replicasets.apps", &appsv1.ReplicaSet{}, func() *cache.ListWatch {
		return listWatch(f.client.ReplicaSets(metav1.NamespaceAll), nil)
	})
}

// StatefulSets is the informer of apps/v1 stateful sets.
func (f *Informers) StatefulSets() cache.SharedIndexInformer {
	return f.get("statefulsets.apps", &appsv1.StatefulSet{}, func() *cache.ListWatch {
		return listWatch(f.client.StatefulSets(metav1.NamespaceAll), nil)
	})
}

// PodDisruptionBudgets is the informer of policy/v1 pod disruption budgets in all namespaces.
func (f *Informers) PodDisruptionBudgets() cache.SharedIndexInformer {
	return f.get("poddisruptionbudgets.policy", &policyv1.PodDisruptionBudget{}, func() *cache.ListWatch {
		return listWatch(f.client.PodDisruptionBudgets(metav1.NamespaceAll), nil)
	})
}

// DeviceClasses is the informer of resource.k8s.io/v1 device classes.
func (f *Informers) DeviceClasses() cache.SharedIndexInformer {
	return f.get("deviceclasses.resource.k8s.io", &resourcev1.DeviceClass{}, func() *cache.ListWatch {
		return listWatch(f.client.DeviceClasses(), nil)
	})
}

// ResourceClaims is the informer of resource.k8s.io/v1 resource claims in all namespaces.
func (f *Informers) ResourceClaims() cache.SharedIndexInformer {
	return f.get("resourceclaims.resource.k8s.io", &resourcev1.ResourceClaim{}, func() *cache.ListWatch {
		return listWatch(f.client.ResourceClaims(metav1.NamespaceAll), nil)
	})
}

// ResourceSlices is the informer of resource.k8s.io/v1 resource slices.
func (f *Informers) ResourceSlices() cache.SharedIndexInformer {
	return f.get("resourceslices.resource.k8s.io", &resourcev1.ResourceSlice{}, func() *cache.ListWatch {
		return listWatch(f.client.ResourceSlices(), nil)
	})
}

// DeviceTaintRules is the informer of resource.k8s.io/v1 device taint rules.
func (f *Informers) DeviceTaintRules() cache.SharedIndexInformer {
	return f.get("devicetaintrules.resource.k8s.io", &resourcev1.DeviceTaintRule{}, func() *cache.ListWatch {
		return listWatch(f.client.DeviceTaintRules(), nil)
	})
}

// PersistentVolumeClaims is the informer of persistent volume claims in all namespaces.
func (f *Informers) PersistentVolumeClaims() cache.SharedIndexInformer {
	return f.get("persistentvolumeclaims", &corev1.PersistentVolumeClaim{}, func() *cache.ListWatch {
		return listWatch(f.client.PersistentVolumeClaims(metav1.NamespaceAll), nil)
	})
}

// PersistentVolumes is the informer of persistent volumes.
func (f *Informers) PersistentVolumes() cache.SharedIndexInformer {
	return f.get("persistentvolumes", &corev1.PersistentVolume{}, func() *cache.ListWatch {
		return listWatch(f.client.PersistentVolumes(), nil)
	})
}

// StorageClasses is the informer of storage.k8s.io/v1 storage classes.
func (f *Informers) StorageClasses() cache.SharedIndexInformer {
	return f.get("storageclasses.storage.k8s.io", &storagev1.StorageClass{}, func() *cache.ListWatch {
		return listWatch(f.client.StorageClasses(), nil)
	})
}

// CSINodes is the informer of storage.k8s.io/v1 CSI nodes.
func (f *Informers) CSINodes() cache.SharedIndexInformer {
	return f.get("csinodes.storage.k8s.io", &storagev1.CSINode{}, func() *cache.ListWatch {
		return listWatch(f.client.CSINodes(), nil)
	})
}

// CSIDrivers is the informer of storage.k8s.io/v1 CSI drivers.
func (f *Informers) CSIDrivers() cache.SharedIndexInformer {
	return f.get("csidrivers.storage.k8s.io", &storagev1.CSIDriver{}, func() *cache.ListWatch {
		return listWatch(f.client.CSIDrivers(), nil)
	})
}

// CSIStorageCapacities is the informer of storage.k8s.io/v1 CSI storage capacities in all
// namespaces.
func (f *Informers) CSIStorageCapacities() cache.SharedIndexInformer {
	return f.get("csistoragecapacities.storage.k8s.io", &storagev1.CSIStorageCapacity{}, func() *cache.ListWatch {
		return listWatch(f.client.CSIStorageCapacities(metav1.NamespaceAll), nil)
	})
}

// VolumeAttachments is the informer of storage.k8s.io/v1 volume attachments.
func (f *Informers) VolumeAttachments() cache.SharedIndexInformer {
	return f.get("volumeattachments.storage.k8s.io", &storagev1.VolumeAttachment{}, func() *cache.ListWatch {
		return listWatch(f.client.VolumeAttachments(), nil)
	})
}

// get returns the informer of resource, creating it over newLW's list and watch, with a namespace
// index, on first use.
func (f *Informers) get(resource string, example runtime.Object, newLW func() *cache.ListWatch) cache.SharedIndexInformer {
	return f.getIndexed(resource, example, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, newLW)
}

// getIndexed is get with the store's indexers.
func (f *Informers) getIndexed(resource string, example runtime.Object, indexers cache.Indexers, newLW func() *cache.ListWatch) cache.SharedIndexInformer {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, inf := range f.informers {
		if inf.resource == resource {
			return inf.shared
		}
	}
	opts := f.identity(resource)
	opts.Indexers = indexers
	shared := cache.NewSharedIndexInformerWithOptions(newLW(), example, opts)
	// Nothing reads managedFields; dropping them before objects enter the cache saves a good part
	// of the memory a large cluster's pods and nodes take (kube-scheduler does the same). Objects
	// decoded from protobuf come without them already (see withoutManagedFields); this is for the
	// others (JSON) and anything that slipped through. The
	// transform cannot fail once the informer has not started, which it has not here.
	trim := f.trim
	_ = shared.SetTransform(func(obj any) (any, error) {
		obj, err := dropManagedFields(obj)
		if trim != nil && err == nil {
			if _, tomb := obj.(cache.DeletedFinalStateUnknown); !tomb {
				trim(obj)
			}
		}
		return obj, err
	})
	f.informers = append(f.informers, &informer{resource: resource, shared: shared})
	return shared
}

// listWatch lists and watches r, with tweak (if not nil) applied to every request's options.
// Each request waits for a server it cannot reach (see untilReachable).
func listWatch[T, L runtime.Object](r Resource[T, L], tweak func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			if tweak != nil {
				tweak(&opts)
			}
			return untilReachable(ctx, func() (runtime.Object, error) { return r.List(ctx, opts) })
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			if tweak != nil {
				tweak(&opts)
			}
			return untilReachable(ctx, func() (watch.Interface, error) { return r.Watch(ctx, opts) })
		},
	}
}

// reconnectEvery is how soon a list or watch tries again a server it cannot reach, or one that
// answered with a server error (5xx) or 429; the wait doubles for each further failure of the same
// request, up to reconnectAtMost.
const (
	reconnectEvery  = 250 * time.Millisecond
	reconnectAtMost = time.Second
)

// untilReachable calls req until it returns anything but a failure to reach the server or a
// server error (see tryAgain), or ctx ends, waiting between calls as reconnectEvery says (or the
// server's Retry-After, if longer).
//
// Why: client-go's reflector backs off between failed lists and watches, 0.8 s doubling to 30 s,
// and forgets the backoff only after two quiet minutes. An API server that restarts in 15 s, or a
// flaky front that fails a few watches in a minute, leaves that backoff at several seconds, so
// berth would see new pods only that much later (measured: 4-25 s). Retrying here, within a
// second, keeps such failures from the reflector; every other answer (a 410 Gone included) goes to
// it as before.
func untilReachable[R any](ctx context.Context, req func() (R, error)) (R, error) {
	next := reconnectEvery
	for {
		r, err := req()
		wait, again := tryAgain(err)
		if !again || ctx.Err() != nil {
			return r, err
		}
		wait = max(wait, next)
		next = min(2*next, reconnectAtMost)
		select {
		case <-ctx.Done():
			return r, err
		case <-time.After(wait):
		}
	}
}

// tryAgain tells whether a request that failed with err should be sent again, and how long the
// server asked to wait (0: no preference).
func tryAgain(err error) (time.Duration, bool) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return 0, true // the request never got an answer: connection refused, reset, EOF
	}
	if code := st.Status().Code; code != http.StatusTooManyRequests && code < http.StatusInternalServerError {
		return 0, false
	}
	if secs, ok := apierrors.SuggestsClientDelay(err); ok {
		return time.Duration(secs) * time.Second, true
	}
	return 0, true
}

// Start runs every informer created so far and not yet started, each until ctx ends. It
// returns at once; informers created later need another Start. After Shutdown it does nothing.
func (f *Informers) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return
	}
	for _, inf := range f.informers {
		if inf.started {
			continue
		}
		inf.started = true
		f.running.Go(func() { inf.shared.RunWithContext(ctx) })
	}
}

// WaitForCacheSync blocks until every started informer has listed its resource once, or ctx
// ends. It returns nil when all have synced, else an error naming the resources that have not
// (wrapping ctx's cause).
func (f *Informers) WaitForCacheSync(ctx context.Context) error {
	f.mu.Lock()
	var started []*informer
	for _, inf := range f.informers {
		if inf.started {
			started = append(started, inf)
		}
	}
	f.mu.Unlock()
	waits := make(map[string]cache.DoneChecker, len(started))
	for _, inf := range started {
		waits[inf.resource] = inf.shared.HasSyncedChecker()
	}
	if err := WaitDone(ctx, waits); err != nil {
		return fmt.Errorf("informer caches for %w", err)
	}
	return nil
}

// WaitDone blocks until every checker of waits is done, or ctx ends. It returns nil when all
// are, else an error that starts with the names of those that are not, sorted, and wraps ctx's
// cause ("pod, node did not sync: context deadline exceeded"); callers prefix what they are.
func WaitDone(ctx context.Context, waits map[string]cache.DoneChecker) error {
	checkers := make([]cache.DoneChecker, 0, len(waits))
	for _, c := range waits {
		checkers = append(checkers, c)
	}
	cache.WaitFor(ctx, "", checkers...)
	var unsynced []string
	for name, c := range waits {
		select {
		case <-c.Done():
		default:
			unsynced = append(unsynced, name)
		}
	}
	if len(unsynced) == 0 {
		return nil
	}
	slices.Sort(unsynced)
	cause := context.Cause(ctx)
	if cause == nil {
		cause = errors.New("stopped waiting")
	}
	return fmt.Errorf("%s did not sync: %w", strings.Join(unsynced, ", "), cause)
}

// Shutdown stops further Starts and waits until every started informer has returned, which
// happens once the context given to Start ends; the caller ends it first.
func (f *Informers) Shutdown() {
	f.mu.Lock()
	f.stopping = true
	f.mu.Unlock()
	f.running.Wait()
}

// dropManagedFields is the informers' transform: it clears metadata.managedFields. Tombstones
// and objects without metadata pass through unchanged.
func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
