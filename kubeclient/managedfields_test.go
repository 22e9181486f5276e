package kubeclient

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	restclientwatch "k8s.io/client-go/rest/watch"
)

// withoutManaged returns obj (a list's items too) with managedFields cleared: what the low-copy
// decoder is to return where client-go returns obj.
func withoutManaged(obj runtime.Object) runtime.Object {
	if obj == nil {
		return nil
	}
	obj = obj.DeepCopyObject()
	clear := func(o runtime.Object) error {
		if m, err := meta.Accessor(o); err == nil {
			m.SetManagedFields(nil)
		}
		return nil
	}
	if meta.IsListType(obj) {
		_ = meta.EachListItem(obj, clear)
	} else {
		_ = clear(obj)
	}
	return obj
}

// managedFields returns n entries whose fieldsV1 hold size bytes each.
func managedFields(n, size int) []metav1.ManagedFieldsEntry {
	var out []metav1.ManagedFieldsEntry
	for i := range n {
		at := metav1.NewTime(time.Unix(1700000000+int64(i), 0))
		out = append(out, metav1.ManagedFieldsEntry{
			Manager: fmt.Sprintf("manager-%d", i), Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &at,
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:x":"` + strings.Repeat("y", size) + `"}`)}, Subresource: "status",
		})
	}
	return out
}

// podWithManagedFields is samplePod with n managedFields entries of size bytes.
func podWithManagedFields(n, size int) *corev1.Pod {
	p := samplePod()
	p.ManagedFields = managedFields(n, size)
	return p
}

// protoField appends field num (length-delimited, holding v) to b.
func protoField(b []byte, num int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3|wireBytes)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// protoVarint appends field num (a varint v) to b.
func protoVarint(b []byte, num int, v uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(b, uint64(num)<<3), v)
}

// envelopedPod returns an enveloped pod whose metadata ends with extra (raw ObjectMeta fields).
func envelopedPod(t *testing.T, extra []byte) []byte {
	t.Helper()
	pod := samplePod()
	pod.ManagedFields = nil
	metaBytes, err := pod.ObjectMeta.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	raw = protoField(raw, 1, append(metaBytes, extra...))
	spec, err := pod.Spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	raw = protoField(raw, 2, spec)
	env, err := (&runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: "v1", Kind: "Pod"}, Raw: raw}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(protobufPrefix), env...)
}

// TestLowCopyManagedFieldsCorrupt decodes pods whose managedFields are well framed inside their
// metadata but odd inside: the low-copy decoder must fail with client-go's error wherever
// client-go fails, and otherwise decode as client-go does but for managedFields.
func TestLowCopyManagedFieldsCorrupt(t *testing.T) {
	plain, low := codecs(t)
	pi, li := protobufInfo(t, plain), protobufInfo(t, low)
	entry := func(fields ...[]byte) []byte { return protoField(nil, managedFieldsField, bytes.Join(fields, nil)) }
	cases := []struct {
		name  string
		extra []byte
	}{
		{"good entry", entry(protoField(nil, 1, []byte("m")), protoField(nil, 4, protoVarint(nil, 1, 5)), protoField(nil, 7, protoField(nil, 1, []byte("{}"))))},
		{"entry with an unknown field", entry(protoVarint(nil, 9, 1), protoVarint(nil, 5, 1))},
		{"empty entry", entry()},
		{"manager as a varint", entry(protoVarint(nil, 1, 7))},
		{"time seconds as bytes", entry(protoField(nil, 4, protoField(nil, 1, []byte("x"))))},
		{"time as a varint", entry(protoVarint(nil, 4, 1))},
		{"fieldsV1 raw as a varint", entry(protoField(nil, 7, protoVarint(nil, 1, 1)))},
		{"entry cut short inside", protoField(nil, managedFieldsField, []byte{0x0a, 0x05, 'a'})},
		{"entry with a group", protoField(nil, managedFieldsField, []byte{0x0b})},
		{"managedFields as a varint", protoVarint(nil, managedFieldsField, 3)},
		{"good entry, then a bad one", append(entry(protoField(nil, 2, []byte("Update"))), entry(protoVarint(nil, 3, 1))...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := envelopedPod(t, c.extra)
			want, _, wantErr := pi.Serializer.Decode(bytes.Clone(data), nil, &corev1.Pod{})
			got, _, gotErr := li.Serializer.Decode(bytes.Clone(data), nil, &corev1.Pod{})
			if (gotErr == nil) != (wantErr == nil) || (wantErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("error %v, client-go's %v", gotErr, wantErr)
			}
			if wantErr == nil && !reflect.DeepEqual(got, withoutManaged(want)) {
				t.Errorf("decoded %#v\nclient-go %#v", got, want)
			}
		})
	}
}

