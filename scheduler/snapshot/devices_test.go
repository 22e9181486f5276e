package snapshot

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func devSlice(name, node, pool string, gen int64, devices ...string) *resourcev1.ResourceSlice {
	s := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.example.com", Pool: resourcev1.ResourcePool{Name: pool, Generation: gen, ResourceSliceCount: 1},
	}}
	if node != "" {
		s.Spec.NodeName = &node
	} else {
		all := true
		s.Spec.AllNodes = &all
	}
	for _, d := range devices {
		s.Spec.Devices = append(s.Spec.Devices, resourcev1.Device{Name: d})
	}
	return s
}

// devClaim is a claim allocated the given devices of pool p ("admin:" and "share:" prefixes mark
// admin-access and shared results).
func devClaim(name, pool string, devices ...string) *resourcev1.ResourceClaim {
	c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	if len(devices) == 0 {
		return c
	}
	c.Status.Allocation = &resourcev1.AllocationResult{}
	for _, d := range devices {
		r := resourcev1.DeviceRequestAllocationResult{Request: "r", Driver: "gpu.example.com", Pool: pool, Device: d}
		if rest, ok := cutPrefix(d, "admin:"); ok {
			r.Device, r.AdminAccess = rest, ptrTo(true)
		}
		if rest, ok := cutPrefix(d, "share:"); ok {
			r.Device, r.ShareID = rest, ptrTo(types.UID("s-"+rest))
		}
		c.Status.Allocation.Devices.Results = append(c.Status.Allocation.Devices.Results, r)
	}
	return c
}

// sharing is a claim holding a share of device d of pool p1 that consumes the named capacity.
func sharing(name, device, capacity, value string) *resourcev1.ResourceClaim {
	c := devClaim(name, "p1", "share:"+device)
	c.Status.Allocation.Devices.Results[0].ConsumedCapacity = map[resourcev1.QualifiedName]resource.Quantity{
		resourcev1.QualifiedName(capacity): resource.MustParse(value)}
	return c
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func ptrTo[T any](v T) *T { return &v }

func devClass(name, extended string) *resourcev1.DeviceClass {
	c := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if extended != "" {
		c.Spec.ExtendedResourceName = &extended
	}
	return c
}

func taintRule(name string, driver, pool, device *string, key string) *resourcev1.DeviceTaintRule {
	return &resourcev1.DeviceTaintRule{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.DeviceTaintRuleSpec{
		DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: driver, Pool: pool, Device: device},
		Taint:          resourcev1.DeviceTaint{Key: key, Effect: resourcev1.DeviceTaintEffectNoSchedule},
	}}
}

// indexes describes every index of d as sorted strings, to compare a Devices changed step by step
// with one built from its final objects.
func indexes(d *Devices) map[string][]string {
	out := map[string][]string{}
	add := func(k, v string) { out[k] = append(out[k], v) }
	for id, n := range d.dedicated {
		add("dedicated", fmt.Sprintf("%s=%d", id, n))
	}
	for id, n := range d.shared {
		add("shared", fmt.Sprintf("%s=%d", id, n))
	}
	for id, m := range d.consumed {
		for name, q := range m {
			add("consumed", fmt.Sprintf("%s/%s=%s", id, name, q.String()))
		}
	}
	for node, list := range d.nodeSlices {
		for _, s := range list {
			add("node/"+node, s.Name)
		}
	}
	for _, s := range d.selecting {
		add("selecting", s.Name)
	}
	for id, list := range d.poolSlices {
		for _, s := range list {
			add("pool/"+id.String(), s.Name)
		}
	}
	for drv, list := range d.rulesByDriver {
		for _, r := range list {
			add("rules/"+drv, r.Name)
		}
	}
	for n, c := range d.extended {
		add("extended", fmt.Sprintf("%s=%s", n, strings.Join(c, ",")))
	}
	// Map-built lists are sorted; the others must already be in name order.
	for _, k := range []string{"dedicated", "shared", "consumed", "extended"} {
		sort.Strings(out[k])
	}
	return out
}

