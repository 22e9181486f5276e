package kubeclient

import (
	"bytes"
	"io"
	"reflect"
	goruntime "runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	restclientwatch "k8s.io/client-go/rest/watch"
)

// protobufInfo returns the protobuf SerializerInfo of ns.
func protobufInfo(t testing.TB, ns runtime.NegotiatedSerializer) runtime.SerializerInfo {
	t.Helper()
	for _, info := range ns.SupportedMediaTypes() {
		if info.MediaType == runtime.ContentTypeProtobuf {
			return info
		}
	}
	t.Fatal("no protobuf serializer")
	return runtime.SerializerInfo{}
}

// codecs returns client-go's negotiated serializer as the clients use it, and the low-copy one.
func codecs(t testing.TB) (plain, low runtime.NegotiatedSerializer) {
	t.Helper()
	s, err := loadScheme()
	if err != nil {
		t.Fatal(err)
	}
	plain = s.codecs.WithoutConversion()
	return plain, lowCopy(plain, s.scheme)
}

func samplePod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "ns", UID: "u-1", ResourceVersion: "42", Labels: map[string]string{"app": "a", "tier": "t"},
			Annotations:   map[string]string{"note": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}}},
		},
		Spec: corev1.PodSpec{
			NodeName: "n1",
			Containers: []corev1.Container{{Name: "c", Image: "img", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("500Mi")},
			}}},
			Tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}},
	}
}

// frame encodes obj as the data of one protobuf watch event of type typ.
func frame(t testing.TB, ns runtime.NegotiatedSerializer, typ string, obj runtime.Object) []byte {
	t.Helper()
	info := protobufInfo(t, ns)
	var inner bytes.Buffer
	if err := info.Serializer.Encode(obj, &inner); err != nil {
		t.Fatal(err)
	}
	var ev bytes.Buffer
	if err := info.StreamSerializer.Serializer.Encode(&metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: inner.Bytes()}}, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Bytes()
}

// watchDecode decodes one framed watch event from data as client-go's watch decoder does with ns.
func watchDecode(t *testing.T, ns runtime.NegotiatedSerializer, data []byte) (string, runtime.Object, error) {
	t.Helper()
	info := protobufInfo(t, ns)
	var framed bytes.Buffer
	w := info.StreamSerializer.Framer.NewFrameWriter(&framed)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	r := info.StreamSerializer.Framer.NewFrameReader(io.NopCloser(&framed))
	d := restclientwatch.NewDecoder(streaming.NewDecoder(r, info.StreamSerializer.Serializer), runtime.WithoutVersionDecoder{Decoder: info.Serializer})
	typ, obj, err := d.Decode()
	return string(typ), obj, err
}

// TestLowCopyDecodesAsClientGo decodes watch events and objects through both decoders: the
// results must be equal, and must not change when the bytes they came from are overwritten
// (nothing of the object may alias the frame, which client-go reuses).
func TestLowCopyDecodesAsClientGo(t *testing.T) {
	plain, low := codecs(t)
	node := &corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}, ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"zone": "z"}, ManagedFields: managedFields(2, 100)},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}}}
	status := &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"}
	bookmark := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{ResourceVersion: "99",
		Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
	cases := []struct {
		name string
		typ  string
		obj  runtime.Object
	}{
		{"pod added", "ADDED", samplePod()},
		{"pod with large managedFields", "MODIFIED", podWithManagedFields(3, 2000)},
		{"pod without managedFields", "ADDED", podWithManagedFields(0, 0)},
		{"node modified", "MODIFIED", node},
		{"error status", "ERROR", status},
		{"bookmark", "BOOKMARK", bookmark},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := frame(t, plain, c.typ, c.obj)
			wantType, want, err := watchDecode(t, plain, data)
			if err != nil {
				t.Fatal(err)
			}
			gotType, got, err := watchDecode(t, low, data)
			if err != nil {
				t.Fatal(err)
			}
			if gotType != wantType || !reflect.DeepEqual(got, withoutManaged(want)) {
				t.Fatalf("low-copy decoded %s %#v\nclient-go %s %#v", gotType, got, wantType, want)
			}
			kept := got.DeepCopyObject()
			for i := range data {
				data[i] = 0xff
			}
			if !reflect.DeepEqual(got, kept) {
				t.Errorf("the decoded object changed with the bytes it was decoded from")
			}
		})
	}
}

