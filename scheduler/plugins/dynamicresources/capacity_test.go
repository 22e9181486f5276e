package dynamicresources

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// capDev is a device with capacities given as name, value pairs.
func capDev(name string, caps ...string) resourcev1.Device {
	d := dev(name)
	for i := 0; i+1 < len(caps); i += 2 {
		if d.Capacity == nil {
			d.Capacity = map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{}
		}
		d.Capacity[resourcev1.QualifiedName(caps[i])] = resourcev1.DeviceCapacity{Value: quantity(caps[i+1])}
	}
	return d
}

// multi makes d allow multiple allocations.
func multi(d resourcev1.Device) resourcev1.Device {
	d.AllowMultipleAllocations = ptr(true)
	return d
}

// withPolicy sets the request policy of d's capacity name.
func withPolicy(d resourcev1.Device, name string, p resourcev1.CapacityRequestPolicy) resourcev1.Device {
	c := d.Capacity[resourcev1.QualifiedName(name)]
	c.RequestPolicy = &p
	d.Capacity[resourcev1.QualifiedName(name)] = c
	return d
}

// asking sets the capacity requests (name, value pairs) of r, an exact request or the subrequests
// of a firstAvailable one (all of them).
func asking(r resourcev1.DeviceRequest, caps ...string) resourcev1.DeviceRequest {
	req := &resourcev1.CapacityRequirements{Requests: map[resourcev1.QualifiedName]resource.Quantity{}}
	for i := 0; i+1 < len(caps); i += 2 {
		req.Requests[resourcev1.QualifiedName(caps[i])] = quantity(caps[i+1])
	}
	if r.Exactly != nil {
		r.Exactly.Capacity = req
	}
	for i := range r.FirstAvailable {
		r.FirstAvailable[i].Capacity = req
	}
	return r
}

// subAsking is a subrequest for one device of class that asks for capacity (name, value pairs).
func subAsking(name, class string, caps ...string) resourcev1.DeviceSubRequest {
	s := sub(name, class, 1)
	s.Capacity = asking(resourcev1.DeviceRequest{FirstAvailable: []resourcev1.DeviceSubRequest{{}}}, caps...).FirstAvailable[0].Capacity
	return s
}

// shareOf returns c allocated a share of device "pool/device" consuming the capacities given as
// name, value pairs, and no share ID when whole is set.
func shareOf(c *resourcev1.ResourceClaim, device string, consumed ...string) *resourcev1.ResourceClaim {
	c = allocated(c, nil, device)
	r := &c.Status.Allocation.Devices.Results[0]
	r.ShareID = ptr(types.UID("ffffffff-0000-4000-8000-" + strings.Repeat("0", 12-len(c.Name)) + c.Name))
	for i := 0; i+1 < len(consumed); i += 2 {
		if r.ConsumedCapacity == nil {
			r.ConsumedCapacity = map[resourcev1.QualifiedName]resource.Quantity{}
		}
		r.ConsumedCapacity[resourcev1.QualifiedName(consumed[i])] = quantity(consumed[i+1])
	}
	return c
}

// describe lists an allocation's results as "request:pool/device", then " admin" for admin
// access, " share=N" (the share ID's number) and " name=value" for each consumed capacity, by name.
func describe(a *resourcev1.AllocationResult) []string {
	var out []string
	for _, r := range a.Devices.Results {
		s := r.Request + ":" + r.Pool + "/" + r.Device
		if r.AdminAccess != nil && *r.AdminAccess {
			s += " admin"
		}
		if r.ShareID != nil {
			s += " share=" + strings.TrimLeft(string(*r.ShareID)[len("00000000-0000-4000-8000-"):], "0")
		}
		var caps []string
		for name, q := range r.ConsumedCapacity {
			caps = append(caps, " "+string(name)+"="+q.String())
		}
		slices.Sort(caps)
		out = append(out, s+strings.Join(caps, ""))
	}
	return out
}

