package volumezone

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.FilterPlugin = (*VolumeZone)(nil)

const (
	zoneGA     = v1.LabelTopologyZone
	regionGA   = v1.LabelTopologyRegion
	zoneBeta   = v1.LabelFailureDomainBetaZone
	regionBeta = v1.LabelFailureDomainBetaRegion
)

// podWith returns a pod in namespace "ns" with one volume per source.
func podWith(srcs ...v1.VolumeSource) *snapshot.PodInfo {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "p"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}}
	for i, s := range srcs {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: string(rune('a' + i)), VolumeSource: s})
	}
	return snapshot.NewPodInfo(p)
}

func claimVol(name string) v1.VolumeSource {
	return v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
}

var (
	emptyDir  = v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}
	ephemeral = v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}
)

// bound is a claim in "ns" bound to the PV called volume.
func bound(name, volume string) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: v1.PersistentVolumeClaimSpec{VolumeName: volume}}
}

// unbound is a claim in "ns" of class ("" for none).
func unbound(name, class string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

// volume is a PV with labels given as key, value pairs.
func volume(name string, kv ...string) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for i := 0; i < len(kv); i += 2 {
		pv.Labels[kv[i]] = kv[i+1]
	}
	return pv
}

func class(name string, mode *storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "example.com/csi", VolumeBindingMode: mode}
}

// node returns a node with labels given as key, value pairs.
func node(kv ...string) *snapshot.NodeInfo {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{}}}
	for i := 0; i < len(kv); i += 2 {
		n.Labels[kv[i]] = kv[i+1]
	}
	return snapshot.NewNodeInfo(n)
}

