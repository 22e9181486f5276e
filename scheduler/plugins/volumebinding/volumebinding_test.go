package volumebinding

import (
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const ns = "ns"

func node(name, zone string) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{"kubernetes.io/hostname": name, "zone": zone}}})
}

func class(name string, mode storagev1.VolumeBindingMode, provisioner string, mutate ...func(*storagev1.StorageClass)) *storagev1.StorageClass {
	c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func newClaim(name, class, size string, mutate ...func(*v1.PersistentVolumeClaim)) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Spec: v1.PersistentVolumeClaimSpec{StorageClassName: &class, AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}}}}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func bound(pv string) func(*v1.PersistentVolumeClaim) {
	return func(c *v1.PersistentVolumeClaim) {
		c.Spec.VolumeName = pv
		c.Annotations = map[string]string{AnnBindCompleted: "yes"}
	}
}

func selected(node string) func(*v1.PersistentVolumeClaim) {
	return func(c *v1.PersistentVolumeClaim) { c.Annotations = map[string]string{AnnSelectedNode: node} }
}

// volume is an available PV of class with size, usable only on the nodes (none: anywhere).
func newPV(name, class, size string, nodes ...string) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
		Spec: v1.PersistentVolumeSpec{StorageClassName: class, AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Capacity: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
		Status: v1.PersistentVolumeStatus{Phase: v1.VolumeAvailable}}
	if len(nodes) > 0 {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: v1.NodeSelectorOpIn, Values: nodes}}}}}}
	}
	return pv
}

func claimRef(pv *v1.PersistentVolume, c string) *v1.PersistentVolume {
	pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: c}
	pv.Status.Phase = v1.VolumeBound
	return pv
}

func pod(claims ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p", UID: "pod-uid"}}
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "v-" + c,
			VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return p
}

var (
	wffc      = storagev1.VolumeBindingWaitForFirstConsumer
	immediate = storagev1.VolumeBindingImmediate
)