// objects lists d's objects, for rebuilding it with DevicesOf.
func objects(d *Devices) []any {
	var out []any
	for _, c := range d.claims {
		out = append(out, c)
	}
	for _, c := range d.classes {
		out = append(out, c)
	}
	for _, s := range d.slices {
		out = append(out, s)
	}
	for _, r := range d.rules {
		out = append(out, r)
	}
	return out
}

func TestDevicesIndexes(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name   string
		steps  func(d *Devices)
		want   map[string][]string
		checks func(t *testing.T, d *Devices)
	}{
		{
			name: "slices by node, selecting and pool, in name order",
			steps: func(d *Devices) {
				d.SetSlice(devSlice("b", "n1", "p1", 1, "d0"))
				d.SetSlice(devSlice("a", "n1", "p1", 1, "d1"))
				d.SetSlice(devSlice("c", "", "net", 1, "d0"))
			},
			want: map[string][]string{"node/n1": {"a", "b"}, "selecting": {"c"},
				"pool/gpu.example.com/p1": {"a", "b"}, "pool/gpu.example.com/net": {"c"}},
		},
		{
			name: "a slice moving node and pool leaves its old entries",
			steps: func(d *Devices) {
				d.SetSlice(devSlice("a", "n1", "p1", 1, "d0"))
				d.SetSlice(devSlice("a", "n2", "p2", 2, "d0"))
			},
			want: map[string][]string{"node/n2": {"a"}, "pool/gpu.example.com/p2": {"a"}},
		},
		{
			name: "deleting slices empties the indexes",
			steps: func(d *Devices) {
				d.SetSlice(devSlice("a", "n1", "p1", 1, "d0"))
				d.SetSlice(devSlice("c", "", "net", 1, "d0"))
				d.DeleteSlice("a")
				d.DeleteSlice("c")
				d.DeleteSlice("never")
			},
			want: map[string][]string{},
		},
		{
			name: "allocations: dedicated and shared counted, admin access not",
			steps: func(d *Devices) {
				d.SetClaim(devClaim("c1", "p1", "d0", "admin:d1", "share:d2"))
				d.SetClaim(devClaim("c2", "p1", "share:d2"))
				d.SetClaim(devClaim("c3", "p1")) // not allocated
			},
			want: map[string][]string{"dedicated": {"gpu.example.com/p1/d0=1"}, "shared": {"gpu.example.com/p1/d2=2"}},
			checks: func(t *testing.T, d *Devices) {
				if !d.Allocated(DeviceID{"gpu.example.com", "p1", "d0"}) || d.Allocated(DeviceID{"gpu.example.com", "p1", "d1"}) {
					t.Errorf("Allocated: d0 must be, d1 (admin access) must not")
				}
				if !d.Shared(DeviceID{"gpu.example.com", "p1", "d2"}) {
					t.Errorf("Shared(d2) = false")
				}
			},
		},
		{
			name: "shares' consumed capacity is summed per device and given back when they go",
			steps: func(d *Devices) {
				d.SetClaim(sharing("c1", "d0", "mem", "4Gi"))
				d.SetClaim(sharing("c2", "d0", "mem", "2Gi"))
				d.SetClaim(sharing("c3", "d1", "mem", "1Gi"))
				d.SetClaim(sharing("c3", "d1", "mem", "3Gi")) // replaced: the old share goes
				d.SetClaim(sharing("c4", "d2", "mem", "8Gi"))
				d.DeleteClaim("ns", "c4")
				d.SetClaim(devClaim("c5", "p1", "share:d3")) // a share naming no capacity
			},
			want: map[string][]string{
				"shared":   {"gpu.example.com/p1/d0=2", "gpu.example.com/p1/d1=1", "gpu.example.com/p1/d3=1"},
				"consumed": {"gpu.example.com/p1/d0/mem=6Gi", "gpu.example.com/p1/d1/mem=3Gi"},
			},
			checks: func(t *testing.T, d *Devices) {
				before := d.Consumed(DeviceID{"gpu.example.com", "p1", "d0"})
				d.DeleteClaim("ns", "c1")
				if q := before["mem"]; q.String() != "6Gi" {
					t.Errorf("a map Consumed returned changed to %s", q.String())
				}
				if q := d.Consumed(DeviceID{"gpu.example.com", "p1", "d0"})["mem"]; q.String() != "2Gi" {
					t.Errorf("after c1 went: mem %s, want 2Gi", q.String())
				}
				if got := d.Consumed(DeviceID{"gpu.example.com", "p1", "d3"}); got != nil {
					t.Errorf("Consumed(d3) = %v, want nil", got)
				}
			},
		},
		{
			name: "replacing a claim moves its devices, deallocating frees them",
			steps: func(d *Devices) {
				d.SetClaim(devClaim("c1", "p1", "d0"))
				d.SetClaim(devClaim("c1", "p1", "d1"))
				d.SetClaim(devClaim("c2", "p1", "d2"))
				d.SetClaim(devClaim("c2", "p1"))
			},
			want: map[string][]string{"dedicated": {"gpu.example.com/p1/d1=1"}},
		},
		{
			name: "deleting claims frees their devices",
			steps: func(d *Devices) {
				d.SetClaim(devClaim("c1", "p1", "d0", "share:d1"))
				d.DeleteClaim("ns", "c1")
				d.DeleteClaim("ns", "c1")
			},
			want: map[string][]string{},
			checks: func(t *testing.T, d *Devices) {
				if d.Claim("ns", "c1") != nil {
					t.Errorf("claim still there")
				}
			},
		},
		{
			name: "classes and extended resources",
			steps: func(d *Devices) {
				d.SetClass(devClass("gpu", "example.com/gpu"))
				d.SetClass(devClass("gpu2", "example.com/gpu"))
				d.SetClass(devClass("gpu2", ""))
				d.SetClass(devClass("old", "example.com/old"))
				d.DeleteClass("old")
			},
			want: map[string][]string{"extended": {"example.com/gpu=gpu"}},
			checks: func(t *testing.T, d *Devices) {
				for name, want := range map[v1.ResourceName]string{
					"example.com/gpu": "gpu", "example.com/old": "",
					"deviceclass.resource.kubernetes.io/gpu2": "gpu2", "deviceclass.resource.kubernetes.io/old": "",
				} {
					got := ""
					if c := d.ExtendedResourceClass(name); c != nil {
						got = c.Name
					}
					if got != want {
						t.Errorf("ExtendedResourceClass(%s) = %q, want %q", name, got, want)
					}
				}
			},
		},
		{
			name: "classes naming the same extended resource: the newest, then the lowest name",
			steps: func(d *Devices) {
				old, newer, twin := devClass("a-old", "example.com/gpu"), devClass("z-new", "example.com/gpu"), devClass("b-twin", "example.com/gpu")
				old.CreationTimestamp = metav1.Unix(100, 0)
				newer.CreationTimestamp = metav1.Unix(200, 0)
				twin.CreationTimestamp = metav1.Unix(200, 0)
				d.SetClass(old)
				d.SetClass(newer)
				d.SetClass(twin)
			},
			want: map[string][]string{"extended": {"example.com/gpu=a-old,b-twin,z-new"}},
			checks: func(t *testing.T, d *Devices) {
				if c := d.ExtendedResourceClass("example.com/gpu"); c == nil || c.Name != "b-twin" {
					t.Errorf("ExtendedResourceClass = %v, want b-twin", c)
				}
				d.DeleteClass("b-twin")
				if c := d.ExtendedResourceClass("example.com/gpu"); c == nil || c.Name != "z-new" {
					t.Errorf("after deleting b-twin, ExtendedResourceClass = %v, want z-new", c)
				}
			},
		},
		{
			name: "the extended resource claim of a pod: annotated and controlled by it",
			steps: func(d *Devices) {
				ctrl := true
				owned := func(name, ns, podName, uid, annotation string, controller bool) *resourcev1.ResourceClaim {
					c := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
						OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: podName, UID: types.UID(uid)}}}}
					if controller {
						c.OwnerReferences[0].Controller = &ctrl
					}
					if annotation != "" {
						c.Annotations = map[string]string{resourcev1.ExtendedResourceClaimAnnotation: annotation}
					}
					return c
				}
				d.SetClaim(owned("p-extended-resources-b", "ns", "p", "u1", "true", true))
				d.SetClaim(owned("p-extended-resources-a", "ns", "p", "u1", "true", true))
				d.SetClaim(owned("not-annotated", "ns", "q", "u2", "", true))
				d.SetClaim(owned("not-true", "ns", "r", "u3", "false", true))
				d.SetClaim(owned("not-controller", "ns", "s", "u4", "true", false))
				d.SetClaim(owned("other-ns", "other", "t", "u5", "true", true))
			},
			want: map[string][]string{},
			checks: func(t *testing.T, d *Devices) {
				pod := func(name, uid string) *v1.Pod {
					return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid)}}
				}
				for _, tc := range []struct {
					pod  *v1.Pod
					want string
				}{
					{pod("p", "u1"), "p-extended-resources-a"},
					{pod("p", "other-uid"), ""},
					{pod("q", "u2"), ""},
					{pod("r", "u3"), ""},
					{pod("s", "u4"), ""},
					{pod("t", "u5"), ""},
				} {
					got := ""
					if c := d.ExtendedResourceClaim(tc.pod); c != nil {
						got = c.Name
					}
					if got != tc.want {
						t.Errorf("ExtendedResourceClaim(%s/%s) = %q, want %q", tc.pod.Name, tc.pod.UID, got, tc.want)
					}
				}
			},
		},
		{
			name: "taint rules by driver; a rule without a selector selects nothing",
			steps: func(d *Devices) {
				d.SetTaintRule(taintRule("r2", str("gpu.example.com"), str("p1"), nil, "pool"))
				d.SetTaintRule(taintRule("r1", str("gpu.example.com"), nil, str("d0"), "dev"))
				d.SetTaintRule(taintRule("any", nil, nil, nil, "all"))
				d.SetTaintRule(taintRule("gone", nil, nil, nil, "x"))
				d.DeleteTaintRule("gone")
				d.SetTaintRule(&resourcev1.DeviceTaintRule{ObjectMeta: metav1.ObjectMeta{Name: "empty"}})
				d.SetTaintRule(taintRule("moved", str("other"), nil, nil, "m"))
				d.SetTaintRule(taintRule("moved", str("third"), nil, nil, "m"))
			},
			want: map[string][]string{"rules/gpu.example.com": {"r1", "r2"}, "rules/": {"any"}, "rules/third": {"moved"}},
			checks: func(t *testing.T, d *Devices) {
				keys := func(ts []resourcev1.DeviceTaint) []string {
					var out []string
					for _, t := range ts {
						out = append(out, t.Key)
					}
					return out
				}
				for id, want := range map[DeviceID][]string{
					{"gpu.example.com", "p1", "d0"}: {"dev", "pool", "all"},
					{"gpu.example.com", "p2", "d0"}: {"dev", "all"},
					{"gpu.example.com", "p1", "d1"}: {"pool", "all"},
					{"other", "p1", "d0"}:           {"all"},
				} {
					if got := keys(d.RuleTaints(id)); !reflect.DeepEqual(got, want) {
						t.Errorf("RuleTaints(%s) = %v, want %v", id, got, want)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDevices()
			tt.steps(d)
			got := indexes(d)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("indexes = %v\nwant %v", got, tt.want)
			}
			// Step by step must equal built at once.
			if rebuilt := indexes(DevicesOf(objects(d)...)); !reflect.DeepEqual(got, rebuilt) {
				t.Errorf("indexes differ from a rebuild:\n%v\n%v", got, rebuilt)
			}
			if tt.checks != nil {
				tt.checks(t, d)
			}
		})
	}
}

func TestDevicesOfIgnoresOtherTypes(t *testing.T) {
	d := DevicesOf(&v1.Pod{}, devClass("gpu", ""))
	if d.Class("gpu") == nil || len(d.classes) != 1 {
		t.Errorf("DevicesOf kept %v", d.classes)
	}
	if New(nil, nil).Devices == nil {
		t.Errorf("New must make an empty Devices")
	}
}
