package kubeclient

import (
	"bytes"
	"encoding/binary"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// lowCopy wraps the clients' negotiated serializer so that protobuf watch events and enveloped
// objects are decoded without copying each object's bytes twice. client-go's protobuf decoders
// copy a watch event's object into a RawExtension, then copy that into a runtime.Unknown, and only
// then unmarshal the object; at start-up, when the informers receive every pod of the cluster,
// those copies were a sixth of berth's CPU and a third of what it allocated (50,000 pods: 133 of
// 441 MB). Here both steps slice the frame instead. That is safe because client-go decodes the
// event's object before it reads the next frame into the same buffer, and because generated
// Unmarshal methods copy what they keep (strings and byte slices alike).
//
// The objects come without their metadata.managedFields: see withoutManagedFields.
//
// Anything unusual (another media type, a content encoding, an unregistered or untyped target,
// data that does not parse) goes to client-go's own decoder, so its results and errors are
// unchanged.
func lowCopy(ns runtime.NegotiatedSerializer, scheme *runtime.Scheme) runtime.NegotiatedSerializer {
	infos := ns.SupportedMediaTypes()
	out := make([]runtime.SerializerInfo, len(infos))
	for i, info := range infos {
		out[i] = info
		if info.MediaType != runtime.ContentTypeProtobuf || info.Serializer == nil {
			continue
		}
		out[i].Serializer = envelopeDecoder{Serializer: info.Serializer, typer: scheme, creater: scheme}
		if info.StreamSerializer != nil {
			stream := *info.StreamSerializer
			stream.Serializer = watchEventDecoder{Serializer: stream.Serializer}
			out[i].StreamSerializer = &stream
		}
	}
	return lowCopySerializer{NegotiatedSerializer: ns, infos: out}
}

type lowCopySerializer struct {
	runtime.NegotiatedSerializer
	infos []runtime.SerializerInfo
}

func (s lowCopySerializer) SupportedMediaTypes() []runtime.SerializerInfo { return s.infos }

// protobufPrefix starts every enveloped protobuf object ("k8s" and a zero byte).
var protobufPrefix = []byte{0x6b, 0x38, 0x73, 0x00}

// envelopeDecoder decodes an enveloped protobuf object (prefix, runtime.Unknown holding the
// object's type and bytes) straight from the envelope's bytes.
type envelopeDecoder struct {
	runtime.Serializer // client-go's: encodes, and decodes what Decode passes on
	typer              runtime.ObjectTyper
	creater            runtime.ObjectCreater
}

func (d envelopeDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if _, unknown := into.(*runtime.Unknown); unknown || !bytes.HasPrefix(data, protobufPrefix) {
		return d.Serializer.Decode(data, defaults, into)
	}
	env, ok := parseEnvelope(data[len(protobufPrefix):])
	if !ok || env.contentEncoding || env.contentType || len(env.raw) == 0 {
		return d.Serializer.Decode(data, defaults, into)
	}
	actual := schema.FromAPIVersionAndKind(env.apiVersion, env.kind)
	withDefaults(&actual, defaults)
	if into != nil {
		kinds, _, err := d.typer.ObjectKinds(into)
		if err != nil {
			return d.Serializer.Decode(data, defaults, into)
		}
		withDefaults(&actual, &kinds[0])
		if actual.Version == "" && actual.Group == "" {
			actual.Group = kinds[0].Group
		}
	}
	if actual.Kind == "" || actual.Version == "" {
		return d.Serializer.Decode(data, defaults, into) // its error names what is missing
	}
	obj, err := runtime.UseOrCreateObject(d.typer, d.creater, actual, into)
	if err != nil {
		return nil, &actual, err
	}
	u, ok := obj.(unmarshaler)
	if !ok {
		return d.Serializer.Decode(data, defaults, into)
	}
	u.Reset()
	if err := u.Unmarshal(withoutManagedFields(env.raw, shapeOf(obj))); err != nil {
		return nil, &actual, err
	}
	obj.GetObjectKind().SetGroupVersionKind(actual)
	return obj, &actual, nil
}

type unmarshaler interface {
	Reset()
	Unmarshal([]byte) error
}

// withDefaults fills what gvk lacks from defaults, as client-go's protobuf decoder does: the kind,
// and group and version together when gvk has no version.
func withDefaults(gvk, defaults *schema.GroupVersionKind) {
	if defaults == nil {
		return
	}
	if gvk.Kind == "" {
		gvk.Kind = defaults.Kind
	}
	if gvk.Version == "" && defaults.Version != "" {
		gvk.Group, gvk.Version = defaults.Group, defaults.Version
	}
}

// envelope is a runtime.Unknown read in place: raw slices the data it was read from.
type envelope struct {
	apiVersion, kind             string
	raw                          []byte
	contentEncoding, contentType bool // set and not empty
}

// parseEnvelope reads a runtime.Unknown message: typeMeta (1: apiVersion 1, kind 2), raw (2),
// contentEncoding (3), contentType (4). Unknown fields are skipped; false means malformed.
func parseEnvelope(b []byte) (envelope, bool) {
	var e envelope
	ok := eachField(b, func(field int, v []byte) bool {
		switch field {
		case 1:
			return eachField(v, func(field int, v []byte) bool {
				switch field {
				case 1:
					e.apiVersion = string(v)
				case 2:
					e.kind = string(v)
				}
				return true
			})
		case 2:
			e.raw = v
		case 3:
			e.contentEncoding = len(v) > 0
		case 4:
			e.contentType = len(v) > 0
		}
		return true
	})
	return e, ok
}

// watchEventDecoder decodes a protobuf metav1.WatchEvent (type 1, object 2: a RawExtension whose
// raw 1 holds the enveloped object) leaving the object's bytes in the frame.
type watchEventDecoder struct {
	runtime.Serializer // client-go's
}

func (d watchEventDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	ev, ok := into.(*metav1.WatchEvent)
	if !ok || len(data) == 0 {
		return d.Serializer.Decode(data, defaults, into)
	}
	var typ string
	var raw []byte
	parsed := eachField(data, func(field int, v []byte) bool {
		switch field {
		case 1:
			typ = string(v)
		case 2:
			return eachField(v, func(field int, v []byte) bool {
				if field == 1 {
					raw = v
				}
				return true
			})
		}
		return true
	})
	if !parsed {
		return d.Serializer.Decode(data, defaults, into)
	}
	*ev = metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: raw}}
	gvk := schema.GroupVersionKind{}
	withDefaults(&gvk, defaults)
	return ev, &gvk, nil
}