func TestFilter(t *testing.T) {
	nodes := []*snapshot.NodeInfo{node("a", "z1"), node("b", "z1"), node("c", "z2")}
	ephemeralPod := func(uid types.UID) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p", UID: uid},
			Spec: v1.PodSpec{Volumes: []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}}}}}
	}
	owned := func(c *v1.PersistentVolumeClaim) {
		c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "pod-uid", Controller: new(true)}}
	}
	capacity := func(name, class string, size string, zone string) *storagev1.CSIStorageCapacity {
		q := resource.MustParse(size)
		return &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name},
			StorageClassName: class, Capacity: &q,
			NodeTopology: &metav1.LabelSelector{MatchLabels: map[string]string{"zone": zone}}}
	}
	tracking := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example"}, Spec: storagev1.CSIDriverSpec{StorageCapacity: new(true)}}
	tests := []struct {
		name    string
		pod     *v1.Pod
		objs    []any
		skip    bool              // no claims: nothing to check
		reject  string            // a PreFilter rejection, on every node
		fail    string            // a PreFilter failure
		verdict map[string]string // per node: the joined reasons ("" fits)
	}{
		{name: "no claims", pod: pod(), skip: true},
		{name: "missing claim", pod: pod("data"), reject: `persistentvolumeclaim "data" not found`},
		{name: "missing ephemeral claim", pod: ephemeralPod("pod-uid"),
			reject: `waiting for ephemeral volume controller to create the persistentvolumeclaim "p-scratch"`},
		{name: "ephemeral claim of another pod", pod: ephemeralPod("someone-else"),
			objs:   []any{newClaim("p-scratch", "fast", "1Gi", bound("pv"))},
			reject: "PVC ns/p-scratch was not created for pod ns/p (pod is not owner)"},
		{name: "ephemeral claim of the pod, bound", pod: ephemeralPod("pod-uid"),
			objs:    []any{newClaim("p-scratch", "fast", "1Gi", bound("pv"), owned), newPV("pv", "fast", "1Gi")},
			verdict: map[string]string{"a": "", "b": "", "c": ""}},
		{name: "lost claim", pod: pod("data"), objs: []any{newClaim("data", "fast", "1Gi", func(c *v1.PersistentVolumeClaim) {
			c.Spec.VolumeName, c.Status.Phase = "gone", v1.ClaimLost
		})}, reject: `persistentvolumeclaim "data" bound to non-existent persistentvolume "gone"`},
		{name: "claim being deleted", pod: pod("data"), objs: []any{newClaim("data", "fast", "1Gi", func(c *v1.PersistentVolumeClaim) {
			c.DeletionTimestamp = &metav1.Time{}
		})}, reject: `persistentvolumeclaim "data" is being deleted`},
		{name: "unbound claim of an immediate class", pod: pod("data"),
			objs: []any{newClaim("data", "fast", "1Gi"), class("fast", immediate, "p")}, reject: ReasonUnboundNow},
		{name: "unbound claim of an unknown class binds immediately", pod: pod("data"),
			objs: []any{newClaim("data", "nosuch", "1Gi")}, reject: ReasonUnboundNow},
		{name: "a class without a binding mode is a failure", pod: pod("data"),
			objs: []any{newClaim("data", "fast", "1Gi"), &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}}},
			fail: `VolumeBindingMode not set for StorageClass "fast"`},
		{name: "bound PV with node affinity", pod: pod("data"),
			objs:    []any{newClaim("data", "fast", "1Gi", bound("pv")), newPV("pv", "fast", "1Gi", "b")},
			verdict: map[string]string{"a": ReasonNodeConflict, "b": "", "c": ReasonNodeConflict}},
		{name: "bound to a PV that does not exist", pod: pod("data"),
			objs:    []any{newClaim("data", "fast", "1Gi", bound("gone"))},
			verdict: map[string]string{"a": ReasonPVNotExist, "b": ReasonPVNotExist, "c": ReasonPVNotExist}},
		{name: "WFFC: only nodes with a matching PV", pod: pod("data"),
			objs: []any{newClaim("data", "local", "5Gi"), class("local", wffc, notSupportedProvision),
				newPV("small", "local", "1Gi", "a"), newPV("big", "local", "10Gi", "c")},
			verdict: map[string]string{"a": ReasonBindConflict, "b": ReasonBindConflict, "c": ""}},
		{name: "WFFC: access modes, volume mode and selector must match", pod: pod("data"),
			objs: []any{newClaim("data", "local", "1Gi", func(c *v1.PersistentVolumeClaim) {
				c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
			}), class("local", wffc, notSupportedProvision),
				func() *v1.PersistentVolume { // wrong label
					pv := newPV("a1", "local", "1Gi", "a")
					pv.Labels = map[string]string{"tier": "silver"}
					return pv
				}(),
				func() *v1.PersistentVolume { // block mode
					pv := newPV("b1", "local", "1Gi", "b")
					pv.Labels, pv.Spec.VolumeMode = map[string]string{"tier": "gold"}, new(v1.PersistentVolumeBlock)
					return pv
				}(),
				func() *v1.PersistentVolume { // only ReadOnlyMany
					pv := newPV("c1", "local", "1Gi", "c")
					pv.Labels, pv.Spec.AccessModes = map[string]string{"tier": "gold"}, []v1.PersistentVolumeAccessMode{v1.ReadOnlyMany}
					return pv
				}()},
			verdict: map[string]string{"a": ReasonBindConflict, "b": ReasonBindConflict, "c": ReasonBindConflict}},
		{name: "WFFC: a PV bound to another claim or not available is not used", pod: pod("data"),
			objs: []any{newClaim("data", "local", "1Gi"), class("local", wffc, notSupportedProvision),
				claimRef(newPV("taken", "local", "1Gi", "a"), "other"),
				func() *v1.PersistentVolume {
					pv := newPV("released", "local", "1Gi", "b")
					pv.Status.Phase = v1.VolumeReleased
					return pv
				}()},
			verdict: map[string]string{"a": ReasonBindConflict, "b": ReasonBindConflict, "c": ReasonBindConflict}},
		{name: "WFFC: a PV pre-bound to the claim decides", pod: pod("data"),
			objs: []any{newClaim("data", "local", "1Gi"), class("local", wffc, notSupportedProvision),
				claimRef(newPV("mine", "local", "1Gi", "b"), "data"), newPV("free", "local", "1Gi", "a")},
			verdict: map[string]string{"a": ReasonBindConflict, "b": "", "c": ReasonBindConflict}},
		{name: "WFFC: two claims cannot share one PV", pod: pod("d1", "d2"),
			objs: []any{newClaim("d1", "local", "1Gi"), newClaim("d2", "local", "1Gi"), class("local", wffc, notSupportedProvision),
				newPV("a1", "local", "1Gi", "a"), newPV("a2", "local", "1Gi", "a"), newPV("b1", "local", "1Gi", "b")},
			verdict: map[string]string{"a": "", "b": ReasonBindConflict, "c": ReasonBindConflict}},
		{name: "WFFC: selected for another node", pod: pod("data"),
			objs:    []any{newClaim("data", "dyn", "1Gi", selected("b")), class("dyn", wffc, "csi.example")},
			verdict: map[string]string{"a": ReasonBindConflict, "b": "", "c": ReasonBindConflict}},
		{name: "WFFC: provisioned where allowed topologies say", pod: pod("data"),
			objs: []any{newClaim("data", "dyn", "1Gi"), class("dyn", wffc, "csi.example", func(c *storagev1.StorageClass) {
				c.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: "zone", Values: []string{"z2"}}}}}
			})},
			verdict: map[string]string{"a": ReasonBindConflict, "b": ReasonBindConflict, "c": ""}},
		{name: "WFFC: capacity tracked by the driver", pod: pod("data"),
			objs: []any{newClaim("data", "dyn", "5Gi"), class("dyn", wffc, "csi.example"), tracking,
				capacity("cap-z1", "dyn", "1Gi", "z1"), capacity("cap-z2", "dyn", "10Gi", "z2")},
			verdict: map[string]string{"a": ReasonNotEnoughSpace, "b": ReasonNotEnoughSpace, "c": ""}},
		{name: "WFFC: capacity is not checked when the driver does not track it", pod: pod("data"),
			objs:    []any{newClaim("data", "dyn", "5Gi"), class("dyn", wffc, "csi.example"), capacity("cap-z1", "dyn", "1Gi", "z1")},
			verdict: map[string]string{"a": "", "b": "", "c": ""}},
		{name: "several reasons at once", pod: pod("bound", "wait"),
			objs: []any{newClaim("bound", "fast", "1Gi", bound("pv")), newPV("pv", "fast", "1Gi", "c"),
				newClaim("wait", "local", "1Gi"), class("local", wffc, notSupportedProvision)},
			verdict: map[string]string{"a": ReasonNodeConflict + ", " + ReasonBindConflict, "b": ReasonNodeConflict + ", " + ReasonBindConflict,
				"c": ReasonBindConflict}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot.New(nodes, nil)
			snap.Storage = snapshot.StorageOf(nil, tc.objs...)
			pl, err := New(DefaultArgs())
			if err != nil {
				t.Fatal(err)
			}
			nf, v := pl.PreFilter(snapshot.NewPodInfo(tc.pod), snap)
			switch {
			case tc.skip:
				if nf != nil || !v.Fits() {
					t.Fatalf("filter %v, verdict %+v; want nothing to check", nf, v)
				}
				return
			case tc.fail != "":
				if !v.Failed || v.Err().Error() != tc.fail {
					t.Fatalf("verdict %+v, want the failure %q", v, tc.fail)
				}
				return
			case tc.reject != "":
				if v.Fits() || v.Failed || !v.Unresolvable || strings.Join(v.Reasons, ", ") != tc.reject {
					t.Fatalf("verdict %+v, want the unresolvable rejection %q", v, tc.reject)
				}
				return
			}
			if !v.Fits() || nf == nil {
				t.Fatalf("PreFilter: filter %v, verdict %+v", nf, v)
			}
			got := map[string]string{}
			for _, n := range nodes {
				fv := nf.Filter(n)
				if !fv.Fits() && !fv.Unresolvable {
					t.Errorf("%s: rejection %v is resolvable", n.Name(), fv.Reasons)
				}
				got[n.Name()] = strings.Join(fv.Reasons, ", ")
			}
			if !reflect.DeepEqual(got, tc.verdict) {
				t.Errorf("verdicts %q\nwant     %q", got, tc.verdict)
			}
		})
	}
}

