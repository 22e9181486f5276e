package placementcheck

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Builders for the volume table: claims in namespace "ns", each bound to the PV of the same
// name unless said otherwise.

type pvOpt func(*v1.PersistentVolume)

func tPV(name string, opts ...pvOpt) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

// onNodes gives the PV a required node affinity: kubernetes.io/hostname in nodes.
func onNodes(nodes ...string) pvOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{
			expr(labelHostname, v1.NodeSelectorOpIn, nodes...)}}}
	}
}
func pvLabel(k, v string) pvOpt { return func(pv *v1.PersistentVolume) { pv.Labels[k] = v } }
func csi(driver, handle string) pvOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Spec.CSI = &v1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}
	}
}
func refUID(uid string) pvOpt {
	return func(pv *v1.PersistentVolume) { pv.Spec.ClaimRef.UID = types.UID(uid) }
}

func tClaim(name, volume string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	return &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.PersistentVolumeClaimSpec{VolumeName: volume, AccessModes: modes}}
}

func claims(names ...string) podOpt {
	return func(p *v1.Pod) {
		for _, n := range names {
			p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "v-" + n,
				VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: n}}})
		}
	}
}

func ephemeralVolume(name string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: name, VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}})
	}
}

func inlineVolume(src v1.VolumeSource) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: fmt.Sprintf("v%d", len(p.Spec.Volumes)), VolumeSource: src})
	}
}

func gcePD(name string, readOnly bool) podOpt {
	return inlineVolume(v1.VolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: name, ReadOnly: readOnly}})
}

func csiNode(node string, drivers map[string]int32) *storagev1.CSINode {
	n := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: node}}
	names := make([]string, 0, len(drivers))
	for d := range drivers {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		drv := storagev1.CSINodeDriver{Name: d, NodeID: node}
		if c := drivers[d]; c >= 0 {
			drv.Allocatable = &storagev1.VolumeNodeResources{Count: ptrTo(c)}
		}
		n.Spec.Drivers = append(n.Spec.Drivers, drv)
	}
	return n
}