// eachField calls fn with each length-delimited field of the protobuf message b (field number
// and bytes, sliced from b), skipping fields of the other wire types. It stops when fn returns
// false, and returns false then or when b is malformed.
func eachField(b []byte, fn func(field int, v []byte) bool) bool {
	for len(b) > 0 {
		f, ok := nextField(b)
		if !ok {
			return false
		}
		if f.wire == wireBytes && !fn(f.num, f.value) {
			return false
		}
		b = b[f.size:]
	}
	return true
}

// wireBytes is protobuf's length-delimited wire type (strings, bytes, messages).
const wireBytes = 2

// field is one field of a protobuf message, sliced from the message's bytes.
type field struct {
	num   int
	wire  uint64
	key   int    // bytes of the key
	value []byte // a length-delimited field's content; the raw value of the others
	size  int    // bytes of the whole field: key, length, value
}

// nextField reads the field that starts b; false means b does not start with a well-formed
// field (a truncated or overlong value, field number 0, a group: none is in Kubernetes' messages).
func nextField(b []byte) (field, bool) {
	key, k := binary.Uvarint(b)
	if k <= 0 || key>>3 == 0 || key>>3 > 1<<29-1 {
		return field{}, false
	}
	f := field{num: int(key >> 3), wire: key & 7, key: k}
	rest := b[k:]
	switch f.wire {
	case 0: // varint
		_, n := binary.Uvarint(rest)
		if n <= 0 {
			return field{}, false
		}
		f.value = rest[:n:n]
	case 1: // 64-bit
		if len(rest) < 8 {
			return field{}, false
		}
		f.value = rest[:8:8]
	case 5: // 32-bit
		if len(rest) < 4 {
			return field{}, false
		}
		f.value = rest[:4:4]
	case wireBytes:
		size, n := binary.Uvarint(rest)
		if n <= 0 || size > uint64(len(rest)-n) {
			return field{}, false
		}
		f.value = rest[n : n+int(size) : n+int(size)]
		f.size = k + n + int(size)
		return f, true
	default:
		return field{}, false
	}
	f.size = k + len(f.value)
	return f, true
}
