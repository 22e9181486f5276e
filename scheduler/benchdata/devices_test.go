package benchdata

import (
	"fmt"
	"testing"
)

// TestDevicesClaimPerPod checks the promise of a devices workload: one slice of DevicesPerNode
// devices per node, and each pod naming a claim of its own, which ResourceClaims returns (in pod
// order), unallocated, for exactly one device of the class DeviceClasses returns.
func TestDevicesClaimPerPod(t *testing.T) {
	w, ok := Get("devices")
	if !ok {
		t.Fatal("no devices workload")
	}
	classes := w.DeviceClasses()
	if len(classes) != 1 || classes[0].Name != DeviceClass || len(classes[0].Spec.Selectors) != 1 ||
		classes[0].Spec.Selectors[0].CEL.Expression != `device.driver == "gpu.bench.berth"` {
		t.Fatalf("device classes %+v", classes)
	}
	nodes := w.Nodes(10)
	slices := w.ResourceSlices(nodes)
	if len(slices) != len(nodes) {
		t.Fatalf("%d slices for %d nodes", len(slices), len(nodes))
	}
	for i, sl := range slices {
		if sl.Spec.NodeName == nil || *sl.Spec.NodeName != nodes[i].Name || sl.Spec.Driver != Driver || sl.Spec.Pool.Name != nodes[i].Name ||
			len(sl.Spec.Devices) != DevicesPerNode {
			t.Fatalf("slice %s: %+v", sl.Name, sl.Spec)
		}
	}
	for _, s := range []Size{{Nodes: 8, Pods: 64}, {Nodes: 500, Pods: 1000}} {
		t.Run(fmt.Sprintf("%dx%d", s.Nodes, s.Pods), func(t *testing.T) {
			if err := w.Validate(s); err != nil {
				t.Fatal(err)
			}
			pods, claims := w.Pods("ns", s), w.ResourceClaims("ns", s)
			if len(claims) != len(pods) {
				t.Fatalf("%d claims for %d pods", len(claims), len(pods))
			}
			for i, p := range pods {
				c := claims[i]
				rc := p.Pod.Spec.ResourceClaims
				if len(rc) != 1 || rc[0].ResourceClaimName == nil || *rc[0].ResourceClaimName != c.Name || c.Namespace != "ns" {
					t.Fatalf("pod %s: resource claims %+v, want claim %s", p.Pod.Name, rc, c.Name)
				}
				if cc := p.Pod.Spec.Containers[0].Resources.Claims; len(cc) != 1 || cc[0].Name != rc[0].Name {
					t.Fatalf("pod %s: container claims %+v", p.Pod.Name, cc)
				}
				reqs := c.Spec.Devices.Requests
				if len(reqs) != 1 || reqs[0].Exactly == nil || reqs[0].Exactly.Count != 1 || reqs[0].Exactly.DeviceClassName != DeviceClass {
					t.Fatalf("claim %s: %+v", c.Name, reqs)
				}
				if p.MustStayPending {
					t.Fatalf("pod %s must stay pending", p.Pod.Name)
				}
			}
		})
	}
	if err := w.Validate(Size{Nodes: 8, Pods: 65}); err == nil {
		t.Fatal("65 one-device pods on 8 nodes of 8 devices: valid")
	}
}
