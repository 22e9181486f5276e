package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// A devices run (benchdata.Workload.Devices) sets up, before anything is measured, what a cluster
// with a node-local DRA driver has: the DeviceClass, one ResourceSlice per node (the driver's
// publication, DevicesPerNode devices each) and one unallocated ResourceClaim per pod, created
// beforehand as an operator would (not from a ResourceClaimTemplate: that would need
// kube-controller-manager's resourceclaim controller to create each claim during the run, a
// write per pod that is neither scheduler's). Binding a pod then takes: the scheduler allocates a
// device of the chosen node and writes the claim's status.allocation and status.reservedFor, then
// binds the pod. No controller runs: nothing else writes during the run.

// setUpDevices creates the workload's DeviceClasses, the nodes' ResourceSlices and the pods'
// claims. It does nothing for a workload without devices.
func setUpDevices(ctx context.Context, admin kubernetes.Interface, w benchdata.Workload, s benchdata.Size, nodes []*v1.Node, workers int) error {
	if !w.Devices {
		return nil
	}
	for _, dc := range w.DeviceClasses() {
		if _, err := admin.ResourceV1().DeviceClasses().Create(ctx, dc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating device class %s: %w", dc.Name, err)
		}
	}
	slices := w.ResourceSlices(nodes)
	err := parallel(ctx, len(slices), workers, func(ctx context.Context, i int) error {
		if _, err := admin.ResourceV1().ResourceSlices().Create(ctx, slices[i], metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating resource slice %s: %w", slices[i].Name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	claims := w.ResourceClaims(benchNamespace, s)
	return parallel(ctx, len(claims), workers, func(ctx context.Context, i int) error {
		if _, err := admin.ResourceV1().ResourceClaims(benchNamespace).Create(ctx, claims[i], metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating resource claim %s: %w", claims[i].Name, err)
		}
		return nil
	})
}

// podResourceClaims returns the names of the ResourceClaims pod names directly (not by template).
func podResourceClaims(pod *v1.Pod) []string {
	var out []string
	for _, rc := range pod.Spec.ResourceClaims {
		if rc.ResourceClaimName != nil {
			out = append(out, *rc.ResourceClaimName)
		}
	}
	return out
}

// allocateDevice writes, as the ceiling's (scheduler) identity and in one status patch, what a
// scheduler's DynamicResources PreBind writes for a claim it allocated: status.allocation (device
// d of node's pool for the claim's one request, with the node selector of a node-local device)
// and status.reservedFor naming pod. The ceiling takes no decision: d is the caller's.
func allocateDevice(ctx context.Context, c kubernetes.Interface, pod *v1.Pod, claim, node string, d int) error {
	status := resourcev1.ResourceClaimStatus{
		Allocation: &resourcev1.AllocationResult{
			Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{{
				Request: benchdata.DeviceRequest, Driver: benchdata.Driver, Pool: node, Device: benchdata.DeviceName(d),
			}}},
			NodeSelector: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{{
				Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{node},
			}}}}},
		},
		ReservedFor: []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: pod.Name, UID: pod.UID}},
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return fmt.Errorf("ceiling: encoding claim status patch: %w", err)
	}
	_, err = c.ResourceV1().ResourceClaims(pod.Namespace).Patch(ctx, claim, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("ceiling: allocating %s of %s to claim %s: %w", benchdata.DeviceName(d), node, claim, err)
	}
	return nil
}

// deviceKey names one device: driver/pool/device.
func deviceKey(driver, pool, device string) string { return driver + "/" + pool + "/" + device }