// TestCheckVolumes shows the checker catches each broken volume rule and accepts the legal
// look-alikes. Nodes: n1 and n2 in zone a, n3 in zone b.
func TestCheckVolumes(t *testing.T) {
	rwop := v1.ReadWriteOncePod
	prevent := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "strict.csi"},
		Spec: storagev1.CSIDriverSpec{PreventPodSchedulingIfMissing: ptrTo(true)}}
	tests := []struct {
		name     string
		nodes    []*v1.Node
		pvs      []*v1.PersistentVolume
		claims   []*v1.PersistentVolumeClaim
		csiNodes []*storagev1.CSINode
		existing []*v1.Pod
		incoming []*v1.Pod
		want     []string // rules broken, sorted and unique
	}{
		{name: "PV on the pod's node", pvs: []*v1.PersistentVolume{tPV("d", onNodes("n1"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "PV on another node", pvs: []*v1.PersistentVolume{tPV("d", onNodes("n2"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeBinding"}},
		{name: "PV without node affinity", pvs: []*v1.PersistentVolume{tPV("d")}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n3", claims("d"))}},
		{name: "a pending pod's claims are not judged", claims: []*v1.PersistentVolumeClaim{tClaim("d", "")},
			incoming: []*v1.Pod{tPod("p", "", claims("d", "missing"))}},
		{name: "missing claim", incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeBinding"}},
		{name: "unbound claim", claims: []*v1.PersistentVolumeClaim{tClaim("d", "")}, incoming: []*v1.Pod{tPod("p", "n1", claims("d"))},
			want: []string{"VolumeBinding"}},
		{name: "claim bound to a missing PV", claims: []*v1.PersistentVolumeClaim{tClaim("d", "gone")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeBinding"}},
		{name: "PV bound to another claim", pvs: []*v1.PersistentVolume{tPV("d", refUID("other"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeBinding"}},
		{name: "generic ephemeral volume's claim", pvs: []*v1.PersistentVolume{tPV("p-scratch", onNodes("n2"))},
			claims:   []*v1.PersistentVolumeClaim{tClaim("p-scratch", "p-scratch")},
			incoming: []*v1.Pod{tPod("p", "n1", ephemeralVolume("scratch"))}, want: []string{"VolumeBinding"}},
		{name: "PV zone matches", pvs: []*v1.PersistentVolume{tPV("d", pvLabel(labelZone, "a"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "PV zone mismatches", pvs: []*v1.PersistentVolume{tPV("d", pvLabel(labelZone, "b"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeZone"}},
		{name: "PV zones joined by __", pvs: []*v1.PersistentVolume{tPV("d", pvLabel(labelZone, "c__a"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "beta PV zone read against the node's GA label", pvs: []*v1.PersistentVolume{tPV("d", pvLabel(v1.LabelFailureDomainBetaZone, "b"))},
			claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")}, incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeZone"}},
		{name: "PV region the node lacks", nodes: []*v1.Node{tNode("n1", "a")}, pvs: []*v1.PersistentVolume{tPV("d", pvLabel(v1.LabelTopologyRegion, "r"))},
			claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")}, incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeZone"}},
		{name: "node without zone labels takes any zone", nodes: []*v1.Node{tNode("n1", "a", noLabel(labelZone))},
			pvs: []*v1.PersistentVolume{tPV("d", pvLabel(labelZone, "b"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "ReadWriteOncePod claim used by an existing pod", pvs: []*v1.PersistentVolume{tPV("d")},
			claims: []*v1.PersistentVolumeClaim{tClaim("d", "d", rwop)}, existing: []*v1.Pod{tPod("e", "n2", claims("d"))},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"VolumeRestrictions"}},
		{name: "ReadWriteOncePod claim used by two incoming pods", pvs: []*v1.PersistentVolume{tPV("d")},
			claims:   []*v1.PersistentVolumeClaim{tClaim("d", "d", rwop)},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d")), tPod("q", "n1", claims("d"))}, want: []string{"VolumeRestrictions"}},
		{name: "ReadWriteOncePod claim with a pending second user", pvs: []*v1.PersistentVolume{tPV("d")},
			claims:   []*v1.PersistentVolumeClaim{tClaim("d", "d", rwop)},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d")), tPod("q", "", claims("d"))}},
		{name: "ReadWriteOnce claim shared", pvs: []*v1.PersistentVolume{tPV("d")}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			existing: []*v1.Pod{tPod("e", "n1", claims("d"))}, incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "inline GCE PD shared on a node", existing: []*v1.Pod{tPod("e", "n1", gcePD("d", true))},
			incoming: []*v1.Pod{tPod("p", "n1", gcePD("d", false))}, want: []string{"VolumeRestrictions"}},
		{name: "inline GCE PD read-only by both", existing: []*v1.Pod{tPod("e", "n1", gcePD("d", true))},
			incoming: []*v1.Pod{tPod("p", "n1", gcePD("d", true))}},
		{name: "inline GCE PD on another node", existing: []*v1.Pod{tPod("e", "n2", gcePD("d", false))},
			incoming: []*v1.Pod{tPod("p", "n1", gcePD("d", false))}},
		{name: "inline AWS EBS volume shared by two incoming pods",
			incoming: []*v1.Pod{tPod("p", "n1", inlineVolume(v1.VolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "v"}})),
				tPod("q", "n1", inlineVolume(v1.VolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "v", ReadOnly: true}}))},
			want: []string{"VolumeRestrictions"}},
		{name: "inline RBD image with a common monitor", existing: []*v1.Pod{tPod("e", "n1", inlineVolume(v1.VolumeSource{RBD: &v1.RBDVolumeSource{
			CephMonitors: []string{"m1", "m2"}, RBDPool: "p", RBDImage: "i"}}))},
			incoming: []*v1.Pod{tPod("p", "n1", inlineVolume(v1.VolumeSource{RBD: &v1.RBDVolumeSource{CephMonitors: []string{"m2"}, RBDPool: "p", RBDImage: "i"}}))},
			want:     []string{"VolumeRestrictions"}},
		{name: "inline ISCSI volumes of other IQNs", existing: []*v1.Pod{tPod("e", "n1", inlineVolume(v1.VolumeSource{ISCSI: &v1.ISCSIVolumeSource{IQN: "a"}}))},
			incoming: []*v1.Pod{tPod("p", "n1", inlineVolume(v1.VolumeSource{ISCSI: &v1.ISCSIVolumeSource{IQN: "b"}}))}},
		{name: "CSI volume over the node's limit", pvs: []*v1.PersistentVolume{tPV("e", csi("att.csi", "h1")), tPV("d", csi("att.csi", "h2"))},
			claims:   []*v1.PersistentVolumeClaim{tClaim("e", "e"), tClaim("d", "d")},
			csiNodes: []*storagev1.CSINode{csiNode("n1", map[string]int32{"att.csi": 1})}, existing: []*v1.Pod{tPod("e", "n1", claims("e"))},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"NodeVolumeLimits"}},
		{name: "CSI volume within the limit", pvs: []*v1.PersistentVolume{tPV("e", csi("att.csi", "h1")), tPV("d", csi("att.csi", "h2"))},
			claims:   []*v1.PersistentVolumeClaim{tClaim("e", "e"), tClaim("d", "d")},
			csiNodes: []*storagev1.CSINode{csiNode("n1", map[string]int32{"att.csi": 2})}, existing: []*v1.Pod{tPod("e", "n1", claims("e"))},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "a volume already on the node counts once", pvs: []*v1.PersistentVolume{tPV("e", csi("att.csi", "h1"))},
			claims:   []*v1.PersistentVolumeClaim{tClaim("e", "e")},
			csiNodes: []*storagev1.CSINode{csiNode("n1", map[string]int32{"att.csi": 1})}, existing: []*v1.Pod{tPod("e", "n1", claims("e"))},
			incoming: []*v1.Pod{tPod("p", "n1", claims("e"))}},
		{name: "over the limit of another driver only", pvs: []*v1.PersistentVolume{tPV("e", csi("other.csi", "h1")), tPV("d", csi("att.csi", "h2"))},
			claims:   []*v1.PersistentVolumeClaim{tClaim("e", "e"), tClaim("d", "d")},
			csiNodes: []*storagev1.CSINode{csiNode("n1", map[string]int32{"att.csi": 1, "other.csi": 0})}, existing: []*v1.Pod{tPod("e", "n1", claims("e"))},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "no CSINode, no limit", pvs: []*v1.PersistentVolume{tPV("d", csi("att.csi", "h2"))}, claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
		{name: "two incoming pods over the limit together", pvs: []*v1.PersistentVolume{tPV("d", csi("att.csi", "h1")), tPV("f", csi("att.csi", "h2"))},
			claims:   []*v1.PersistentVolumeClaim{tClaim("d", "d"), tClaim("f", "f")},
			csiNodes: []*storagev1.CSINode{csiNode("n1", map[string]int32{"att.csi": 1})},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d")), tPod("q", "n1", claims("f"))}, want: []string{"NodeVolumeLimits"}},
		{name: "driver missing on a node that must list it", pvs: []*v1.PersistentVolume{tPV("d", csi("strict.csi", "h"))},
			claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")}, csiNodes: []*storagev1.CSINode{csiNode("n1", map[string]int32{"att.csi": -1})},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}, want: []string{"NodeVolumeLimits"}},
		{name: "driver listed on a node that must list it", pvs: []*v1.PersistentVolume{tPV("d", csi("strict.csi", "h"))},
			claims: []*v1.PersistentVolumeClaim{tClaim("d", "d")}, csiNodes: []*storagev1.CSINode{csiNode("n1", map[string]int32{"strict.csi": -1})},
			incoming: []*v1.Pod{tPod("p", "n1", claims("d"))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := tc.nodes
			if nodes == nil {
				nodes = []*v1.Node{tNode("n1", "a"), tNode("n2", "a"), tNode("n3", "b")}
			}
			st := &Storage{Claims: map[string]*v1.PersistentVolumeClaim{}, Volumes: map[string]*v1.PersistentVolume{},
				CSINodes: map[string]*storagev1.CSINode{}, Drivers: map[string]*storagev1.CSIDriver{prevent.Name: prevent}}
			for _, c := range tc.claims {
				st.Claims[c.Namespace+"/"+c.Name] = c
			}
			for _, pv := range tc.pvs {
				st.Volumes[pv.Name] = pv
			}
			for _, n := range tc.csiNodes {
				st.CSINodes[n.Name] = n
			}
			w := &World{Nodes: map[string]*v1.Node{}, Existing: tc.existing, Incoming: tc.incoming, Storage: st}
			for _, n := range nodes {
				w.Nodes[n.Name] = n
			}
			vs := Check(w)
			var got []string
			for _, v := range vs {
				if !slices.Contains(got, v.Rule) {
					got = append(got, v.Rule)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("broken rules %v, want %v; violations: %v", got, tc.want, vs)
			}
			// Without storage, volumes are not judged.
			w.Storage = nil
			if vs := Check(w); len(vs) > 0 {
				t.Errorf("without Storage: violations %v, want none", vs)
			}
		})
	}
}
