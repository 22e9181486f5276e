package scheduler

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
			in := newInterner[v1.ResourceList]()
			if got := in.intern(listKey(nil, tc.first), tc.first); !sameMap(got, tc.first) {
				t.Fatal("the first list was not kept")
			}
			got := in.intern(listKey(nil, tc.now), tc.now)
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

// TestInternResourceListsBounded: past maxInterned distinct lists, new ones are not kept;
// those kept still are. Concurrent callers are safe (run with -race).
func TestInternResourceListsBounded(t *testing.T) {
	in := newInterner[v1.ResourceList]()
	intern := func(rl v1.ResourceList) v1.ResourceList { return in.intern(listKey(nil, rl), rl) }
	first := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1m")}
	intern(first)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range maxInterned {
				intern(v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(int64(2+i*4+w), resource.DecimalSI)})
			}
		})
	}
	wg.Wait()
	if len(in.byKey) != maxInterned {
		t.Errorf("%d lists kept, want %d", len(in.byKey), maxInterned)
	}
	late := v1.ResourceList{v1.ResourceCPU: resource.MustParse("5")} // above every list interned
	if got := intern(late); !sameMap(got, late) {
		t.Error("a list past the bound did not come back as is")
	}
	if again := intern(v1.ResourceList{v1.ResourceCPU: resource.MustParse("5")}); sameMap(again, late) {
		t.Error("a list past the bound was kept")
	}
	if got := intern(v1.ResourceList{v1.ResourceCPU: resource.MustParse("1m")}); !sameMap(got, first) {
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

// TestInternTolerationsAndPorts: equal tolerations (the same, in the same order) and equal
// container ports are shared; any difference keeps them apart.
func TestInternTolerationsAndPorts(t *testing.T) {
	secs := func(s int64) *int64 { return &s }
	tol := func(key, value string, seconds *int64) v1.Toleration {
		return v1.Toleration{Key: key, Operator: v1.TolerationOpExists, Value: value, Effect: v1.TaintEffectNoExecute, TolerationSeconds: seconds}
	}
	notReady, unreachable := tol("node.kubernetes.io/not-ready", "", secs(300)), tol("node.kubernetes.io/unreachable", "", secs(300))
	tolerationTests := []struct {
		name       string
		first, now []v1.Toleration
		wantShared bool
	}{
		{"equal", []v1.Toleration{notReady, unreachable}, []v1.Toleration{notReady, unreachable}, true},
		{"other seconds", []v1.Toleration{notReady}, []v1.Toleration{tol("node.kubernetes.io/not-ready", "", secs(301))}, false},
		{"no seconds and zero seconds", []v1.Toleration{tol("k", "", nil)}, []v1.Toleration{tol("k", "", secs(0))}, false},
		{"other order", []v1.Toleration{notReady, unreachable}, []v1.Toleration{unreachable, notReady}, false},
		{"key and value boundary", []v1.Toleration{tol("ab", "c", nil)}, []v1.Toleration{tol("a", "bc", nil)}, false},
		{"one fewer", []v1.Toleration{notReady, unreachable}, []v1.Toleration{notReady}, false},
	}
	for _, tc := range tolerationTests {
		t.Run("tolerations "+tc.name, func(t *testing.T) {
			in := newInterner[[]v1.Toleration]()
			first := in.intern(tolerationsKey(nil, tc.first), tc.first)
			got := in.intern(tolerationsKey(nil, tc.now), tc.now)
			if shared := &got[0] == &first[0]; shared != tc.wantShared {
				t.Errorf("shared: %v, want %v", shared, tc.wantShared)
			}
			if !reflect.DeepEqual(got, tc.now) {
				t.Errorf("tolerations %v, want %v", got, tc.now)
			}
		})
	}
	port := func(p, host int32, proto v1.Protocol) []v1.ContainerPort {
		return []v1.ContainerPort{{Name: "http", ContainerPort: p, HostPort: host, Protocol: proto}}
	}
	portTests := []struct {
		name       string
		now        []v1.ContainerPort
		wantShared bool
	}{
		{"equal", port(8080, 0, v1.ProtocolTCP), true},
		{"other port", port(8081, 0, v1.ProtocolTCP), false},
		{"other protocol", port(8080, 0, v1.ProtocolUDP), false},
		{"a host port", port(8080, 8080, v1.ProtocolTCP), false},
	}
	for _, tc := range portTests {
		t.Run("ports "+tc.name, func(t *testing.T) {
			in := newInterner[[]v1.ContainerPort]()
			firstPorts := port(8080, 0, v1.ProtocolTCP)
			first := in.intern(portsKey(nil, firstPorts), firstPorts)
			got := in.intern(portsKey(nil, tc.now), tc.now)
			if shared := &got[0] == &first[0]; shared != tc.wantShared {
				t.Errorf("shared: %v, want %v", shared, tc.wantShared)
			}
			if !reflect.DeepEqual(got, tc.now) {
				t.Errorf("ports %v, want %v", got, tc.now)
			}
		})
	}
}

// TestTrimSharesEmptySecurityContexts: an empty pod security context becomes the shared one; a
// set one stays.
func TestTrimSharesEmptySecurityContexts(t *testing.T) {
	user := int64(1000)
	tests := []struct {
		name       string
		sc         *v1.PodSecurityContext
		wantShared bool
	}{
		{"empty", &v1.PodSecurityContext{}, true},
		{"none", nil, false},
		{"run as a user", &v1.PodSecurityContext{RunAsUser: &user}, false},
		{"empty supplemental groups", &v1.PodSecurityContext{SupplementalGroups: []int64{}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &v1.Pod{Spec: v1.PodSpec{SecurityContext: tc.sc}}
			var want *v1.PodSecurityContext
			if tc.sc != nil {
				want = tc.sc.DeepCopy()
			}
			Trim(p)
			if shared := p.Spec.SecurityContext == emptySecurityContext; shared != tc.wantShared {
				t.Errorf("shared: %v, want %v", shared, tc.wantShared)
			}
			if !reflect.DeepEqual(p.Spec.SecurityContext, want) {
				t.Errorf("security context %+v, want %+v", p.Spec.SecurityContext, want)
			}
		})
	}
}

// TestInternLabels: equal label sets (the same keys with the same values) are shared; any
// difference keeps them apart; sets larger than maxInternedLabels are left alone.
func TestInternLabels(t *testing.T) {
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprint("k", i)] = "v"
		}
		return m
	}
	tests := []struct {
		name       string
		first, now map[string]string
		wantShared bool
	}{
		{"equal, built in another order", map[string]string{"app": "web", "pod-template-hash": "5d8f"}, map[string]string{"pod-template-hash": "5d8f", "app": "web"}, true},
		{"other value", map[string]string{"app": "web"}, map[string]string{"app": "db"}, false},
		{"key and value boundary", map[string]string{"ab": "c"}, map[string]string{"a": "bc"}, false},
		{"an empty label more", map[string]string{"app": "web"}, map[string]string{"app": "web", "x": ""}, false},
		{"as many as interned", many(maxInternedLabels), many(maxInternedLabels), true},
		{"too many to intern", many(maxInternedLabels + 1), many(maxInternedLabels + 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := labelSets
			defer func() { labelSets = old }()
			labelSets = newInterner[map[string]string]()
			first := internLabels(tc.first)
			got := internLabels(tc.now)
			shared := reflect.ValueOf(got).UnsafePointer() == reflect.ValueOf(first).UnsafePointer()
			if shared != tc.wantShared {
				t.Errorf("shared: %v, want %v", shared, tc.wantShared)
			}
			if !reflect.DeepEqual(got, tc.now) {
				t.Errorf("labels %v, want %v", got, tc.now)
			}
		})
	}
}

