package main

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// Builders for device checks: a pod naming ResourceClaims (its UID "uid-<name>"), a claim
// allocated a device of a node's pool and reserved for a pod, the slices of the test nodes.

func withDeviceClaims(names ...string) podOpt {
	return func(p *v1.Pod) {
		p.UID = types.UID("uid-" + p.Name)
		for _, n := range names {
			p.Spec.ResourceClaims = append(p.Spec.ResourceClaims, v1.PodResourceClaim{Name: n, ResourceClaimName: &n})
		}
	}
}

type rcOpt func(*resourcev1.ResourceClaim)

// deviceClaim is claim name allocated device gpu-<d> of node's pool ("" node: not allocated) and
// reserved for pod reservedFor ("": for none).
func deviceClaim(name, node string, d int, reservedFor string, opts ...rcOpt) *resourcev1.ResourceClaim {
	c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	if node != "" {
		c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{{
			Request: benchdata.DeviceRequest, Driver: benchdata.Driver, Pool: node, Device: benchdata.DeviceName(d),
		}}}}
	}
	if reservedFor != "" {
		c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: reservedFor, UID: types.UID("uid-" + reservedFor)}}
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func testSlices() []*resourcev1.ResourceSlice {
	w, _ := benchdata.Get("devices")
	var nodes []*v1.Node
	for _, n := range []string{"n-a", "n-b", "n-c"} {
		nodes = append(nodes, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	return w.ResourceSlices(nodes)
}

func TestCheckDevices(t *testing.T) {
	selecting := func(node string) rcOpt {
		return func(c *resourcev1.ResourceClaim) {
			c.Status.Allocation.NodeSelector = &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{{
				Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}
		}
	}
	tests := []struct {
		name        string
		pods        []*v1.Pod
		claims      []*resourcev1.ResourceClaim
		incomplete  bool
		constraints bool
		want        []string // substrings, one per expected violation, in sorted order
	}{
		{name: "each pod's claim holds a device of its node, reserved for it", constraints: true,
			pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a")), pod("b", "n-a", withDeviceClaims("c-b")), pod("plain", "n-b")},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 0, "a", selecting("n-a")), deviceClaim("c-b", "n-a", 1, "b"),
				deviceClaim("spare", "", 0, "")}},
		{name: "the ceiling is checked too", pods: []*v1.Pod{pod("a", "n-b", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 0, "a")},
			want:   []string{"ns/a on n-b: resource claim ns/c-a: device gpu.bench.berth/n-a/gpu-0 is on node n-a"}},
		{name: "node selector of another node", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 0, "a", selecting("n-b"))},
			want:   []string{"its allocation's node selector does not select the pod's node"}},
		{name: "device in no slice", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 9, "a")},
			want:   []string{"device gpu.bench.berth/n-a/gpu-9 is in no slice"}},
		{name: "not allocated", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "", 0, "a")},
			want:   []string{"ns/a on n-a: resource claim ns/c-a not allocated"}},
		{name: "not reserved", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 0, "")},
			want:   []string{"reservedFor empty, want the pod alone"}},
		{name: "reserved for another pod", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 0, "z")},
			want:   []string{"reservedFor [pods z uid uid-z], want the pod alone"}},
		{name: "two devices", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 0, "a", func(c *resourcev1.ResourceClaim) {
				r := c.Status.Allocation.Devices.Results
				c.Status.Allocation.Devices.Results = append(r, resourcev1.DeviceRequestAllocationResult{
					Request: benchdata.DeviceRequest, Driver: benchdata.Driver, Pool: "n-a", Device: "gpu-1"})
			})},
			want: []string{"2 devices allocated, want 1"}},
		{name: "one device for two claims", constraints: true,
			pods:   []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a")), pod("b", "n-a", withDeviceClaims("c-b"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 3, "a"), deviceClaim("c-b", "n-a", 3, "b")},
			want:   []string{"device gpu.bench.berth/n-a/gpu-3: allocated to claims ns/c-a and ns/c-b"}},
		{name: "one claim for two pods", constraints: true,
			pods:   []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a")), pod("b", "n-a", withDeviceClaims("c-a"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "n-a", 0, "a")},
			want:   []string{"ns/b on n-a: resource claim ns/c-a: reservedFor", "resource claim ns/c-a: used by pods ns/a and ns/b"}},
		{name: "claim missing", constraints: true, pods: []*v1.Pod{pod("a", "n-a", withDeviceClaims("c-a"))},
			want: []string{"resource claim ns/c-a does not exist"}},
		{name: "incomplete: a pending pod's claim is not judged", constraints: true, incomplete: true,
			pods:   []*v1.Pod{pod("a", "", withDeviceClaims("c-a")), pod("b", "n-a", withDeviceClaims("c-b"))},
			claims: []*resourcev1.ResourceClaim{deviceClaim("c-a", "", 0, ""), deviceClaim("c-b", "n-a", 0, "b")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := placement{nodes: testNodes(), pods: tc.pods, incomplete: tc.incomplete,
				resourceClaims: map[string]*resourcev1.ResourceClaim{}, slices: testSlices()}
			for _, c := range tc.claims {
				p.resourceClaims[c.Namespace+"/"+c.Name] = c
			}
			got := check(p, tc.constraints)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
