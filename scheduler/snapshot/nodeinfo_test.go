package snapshot

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLabel: Label answers every key as the node's label map does, whether from the NodeInfo's
// own copy (hostname, zone, region) or from the map, after SetNode, on a clone, and without a
// node object.
func TestLabel(t *testing.T) {
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
		v1.LabelHostname: "n1", v1.LabelTopologyZone: "z1", "rack": "r7", v1.LabelTopologyRegion: "",
	}}}
	other := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2", Labels: map[string]string{v1.LabelTopologyZone: "z2"}}}
	keys := []string{v1.LabelHostname, v1.LabelTopologyZone, v1.LabelTopologyRegion, "rack", "missing"}
	check := func(name string, n *NodeInfo, labels map[string]string) {
		t.Helper()
		for _, k := range keys {
			want, wantOK := labels[k]
			if got, ok := n.Label(k); got != want || ok != wantOK {
				t.Errorf("%s: Label(%q) = %q, %v; want %q, %v", name, k, got, ok, want, wantOK)
			}
		}
	}
	n := NewNodeInfo(node)
	check("new", n, node.Labels)
	check("clone", n.Clone(), node.Labels)
	n.SetNode(other)
	check("after SetNode", n, other.Labels)
	check("clone after SetNode", n.Clone(), other.Labels)
	n.SetNode(nil)
	check("without a node object", n, nil)
}

// TestCloneCopiesEveryField: a clone equals its original field by field, so that a field added
// to NodeInfo cannot be forgotten in Clone.
func TestCloneCopiesEveryField(t *testing.T) {
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{v1.LabelHostname: "n1"}},
		Spec: v1.NodeSpec{Unschedulable: true, Taints: []v1.Taint{{Key: "k", Effect: v1.TaintEffectNoSchedule}}}}
	n := NewNodeInfo(node)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}, Spec: v1.PodSpec{NodeName: "n1"}}
	n.AddPod(NewPodInfo(pod))
	if c := n.Clone(); !reflect.DeepEqual(*c, *n) {
		t.Errorf("Clone dropped or changed a field:\nclone:    %+v\noriginal: %+v", *c, *n)
	}
}
