package kubeclient

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// object is a pointer to an API object type E.
type object[E any] interface {
	*E
	runtime.Object
}

// Resource reaches one resource (T objects, listed as L) in one namespace, or cluster-wide for
// cluster-scoped resources and for listing or watching all namespaces. Its methods have the
// signatures of client-go's typed clients and the same wire behaviour: options as query
// parameters, the Client's content types, protobuf when those name none. Like client-go's, a
// method that fails returns an empty object with the error. Unlike client-go's, objects read as
// protobuf come without metadata.managedFields, which berth never reads (see
// withoutManagedFields); an update sent back without them leaves the server's as they are.
// Safe for concurrent use.
type Resource[T, L runtime.Object] struct {
	client    *rest.RESTClient
	stream    *rest.RESTClient // lists and watches (see group)
	params    runtime.ParameterCodec
	resource  string
	namespace string // "" when cluster-scoped or across all namespaces
	newObject func() T
	newList   func() L
	post      *poster // nil: writes go through client-go's request builder
}

func newResource[E, LE any, T object[E], L object[LE]](g group, params runtime.ParameterCodec, resource, namespace string) Resource[T, L] {
	return Resource[T, L]{
		client: g.rest, stream: g.stream, params: params, resource: resource, namespace: namespace,
		newObject: func() T { return T(new(E)) },
		newList:   func() L { return L(new(LE)) },
	}
}

// request starts a request for this resource. Protobuf becomes the default before anything
// encodes a body, as client-go's typed clients do for the resources berth uses.
func (r Resource[T, L]) request(base *rest.Request) *rest.Request {
	return base.UseProtobufAsDefault().NamespaceIfScoped(r.namespace, r.namespace != "").Resource(r.resource)
}

// Get reads the object called name.
func (r Resource[T, L]) Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error) {
	out := r.newObject()
	err := r.request(r.client.Get()).Name(name).VersionedParams(&opts, r.params).Do(ctx).Into(out)
	return out, err
}

// List reads the objects opts selects.
func (r Resource[T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	out := r.newList()
	err := r.request(r.stream.Get()).VersionedParams(&opts, r.params).Timeout(timeoutOf(opts)).Do(ctx).Into(out)
	return out, err
}

// Watch starts a watch of the objects opts selects; the caller must Stop it.
func (r Resource[T, L]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return r.request(r.stream.Get()).VersionedParams(&opts, r.params).Timeout(timeoutOf(opts)).Watch(ctx)
}

// Create creates obj and returns the server's copy.
func (r Resource[T, L]) Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	out := r.newObject()
	if r.post != nil && emptyCreateOptions(&opts) {
		err := r.post.create(ctx, collectionPath(r.namespace, r.resource, "", ""), r.resource, "", obj, out)
		if _, retry := err.(errRetryLater); !retry {
			return out, err
		}
		ctx = retrying(ctx)
	}
	err := withCreateParams(r.request(r.client.Post()), &opts, r.params).Body(obj).Do(ctx).Into(out)
	return out, err
}

// Update replaces obj (named by its metadata.name) and returns the server's copy.
func (r Resource[T, L]) Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	return r.put(ctx, obj, opts)
}

// UpdateStatus replaces obj's status subresource (obj is named by its metadata.name) and returns
// the server's copy.
func (r Resource[T, L]) UpdateStatus(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	return r.put(ctx, obj, opts, "status")
}

func (r Resource[T, L]) put(ctx context.Context, obj T, opts metav1.UpdateOptions, subresources ...string) (T, error) {
	out := r.newObject()
	name := ""
	if m, ok := any(obj).(metav1.Object); ok {
		name = m.GetName()
	}
	if r.post != nil && name != "" && len(subresources) <= 1 && emptyUpdateOptions(&opts) {
		err := r.post.update(ctx, collectionPath(r.namespace, r.resource, name, strings.Join(subresources, "")), r.resource, name, obj, out)
		if _, retry := err.(errRetryLater); !retry {
			return out, err
		}
		ctx = retrying(ctx)
	}
	err := r.request(r.client.Put()).Name(name).SubResource(subresources...).VersionedParams(&opts, r.params).Body(obj).Do(ctx).Into(out)
	return out, err
}