func TestReservePlans(t *testing.T) {
	nodes := []*snapshot.NodeInfo{node("a", "z1"), node("b", "z2")}
	tests := []struct {
		name       string
		pod        *v1.Pod
		objs       []any
		node       string
		bindings   map[string]string // claim → PV
		provisions []string
	}{
		{name: "all bound: nothing to reserve", pod: pod("data"), node: "a",
			objs: []any{newClaim("data", "fast", "1Gi", bound("pv")), newPV("pv", "fast", "1Gi")}},
		{name: "the smallest PV that fits, by name among equals", pod: pod("data"), node: "a",
			objs: []any{newClaim("data", "local", "2Gi"), class("local", wffc, notSupportedProvision),
				newPV("v3", "local", "5Gi", "a"), newPV("v2", "local", "2Gi", "a"), newPV("v1", "local", "2Gi", "a"), newPV("v0", "local", "1Gi", "a")},
			bindings: map[string]string{"data": "v1"}},
		{name: "smaller claims choose first", pod: pod("big", "small"), node: "a",
			objs: []any{newClaim("big", "local", "3Gi"), newClaim("small", "local", "1Gi"), class("local", wffc, notSupportedProvision),
				newPV("v1", "local", "3Gi", "a"), newPV("v2", "local", "4Gi", "a")},
			bindings: map[string]string{"small": "v1", "big": "v2"}},
		{name: "a claim without a PV is provisioned", pod: pod("static", "dyn"), node: "b",
			objs: []any{newClaim("static", "mixed", "1Gi"), newClaim("dyn", "mixed", "8Gi"), class("mixed", wffc, "csi.example"),
				newPV("v1", "mixed", "1Gi", "b")},
			bindings: map[string]string{"static": "v1"}, provisions: []string{"dyn"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot.New(nodes, nil)
			snap.Storage = snapshot.StorageOf(nil, tc.objs...)
			pl, _ := New(DefaultArgs())
			nf, v := pl.PreFilter(snapshot.NewPodInfo(tc.pod), snap)
			if !v.Fits() {
				t.Fatalf("PreFilter: %+v", v)
			}
			n := snap.Get(tc.node)
			if fv := nf.Filter(n); !fv.Fits() {
				t.Fatalf("the pod does not fit %s: %v", tc.node, fv.Reasons)
			}
			plan := nf.(*prepared).Reserve(n)
			if tc.bindings == nil && tc.provisions == nil {
				if plan != nil {
					t.Fatalf("plan %+v, want none", plan)
				}
				return
			}
			p := plan.(*Plan)
			got := map[string]string{}
			for _, b := range p.Bindings {
				got[b.Claim.Name] = b.PV.Name
			}
			var prov []string
			for _, pr := range p.Provisions {
				prov = append(prov, pr.Claim.Name)
			}
			if !reflect.DeepEqual(got, tc.bindings) || !reflect.DeepEqual(prov, tc.provisions) || p.Node != tc.node {
				t.Errorf("plan on %s: bindings %v provisions %v; want on %s %v %v", p.Node, got, prov, tc.node, tc.bindings, tc.provisions)
			}
		})
	}
}