// TestConsumableCapacity covers DRAConsumableCapacity: capacity requests checked against each
// capacity's requestPolicy and against what other allocations left free, and devices that allow
// multiple allocations shared between requests and claims, each share with its shareID and
// consumedCapacity.
func TestConsumableCapacity(t *testing.T) {
	gpu := class("gpu")
	n0 := []*snapshot.NodeInfo{node("n0")}
	q := func(s string) *resource.Quantity { return ptr(quantity(s)) }
	// shared: 40Gi of memory, no policy.
	shared := multi(capDev("s0", "mem", "40Gi"))
	// ranged: requests rounded up to 4Gi, then to steps of 2Gi, at most 16Gi; 4Gi by default.
	ranged := withPolicy(multi(capDev("s0", "mem", "40Gi")), "mem", resourcev1.CapacityRequestPolicy{
		Default: q("4Gi"), ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: q("4Gi"), Step: q("2Gi"), Max: q("16Gi")}})
	// valued: requests rounded up to 1Gi, 4Gi or 8Gi; 1Gi by default.
	valued := withPolicy(multi(capDev("s0", "mem", "40Gi")), "mem", resourcev1.CapacityRequestPolicy{
		Default: q("1Gi"), ValidValues: []resource.Quantity{quantity("1Gi"), quantity("4Gi"), quantity("8Gi")}})
	// twoCaps: memory as ranged, and bandwidth 100 with a default of 10.
	twoCaps := withPolicy(withPolicy(multi(capDev("s0", "mem", "40Gi", "bw", "100")), "mem", *ranged.Capacity["mem"].RequestPolicy),
		"bw", resourcev1.CapacityRequestPolicy{Default: q("10")})
	tests := []struct {
		name   string
		objs   []any
		claims []string
		want   map[string][]string // claim: describe of its allocation
		reason string
		fail   string
	}{
		{
			name:   "capacity fits an exclusive device: no share, nothing recorded",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "10Gi")), slice("s", "n0", "p1", capDev("d0", "mem", "8Gi"), capDev("d1", "mem", "16Gi"))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d1"}},
		},
		{
			name:   "capacity does not fit",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "64Gi")), slice("s", "n0", "p1", shared, capDev("d1", "mem", "16Gi"))},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name:   "a capacity the device does not have: the next device",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "bw", "1")), slice("s", "n0", "p1", shared, multi(capDev("s1", "bw", "10")))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s1 share=1 bw=1"}},
		},
		{
			name:   "a shared device: the share consumes what was asked for",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "10Gi")), slice("s", "n0", "p1", shared)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=10Gi"}},
		},
		{
			name:   "nothing asked, no policy: the share consumes the whole capacity",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s", "n0", "p1", shared)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=40Gi"}},
		},
		{
			name:   "a shared device without capacities: a share ID, no consumed capacity",
			objs:   []any{gpu, claim("c1", exact("r", "gpu", 1)), claim("c2", exact("r", "gpu", 1)), slice("s", "n0", "p1", multi(dev("s0")))},
			claims: []string{"c1", "c2"},
			want:   map[string][]string{"c1": {"r:p1/s0 share=1"}, "c2": {"r:p1/s0 share=2"}},
		},
		{
			name:   "validRange: below the minimum, rounded up to it",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "1Gi")), slice("s", "n0", "p1", ranged)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=4Gi"}},
		},
		{
			name:   "validRange: rounded up to the next step",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "5Gi")), slice("s", "n0", "p1", ranged)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=6Gi"}},
		},
		{
			name:   "validRange: above the maximum does not fit",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "17Gi")), slice("s", "n0", "p1", ranged)},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name:   "validRange: the policy's default when nothing is asked",
			objs:   []any{gpu, claim("c", exact("r", "gpu", 1)), slice("s", "n0", "p1", ranged)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=4Gi"}},
		},
		{
			name:   "validValues: rounded up to the next valid value",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "3Gi")), slice("s", "n0", "p1", valued)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=4Gi"}},
		},
		{
			name:   "validValues: above every valid value does not fit",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "9Gi")), slice("s", "n0", "p1", valued)},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name:   "a policy applies to exclusive devices too",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "5Gi")), slice("s", "n0", "p1", func() resourcev1.Device { d := ranged; d.Name, d.AllowMultipleAllocations = "d0", nil; return d }())},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/d0"}},
		},
		{
			name:   "a capacity not asked for consumes its default",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "7Gi")), slice("s", "n0", "p1", twoCaps)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 bw=10 mem=8Gi"}},
		},
		{
			name: "two claims of a pod share one device",
			objs: []any{gpu, claim("c1", asking(exact("r", "gpu", 1), "mem", "16Gi")), claim("c2", asking(exact("r", "gpu", 1), "mem", "16Gi")),
				slice("s", "n0", "p1", shared, capDev("d1", "mem", "40Gi"))},
			claims: []string{"c1", "c2"},
			want:   map[string][]string{"c1": {"r:p1/s0 share=1 mem=16Gi"}, "c2": {"r:p1/s0 share=2 mem=16Gi"}},
		},
		{
			name: "a third claim of the pod no longer fits on the shared device",
			objs: []any{gpu, claim("c1", asking(exact("r", "gpu", 1), "mem", "16Gi")), claim("c2", asking(exact("r", "gpu", 1), "mem", "16Gi")),
				claim("c3", asking(exact("r", "gpu", 1), "mem", "16Gi")), slice("s", "n0", "p1", shared)},
			claims: []string{"c1", "c2", "c3"},
			reason: ReasonCannotAllocate,
		},
		{
			name:   "two requests of one claim share one device",
			objs:   []any{gpu, claim("c", asking(exact("a", "gpu", 1), "mem", "8Gi"), asking(exact("b", "gpu", 1), "mem", "8Gi")), slice("s", "n0", "p1", shared)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"a:p1/s0 share=1 mem=8Gi", "b:p1/s0 share=2 mem=8Gi"}},
		},
		{
			name: "shares allocated cluster-wide leave the rest",
			objs: []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "8Gi")), slice("s", "n0", "p1", shared),
				shareOf(claim("x1"), "p1/s0", "mem", "16Gi"), shareOf(claim("x2"), "p1/s0", "mem", "16Gi")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=8Gi"}},
		},
		{
			name: "a third claim no longer fits after two shares allocated cluster-wide",
			objs: []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "16Gi")), slice("s", "n0", "p1", shared),
				shareOf(claim("x1"), "p1/s0", "mem", "16Gi"), shareOf(claim("x2"), "p1/s0", "mem", "16Gi")},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "a shared device allocated whole (no share ID) is in use",
			objs: []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "1Gi")), slice("s", "n0", "p1", shared),
				allocated(claim("x1"), nil, "p1/s0")},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "devices that do not allow multiple allocations stay exclusive",
			objs: []any{gpu, claim("c1", asking(exact("r", "gpu", 1), "mem", "1Gi")), claim("c2", asking(exact("r", "gpu", 1), "mem", "1Gi")),
				slice("s", "n0", "p1", capDev("d0", "mem", "40Gi"))},
			claims: []string{"c1", "c2"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "firstAvailable: the alternative whose capacity fits",
			objs: []any{gpu, claim("c", firstAvailable("r", subAsking("big", "gpu", "mem", "32Gi"), subAsking("small", "gpu", "mem", "5Gi"))),
				slice("s", "n0", "p1", ranged), shareOf(claim("x1"), "p1/s0", "mem", "16Gi")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r/small:p1/s0 share=1 mem=6Gi"}},
		},
		{
			name: "firstAvailable: the first alternative when it fits",
			objs: []any{gpu, claim("c", firstAvailable("r", subAsking("big", "gpu", "mem", "15Gi"), subAsking("small", "gpu", "mem", "5Gi"))),
				slice("s", "n0", "p1", ranged)},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r/big:p1/s0 share=1 mem=16Gi"}},
		},
		{
			name: "distinctAttribute keeps two requests off one shared device",
			objs: []any{gpu, func() *resourcev1.ResourceClaim {
				c := claim("c", asking(exact("a", "gpu", 1), "mem", "1Gi"), asking(exact("b", "gpu", 1), "mem", "1Gi"))
				c.Spec.Devices.Constraints = []resourcev1.DeviceConstraint{{DistinctAttribute: ptr(resourcev1.FullyQualifiedName("numa"))}}
				return c
			}(), slice("s", "n0", "p1", func() resourcev1.Device { d := shared; d.Attributes = dev("x", "numa", "0").Attributes; return d }(),
				func() resourcev1.Device {
					d := shared
					d.Name, d.Attributes = "s1", dev("x", "numa", "1").Attributes
					return d
				}())},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"a:p1/s0 share=1 mem=1Gi", "b:p1/s1 share=2 mem=1Gi"}},
		},
		{
			name: "All: a matching shared device without room left fails the request",
			objs: []any{gpu, claim("c", asking(exact("r", "gpu", 0), "mem", "30Gi")), slice("s", "n0", "p1", shared, multi(capDev("s1", "mem", "40Gi"))),
				shareOf(claim("x1"), "p1/s1", "mem", "16Gi")},
			claims: []string{"c"},
			reason: ReasonCannotAllocate,
		},
		{
			name: "All and an exact request of one claim share a device",
			objs: []any{gpu, claim("c", asking(exact("one", "gpu", 1), "mem", "1"), asking(exact("all", "gpu", 0), "mem", "1")),
				slice("s", "n0", "p1", multi(capDev("s0", "mem", "2")), multi(capDev("s1", "mem", "1")))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"one:p1/s0 share=1 mem=1", "all:p1/s0 share=2 mem=1", "all:p1/s1 share=3 mem=1"}},
		},
		{
			name: "a default of zero: shares consume nothing, and say so",
			objs: []any{gpu, claim("c1", exact("r", "gpu", 1)), claim("c2", exact("r", "gpu", 1)),
				slice("s", "n0", "p1", withPolicy(multi(capDev("s0", "mem", "1")), "mem", resourcev1.CapacityRequestPolicy{
					Default: q("0"), ValidValues: []resource.Quantity{quantity("0"), quantity("1")}}))},
			claims: []string{"c1", "c2"},
			want:   map[string][]string{"c1": {"r:p1/s0 share=1 mem=0"}, "c2": {"r:p1/s0 share=2 mem=0"}},
		},
		{
			name:   "All: devices too small by themselves are left out",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 0), "mem", "30Gi")), slice("s", "n0", "p1", shared, multi(capDev("s1", "mem", "20Gi")))},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 share=1 mem=30Gi"}},
		},
		{
			name: "admin access to a shared device",
			objs: []any{gpu, func() *resourcev1.ResourceClaim {
				c := claim("c", asking(exact("r", "gpu", 1), "mem", "1Gi"))
				c.Spec.Devices.Requests[0].Exactly.AdminAccess = ptr(true)
				return c
			}(), slice("s", "n0", "p1", shared), shareOf(claim("x1"), "p1/s0", "mem", "16Gi")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"r:p1/s0 admin share=1 mem=1Gi"}},
		},
		{
			name: "a shared partition consumes its counters once",
			objs: []any{gpu, claim("c1", asking(exact("r", "gpu", 1), "mem", "1Gi")), claim("c2", asking(exact("r", "gpu", 1), "mem", "1Gi")),
				func() *resourcev1.ResourceSlice {
					d := shared
					d.ConsumesCounters = []resourcev1.DeviceCounterConsumption{{CounterSet: "gpu0", Counters: map[string]resourcev1.Counter{"mem": {Value: quantity("40Gi")}}}}
					s := slice("s", "n0", "p1", d)
					s.Spec.Pool.ResourceSliceCount = 2
					return s
				}(), counterSlice("n0", "gpu0", "mem", "40Gi"), shareOf(claim("x1"), "p1/s0", "mem", "1Gi")},
			claims: []string{"c1", "c2"},
			want:   map[string][]string{"c1": {"r:p1/s0 share=1 mem=1Gi"}, "c2": {"r:p1/s0 share=2 mem=1Gi"}},
		},
		{
			name: "backtracking off a shared partition gives its counters back",
			objs: []any{gpu, claim("c", exact("a", "gpu", 1, "model=shared"), exact("b", "gpu", 1, "model=counters")),
				func() *resourcev1.ResourceSlice {
					consuming := func(d resourcev1.Device) resourcev1.Device {
						d.ConsumesCounters = []resourcev1.DeviceCounterConsumption{{CounterSet: "set", Counters: map[string]resourcev1.Counter{"c": {Value: quantity("1")}}}}
						return d
					}
					s := slice("s", "n0", "p1", consuming(multi(dev("s0", "model", "shared"))), dev("d1", "model", "shared"), consuming(dev("d2", "model", "counters")))
					s.Spec.Pool.ResourceSliceCount = 2
					return s
				}(), counterSlice("n0", "set", "c", "1")},
			claims: []string{"c"},
			want:   map[string][]string{"c": {"a:p1/d1", "b:p1/d2"}},
		},
		{
			name:   "a request beyond int64 with a step fails the attempt",
			objs:   []any{gpu, claim("c", asking(exact("r", "gpu", 1), "mem", "10E")), slice("s", "n0", "p1", ranged)},
			claims: []string{"c"},
			fail: `claim ns/c, request r: checking capacity for device gpu.example.com/p1/s0: capacity "mem": ` +
				"capacity request cannot be represented in the device's range arithmetic: request 10E exceeds MaxInt64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectAllocation(t, snap(n0, tt.objs...), tt.claims, tt.fail, tt.reason, tt.want, describe)
		})
	}
}

