package volumerestrictions

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.FilterPlugin = (*VolumeRestrictions)(nil)

var (
	diskTaken = snapshot.Verdict{Reasons: []string{"node(s) had no available disk"}}
	rwopTaken = snapshot.Verdict{Reasons: []string{
		"node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another pod"}}
)

// podIn returns a pod called name in namespace ns, on node (may be ""), with one volume per source.
func podIn(ns, name, node string, srcs ...v1.VolumeSource) *snapshot.PodInfo {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(ns + "/" + name)},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c"}}}}
	for i, s := range srcs {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: string(rune('a' + i)), VolumeSource: s})
	}
	return snapshot.NewPodInfo(p)
}

func pod(name string, srcs ...v1.VolumeSource) *snapshot.PodInfo {
	return podIn("ns", name, "", srcs...)
}

func gcePD(name string, ro bool) v1.VolumeSource {
	return v1.VolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: name, ReadOnly: ro}}
}

func ebs(id string, ro bool) v1.VolumeSource {
	return v1.VolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: id, ReadOnly: ro}}
}

func iscsi(iqn string, ro bool) v1.VolumeSource {
	return v1.VolumeSource{ISCSI: &v1.ISCSIVolumeSource{TargetPortal: "10.0.0.1:3260", IQN: iqn, ReadOnly: ro}}
}

func rbd(monitors []string, pool, image string, ro bool) v1.VolumeSource {
	return v1.VolumeSource{RBD: &v1.RBDVolumeSource{CephMonitors: monitors, RBDPool: pool, RBDImage: image, ReadOnly: ro}}
}

func claimVol(name string) v1.VolumeSource {
	return v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
}

var (
	emptyDir  = v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}
	ephemeral = v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}
)

// claim is a claim in namespace "ns" with the given access modes.
func claim(name string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: modes}}
}

func nodeWith(name string, pods ...*snapshot.PodInfo) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, pods...)
}

// snapOf returns a snapshot of nodes whose storage holds objs and counts the pods on the nodes
// as claim users.
func snapOf(nodes []*snapshot.NodeInfo, objs ...any) *snapshot.Snapshot {
	var placed []*v1.Pod
	for _, n := range nodes {
		for _, p := range n.Pods {
			placed = append(placed, p.Pod)
		}
	}
	snap := snapshot.New(nodes, nil)
	snap.Storage = snapshot.StorageOf(placed, objs...)
	return snap
}