// Patch applies data, a patch of type pt, to the object called name (or to its subresource)
// and returns the patched object.
func (r Resource[T, L]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error) {
	out := r.newObject()
	if r.post != nil && name != "" && len(subresources) <= 1 && emptyPatchOptions(&opts) {
		err := r.post.patch(ctx, collectionPath(r.namespace, r.resource, name, strings.Join(subresources, "")), r.resource, name, pt, data, out)
		if _, retry := err.(errRetryLater); !retry {
			return out, err
		}
		ctx = retrying(ctx)
	}
	err := withPatchParams(r.request(r.client.Patch(pt)).Name(name).SubResource(subresources...), &opts, r.params).Body(data).Do(ctx).Into(out)
	return out, err
}

// Delete deletes the object called name.
func (r Resource[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return r.request(r.client.Delete()).Name(name).Body(&opts).Do(ctx).Error()
}

// timeoutOf is the client-side timeout a list or watch carries in opts.TimeoutSeconds (0: none).
func timeoutOf(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*opts.TimeoutSeconds) * time.Second
}

// PodResource reaches pods: a Resource plus the binding subresource.
type PodResource struct {
	Resource[*corev1.Pod, *corev1.PodList]
}

// Bind posts binding to the pods/binding subresource of the pod binding.Name in this
// namespace (binding.Namespace is not used). Like client-go's Bind it sends the Client's content
// type, without the protobuf default.
func (p PodResource) Bind(ctx context.Context, binding *corev1.Binding, opts metav1.CreateOptions) error {
	r := p.Resource
	if r.post != nil && emptyCreateOptions(&opts) {
		err := r.post.create(ctx, collectionPath(r.namespace, r.resource, binding.Name, "binding"), r.resource, binding.Name, binding, nil)
		if _, retry := err.(errRetryLater); !retry {
			return err
		}
		ctx = retrying(ctx)
	}
	req := r.client.Post().Namespace(r.namespace).Resource(r.resource).Name(binding.Name).SubResource("binding")
	return withCreateParams(req, &opts, r.params).Body(binding).Do(ctx).Error()
}

// withCreateParams adds opts to req as query parameters. Options with every field empty add
// none, so they skip the reflection-based conversion: on the binding and event path of every
// scheduled pod it cost a few percent of berth's CPU.
func withCreateParams(req *rest.Request, opts *metav1.CreateOptions, codec runtime.ParameterCodec) *rest.Request {
	if emptyCreateOptions(opts) {
		return req
	}
	return req.VersionedParams(opts, codec)
}

// emptyCreateOptions reports whether opts add no query parameter.
func emptyCreateOptions(opts *metav1.CreateOptions) bool {
	return opts.TypeMeta == (metav1.TypeMeta{}) && len(opts.DryRun) == 0 && opts.FieldManager == "" && opts.FieldValidation == ""
}

// withPatchParams is withCreateParams for PatchOptions.
func withPatchParams(req *rest.Request, opts *metav1.PatchOptions, codec runtime.ParameterCodec) *rest.Request {
	if emptyPatchOptions(opts) {
		return req
	}
	return req.VersionedParams(opts, codec)
}

// emptyPatchOptions reports whether opts add no query parameter.
func emptyPatchOptions(opts *metav1.PatchOptions) bool {
	return opts.TypeMeta == (metav1.TypeMeta{}) && len(opts.DryRun) == 0 && opts.Force == nil && opts.FieldManager == "" && opts.FieldValidation == ""
}

// emptyUpdateOptions reports whether opts add no query parameter.
func emptyUpdateOptions(opts *metav1.UpdateOptions) bool {
	return opts.TypeMeta == (metav1.TypeMeta{}) && len(opts.DryRun) == 0 && opts.FieldManager == "" && opts.FieldValidation == ""
}

// Review sends reviews (TokenReview, SubjectAccessReview): objects that are only ever created,
// and whose answer is the status of the returned copy. Safe for concurrent use.
type Review[T runtime.Object] struct {
	resource Resource[T, T]
}

func newReview[E any, T object[E]](g group, params runtime.ParameterCodec, resource string) Review[T] {
	return Review[T]{newResource[E, E, T, T](g, params, resource, "")}
}

// Create sends review and returns the server's answer.
func (r Review[T]) Create(ctx context.Context, review T, opts metav1.CreateOptions) (T, error) {
	return r.resource.Create(ctx, review, opts)
}
