package kubeclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// poster sends the writes berth makes for every scheduled pod (its binding, its Scheduled event,
// its status patches, its claims' and volumes' updates) straight over the Client's HTTP client
// instead of through client-go's rest.Request. That builder computes the URL, and a URL template for its latency metrics, several times per
// call, and cloned headers and requests on the way: about a tenth of berth's CPU on the binding
// path. The request on the wire is the one client-go sends (TestRequestsMatchClientGo compares
// them), and so is what callers see: the shared rate limiter first, API errors as the
// *errors.StatusError client-go returns, transport errors unchanged. Answers that ask to be
// retried (429 or 5xx with Retry-After) are waited out once and the call is handed to client-go,
// which retries as it always does. Warning headers are logged as client-go's default handler
// logs them (berth sets no other).
//
// A poster exists only for an explicitly configured JSON or protobuf content type, so the
// headers and encoder it fixes at construction are what client-go would choose per request.
type poster struct {
	http        *http.Client
	limiter     flowcontrol.RateLimiter // nil: none
	base        string                  // the group version's URL, e.g. https://host/api/v1
	host        string                  // base's host[:port], the rest_client_* metrics' host label
	group       string
	userAgent   string // set here, so the transport need not copy the request to add it
	contentType string
	accept      string
	encoder     runtime.Encoder
	decoders    runtime.NegotiatedSerializer
	gv          schema.GroupVersion
}

// newPoster returns the poster of rc's group version, or nil when its content configuration
// leaves client-go room to choose per request (unset, or anything but JSON and protobuf).
func newPoster(rc *rest.RESTClient, httpClient *http.Client, userAgent string, content rest.ContentConfig, ns runtime.NegotiatedSerializer, gv schema.GroupVersion) *poster {
	mediaType, _, err := mime.ParseMediaType(content.ContentType)
	if err != nil || (mediaType != runtime.ContentTypeJSON && mediaType != runtime.ContentTypeProtobuf) {
		return nil
	}
	info, ok := runtime.SerializerInfoForMediaType(ns.SupportedMediaTypes(), mediaType)
	if !ok {
		return nil
	}
	accept := content.AcceptContentTypes
	if accept == "" {
		accept = content.ContentType + ", */*"
	}
	base := rc.Get().URL()
	return &poster{
		http: httpClient, limiter: rc.GetRateLimiter(), base: base.String(), host: base.Host, group: gv.Group,
		userAgent: userAgent, contentType: content.ContentType, accept: accept,
		encoder: ns.EncoderForVersion(info.Serializer, gv), decoders: ns, gv: gv,
	}
}

// errRetryLater says the server asked for the call to be made again later: the caller hands it
// to client-go.
type errRetryLater struct{}

func (errRetryLater) Error() string { return "the API server asked to retry later" }

// create posts obj to the collection (or subresource) path below the group version, for the
// object called name of resource, and decodes the created object into out unless out is nil.
// It returns errRetryLater, after waiting as asked, when the answer should be retried.
func (p *poster) create(ctx context.Context, path, resource, name string, obj, out runtime.Object) error {
	body, err := runtime.Encode(p.encoder, obj)
	if err != nil {
		return err
	}
	return p.send(ctx, http.MethodPost, path, resource, name, p.contentType, body, out)
}

// update puts obj to the object's path below the group version, as create posts.
func (p *poster) update(ctx context.Context, path, resource, name string, obj, out runtime.Object) error {
	body, err := runtime.Encode(p.encoder, obj)
	if err != nil {
		return err
	}
	return p.send(ctx, http.MethodPut, path, resource, name, p.contentType, body, out)
}

// patch sends data, a patch of type pt, to the object's path below the group version, as
// create posts.
func (p *poster) patch(ctx context.Context, path, resource, name string, pt types.PatchType, data []byte, out runtime.Object) error {
	return p.send(ctx, http.MethodPatch, path, resource, name, string(pt), data, out)
}