// TestRequestPolicy covers the rounding and the checks of each kind of requestPolicy.
func TestRequestPolicy(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr(quantity(s)) }
	rng := &resourcev1.CapacityRequestPolicy{Default: q("4"), ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: q("4"), Step: q("3"), Max: q("16")}}
	open := &resourcev1.CapacityRequestPolicy{Default: q("2"), ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: q("2")}}
	vals := &resourcev1.CapacityRequestPolicy{Default: q("1"), ValidValues: []resource.Quantity{quantity("1"), quantity("4"), quantity("8")}}
	tests := []struct {
		name    string
		policy  *resourcev1.CapacityRequestPolicy
		request string
		want    string // the rounded amount
		allowed bool
	}{
		{"no policy: as asked", nil, "5", "5", true},
		{"range: below min, min", rng, "1", "4", true},
		{"range: on a step, as asked", rng, "7", "7", true},
		{"range: between steps, the next step", rng, "8", "10", true},
		{"range: a fraction is rounded up to a whole number first", rng, "7500m", "10", true},
		{"range: the last step below max", rng, "15", "16", true},
		{"range: above max, not allowed", rng, "17", "19", false},
		{"range without step: as asked", open, "5", "5", true},
		{"range without step or max: anything above min", open, "1000", "1000", true},
		{"values: an exact value", vals, "4", "4", true},
		{"values: the next value up", vals, "5", "8", true},
		{"values: above every value, not allowed", vals, "9", "9", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := roundUp(quantity(tt.request), tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got.Cmp(quantity(tt.want)) != 0 {
				t.Errorf("roundUp(%s) = %s, want %s", tt.request, got.String(), tt.want)
			}
			if ok := allowed(got, tt.policy); ok != tt.allowed {
				t.Errorf("allowed(%s) = %v, want %v", got.String(), ok, tt.allowed)
			}
		})
	}
}

// TestShareIDs checks that share IDs are UUIDs in the form the API accepts, the same for the same
// claim and result (the decision stays a function of its input), and different otherwise.
func TestShareIDs(t *testing.T) {
	seen := map[types.UID]string{}
	for c := range 20 {
		claim := types.UID(fmt.Sprintf("claim-uid-%d", c))
		for i := range 5 {
			id := newShareID(claim, i)
			s := string(id)
			if len(s) != 36 || s != strings.ToLower(s) || s[14] != '5' || !strings.ContainsRune("89ab", rune(s[19])) ||
				strings.Count(s, "-") != 4 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
				t.Fatalf("share ID %q is not a lower-case version 5 UUID", s)
			}
			what := fmt.Sprintf("%s/%d", claim, i)
			if other, dup := seen[id]; dup {
				t.Fatalf("share ID %q for %s and %s", s, other, what)
			}
			seen[id] = what
			if again := newShareID(claim, i); again != id {
				t.Fatalf("share ID for %s: %q, then %q", what, id, again)
			}
		}
	}
}
