package dynamicresources

import (
	"errors"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// allocate runs the plugin for a pod using claims on node n0 of s and returns the allocation of
// each claim (by name), or the verdict when the pod does not fit.
// expectAllocation allocates claims on s and checks the verdict: a failure with the reason fail,
// else an unresolvable rejection with the reason reason, else a fit where each claim got the
// devices want lists, as show renders an allocation.
func expectAllocation(t *testing.T, s *snapshot.Snapshot, claims []string, fail, reason string, want map[string][]string,
	show func(*resourcev1.AllocationResult) []string) {
	t.Helper()
	got, v := allocate(t, s, claims...)
	switch {
	case fail != "":
		if !v.Failed || v.Reasons[0] != fail {
			t.Fatalf("verdict %+v, want failure %q", v, fail)
		}
		return
	case reason != "":
		if v.Fits() || v.Failed || v.Reasons[0] != reason || !v.Unresolvable {
			t.Fatalf("verdict %+v, want unresolvable %q", v, reason)
		}
		return
	}
	if !v.Fits() {
		t.Fatalf("verdict %+v, want a fit", v)
	}
	gotDevices := map[string][]string{}
	for name, a := range got {
		gotDevices[name] = show(a)
	}
	if !reflect.DeepEqual(gotDevices, want) {
		t.Errorf("allocated %v\nwant      %v", gotDevices, want)
	}
}

func allocate(t *testing.T, s *snapshot.Snapshot, claims ...string) (map[string]*resourcev1.AllocationResult, snapshot.Verdict) {
	t.Helper()
	pl := newPlugin(t)
	nf, v := pl.PreFilter(snapshot.NewPodInfo(podWithClaims(claims...)), s)
	if !v.Fits() {
		return nil, v
	}
	n := s.Get("n0")
	if v := nf.Filter(n); !v.Fits() {
		return nil, v
	}
	plan, _ := nf.(*prepared).Reserve(n).(*Plan)
	out := map[string]*resourcev1.AllocationResult{}
	if plan == nil {
		return out, snapshot.Verdict{}
	}
	if plan.Err != nil {
		t.Fatalf("Reserve: %v", plan.Err)
	}
	for _, u := range plan.Claims {
		if u.Allocated {
			out[u.After.Name] = u.After.Status.Allocation
		}
	}
	return out, snapshot.Verdict{}
}

func TestAllocator(t *testing.T) {
	n0 := []*snapshot.NodeInfo{node("n0", "zone", "a")}
	gpu := class("gpu")
	withCount := func(d resourcev1.Device, set string, n string) resourcev1.Device {
		d.ConsumesCounters = []resourcev1.DeviceCounterConsumption{{CounterSet: set, Counters: map[string]resourcev1.Counter{"mem": {Value: quantity(n)}}}}
		return d
	}
	tainted := func(d resourcev1.Device, effect resourcev1.DeviceTaintEffect) resourcev1.Device {
		d.Taints = []resourcev1.DeviceTaint{{Key: "broken", Value: "yes", Effect: effect}}
		return d
	}
	tolerating := func(r resourcev1.DeviceRequest) resourcev1.DeviceRequest {
		r.Exactly.Tolerations = []resourcev1.DeviceToleration{{Key: "broken", Operator: resourcev1.DeviceTolerationOpExists}}
		return r
	}
	admin := func(r resourcev1.DeviceRequest) resourcev1.DeviceRequest {
		r.Exactly.AdminAccess = ptr(true)
		return r
	}
	withConstraint := func(c *resourcev1.ResourceClaim, distinct bool, attr string, reqs ...string) *resourcev1.ResourceClaim {
		dc := resourcev1.DeviceConstraint{Requests: reqs}
		name := resourcev1.FullyQualifiedName(attr)
		if distinct {
			dc.DistinctAttribute = &name
		} else {
			dc.MatchAttribute = &name
		}
		c.Spec.Devices.Constraints = append(c.Spec.Devices.Constraints, dc)
		return c
	}
	withCapacity := func(d resourcev1.Device, mem ...string) resourcev1.Device {
		for _, m := range mem {
			d.Capacity = map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"mem": {Value: quantity(m)}}
		}
		return d
	}
	tests := []struct {
		name   string
		objs   []any
		claims []string
		want   map[string][]string // claim: "request:pool/device" in result order
		reason string              // the rejection, when it does not fit
		fail   string              // the failure (Error status), when the plugin fails
	}{
		{
			name:   "one device: the first of the first pool",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s2", "n0", "p2", dev("d0")), slice("s1", "n0", "p1", dev("d1"), dev("d0"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d1"}},
		},
		{
			name:   "not enough devices",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 2)), slice("s1", "n0", "p1", dev("d0"))},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name:   "no slices for the node",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s1", "n1", "p1", dev("d0"))},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "class and request selectors",
			objs: []any{class("a100", "model=a100"), claim("c", exact("r", "a100", 1, "true")),
				slice("s1", "n0", "p1", dev("d0", "model", "t4"), dev("d1", "model", "a100"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d1"}},
		},
		{
			name:   "All: every matching device",
			objs:   []any{class("a100", "model=a100"), claim("c", exact("r", "a100", 0)), slice("s1", "n0", "p1", dev("d0", "model", "a100"), dev("d1", "model", "t4"), dev("d2", "model", "a100"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d0", "r:p1/d2"}},
		},
		{
			name:   "All with no matching device",
			objs:   []any{class("a100", "model=a100"), claim("c", exact("r", "a100", 0)), slice("s1", "n0", "p1", dev("d1", "model", "t4"))},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "All with an incomplete pool fails",
			objs: []any{gpu, claim("c", exact("r", "gpu", 0)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "n0", "p1", dev("d0"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}()},
			claims: []string{"c"},
			fail:   "claim ns/c, request r: asks for all devices, but resource pool gpu.example.com/p1 is currently being updated",
		},
		{
			name: "All when one device is allocated elsewhere",
			objs: []any{gpu, claim("c", exact("r", "gpu", 0)), slice("s1", "n0", "p1", dev("d0"), dev("d1")),
				allocated(claim("other"), nil, "p1/d1")},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "an incomplete pool is skipped for exact counts",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "n0", "p1", dev("d0"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}(), slice("s2", "n0", "p2", dev("d0"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p2/d0"}},
		},
		{
			name: "a pool completed by a slice for another node",
			objs: []any{gpu, claim("c", exact("r", "gpu", 0)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "n0", "p1", dev("d0"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}(), func() *resourcev1.ResourceSlice {
				s := slice("s2", "n1", "p1", dev("d1"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}()},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d0"}},
		},
		{
			name: "an old generation is ignored, and a newer one elsewhere makes the pool obsolete",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), slice("old", "n0", "p1", dev("d0")),
				func() *resourcev1.ResourceSlice {
					s := slice("new", "n0", "p1", dev("d1"))
					s.Spec.Pool.Generation = 2
					return s
				}(),
				slice("gone", "n0", "p2", dev("x0")),
				func() *resourcev1.ResourceSlice {
					s := slice("newer", "n1", "p2", dev("x1"))
					s.Spec.Pool.Generation = 3
					return s
				}()},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d1"}},
		},
		{
			name: "two requests competing: backtracking finds the assignment",
			objs: []any{gpu, claim("c", exact("any", "gpu", 1), exact("a100", "gpu", 1, "model=a100")),
				slice("s1", "n0", "p1", dev("d0", "model", "a100"), dev("d1", "model", "t4"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"any:p1/d1", "a100:p1/d0"}},
		},
		{
			name: "two claims competing for one device",
			objs: []any{gpu, claim("c1", exact("r", "gpu", 1)), claim("c2", exact("r", "gpu", 1)),
				slice("s1", "n0", "p1", dev("d0"))},
			claims: []string{"c1", "c2"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "devices allocated cluster-wide are not taken",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s1", "n0", "p1", dev("d0"), dev("d1")),
				allocated(claim("other"), nil, "p1/d0")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d1"}},
		},
		{
			name: "firstAvailable: the first alternative that fits, in order",
			objs: []any{class("a100", "model=a100"), class("t4", "model=t4"),
				claim("c", firstAvailable("r", sub("big", "a100", 1), sub("small", "t4", 2))),
				slice("s1", "n0", "p1", dev("d0", "model", "t4"), dev("d1", "model", "t4"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r/small:p1/d0", "r/small:p1/d1"}},
		},
		{
			name: "firstAvailable prefers the first alternative",
			objs: []any{class("a100", "model=a100"), class("t4", "model=t4"),
				claim("c", firstAvailable("r", sub("big", "a100", 1), sub("small", "t4", 1))),
				slice("s1", "n0", "p1", dev("d0", "model", "t4"), dev("d1", "model", "a100"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r/big:p1/d1"}},
		},
		{
			name: "firstAvailable: a later request makes an earlier one fall back",
			objs: []any{class("a100", "model=a100"), class("t4", "model=t4"),
				claim("c", firstAvailable("r", sub("big", "a100", 1), sub("small", "t4", 1)), exact("must", "a100", 1)),
				slice("s1", "n0", "p1", dev("d0", "model", "t4"), dev("d1", "model", "a100"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r/small:p1/d0", "must:p1/d1"}},
		},
		{
			name: "matchAttribute across requests",
			objs: []any{gpu, withConstraint(claim("c", exact("a", "gpu", 1), exact("b", "gpu", 1)), false, driver+"/numa"),
				slice("s1", "n0", "p1", dev("d0", "numa", "0"), dev("d1", "numa", "1"), dev("d2", "numa", "1"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"a:p1/d1", "b:p1/d2"}},
		},
		{
			name: "matchAttribute limited to named requests",
			objs: []any{gpu, withConstraint(claim("c", exact("a", "gpu", 1), exact("b", "gpu", 1), exact("free", "gpu", 1)), false, driver+"/numa", "a", "b"),
				slice("s1", "n0", "p1", dev("d0", "numa", "0"), dev("d1", "numa", "1"), dev("d2", "numa", "1"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"a:p1/d1", "b:p1/d2", "free:p1/d0"}},
		},
		{
			name: "matchAttribute: devices without the attribute never match",
			objs: []any{gpu, withConstraint(claim("c", exact("a", "gpu", 1)), false, driver+"/numa"),
				slice("s1", "n0", "p1", dev("d0"))},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "matchAttribute with All: a violating device fails the pod",
			objs: []any{gpu, withConstraint(claim("c", exact("a", "gpu", 0)), false, driver+"/numa"),
				slice("s1", "n0", "p1", dev("d0", "numa", "0"), dev("d1", "numa", "1"))},
			claims: []string{"c"},
			fail:   "claim ns/c, request a: cannot add device gpu.example.com/p1/d1 because a claim constraint would not be satisfied",
		},
		{
			name: "distinctAttribute",
			objs: []any{gpu, withConstraint(claim("c", exact("a", "gpu", 2)), true, "numa"),
				slice("s1", "n0", "p1", dev("d0", "numa", "0"), dev("d1", "numa", "0"), dev("d2", "numa", "1"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"a:p1/d0", "a:p1/d2"}},
		},
		{
			name:   "an untolerated NoSchedule taint",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s1", "n0", "p1", tainted(dev("d0"), resourcev1.DeviceTaintEffectNoSchedule))},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name:   "an untolerated NoExecute taint",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s1", "n0", "p1", tainted(dev("d0"), resourcev1.DeviceTaintEffectNoExecute), dev("d1"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d1"}},
		},
		{
			name:   "a taint with effect None does not prevent allocation",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s1", "n0", "p1", tainted(dev("d0"), resourcev1.DeviceTaintEffectNone))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d0"}},
		},
		{
			name:   "a tolerated taint",
			objs:   []any{gpu, claim("c", tolerating(exact("r", "gpu", 1))), slice("s1", "n0", "p1", tainted(dev("d0"), resourcev1.DeviceTaintEffectNoSchedule))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d0"}},
		},
		{
			name: "a DeviceTaintRule taints a device",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s1", "n0", "p1", dev("d0"), dev("d1")),
				&resourcev1.DeviceTaintRule{ObjectMeta: metav1.ObjectMeta{Name: "rule"}, Spec: resourcev1.DeviceTaintRuleSpec{
					DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: ptr(driver), Device: ptr("d0")},
					Taint:          resourcev1.DeviceTaint{Key: "maintenance", Effect: resourcev1.DeviceTaintEffectNoSchedule}}}},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d1"}},
		},
		{
			name: "admin access takes a device allocated elsewhere",
			objs: []any{gpu, claim("c", admin(exact("r", "gpu", 1))), slice("s1", "n0", "p1", dev("d0")),
				allocated(claim("other"), nil, "p1/d0")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d0"}},
		},
		{
			name: "an admin-access device picked for one claim is in use for the next",
			objs: []any{gpu, claim("c1", admin(exact("r", "gpu", 1))), claim("c2", exact("r", "gpu", 1)),
				slice("s1", "n0", "p1", dev("d0"))},
			claims: []string{"c1", "c2"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "per-device node selection",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "", "p1", dev("other"), dev("mine"))
				s.Spec.AllNodes, s.Spec.PerDeviceNodeSelection = nil, ptr(true)
				s.Spec.Devices[0].NodeName = ptr("n1")
				s.Spec.Devices[1].NodeName = ptr("n0")
				return s
			}()},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/mine"}},
		},
		{
			name: "a slice selecting nodes by label",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "", "net", dev("d0"))
				s.Spec.AllNodes = nil
				s.Spec.NodeSelector = &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
					{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"b"}}}}}}
				return s
			}()},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "duplicate device names make a pool invalid",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "n0", "p1", dev("d0"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}(), func() *resourcev1.ResourceSlice {
				s := slice("s2", "n0", "p1", dev("d0"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}()},
			claims: []string{"c"},
			reason: ReasonInvalidPools,
		},
		{
			name:   "a CEL runtime error fails the attempt",
			objs:   []any{class("broken", "boom"), claim("c", exact("r", "broken", 1)), slice("s1", "n0", "p1", dev("d0"))},
			claims: []string{"c"},
			fail:   "class broken: selector #0 on device gpu.example.com/p1/d0: CEL runtime error: no such key: healthy" + keyHint,
		},
		{
			name:   "a CEL runtime error in a request selector",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1, "boom")), slice("s1", "n0", "p1", dev("d0"))},
			claims: []string{"c"},
			fail:   "claim ns/c: selector #0 on device gpu.example.com/p1/d0: CEL runtime error: no such key: healthy" + keyHint,
		},
		{
			name: "a device in use is passed over before its selectors run",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1, "boom")), slice("s1", "n0", "p1", dev("d0")),
				allocated(claim("other"), nil, "p1/d0")},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "partitionable devices: shared counters limit what fits",
			objs: []any{gpu, claim("c", exact("r", "gpu", 2)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "n0", "p1", withCount(dev("whole"), "gpu0", "40Gi"), withCount(dev("half0"), "gpu0", "20Gi"), withCount(dev("half1"), "gpu0", "20Gi"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}(), counterSlice("n0", "gpu0", "mem", "40Gi")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/half0", "r:p1/half1"}},
		},
		{
			name: "partitionable devices: an allocated partition consumes its counters",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), func() *resourcev1.ResourceSlice {
				s := slice("s1", "n0", "p1", withCount(dev("whole"), "gpu0", "40Gi"), withCount(dev("half0"), "gpu0", "20Gi"), withCount(dev("half1"), "gpu0", "20Gi"))
				s.Spec.Pool.ResourceSliceCount = 2
				return s
			}(), func() *resourcev1.ResourceSlice {
				s := counterSlice("", "gpu0", "mem", "40Gi")
				s.Spec.AllNodes = nil // a counter slice that selects no node: found through the pool
				return s
			}(), allocated(claim("other"), nil, "p1/half0")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/half1"}},
		},
		{
			name: "a counter set that is missing makes the pool invalid",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)),
				slice("s1", "n0", "p1", withCount(dev("half0"), "gpu0", "20Gi"))},
			claims: []string{"c"},
			reason: ReasonInvalidPools,
		},
		{
			name: "capacity requests: the device must have enough",
			objs: []any{gpu, func() *resourcev1.ResourceClaim {
				c := claim("c", exact("r", "gpu", 1))
				c.Spec.Devices.Requests[0].Exactly.Capacity = &resourcev1.CapacityRequirements{
					Requests: map[resourcev1.QualifiedName]resource.Quantity{"mem": quantity("10Gi")}}
				return c
			}(), slice("s1", "n0", "p1", withCapacity(dev("none")), withCapacity(dev("small"), "8Gi"), withCapacity(dev("big"), "16Gi"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/big"}},
		},
		{
			name: "devices with binding conditions are tried last",
			objs: []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s0", "n0", "a-pool", func() resourcev1.Device {
				d := dev("attached-later")
				d.BindingConditions = []string{"Attached"}
				return d
			}()), slice("s1", "n0", "z-pool", dev("d0"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:z-pool/d0"}},
		},
		{
			name:   "an allocated claim is left as it is",
			objs:   []any{gpu, allocated(claim("c", exact("r", "gpu", 1)), nil, "p1/d0"), slice("s1", "n0", "p1", dev("d0"))},
			claims: []string{"c"},
			want:   map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectAllocation(t, snap(n0, tt.objs...), tt.claims, tt.fail, tt.reason, tt.want, devicesOf)
		})
	}
}

// TestKeyHint: upstream's hint follows a missing key error (the conformance test found berth's
// message without it), and only that error.
func TestKeyHint(t *testing.T) {
	for _, tc := range []struct{ err, want string }{
		{"no such key: rack", "no such key: rack" + keyHint},
		{"division by zero", "division by zero"},
	} {
		if got := withKeyHint(errors.New(tc.err)).Error(); got != tc.want {
			t.Errorf("withKeyHint(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