// TestInternSpreadAndAffinity: constraints and affinities equal in every field are shared, and
// any field that differs (or the order of constraints) keeps them apart.
func TestInternSpreadAndAffinity(t *testing.T) {
	spread := func(skew int32, key string, labels map[string]string, minDomains *int32) v1.TopologySpreadConstraint {
		return v1.TopologySpreadConstraint{MaxSkew: skew, TopologyKey: key, WhenUnsatisfiable: v1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, MinDomains: minDomains}
	}
	two := int32(2)
	zone, host := "topology.kubernetes.io/zone", "kubernetes.io/hostname"
	app := map[string]string{"app": "web", "tier": "front"}
	first := []v1.TopologySpreadConstraint{spread(1, zone, app, nil), spread(1, host, app, nil)}
	spreadTests := []struct {
		name       string
		now        []v1.TopologySpreadConstraint
		wantShared bool
	}{
		{"equal", []v1.TopologySpreadConstraint{spread(1, zone, map[string]string{"tier": "front", "app": "web"}, nil), spread(1, host, app, nil)}, true},
		{"other skew", []v1.TopologySpreadConstraint{spread(2, zone, app, nil), spread(1, host, app, nil)}, false},
		{"other selector", []v1.TopologySpreadConstraint{spread(1, zone, map[string]string{"app": "web"}, nil), spread(1, host, app, nil)}, false},
		{"minDomains", []v1.TopologySpreadConstraint{spread(1, zone, app, &two), spread(1, host, app, nil)}, false},
		{"other order", []v1.TopologySpreadConstraint{spread(1, host, app, nil), spread(1, zone, app, nil)}, false},
		{"one fewer", []v1.TopologySpreadConstraint{spread(1, zone, app, nil)}, false},
	}
	for _, tc := range spreadTests {
		t.Run("spread "+tc.name, func(t *testing.T) {
			in := newInterner[[]v1.TopologySpreadConstraint]()
			k1, ok1 := spreadKey(nil, first)
			k2, ok2 := spreadKey(nil, tc.now)
			if !ok1 || !ok2 {
				t.Fatal("no key")
			}
			kept := in.intern(k1, first)
			got := in.intern(k2, tc.now)
			if shared := &got[0] == &kept[0]; shared != tc.wantShared {
				t.Errorf("shared: %v, want %v", shared, tc.wantShared)
			}
			if !reflect.DeepEqual(got, tc.now) && !tc.wantShared {
				t.Errorf("constraints %v, want %v", got, tc.now)
			}
		})
	}
	anti := func(key string) *v1.Affinity {
		return &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{
			{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: app}}}}}
	}
	in := newInterner[*v1.Affinity]()
	k1, _ := affinityKey(anti(host))
	kept := in.intern(k1, anti(host))
	if k2, ok := affinityKey(anti(host)); !ok || in.intern(k2, anti(host)) != kept {
		t.Error("an equal affinity is not shared")
	}
	if k3, ok := affinityKey(anti(zone)); !ok || in.intern(k3, anti(zone)) == kept {
		t.Error("an affinity over another topology key is shared")
	}
	if _, ok := affinityKey(nil); ok {
		t.Error("a nil affinity has a key")
	}
}