// checkDevices checks the device claims of the bound pods against the final claims and slices:
// each claim a pod names exists, is allocated exactly one device, for its request, that a slice
// of the pod's node publishes (and any node selector of the allocation selects that node), and is
// reserved for the pod alone; no claim serves two pods and no device two claims.
func checkDevices(p placement, bound []*v1.Pod) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	nodeOf := map[string]string{} // device key -> node of its slice
	for _, sl := range p.slices {
		if sl.Spec.NodeName == nil {
			continue
		}
		for _, d := range sl.Spec.Devices {
			nodeOf[deviceKey(sl.Spec.Driver, sl.Spec.Pool.Name, d.Name)] = *sl.Spec.NodeName
		}
	}
	usedBy := map[string]string{} // claim -> pod
	for _, pod := range bound {
		name := pod.Namespace + "/" + pod.Name
		node := p.nodes[pod.Spec.NodeName]
		for _, cn := range podResourceClaims(pod) {
			key := pod.Namespace + "/" + cn
			if other, ok := usedBy[key]; ok {
				add("resource claim %s: used by pods %s and %s", key, other, name)
			}
			usedBy[key] = name
			c := p.resourceClaims[key]
			if c == nil {
				add("%s on %s: resource claim %s does not exist", name, node.Name, key)
				continue
			}
			if r := c.Status.ReservedFor; len(r) != 1 || r[0].Resource != "pods" || r[0].Name != pod.Name || r[0].UID != pod.UID {
				add("%s on %s: resource claim %s: reservedFor %s, want the pod alone", name, node.Name, key, fmtReservedFor(r))
			}
			a := c.Status.Allocation
			if a == nil {
				add("%s on %s: resource claim %s not allocated", name, node.Name, key)
				continue
			}
			if n := len(a.Devices.Results); n != 1 {
				add("%s on %s: resource claim %s: %d devices allocated, want 1", name, node.Name, key, n)
			}
			for _, res := range a.Devices.Results {
				dk := deviceKey(res.Driver, res.Pool, res.Device)
				if res.Request != benchdata.DeviceRequest {
					add("%s on %s: resource claim %s: device %s allocated for request %q, want %q", name, node.Name, key, dk, res.Request, benchdata.DeviceRequest)
				}
				switch on, ok := nodeOf[dk]; {
				case !ok:
					add("%s on %s: resource claim %s: device %s is in no slice", name, node.Name, key, dk)
				case on != node.Name:
					add("%s on %s: resource claim %s: device %s is on node %s", name, node.Name, key, dk, on)
				}
			}
			if a.NodeSelector != nil {
				if ok, err := matchNodeSelector(a.NodeSelector, node); err != nil {
					add("%s on %s: cannot check the node selector of resource claim %s: %v", name, node.Name, key, err)
				} else if !ok {
					add("%s on %s: resource claim %s: its allocation's node selector does not select the pod's node", name, node.Name, key)
				}
			}
		}
	}
	claimOf := map[string]string{} // device key -> claim
	keys := make([]string, 0, len(p.resourceClaims))
	for k := range p.resourceClaims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := p.resourceClaims[k].Status.Allocation
		if a == nil {
			continue
		}
		for _, res := range a.Devices.Results {
			dk := deviceKey(res.Driver, res.Pool, res.Device)
			if other, ok := claimOf[dk]; ok {
				add("device %s: allocated to claims %s and %s", dk, other, k)
				continue
			}
			claimOf[dk] = k
		}
	}
	return out
}

func fmtReservedFor(r []resourcev1.ResourceClaimConsumerReference) string {
	if len(r) == 0 {
		return "empty"
	}
	var parts []string
	for _, c := range r {
		parts = append(parts, fmt.Sprintf("%s %s uid %s", c.Resource, c.Name, c.UID))
	}
	return fmt.Sprintf("%v", parts)
}

// listDevices adds to p the ResourceClaims of the benchmark namespace and every ResourceSlice.
func listDevices(ctx context.Context, c kubernetes.Interface, p *placement) error {
	cl, err := c.ResourceV1().ResourceClaims(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing resource claims: %w", err)
	}
	sl, err := c.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing resource slices: %w", err)
	}
	p.resourceClaims = make(map[string]*resourcev1.ResourceClaim, len(cl.Items))
	for i := range cl.Items {
		p.resourceClaims[cl.Items[i].Namespace+"/"+cl.Items[i].Name] = &cl.Items[i]
	}
	for i := range sl.Items {
		p.slices = append(p.slices, &sl.Items[i])
	}
	return nil
}
