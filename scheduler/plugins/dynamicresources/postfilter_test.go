package dynamicresources

import (
	"fmt"
	"slices"
	"testing"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestPostFilter runs PreFilter and Filter on nodes n0..n2 (the nodes in skip count as rejected by
// an earlier filter, so Filter does not see them), then PostFilter with the nodes Filter
// rejected, and checks which claim, if any, it proposes to deallocate.
func TestPostFilter(t *testing.T) {
	nodes := []*snapshot.NodeInfo{node("n0"), node("n1"), node("n2")}
	gpu := class("gpu")
	free := slice("s0", "n0", "pool-n0", dev("gpu-0"))
	on := func(name, node string) *resourcev1.ResourceClaim {
		return allocated(claim(name, exact("r", "gpu", 1)), nodeNameSelector(node), "pool-"+node+"/gpu-0")
	}
	reserved := func(c *resourcev1.ResourceClaim, uids ...types.UID) *resourcev1.ResourceClaim {
		for _, u := range uids {
			c.Status.ReservedFor = append(c.Status.ReservedFor, resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: string(u), UID: u})
		}
		return c
	}
	bindingFailed := func(c *resourcev1.ResourceClaim) *resourcev1.ResourceClaim {
		r := &c.Status.Allocation.Devices.Results[0]
		r.BindingConditions, r.BindingFailureConditions = []string{"Attached"}, []string{"AttachFailed"}
		c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: driver, Pool: r.Pool, Device: r.Device,
			Conditions: []metav1.Condition{{Type: "AttachFailed", Status: metav1.ConditionTrue}}}}
		return c
	}
	// now is the snapshot's time; waiting allocates c age before it, with a device waiting for
	// the binding condition Attached, met or not.
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	waiting := func(age time.Duration, met bool) *resourcev1.ResourceClaim {
		c := allocated(claim("c", exact("r", "gpu", 1)), nil, "pool-n1/gpu-0")
		c.Status.Allocation.AllocationTimestamp = &metav1.Time{Time: now.Add(-age)}
		r := &c.Status.Allocation.Devices.Results[0]
		r.BindingConditions, r.BindingFailureConditions = []string{"Attached"}, []string{"AttachFailed"}
		st := metav1.ConditionFalse
		if met {
			st = metav1.ConditionTrue
		}
		c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: driver, Pool: r.Pool, Device: r.Device,
			Conditions: []metav1.Condition{{Type: "Attached", Status: st}}}}
		return c
	}
	tests := []struct {
		name   string
		claims []string // the pod's, in order
		objs   []any
		skip   []string
		want   string // the claim to deallocate, "" for none
	}{
		{name: "binding timed out (default 10 minutes)", claims: []string{"c"},
			objs: []any{gpu, waiting(11*time.Minute, false)}, want: "c"},
		{name: "binding still within its timeout: kept", claims: []string{"c"},
			objs: []any{gpu, waiting(9*time.Minute, false)}},
		{name: "binding conditions met long ago: kept", claims: []string{"c"},
			objs: []any{gpu, waiting(time.Hour, true)}},
		{name: "allocated for a node the pod cannot use, reserved for no pod", claims: []string{"c"},
			objs: []any{gpu, on("c", "n2")}, skip: []string{"n2"}, want: "c"},
		{name: "reserved for another pod: kept", claims: []string{"c"},
			objs: []any{gpu, reserved(on("c", "n2"), "other")}, skip: []string{"n2"}},
		{name: "reserved for this pod alone", claims: []string{"c"},
			objs: []any{gpu, reserved(on("c", "n2"), "pod-uid")}, skip: []string{"n2"}, want: "c"},
		{name: "reserved for this pod and another: kept", claims: []string{"c"},
			objs: []any{gpu, reserved(on("c", "n2"), "pod-uid", "other")}, skip: []string{"n2"}},
		{name: "an earlier filter rejected every node: nothing to judge", claims: []string{"c"},
			objs: []any{gpu, on("c", "n2")}, skip: []string{"n0", "n1", "n2"}},
		{name: "unavailable only where the pod's other claim cannot be allocated: kept", claims: []string{"c", "new"},
			objs: []any{gpu, on("c", "n2"), claim("new", exact("r", "gpu", 2)), free}, skip: []string{"n2"}},
		{name: "unavailable where the pod's other claim can be allocated", claims: []string{"c", "new"},
			objs: []any{gpu, on("c", "n2"), claim("new", exact("r", "gpu", 1)), free}, skip: []string{"n2"}, want: "c"},
		{name: "binding failed, available everywhere otherwise", claims: []string{"c"},
			objs: []any{gpu, bindingFailed(allocated(claim("c", exact("r", "gpu", 1)), nil, "pool-n1/gpu-0"))}, want: "c"},
		{name: "two unavailable claims: the one the pod's UID picks", claims: []string{"b", "a"},
			objs: []any{gpu, on("a", "n2"), on("b", "n2")}, skip: []string{"n2"}, want: []string{"b", "a"}[pickFor("pod-uid", 2)]},
		{name: "the first unavailable is reserved for another pod: the next", claims: []string{"b", "a"},
			objs: []any{gpu, on("a", "n2"), reserved(on("b", "n2"), "other")}, skip: []string{"n2"}, want: "a"},
		{name: "available everywhere, another claim allocatable nowhere: kept", claims: []string{"c", "new"},
			objs: []any{gpu, allocated(claim("c", exact("r", "gpu", 1)), nil, "pool-n1/gpu-0"), claim("new", exact("r", "gpu", 1))}},
		{name: "no allocated claim", claims: []string{"new"},
			objs: []any{gpu, claim("new", exact("r", "gpu", 1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap(nodes, tt.objs...)
			s.Time = now
			nf, v := newPlugin(t).PreFilter(snapshot.NewPodInfo(podWithClaims(tt.claims...)), s)
			if !v.Fits() {
				t.Fatalf("PreFilter: %v", v)
			}
			var rejected []decide.Rejection
			for _, n := range s.Nodes {
				if slices.Contains(tt.skip, n.Name()) {
					continue
				}
				if v := nf.Filter(n); !v.Fits() {
					rejected = append(rejected, decide.Rejection{Node: n, Verdict: v})
				}
			}
			plan := nf.(decide.PostFilterer).PostFilter(rejected)
			var got string
			if plan != nil {
				d := plan.(*Deallocation)
				got = d.Claim.Name
				if d.Pod.UID != "pod-uid" {
					t.Errorf("the plan's pod is %s", d.Pod.UID)
				}
			}
			if got != tt.want {
				t.Errorf("PostFilter deallocates %q, want %q (rejected: %d nodes)", got, tt.want, len(rejected))
			}
		})
	}
}

// TestDeallocated checks what a deallocation writes: no allocation, reservations or device
// statuses, the rest (resourceVersion, finalizers, spec) as the snapshot had it, and the
// snapshot's claim unchanged.
// TestPickFor: the same pod always picks the same claim, and pods spread evenly over the
// candidates, as upstream's random pick does.
func TestPickFor(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		counts := make([]int, n)
		const pods = 3000
		for i := range pods {
			uid := types.UID(fmt.Sprintf("0b7c1e5a-%04d-4f1e-9a3b-6d2c8e1f0a%02d", i, i%97))
			k := pickFor(uid, n)
			if k != pickFor(uid, n) {
				t.Fatalf("%s picks differently twice", uid)
			}
			counts[k]++
		}
		for k, c := range counts { // each within 20% of pods/n: off only for a poor hash
			if want := pods / n; c < want*8/10 || c > want*12/10 {
				t.Errorf("n=%d: candidate %d picked %d times of %d, want about %d", n, k, c, pods, want)
			}
		}
	}
}