func TestScore(t *testing.T) {
	nodes := []*snapshot.NodeInfo{node("a", "z1"), node("b", "z2"), node("c", "z3")}
	capacity := func(name, size, zone string) *storagev1.CSIStorageCapacity {
		q := resource.MustParse(size)
		return &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name},
			StorageClassName: "dyn", Capacity: &q, NodeTopology: &metav1.LabelSelector{MatchLabels: map[string]string{"zone": zone}}}
	}
	tests := []struct {
		name string
		objs []any
		want map[string]int64
	}{
		// Static: the utilization of the chosen PV; the default shape scores 100 - utilization.
		{"static PVs", []any{newClaim("data", "local", "1Gi"), class("local", wffc, notSupportedProvision),
			newPV("va", "local", "4Gi", "a"), newPV("vb", "local", "1Gi", "b"), newPV("vc", "local", "2Gi", "c")},
			map[string]int64{"a": 75, "b": 0, "c": 50}},
		// Dynamic: the utilization of the node's capacity.
		{"provisioned with tracked capacity", []any{newClaim("data", "dyn", "1Gi"), class("dyn", wffc, "csi.example"),
			&storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example"}, Spec: storagev1.CSIDriverSpec{StorageCapacity: new(true)}},
			capacity("ca", "10Gi", "z1"), capacity("cb", "2Gi", "z2"), capacity("cc", "1Gi", "z3")},
			map[string]int64{"a": 90, "b": 50, "c": 0}},
		{"provisioned without tracked capacity", []any{newClaim("data", "dyn", "1Gi"), class("dyn", wffc, "csi.example")},
			map[string]int64{"a": 0, "b": 0, "c": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot.New(nodes, nil)
			snap.Storage = snapshot.StorageOf(nil, tc.objs...)
			pl, _ := New(DefaultArgs())
			sc := pl.PreScore(snapshot.NewPodInfo(pod("data")), snap, nodes)
			got := map[string]int64{}
			for _, n := range nodes {
				if sc != nil {
					got[n.Name()] = sc.Score(n)
				} else {
					got[n.Name()] = 0
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scores %v, want %v", got, tc.want)
			}
		})
	}
}