// TestShapeOf checks where the shapes read from struct tags say managedFields are.
func TestShapeOf(t *testing.T) {
	if f, ok := reflect.TypeFor[metav1.ObjectMeta]().FieldByName("ManagedFields"); !ok || protobufField(f.Tag) != managedFieldsField {
		t.Fatalf("ObjectMeta.ManagedFields is not protobuf field %d: %v", managedFieldsField, f.Tag)
	}
	object := &shape{in: 1, sub: objectMetaShape}
	cases := []struct {
		name string
		obj  any
		want *shape
	}{
		{"pod", &corev1.Pod{}, object},
		{"node", &corev1.Node{}, object},
		{"replica set", &appsv1.ReplicaSet{}, object},
		{"pod list", &corev1.PodList{}, &shape{in: 2, sub: object}},
		{"partial object metadata", &metav1.PartialObjectMetadata{}, object},
		{"generic list (raw items)", &metav1.List{}, nil},
		{"status", &metav1.Status{}, nil},
		{"watch event", &metav1.WatchEvent{}, nil},
		{"not a pointer", corev1.Pod{}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := shapeOf(c.obj); !reflect.DeepEqual(got, c.want) {
				t.Errorf("shape %+v, want %+v", got, c.want)
			}
		})
	}
}

// allocatedPerEvent decodes n watch events of data through ns and returns the bytes allocated
// per event.
func allocatedPerEvent(t testing.TB, ns runtime.NegotiatedSerializer, data []byte, n int) uint64 {
	info := protobufInfo(t, ns)
	var framed bytes.Buffer
	w := info.StreamSerializer.Framer.NewFrameWriter(&framed)
	for range n {
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	r := info.StreamSerializer.Framer.NewFrameReader(io.NopCloser(&framed))
	d := restclientwatch.NewDecoder(streaming.NewDecoder(r, info.StreamSerializer.Serializer), runtime.WithoutVersionDecoder{Decoder: info.Serializer})
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	for range n {
		if _, _, err := d.Decode(); err != nil {
			t.Fatal(err)
		}
	}
	goruntime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(n)
}

// TestLowCopySkipsManagedFields checks that managedFields are cut before decoding, not cleared
// after: a pod event whose managedFields hold 8 KB allocates at least that much less than
// client-go's decode, on top of the copies TestLowCopySkipsTheCopies counts.
func TestLowCopySkipsManagedFields(t *testing.T) {
	plain, low := codecs(t)
	const size = 8 << 10
	withMF := frame(t, plain, "ADDED", podWithManagedFields(2, size/2))
	without := frame(t, plain, "ADDED", podWithManagedFields(0, 0))
	lowWith, lowWithout := allocatedPerEvent(t, low, withMF, 100), allocatedPerEvent(t, low, without, 100)
	plainWith := allocatedPerEvent(t, plain, withMF, 100)
	if lowWith > lowWithout+size/4 || lowWith+size > plainWith {
		t.Errorf("per event: low-copy %d bytes with %d bytes of managedFields, %d without; client-go %d with", lowWith, size, lowWithout, plainWith)
	}
}

// BenchmarkDecodePodEvent decodes a pod's watch event (a pod as a controller and the kubelet
// leave it: two managedFields entries) through client-go's decoder and berth's.
func BenchmarkDecodePodEvent(b *testing.B) {
	plain, low := codecs(b)
	data := frame(b, plain, "ADDED", podWithManagedFields(2, 600))
	for _, c := range []struct {
		name string
		ns   runtime.NegotiatedSerializer
	}{{"client-go", plain}, {"berth", low}} {
		b.Run(c.name, func(b *testing.B) {
			info := protobufInfo(b, c.ns)
			var framed bytes.Buffer
			w := info.StreamSerializer.Framer.NewFrameWriter(&framed)
			for range b.N {
				if _, err := w.Write(data); err != nil {
					b.Fatal(err)
				}
			}
			r := info.StreamSerializer.Framer.NewFrameReader(io.NopCloser(&framed))
			d := restclientwatch.NewDecoder(streaming.NewDecoder(r, info.StreamSerializer.Serializer), runtime.WithoutVersionDecoder{Decoder: info.Serializer})
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, _, err := d.Decode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodePodList decodes a list of 1000 such pods (as a list's answer) through client-go's
// decoder and berth's; the figures are per list.
func BenchmarkDecodePodList(b *testing.B) {
	plain, low := codecs(b)
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
	for i := range 1000 {
		p := podWithManagedFields(2, 600)
		p.Name = fmt.Sprintf("p-%d", i)
		list.Items = append(list.Items, *p)
	}
	var enc bytes.Buffer
	if err := protobufInfo(b, plain).Serializer.Encode(list, &enc); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ns   runtime.NegotiatedSerializer
	}{{"client-go", plain}, {"berth", low}} {
		b.Run(c.name, func(b *testing.B) {
			dec := protobufInfo(b, c.ns).Serializer
			data := make([]byte, enc.Len())
			b.SetBytes(int64(enc.Len()))
			b.ReportAllocs()
			for b.Loop() {
				copy(data, enc.Bytes()) // the decoder may overwrite what it decodes
				if _, _, err := dec.Decode(data, nil, &corev1.PodList{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