// TestTrimSharesSpreadAndAffinity: two pods of one workload end up with one spread constraint
// slice and one affinity; a pod of another workload keeps its own.
func TestTrimSharesSpreadAndAffinity(t *testing.T) {
	pod := func(app string) *v1.Pod {
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": app, "trim-test": "spread"}}
		return &v1.Pod{Spec: v1.PodSpec{
			TopologySpreadConstraints: []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
				WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: sel}},
			Affinity: &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{
				{TopologyKey: "kubernetes.io/hostname", LabelSelector: sel}}}},
		}}
	}
	a, b, other := pod("trim-a"), pod("trim-a"), pod("trim-b")
	for _, p := range []*v1.Pod{a, b, other} {
		Trim(p)
	}
	if &a.Spec.TopologySpreadConstraints[0] != &b.Spec.TopologySpreadConstraints[0] || a.Spec.Affinity != b.Spec.Affinity {
		t.Error("equal constraints or affinities of two pods are not shared")
	}
	if &a.Spec.TopologySpreadConstraints[0] == &other.Spec.TopologySpreadConstraints[0] || a.Spec.Affinity == other.Spec.Affinity {
		t.Error("another workload's constraints or affinity are shared")
	}
	if got := other.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchLabels["app"]; got != "trim-b" {
		t.Errorf("the other pod's affinity selects app=%s", got)
	}
}