func TestPreFilter(t *testing.T) {
	wait, immediate := storagev1.VolumeBindingWaitForFirstConsumer, storagev1.VolumeBindingImmediate
	betaAnnotated := unbound("annotated", "")
	betaAnnotated.Annotations = map[string]string{v1.BetaStorageClassAnnotation: "wait"}
	objs := []any{
		bound("in-zone", "pv-a"), volume("pv-a", zoneGA, "a"),
		bound("unlabelled", "pv-plain"), volume("pv-plain", "other", "x"),
		bound("bad-label", "pv-bad"), volume("pv-bad", zoneGA, "a__"),
		bound("lost-volume", "pv-gone"),
		unbound("no-class", ""), betaAnnotated,
		unbound("wffc", "wait"), class("wait", &wait),
		unbound("immediate", "now"), class("now", &immediate),
		unbound("no-mode", "unset"), class("unset", nil),
		unbound("lost-class", "gone"),
	}
	tests := []struct {
		name        string
		pod         *snapshot.PodInfo
		want        snapshot.Verdict
		wantNoCheck bool
	}{
		{name: "no volumes", pod: podWith(), wantNoCheck: true},
		{name: "emptyDir and generic ephemeral volumes are not looked at", pod: podWith(emptyDir, ephemeral), wantNoCheck: true},
		{name: "bound to a zoned volume", pod: podWith(claimVol("in-zone"))},
		{name: "bound to a volume without zone labels", pod: podWith(claimVol("unlabelled")), wantNoCheck: true},
		{name: "a zone label listing an empty zone is ignored", pod: podWith(claimVol("bad-label")), wantNoCheck: true},
		{name: "unbound claim of a WaitForFirstConsumer class", pod: podWith(claimVol("wffc")), wantNoCheck: true},
		{name: "class from the beta annotation", pod: podWith(claimVol("annotated")), wantNoCheck: true},
		{name: "a skipped claim, then a zoned one", pod: podWith(claimVol("wffc"), claimVol("in-zone"))},
		{name: "claim without a name", pod: podWith(claimVol("")),
			want: snapshot.RejectUnresolvable("PersistentVolumeClaim had no name")},
		{name: "missing claim", pod: podWith(claimVol("nope")),
			want: snapshot.RejectUnresolvable(`persistentvolumeclaim "nope" not found`)},
		{name: "first failing claim in volume order", pod: podWith(claimVol("in-zone"), claimVol("nope"), claimVol("")),
			want: snapshot.RejectUnresolvable(`persistentvolumeclaim "nope" not found`)},
		{name: "bound to a missing volume", pod: podWith(claimVol("lost-volume")),
			want: snapshot.RejectUnresolvable(`persistentvolume "pv-gone" not found`)},
		{name: "unbound claim without a class", pod: podWith(claimVol("no-class")),
			want: snapshot.RejectUnresolvable("PersistentVolumeClaim had no pv name and storageClass name")},
		{name: "unbound claim of a missing class", pod: podWith(claimVol("lost-class")),
			want: snapshot.RejectUnresolvable(`storageclass.storage.k8s.io "gone" not found`)},
		{name: "unbound claim of a class without a binding mode", pod: podWith(claimVol("no-mode")),
			want: snapshot.RejectUnresolvable(`VolumeBindingMode not set for StorageClass "unset"`)},
		{name: "unbound claim of an Immediate class", pod: podWith(claimVol("immediate")),
			want: snapshot.RejectUnresolvable("PersistentVolume had no name")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot.New([]*snapshot.NodeInfo{node()}, nil)
			snap.Storage = snapshot.StorageOf(nil, objs...)
			f, v := New().PreFilter(tc.pod, snap)
			if !reflect.DeepEqual(v, tc.want) {
				t.Fatalf("PreFilter verdict = %+v, want %+v", v, tc.want)
			}
			if v.Fits() && (f == nil) != tc.wantNoCheck {
				t.Errorf("PreFilter filter nil = %v, want %v", f == nil, tc.wantNoCheck)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	conflict := snapshot.Verdict{Reasons: []string{"node(s) had no available volume zone"}, Unresolvable: true}
	tests := []struct {
		name    string
		volumes []*v1.PersistentVolume // each bound to a claim the pod uses
		node    *snapshot.NodeInfo
		want    snapshot.Verdict
	}{
		{name: "node without labels", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a")}, node: node()},
		{name: "node without topology labels", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a")},
			node: node("kubernetes.io/hostname", "n")},
		{name: "zone matches", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a")}, node: node(zoneGA, "a")},
		{name: "zone differs", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a")}, node: node(zoneGA, "b"), want: conflict},
		{name: "region matches", volumes: []*v1.PersistentVolume{volume("pv", regionGA, "r")}, node: node(regionGA, "r", zoneGA, "a")},
		{name: "region differs", volumes: []*v1.PersistentVolume{volume("pv", regionGA, "r")}, node: node(regionGA, "s"), want: conflict},
		{name: "beta zone matches", volumes: []*v1.PersistentVolume{volume("pv", zoneBeta, "a")}, node: node(zoneBeta, "a")},
		{name: "beta zone differs", volumes: []*v1.PersistentVolume{volume("pv", zoneBeta, "a")}, node: node(zoneBeta, "b"), want: conflict},
		{name: "beta region differs", volumes: []*v1.PersistentVolume{volume("pv", regionBeta, "r")}, node: node(regionBeta, "s"), want: conflict},
		{name: "volume zone and region, node zone only", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a", regionGA, "r")},
			node: node(zoneGA, "a"), want: conflict},
		{name: "volume zone and region, node both", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a", regionGA, "r")},
			node: node(zoneGA, "a", regionGA, "r")},
		{name: "volume beta zone, node GA zone", volumes: []*v1.PersistentVolume{volume("pv", zoneBeta, "a")}, node: node(zoneGA, "a")},
		{name: "volume beta zone, node GA zone differs", volumes: []*v1.PersistentVolume{volume("pv", zoneBeta, "a")},
			node: node(zoneGA, "b"), want: conflict},
		{name: "volume beta zone read from the node's beta label first", volumes: []*v1.PersistentVolume{volume("pv", zoneBeta, "a")},
			node: node(zoneBeta, "b", zoneGA, "a"), want: conflict},
		{name: "volume beta region, node GA region", volumes: []*v1.PersistentVolume{volume("pv", regionBeta, "r")}, node: node(regionGA, "r")},
		{name: "volume GA zone, node beta zone only", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a")},
			node: node(zoneBeta, "a"), want: conflict},
		{name: "multi-zone volume, node in one of them", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a__b__c")}, node: node(zoneGA, "b")},
		{name: "multi-zone volume, node in none", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a__b")}, node: node(zoneGA, "c"), want: conflict},
		{name: "multi-zone values are trimmed", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, " a __ b ")}, node: node(zoneGA, "b")},
		{name: "the whole multi-zone value is not a zone", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a__b")},
			node: node(zoneGA, "a__b"), want: conflict},
		{name: "an ignored empty-zone label does not count", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a__", regionGA, "r")},
			node: node(zoneGA, "z", regionGA, "r")},
		{name: "two volumes in the node's zone", volumes: []*v1.PersistentVolume{volume("pv1", zoneGA, "a"), volume("pv2", zoneGA, "a__b")},
			node: node(zoneGA, "a")},
		{name: "two volumes, one elsewhere", volumes: []*v1.PersistentVolume{volume("pv1", zoneGA, "a"), volume("pv2", zoneGA, "b")},
			node: node(zoneGA, "a"), want: conflict},
		{name: "no node object", volumes: []*v1.PersistentVolume{volume("pv", zoneGA, "a")}, node: &snapshot.NodeInfo{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []any
			var srcs []v1.VolumeSource
			for _, pv := range tc.volumes {
				objs = append(objs, pv, bound("claim-"+pv.Name, pv.Name))
				srcs = append(srcs, claimVol("claim-"+pv.Name))
			}
			snap := snapshot.New([]*snapshot.NodeInfo{node()}, nil)
			snap.Storage = snapshot.StorageOf(nil, objs...)
			f, v := New().PreFilter(podWith(srcs...), snap)
			if !v.Fits() || f == nil {
				t.Fatalf("PreFilter = %v, %+v; want a filter", f, v)
			}
			if got := f.Filter(tc.node); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v, want %+v", got, tc.want)
			}
		})
	}
}
