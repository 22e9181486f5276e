package kubeclient

import (
	"encoding/binary"
	"reflect"
	"strconv"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Nothing in berth reads metadata.managedFields, and the informers' transform drops them, but
// only after client-go has decoded them: at start-up, 50,000 pods' managedFields were 31 MB
// allocated to be dropped at once. So the low-copy decoder cuts them out of the protobuf bytes
// before it unmarshals an object (a watch event's, a list's items, a get's): it moves the rest
// of the message down over them, in place, and shortens the lengths of the messages that held
// them. The caller's bytes are overwritten then; they are the response's or the watch frame's,
// which nothing reads after decoding.
//
// Which field holds the ObjectMeta, and which the items of a list, is read once per Go type from
// its protobuf struct tags (a shape); a type without an ObjectMeta, such as a Status, has none
// and is decoded as it was.
//
// Bytes that do not parse where the cut would be made are left as they are, for the generated
// Unmarshal to reject as before. A managedFields entry is checked to be one client-go would
// decode (wire types of its known fields) before it is cut, so data client-go rejects is still
// rejected, with its error.

// managedFieldsField is metadata.managedFields' field number in ObjectMeta.
const managedFieldsField = 17

// shape tells where managedFields sit in a message: it drops field drop (0: none) and cuts them
// from field in's messages (of shape sub; in 0: none).
type shape struct {
	drop int
	in   int
	sub  *shape
}

// objectMetaShape is ObjectMeta's: its managedFields go.
var objectMetaShape = &shape{drop: managedFieldsField}

// shapes caches shapeOf's answers by reflect.Type.
var shapes sync.Map

// shapeOf returns the shape of obj's messages: an object with an ObjectMeta, a list of such
// objects, or nil for the others.
func shapeOf(obj any) *shape {
	t := reflect.TypeOf(obj)
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	var s *shape
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		s = structShape(t.Elem())
	}
	shapes.Store(t, s)
	return s
}

var objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()

// structShape reads the shape of struct type t from its fields' protobuf tags: a field of type
// ObjectMeta, or a field Items of a slice of structs with one.
func structShape(t reflect.Type) *shape {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == objectMetaType {
			if n := protobufField(f.Tag); n > 0 {
				return &shape{in: n, sub: objectMetaShape}
			}
		}
	}
	if f, ok := t.FieldByName("Items"); ok && f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
		if n := protobufField(f.Tag); n > 0 {
			if item := structShape(f.Type.Elem()); item != nil {
				return &shape{in: n, sub: item}
			}
		}
	}
	return nil
}

// protobufField returns the field number of a length-delimited field's protobuf struct tag
// ("bytes,1,opt,name=metadata"), or 0.
func protobufField(tag reflect.StructTag) int {
	parts := strings.Split(tag.Get("protobuf"), ",")
	if len(parts) < 2 || parts[0] != "bytes" {
		return 0
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// withoutManagedFields cuts the managedFields out of b, a message of shape s, in place, and
// returns what is left of b. It returns b as it is when there are none, when s is nil, or when
// the parts of b it reads do not parse.
func withoutManagedFields(b []byte, s *shape) []byte {
	if s == nil {
		return b
	}
	cut, ok := s.saving(b)
	if !ok || cut == 0 {
		return b
	}
	return b[:s.excise(b, b)]
}

// saving returns how many bytes cutting the managedFields out of b, a message of shape s, saves;
// false when b does not parse down to them or an entry is not one client-go would decode.
func (s *shape) saving(b []byte) (int, bool) {
	saved := 0
	for len(b) > 0 {
		f, ok := nextField(b)
		if !ok {
			return 0, false
		}
		switch {
		case f.wire != wireBytes:
		case f.num == s.drop:
			if !managedFieldsEntryOK(f.value) {
				return 0, false
			}
			saved += f.size
		case f.num == s.in:
			in, ok := s.sub.saving(f.value)
			if !ok {
				return 0, false
			}
			saved += in + uvarintLen(len(f.value)) - uvarintLen(len(f.value)-in)
		}
		b = b[f.size:]
	}
	return saved, true
}

// excise writes src, a message of shape s that saving has accepted, without its managedFields to
// dst, and returns the bytes written. dst and src may overlap if dst starts at or before src:
// each write then lands at or before the bytes it was read from, which are read only once.
func (s *shape) excise(dst, src []byte) int {
	n := 0
	for len(src) > 0 {
		f, _ := nextField(src)
		switch {
		case f.wire == wireBytes && f.num == s.drop:
		case f.wire == wireBytes && f.num == s.in:
			in, _ := s.sub.saving(f.value)
			if in == 0 {
				n += copy(dst[n:], src[:f.size])
				break
			}
			n += copy(dst[n:], src[:f.key])
			n += binary.PutUvarint(dst[n:], uint64(len(f.value)-in))
			n += s.sub.excise(dst[n:], f.value)
		default:
			n += copy(dst[n:], src[:f.size])
		}
		src = src[f.size:]
	}
	return n
}

// managedFieldsEntryOK tells whether client-go's Unmarshal would accept b as a
// ManagedFieldsEntry: its fields parse, the known ones (1 to 8 but 5) are length-delimited, its time
// (4) holds varint seconds (1) and nanos (2), and its fieldsV1 (7) a length-delimited raw (1).
func managedFieldsEntryOK(b []byte) bool {
	return fieldsOK(b, func(f field) bool {
		if f.num == 5 || f.num > 8 { // 5: reserved, skipped like an unknown field
			return true
		}
		if f.wire != wireBytes {
			return false
		}
		switch f.num {
		case 4:
			return fieldsOK(f.value, func(f field) bool { return f.num > 2 || f.wire == 0 })
		case 7:
			return fieldsOK(f.value, func(f field) bool { return f.num > 1 || f.wire == wireBytes })
		}
		return true
	})
}

// fieldsOK tells whether every field of b parses and passes ok.
func fieldsOK(b []byte, ok func(field) bool) bool {
	for len(b) > 0 {
		f, parsed := nextField(b)
		if !parsed || !ok(f) {
			return false
		}
		b = b[f.size:]
	}
	return true
}

// uvarintLen is the size of v as a protobuf varint.
func uvarintLen(v int) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}
