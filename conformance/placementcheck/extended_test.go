package placementcheck

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestCheckExtended shows the checker's view of extended resources backed by DRA: served by the
// device plugin where the node advertises them, else by the pod's extended resource claim.
func TestCheckExtended(t *testing.T) {
	gpuName := "example.com/gpu"
	class := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: &gpuName}}
	asking := func(q string) podOpt {
		return func(p *v1.Pod) {
			l := v1.ResourceList{v1.ResourceName(gpuName): resource.MustParse(q)}
			p.Spec.Containers[0].Resources = v1.ResourceRequirements{Requests: l, Limits: l}
			p.UID = types.UID("uid-" + p.Name)
		}
	}
	mapped := func(claim string, requests ...string) podOpt {
		return func(p *v1.Pod) {
			st := &v1.PodExtendedResourceClaimStatus{ResourceClaimName: claim}
			for _, r := range requests {
				st.RequestMappings = append(st.RequestMappings, v1.ContainerExtendedResourceRequest{ContainerName: "c", ResourceName: gpuName, RequestName: r})
			}
			p.Status.ExtendedResourceClaimStatus = st
		}
	}
	extClaim := func(count int64, opts ...func(*resourcev1.ResourceClaim)) *resourcev1.ResourceClaim {
		var results []resourcev1.DeviceRequestAllocationResult
		for i := range count {
			results = append(results, tResult("container-0-request-0", "n1", "gpu-"+string(rune('0'+i))))
		}
		c := tDeviceClaim("p-extended-resources-x", []resourcev1.DeviceRequest{exact("container-0-request-0", count)}, results...)
		c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "uid-p"}}
		c.Annotations = map[string]string{resourcev1.ExtendedResourceClaimAnnotation: "true"}
		c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "uid-p", Controller: ptrTo(true)}}
		for _, o := range opts {
			o(c)
		}
		return c
	}
	advertising := func(q string) nodeOpt {
		return func(n *v1.Node) { n.Status.Allocatable[v1.ResourceName(gpuName)] = resource.MustParse(q) }
	}
	tests := []struct {
		name   string
		node   *v1.Node
		claims []*resourcev1.ResourceClaim
		pod    *v1.Pod
		want   int
	}{
		{name: "served by the claim", node: tNode("n1", "a"), claims: []*resourcev1.ResourceClaim{extClaim(2)},
			pod: tPod("p", "n1", asking("2"), mapped("p-extended-resources-x", "container-0-request-0"))},
		{name: "no claim on a node that does not advertise it", node: tNode("n1", "a"), pod: tPod("p", "n1", asking("2")), want: 1},
		{name: "the device plugin way on a node advertising it", node: tNode("n1", "a", advertising("2")), pod: tPod("p", "n1", asking("2"))},
		{name: "more than the node advertises", node: tNode("n1", "a", advertising("1")), pod: tPod("p", "n1", asking("2")), want: 1},
		{name: "the claim's requests give too few devices", node: tNode("n1", "a"), claims: []*resourcev1.ResourceClaim{extClaim(1)},
			pod: tPod("p", "n1", asking("2"), mapped("p-extended-resources-x", "container-0-request-0")), want: 1},
		{name: "mapped to a request the claim lacks", node: tNode("n1", "a"), claims: []*resourcev1.ResourceClaim{extClaim(2)},
			pod: tPod("p", "n1", asking("2"), mapped("p-extended-resources-x", "nope")), want: 2},
		{name: "the claim names another owner, and lacks the annotation", node: tNode("n1", "a"),
			claims: []*resourcev1.ResourceClaim{extClaim(2, func(c *resourcev1.ResourceClaim) {
				c.OwnerReferences[0].UID = "other"
				c.Annotations = nil
			})},
			pod: tPod("p", "n1", asking("2"), mapped("p-extended-resources-x", "container-0-request-0")), want: 2},
		{name: "the claim is missing", node: tNode("n1", "a"),
			pod: tPod("p", "n1", asking("2"), mapped("p-extended-resources-x", "container-0-request-0")), want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			devs := []resourcev1.Device{tDevice("gpu-0", nil), tDevice("gpu-1", nil)}
			d := &Devices{Claims: map[string]*resourcev1.ResourceClaim{}, Slices: []*resourcev1.ResourceSlice{tSlice("n1", 1, devs...)},
				Classes: map[string]*resourcev1.DeviceClass{"gpu": class}}
			for _, c := range tc.claims {
				d.Claims[c.Namespace+"/"+c.Name] = c
			}
			vs := Check(&World{Nodes: map[string]*v1.Node{"n1": tc.node}, Incoming: []*v1.Pod{tc.pod}, Devices: d})
			if len(vs) != tc.want {
				t.Errorf("%d violations, want %d: %v", len(vs), tc.want, vs)
			}
		})
	}
}