func TestDeallocated(t *testing.T) {
	c := allocated(claim("c", exact("r", "gpu", 1)), nodeNameSelector("n1"), "pool/gpu-0")
	c.ResourceVersion, c.Finalizers = "42", []string{resourcev1.Finalizer}
	c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "pod-uid"}}
	c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: driver, Pool: "pool", Device: "gpu-0"}}
	got := (&Deallocation{Claim: c}).Deallocated()
	switch {
	case got.Status.Allocation != nil || got.Status.ReservedFor != nil || got.Status.Devices != nil:
		t.Errorf("status %+v, want it empty", got.Status)
	case got.ResourceVersion != "42" || len(got.Finalizers) != 1 || len(got.Spec.Devices.Requests) != 1:
		t.Errorf("metadata or spec changed: %+v", got.ObjectMeta)
	case c.Status.Allocation == nil || len(c.Status.ReservedFor) != 1 || len(c.Status.Devices) != 1:
		t.Errorf("the snapshot's claim was changed")
	}
}

// TestPendingAllocationWaits: a claim this scheduler allocated for another pod and has not
// written yet keeps a pod sharing it waiting, as upstream's in-flight allocations do; once the
// pod is among its consumers, or the write is done, the pod goes on.
func TestPendingAllocationWaits(t *testing.T) {
	nodes := []*snapshot.NodeInfo{node("n1")}
	shared := func(uids ...types.UID) *resourcev1.ResourceClaim {
		c := allocated(claim("c", exact("r", "gpu", 1)), nodeNameSelector("n1"), "pool-n1/gpu-0")
		for _, u := range uids {
			c.Status.ReservedFor = append(c.Status.ReservedFor, resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: string(u), UID: u})
		}
		return c
	}
	tests := []struct {
		name    string
		claim   *resourcev1.ResourceClaim
		pending bool
		want    string // the verdict's reason, "" when PreFilter lets the pod on
	}{
		{"allocated for another pod, not written yet", shared("other"), true, "resource claim ns/c is in the process of being allocated"},
		{"written", shared("other"), false, ""},
		{"pending, but for this pod", shared("pod-uid"), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap(nodes, class("gpu"), tt.claim)
			if tt.pending {
				s.Devices.SetPending(map[types.NamespacedName]bool{{Namespace: "ns", Name: "c"}: true})
			}
			_, v := newPlugin(t).PreFilter(snapshot.NewPodInfo(podWithClaims("c")), s)
			got := ""
			if !v.Fits() {
				got = v.Reasons[0]
			}
			if got != tt.want || (got != "" && v.Unresolvable) {
				t.Errorf("PreFilter = %q (unresolvable %v), want %q, resolvable", got, v.Unresolvable, tt.want)
			}
		})
	}
}