func TestDiskConflicts(t *testing.T) {
	monA, monB, monAB := []string{"a"}, []string{"b"}, []string{"b", "a"}
	tests := []struct {
		name        string
		pod         *snapshot.PodInfo
		onNode      []*snapshot.PodInfo
		want        snapshot.Verdict
		wantNoCheck bool
	}{
		{name: "no volumes", pod: pod("p"), onNode: []*snapshot.PodInfo{pod("e", gcePD("d", false))}, wantNoCheck: true},
		{name: "volumes without restrictions", pod: pod("p", emptyDir, ephemeral),
			onNode: []*snapshot.PodInfo{pod("e", emptyDir)}, wantNoCheck: true},
		{name: "empty node", pod: pod("p", gcePD("d", false))},
		{name: "GCE PD in use", pod: pod("p", gcePD("d", false)), onNode: []*snapshot.PodInfo{pod("e", gcePD("d", false))}, want: diskTaken},
		{name: "GCE PD in use read-only, wanted read-write", pod: pod("p", gcePD("d", false)),
			onNode: []*snapshot.PodInfo{pod("e", gcePD("d", true))}, want: diskTaken},
		{name: "GCE PD in use read-write, wanted read-only", pod: pod("p", gcePD("d", true)),
			onNode: []*snapshot.PodInfo{pod("e", gcePD("d", false))}, want: diskTaken},
		{name: "GCE PD read-only on both sides", pod: pod("p", gcePD("d", true)), onNode: []*snapshot.PodInfo{pod("e", gcePD("d", true))}},
		{name: "another GCE PD", pod: pod("p", gcePD("d", false)), onNode: []*snapshot.PodInfo{pod("e", gcePD("other", false))}},
		{name: "EBS volume in use", pod: pod("p", ebs("vol-1", false)), onNode: []*snapshot.PodInfo{pod("e", ebs("vol-1", false))}, want: diskTaken},
		{name: "EBS volume read-only on both sides still conflicts", pod: pod("p", ebs("vol-1", true)),
			onNode: []*snapshot.PodInfo{pod("e", ebs("vol-1", true))}, want: diskTaken},
		{name: "another EBS volume", pod: pod("p", ebs("vol-1", false)), onNode: []*snapshot.PodInfo{pod("e", ebs("vol-2", false))}},
		{name: "iSCSI target in use", pod: pod("p", iscsi("iqn.a", false)), onNode: []*snapshot.PodInfo{pod("e", iscsi("iqn.a", true))}, want: diskTaken},
		{name: "iSCSI target read-only on both sides", pod: pod("p", iscsi("iqn.a", true)), onNode: []*snapshot.PodInfo{pod("e", iscsi("iqn.a", true))}},
		{name: "another iSCSI target", pod: pod("p", iscsi("iqn.a", false)), onNode: []*snapshot.PodInfo{pod("e", iscsi("iqn.b", false))}},
		{name: "RBD image in use, a monitor in common", pod: pod("p", rbd(monA, "rbd", "img", false)),
			onNode: []*snapshot.PodInfo{pod("e", rbd(monAB, "rbd", "img", false))}, want: diskTaken},
		{name: "RBD image read-only on both sides", pod: pod("p", rbd(monA, "rbd", "img", true)),
			onNode: []*snapshot.PodInfo{pod("e", rbd(monAB, "rbd", "img", true))}},
		{name: "RBD image with no monitor in common", pod: pod("p", rbd(monA, "rbd", "img", false)),
			onNode: []*snapshot.PodInfo{pod("e", rbd(monB, "rbd", "img", false))}},
		{name: "RBD image of another pool", pod: pod("p", rbd(monA, "rbd", "img", false)),
			onNode: []*snapshot.PodInfo{pod("e", rbd(monA, "other", "img", false))}},
		{name: "another RBD image", pod: pod("p", rbd(monA, "rbd", "img", false)),
			onNode: []*snapshot.PodInfo{pod("e", rbd(monA, "rbd", "other", false))}},
		{name: "same name, different kinds of disk", pod: pod("p", gcePD("x", false)),
			onNode: []*snapshot.PodInfo{pod("e", ebs("x", false), iscsi("x", false))}},
		{name: "pods of other namespaces hold disks too", pod: pod("p", ebs("vol-1", false)),
			onNode: []*snapshot.PodInfo{podIn("other", "e", "n", ebs("vol-1", false))}, want: diskTaken},
		{name: "the second disk of the pod, held by the second pod", pod: pod("p", emptyDir, gcePD("d1", false), ebs("vol-1", false)),
			onNode: []*snapshot.PodInfo{pod("e1", gcePD("d2", false)), pod("e2", emptyDir, ebs("vol-1", false))}, want: diskTaken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := nodeWith("n", tc.onNode...)
			f, v := New().PreFilter(tc.pod, snapOf([]*snapshot.NodeInfo{n}))
			if !v.Fits() {
				t.Fatalf("PreFilter rejected the pod: %+v", v)
			}
			if (f == nil) != tc.wantNoCheck {
				t.Fatalf("PreFilter filter nil = %v, want %v", f == nil, tc.wantNoCheck)
			}
			if f == nil {
				return
			}
			if got := f.Filter(n); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestClaims(t *testing.T) {
	objs := []any{
		claim("single", v1.ReadWriteOncePod), claim("single-2", v1.ReadWriteOnce, v1.ReadWriteOncePod),
		claim("shared", v1.ReadWriteMany), claim("once", v1.ReadWriteOnce),
	}
	tests := []struct {
		name        string
		pod         *snapshot.PodInfo
		placed      []*snapshot.PodInfo // on node "other"
		wantPre     snapshot.Verdict
		wantNoCheck bool
		want        snapshot.Verdict // on node "n", empty
	}{
		{name: "missing claim", pod: pod("p", claimVol("nope")),
			wantPre: snapshot.RejectUnresolvable(`persistentvolumeclaim "nope" not found`)},
		{name: "missing claim after a found one", pod: pod("p", claimVol("shared"), claimVol("nope")),
			wantPre: snapshot.RejectUnresolvable(`persistentvolumeclaim "nope" not found`)},
		{name: "missing claim with an inline disk", pod: pod("p", gcePD("d", false), claimVol("nope")),
			wantPre: snapshot.RejectUnresolvable(`persistentvolumeclaim "nope" not found`)},
		{name: "claim of another namespace", pod: podIn("elsewhere", "p", "", claimVol("single")),
			wantPre: snapshot.RejectUnresolvable(`persistentvolumeclaim "single" not found`)},
		{name: "generic ephemeral volumes are not looked up", pod: pod("p", ephemeral), wantNoCheck: true},
		{name: "ReadWriteOncePod claim nobody uses", pod: pod("p", claimVol("single")), wantNoCheck: true},
		{name: "ReadWriteOncePod claim in use", pod: pod("p", claimVol("single")),
			placed: []*snapshot.PodInfo{pod("holder", claimVol("single"))}, want: rwopTaken},
		{name: "ReadWriteOncePod among other modes, in use", pod: pod("p", claimVol("single-2")),
			placed: []*snapshot.PodInfo{pod("holder", claimVol("single-2"))}, want: rwopTaken},
		{name: "two ReadWriteOncePod claims, both in use", pod: pod("p", claimVol("single"), claimVol("single-2")),
			placed: []*snapshot.PodInfo{pod("holder", claimVol("single"), claimVol("single-2"))}, want: rwopTaken},
		{name: "ReadWriteMany claim in use", pod: pod("p", claimVol("shared")),
			placed: []*snapshot.PodInfo{pod("holder", claimVol("shared"))}, wantNoCheck: true},
		{name: "ReadWriteOnce claim in use", pod: pod("p", claimVol("once")),
			placed: []*snapshot.PodInfo{pod("holder", claimVol("once"))}, wantNoCheck: true},
		{name: "same claim name in another namespace", pod: pod("p", claimVol("single")),
			placed: []*snapshot.PodInfo{podIn("other", "holder", "other", claimVol("single"))}, wantNoCheck: true},
		{name: "inline disk and an unused ReadWriteOncePod claim", pod: pod("p", gcePD("d", false), claimVol("single"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := nodeWith("n")
			snap := snapOf([]*snapshot.NodeInfo{n, nodeWith("other", tc.placed...)}, objs...)
			f, v := New().PreFilter(tc.pod, snap)
			if !reflect.DeepEqual(v, tc.wantPre) {
				t.Fatalf("PreFilter verdict = %+v, want %+v", v, tc.wantPre)
			}
			if !v.Fits() {
				return
			}
			if (f == nil) != tc.wantNoCheck {
				t.Fatalf("PreFilter filter nil = %v, want %v", f == nil, tc.wantNoCheck)
			}
			if f == nil {
				return
			}
			if got := f.Filter(n); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The disk is checked before the claims: a node holding the disk gives the disk's reason.
func TestDiskBeforeClaim(t *testing.T) {
	n := nodeWith("n", pod("disk-holder", ebs("vol-1", false)))
	snap := snapOf([]*snapshot.NodeInfo{n, nodeWith("other", pod("claim-holder", claimVol("single")))},
		claim("single", v1.ReadWriteOncePod))
	f, _ := New().PreFilter(pod("p", ebs("vol-1", false), claimVol("single")), snap)
	if got := f.Filter(n); !reflect.DeepEqual(got, diskTaken) {
		t.Errorf("Filter = %+v, want %+v", got, diskTaken)
	}
	if got := f.Filter(snap.Nodes[1]); !reflect.DeepEqual(got, rwopTaken) {
		t.Errorf("Filter on the node without the disk = %+v, want %+v", got, rwopTaken)
	}
}

func TestPodChanger(t *testing.T) {
	type op struct {
		remove bool
		pod    *snapshot.PodInfo
	}
	holder := pod("holder", claimVol("single"))
	tests := []struct {
		name   string
		placed []*snapshot.PodInfo // on node "other"
		ops    []op
		want   snapshot.Verdict
	}{
		{name: "nothing changed", placed: []*snapshot.PodInfo{holder}, want: rwopTaken},
		{name: "the holder removed", placed: []*snapshot.PodInfo{holder}, ops: []op{{remove: true, pod: holder}}},
		{name: "the holder removed and added back", placed: []*snapshot.PodInfo{holder},
			ops: []op{{remove: true, pod: holder}, {pod: holder}}, want: rwopTaken},
		{name: "the holder removed, another user added (nominated)", placed: []*snapshot.PodInfo{holder},
			ops: []op{{remove: true, pod: holder}, {pod: pod("nominated", emptyDir, claimVol("single"))}}, want: rwopTaken},
		{name: "the holder removed, a pod of another namespace added", placed: []*snapshot.PodInfo{holder},
			ops: []op{{remove: true, pod: holder}, {pod: podIn("other", "x", "", claimVol("single"))}}},
		{name: "a pod without the claim removed", placed: []*snapshot.PodInfo{holder, pod("bystander", claimVol("shared"))},
			ops: []op{{remove: true, pod: pod("bystander", claimVol("shared"))}}, want: rwopTaken},
		{name: "a pod of another namespace with a claim of that name removed", placed: []*snapshot.PodInfo{holder},
			ops: []op{{remove: true, pod: podIn("other", "x", "", claimVol("single"))}}, want: rwopTaken},
		{name: "holding both claims, removed", placed: []*snapshot.PodInfo{pod("both", claimVol("single"), claimVol("single-2"))},
			ops: []op{{remove: true, pod: pod("both", claimVol("single"), claimVol("single-2"))}}},
		{name: "two claims held by two pods, one removed", placed: []*snapshot.PodInfo{holder, pod("h2", claimVol("single-2"))},
			ops: []op{{remove: true, pod: holder}}, want: rwopTaken},
		// As kube-scheduler, a claim in use counts once, so any one of its users frees it.
		{name: "two users of one claim, one removed", placed: []*snapshot.PodInfo{holder, pod("holder-2", claimVol("single"))},
			ops: []op{{remove: true, pod: holder}}},
	}
	objs := []any{claim("single", v1.ReadWriteOncePod), claim("single-2", v1.ReadWriteOncePod), claim("shared", v1.ReadWriteMany)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, other := nodeWith("n"), nodeWith("other", tc.placed...)
			snap := snapOf([]*snapshot.NodeInfo{n, other}, objs...)
			f, v := New().PreFilter(pod("p", claimVol("single"), claimVol("single-2")), snap)
			if !v.Fits() || f == nil {
				t.Fatalf("PreFilter = %v, %+v; want a filter", f, v)
			}
			pc, ok := f.(decide.PodChanger)
			if !ok {
				t.Fatalf("%T is not a decide.PodChanger", f)
			}
			before := f.Filter(n)
			c := pc.Clone().(decide.PodChanger)
			for _, o := range tc.ops {
				if o.remove {
					c.RemovePod(o.pod, other)
				} else {
					c.AddPod(o.pod, other)
				}
			}
			if got := c.Filter(n); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter after the changes = %+v, want %+v", got, tc.want)
			}
			if got := f.Filter(n); !reflect.DeepEqual(got, before) {
				t.Errorf("the clone's changes reached the original: Filter = %+v, was %+v", got, before)
			}
		})
	}
}

// TestPreemptionThroughDecide shows, through decide's what-if checks, that evicting the holder
// resolves both conflicts: the disk on its node, the claim from any node.
func TestPreemptionThroughDecide(t *testing.T) {
	d, err := decide.New(decide.Profile{Filters: []decide.FilterPlugin{New()}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		pod    *snapshot.PodInfo
		holder *snapshot.PodInfo
		judged string // the node judged: the holder runs on "a"
	}{
		{name: "inline disk", pod: pod("p", ebs("vol-1", false)), holder: podIn("ns", "holder", "a", ebs("vol-1", false)), judged: "a"},
		{name: "ReadWriteOncePod claim, holder on the node", pod: pod("p", claimVol("single")),
			holder: podIn("ns", "holder", "a", claimVol("single")), judged: "a"},
		{name: "ReadWriteOncePod claim, judged on an empty node", pod: pod("p", claimVol("single")),
			holder: podIn("ns", "holder", "a", claimVol("single")), judged: "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := nodeWith("a", tc.holder), nodeWith("b")
			snap := snapOf([]*snapshot.NodeInfo{a, b}, claim("single", v1.ReadWriteOncePod))
			p := d.Prepare(tc.pod, snap)
			judged := map[string]*snapshot.NodeInfo{"a": a, "b": b}[tc.judged]
			if v := p.Check(judged, nil); v.Fits() || v.Unresolvable {
				t.Fatalf("with the holder: Check = %+v, want a resolvable rejection", v)
			}
			// Preemption evicts pods from the judged node only: the claim's holder elsewhere
			// cannot be a victim there.
			if tc.judged != "a" {
				return
			}
			without := judged.Clone()
			without.RemovePod(tc.holder)
			if v := p.Check(without, []*snapshot.PodInfo{tc.holder}); !v.Fits() {
				t.Errorf("without the holder: Check = %+v, want fit", v)
			}
		})
	}
}