// TestLowCopyObjectDecoder checks the enveloped-object decoder on its own, as lists and gets use
// it: typed targets, no target, a list, and what it hands to client-go's decoder.
func TestLowCopyObjectDecoder(t *testing.T) {
	plain, low := codecs(t)
	pi, li := protobufInfo(t, plain), protobufInfo(t, low)
	encode := func(obj runtime.Object) []byte {
		var b bytes.Buffer
		if err := pi.Serializer.Encode(obj, &b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}, ListMeta: metav1.ListMeta{ResourceVersion: "7"},
		Items: []corev1.Pod{*samplePod(), *samplePod()}}
	cases := []struct {
		name string
		data []byte
		into func() runtime.Object
	}{
		{"pod into nothing", encode(samplePod()), func() runtime.Object { return nil }},
		{"pod into a pod", encode(samplePod()), func() runtime.Object { return &corev1.Pod{} }},
		{"list into a list", encode(list), func() runtime.Object { return &corev1.PodList{} }},
		{"list into nothing", encode(list), func() runtime.Object { return nil }},
		{"node list", encode(&corev1.NodeList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NodeList"}, Items: []corev1.Node{
			{ObjectMeta: metav1.ObjectMeta{Name: "a", ManagedFields: managedFields(2, 300)}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}}}),
			func() runtime.Object { return &corev1.NodeList{} }},
		{"node", encode(&corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}, ObjectMeta: metav1.ObjectMeta{Name: "a", ManagedFields: managedFields(1, 50)}}),
			func() runtime.Object { return &corev1.Node{} }},
		{"status (no object metadata)", encode(&metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure, Code: 404}),
			func() runtime.Object { return nil }},
		{"into runtime.Unknown (passed on)", encode(samplePod()), func() runtime.Object { return &runtime.Unknown{} }},
		{"not protobuf (passed on)", []byte(`{"kind":"Pod"}`), func() runtime.Object { return nil }},
		{"truncated envelope (passed on)", encode(samplePod())[:20], func() runtime.Object { return nil }},
		{"prefix only (passed on)", protobufPrefix, func() runtime.Object { return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, wantGVK, wantErr := pi.Serializer.Decode(bytes.Clone(c.data), nil, c.into())
			got, gotGVK, gotErr := li.Serializer.Decode(bytes.Clone(c.data), nil, c.into())
			if (gotErr == nil) != (wantErr == nil) || (wantErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("error %v, client-go's %v", gotErr, wantErr)
			}
			if !reflect.DeepEqual(got, withoutManaged(want)) || !reflect.DeepEqual(gotGVK, wantGVK) {
				t.Errorf("decoded %#v (%v)\nclient-go %#v (%v)", got, gotGVK, want, wantGVK)
			}
		})
	}
}

// TestLowCopyTruncatedLists feeds every prefix of an enveloped pod list to the low-copy decoder:
// it must fail as client-go does, or decode as it does but for managedFields, never panic.
func TestLowCopyTruncatedLists(t *testing.T) {
	plain, low := codecs(t)
	pi, li := protobufInfo(t, plain), protobufInfo(t, low)
	var b bytes.Buffer
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}, Items: []corev1.Pod{*samplePod(), *podWithManagedFields(2, 20)}}
	if err := pi.Serializer.Encode(list, &b); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	for n := range len(data) {
		want, _, wantErr := pi.Serializer.Decode(bytes.Clone(data[:n]), nil, &corev1.PodList{})
		got, _, gotErr := li.Serializer.Decode(bytes.Clone(data[:n]), nil, &corev1.PodList{})
		if (gotErr == nil) != (wantErr == nil) || (wantErr != nil && gotErr.Error() != wantErr.Error()) ||
			(gotErr == nil && !reflect.DeepEqual(got, withoutManaged(want))) {
			t.Fatalf("%d of %d bytes: decoded %v (err %v), client-go %v (err %v)", n, len(data), got, gotErr, want, wantErr)
		}
	}
}

// TestLowCopyTruncatedFrames feeds every prefix of a pod's watch event to the low-copy decoder:
// it must fail or decode as client-go does, never panic.
func TestLowCopyTruncatedFrames(t *testing.T) {
	plain, low := codecs(t)
	data := frame(t, plain, "ADDED", samplePod())
	for n := range len(data) {
		_, want, wantErr := watchDecode(t, plain, bytes.Clone(data[:n]))
		_, got, gotErr := watchDecode(t, low, bytes.Clone(data[:n]))
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && !reflect.DeepEqual(got, withoutManaged(want))) {
			t.Fatalf("%d of %d bytes: decoded %v (err %v), client-go %v (err %v)", n, len(data), got, gotErr, want, wantErr)
		}
	}
}

// TestLowCopySkipsTheCopies checks that the low-copy path is the one taken: decoding a pod's
// watch event allocates two fewer times than client-go (the RawExtension and runtime.Unknown
// copies of the object's bytes) and fewer bytes by at least twice the object's size.
func TestLowCopySkipsTheCopies(t *testing.T) {
	plain, low := codecs(t)
	data := frame(t, plain, "ADDED", samplePod())
	measure := func(ns runtime.NegotiatedSerializer) (allocs float64, size uint64) {
		info := protobufInfo(t, ns)
		var framed bytes.Buffer
		w := info.StreamSerializer.Framer.NewFrameWriter(&framed)
		for range 101 {
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		r := info.StreamSerializer.Framer.NewFrameReader(io.NopCloser(&framed))
		d := restclientwatch.NewDecoder(streaming.NewDecoder(r, info.StreamSerializer.Serializer), runtime.WithoutVersionDecoder{Decoder: info.Serializer})
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		allocs = testing.AllocsPerRun(100, func() {
			if _, _, err := d.Decode(); err != nil {
				t.Fatal(err)
			}
		})
		goruntime.ReadMemStats(&after)
		return allocs, (after.TotalAlloc - before.TotalAlloc) / 101
	}
	plainAllocs, plainBytes := measure(plain)
	lowAllocs, lowBytes := measure(low)
	if lowAllocs > plainAllocs-2 || lowBytes+2*uint64(len(data))*9/10 > plainBytes {
		t.Errorf("per event: low-copy %.0f allocations, %d bytes; client-go %.0f, %d bytes (event of %d bytes)", lowAllocs, lowBytes, plainAllocs, plainBytes, len(data))
	}
}
