package scheduler

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// sameMap reports whether a and b are one map.
func sameMap(a, b v1.ResourceList) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestInternResourceLists: a list equal to one interned before (same names, quantities of the
// same value and format) comes back as that one, which reads alike; any other comes back as is.
func TestInternResourceLists(t *testing.T) {
	list := func(kv ...string) v1.ResourceList {
		rl := v1.ResourceList{}
		for i := 0; i+1 < len(kv); i += 2 {
			rl[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return rl
	}
	tests := []struct {
		name       string
		first, now v1.ResourceList
		wantShared bool
	}{
		{name: "equal", first: list("cpu", "100m", "memory", "500Mi"), now: list("memory", "500Mi", "cpu", "100m"), wantShared: true},
		{name: "equal, written otherwise", first: list("cpu", "1"), now: list("cpu", "1000m"), wantShared: true},
		{name: "other value", first: list("cpu", "100m"), now: list("cpu", "200m")},
		{name: "same value, other format", first: list("memory", "1Gi"), now: list("memory", "1073741824")},
		{name: "other name", first: list("cpu", "1"), now: list("example.com/gpu", "1")},
		{name: "one entry more", first: list("cpu", "1"), now: list("cpu", "1", "memory", "1Gi")},
		{name: "large values", first: list("memory", "123456789012345678901234567890"), now: list("memory", "123456789012345678901234567890"), wantShared: true},
		{name: "negative and positive", first: list("cpu", "-1"), now: list("cpu", "1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := listInterner{lists: map[string]v1.ResourceList{}}
			if got := in.intern(tc.first); !sameMap(got, tc.first) {
				t.Fatal("the first list was not kept")
			}
			got := in.intern(tc.now)
			if shared := sameMap(got, tc.first); shared != tc.wantShared {
				t.Fatalf("shared the first list: %v, want %v", shared, tc.wantShared)
			}
			for name, q := range tc.now {
				g := got[name]
				if g.String() != q.String() || g.Cmp(q) != 0 || g.Format != q.Format {
					t.Errorf("%s reads %s (%s), want %s (%s)", name, g.String(), g.Format, q.String(), q.Format)
				}
			}
		})
	}
}

// TestInternResourceListsBounded: past maxInternedLists distinct lists, new ones are not kept;
// those kept still are. Concurrent callers are safe (run with -race).
func TestInternResourceListsBounded(t *testing.T) {
	in := listInterner{lists: map[string]v1.ResourceList{}}
	first := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1m")}
	in.intern(first)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range maxInternedLists {
				in.intern(v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(int64(2+i*4+w), resource.DecimalSI)})
			}
		})
	}
	wg.Wait()
	if len(in.lists) != maxInternedLists {
		t.Errorf("%d lists kept, want %d", len(in.lists), maxInternedLists)
	}
	late := v1.ResourceList{v1.ResourceCPU: resource.MustParse("5")} // above every list interned
	if got := in.intern(late); !sameMap(got, late) {
		t.Error("a list past the bound did not come back as is")
	}
	if again := in.intern(v1.ResourceList{v1.ResourceCPU: resource.MustParse("5")}); sameMap(again, late) {
		t.Error("a list past the bound was kept")
	}
	if got := in.intern(v1.ResourceList{v1.ResourceCPU: resource.MustParse("1m")}); !sameMap(got, first) {
		t.Error("the first list is no longer shared")
	}
}

// TestTrimSharesRequestsBetweenPods: two pods asking for the same resources end up with one map.
func TestTrimSharesRequestsBetweenPods(t *testing.T) {
	pod := func(cpu string) *v1.Pod {
		return &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse("77Mi")},
			Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("3"), v1.ResourceMemory: resource.MustParse("77Mi")},
		}}}}}
	}
	a, b, other := pod("31m"), pod("31m"), pod("32m")
	for _, p := range []*v1.Pod{a, b, other} {
		Trim(p)
	}
	ra, rb, ro := a.Spec.Containers[0].Resources, b.Spec.Containers[0].Resources, other.Spec.Containers[0].Resources
	if !sameMap(ra.Requests, rb.Requests) || !sameMap(ra.Limits, rb.Limits) {
		t.Error("equal requests or limits of two pods are not shared")
	}
	if sameMap(ra.Requests, ro.Requests) || !sameMap(ra.Limits, ro.Limits) {
		t.Error("other requests are shared, or equal limits are not")
	}
	if got := fmt.Sprint(rb.Requests.Cpu(), rb.Requests.Memory()); got != "31m 77Mi" {
		t.Errorf("requests read %s", got)
	}
}