// send makes one request of method with body (of contentType) to path below the group version,
// about the object called name of resource, and decodes the answer into out unless out is nil.
func (p *poster) send(ctx context.Context, method, path, resource, name, contentType string, body []byte, out runtime.Object) error {
	start, waited := time.Now(), time.Duration(-1)
	if p.limiter != nil {
		if err := p.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("client rate limiter Wait returned an error: %w", err)
		}
		waited = time.Since(start)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{"Accept": {p.accept}, "Content-Type": {contentType}, "User-Agent": {p.userAgent}}
	resp, err := p.http.Do(req)
	if err != nil {
		countRequest(method, p.host, waited, time.Since(start), len(body), -1, 0, false)
		return err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		countRequest(method, p.host, waited, time.Since(start), len(body), -1, resp.StatusCode, false)
		return fmt.Errorf("unexpected error when reading response body. Please retry. Original error: %w", err)
	}
	if w := resp.Header["Warning"]; len(w) > 0 {
		warnings, _ := utilnet.ParseWarningHeaders(w)
		for _, w := range warnings {
			rest.WarningLogger{}.HandleWarningHeaderWithContext(ctx, w.Code, w.Agent, w.Text)
		}
	}
	decoder := p.decoderFor(resp)
	wait, retry := retryAfter(resp)
	received := len(data)
	if failed := resp.StatusCode < http.StatusOK || resp.StatusCode > http.StatusPartialContent; failed && (decoder == nil || len(data) == 0) {
		received = -1 // client-go keeps no body of an error answer it cannot decode
	}
	countRequest(method, p.host, waited, time.Since(start), len(body), received, resp.StatusCode, retry)
	if retry {
		t := time.NewTimer(time.Duration(wait) * time.Second)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		return errRetryLater{}
	}
	if resp.StatusCode < http.StatusOK || resp.StatusCode > http.StatusPartialContent {
		return p.responseError(method, resp, data, decoder, resource, name)
	}
	if out == nil {
		return nil
	}
	if decoder == nil {
		return fmt.Errorf("unable to decode the response (content type %q) into %T", resp.Header.Get("Content-Type"), out)
	}
	if len(data) == 0 {
		return fmt.Errorf("0-length response with status code: %d and content type: %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	got, _, err := decoder.Decode(data, nil, out)
	if err != nil || got == out {
		return err
	}
	if s, ok := got.(*metav1.Status); ok && s.Status != metav1.StatusSuccess {
		return apierrors.FromObject(s)
	}
	return nil
}

// decoderFor returns the decoder for the answer's content type (the request's when it names
// none), or nil when berth cannot decode it.
func (p *poster) decoderFor(resp *http.Response) runtime.Decoder {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = p.contentType
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil
	}
	info, ok := runtime.SerializerInfoForMediaType(p.decoders.SupportedMediaTypes(), mediaType)
	if !ok {
		return nil
	}
	return p.decoders.DecoderToVersion(info.Serializer, p.gv)
}

// responseError is the error of a non-2xx answer: the Status the server sent, or else a generic
// error built from the status code as client-go builds it.
func (p *poster) responseError(method string, resp *http.Response, body []byte, decoder runtime.Decoder, resource, name string) error {
	if decoder != nil && len(body) > 0 {
		if out, _, err := decoder.Decode(body, &schema.GroupVersionKind{Version: "v1"}, nil); err == nil {
			if s, ok := out.(*metav1.Status); ok && s.Status == metav1.StatusFailure {
				return apierrors.FromObject(s)
			}
		}
	}
	const maxText = 1024 // as much of a text answer as client-go keeps
	message := "unknown"
	if isText(resp) {
		message = strings.TrimSpace(string(body[:min(len(body), maxText)]))
	}
	seconds, _ := retryAfterSeconds(resp)
	return apierrors.NewGenericServerResponse(resp.StatusCode, method,
		schema.GroupResource{Group: p.group, Resource: resource}, name, message, seconds, true)
}

// retryAfter reports whether the answer asks to be retried: 429 or 5xx with a Retry-After of
// whole seconds, as client-go's retry decides.
func retryAfter(resp *http.Response) (int, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < http.StatusInternalServerError {
		return 0, false
	}
	return retryAfterSeconds(resp)
}

func retryAfterSeconds(resp *http.Response) (int, bool) {
	if h := resp.Header.Get("Retry-After"); h != "" {
		if i, err := strconv.Atoi(h); err == nil {
			return i, true
		}
	}
	return 0, false
}

// isText reports whether the answer is text (or says nothing of its type).
func isText(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	media, _, err := mime.ParseMediaType(ct)
	return err == nil && strings.HasPrefix(media, "text/")
}

// collectionPath is the path below the group version of resource in namespace ("" when
// cluster-scoped), with name and subresource appended when not empty.
func collectionPath(namespace, resource, name, subresource string) string {
	var b strings.Builder
	if namespace != "" {
		b.WriteString("/namespaces/")
		b.WriteString(url.PathEscape(namespace))
	}
	b.WriteString("/")
	b.WriteString(resource)
	if name != "" {
		b.WriteString("/")
		b.WriteString(url.PathEscape(name))
	}
	if subresource != "" {
		b.WriteString("/")
		b.WriteString(subresource)
	}
	return b.String()
}
