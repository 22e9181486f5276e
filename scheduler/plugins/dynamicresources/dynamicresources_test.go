package dynamicresources

import (
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestPreFilterMessages(t *testing.T) {
	gpu := class("gpu")
	fromTemplate := func(status *string) *v1.Pod {
		p := podWithClaims()
		p.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: ptr("tmpl")}}
		if status != nil {
			p.Status.ResourceClaimStatuses = []v1.PodResourceClaimStatus{{Name: "gpu", ResourceClaimName: status}}
		}
		return p
	}
	generated := func(owner types.UID) *resourcev1.ResourceClaim {
		c := claim("p-gpu", exact("r", "gpu", 1))
		c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: owner, Controller: ptr(true)}}
		return c
	}
	deleting := claim("c", exact("r", "gpu", 1))
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	tests := []struct {
		name   string
		pod    *v1.Pod
		objs   []any
		reason string // "" when PreFilter passes
		none   bool   // no filter at all
		fail   bool   // Filter fails on every node
	}{
		{name: "no claims", pod: podWithClaims(), none: true},
		{name: "missing claim", pod: podWithClaims("c"), reason: `could not find ResourceClaim "ns/c"`},
		{name: "template claim not created yet", pod: fromTemplate(nil), reason: `pod "ns/p": ResourceClaim not created yet`},
		{name: "template that needs no claim", pod: fromTemplate(new(string)), none: true},
		{name: "generated claim owned by the pod", pod: fromTemplate(ptr("p-gpu")), objs: []any{gpu, generated("pod-uid")}},
		{name: "generated claim owned by another pod", pod: fromTemplate(ptr("p-gpu")), objs: []any{gpu, generated("other")},
			reason: "ResourceClaim ns/p-gpu was not created for Pod ns/p (Pod is not owner)"},
		{name: "claim being deleted", pod: podWithClaims("c"), objs: []any{gpu, deleting}, reason: `resourceclaim "c" is being deleted`},
		{name: "missing class", pod: podWithClaims("c"), objs: []any{claim("c", exact("r", "gpu", 1))},
			reason: "request r: device class gpu does not exist"},
		{name: "missing class of a subrequest", pod: podWithClaims("c"), objs: []any{gpu, claim("c", firstAvailable("r", sub("a", "gpu", 1), sub("b", "nope", 1)))},
			reason: "request r/b: device class nope does not exist"},
		{name: "unknown request type", pod: podWithClaims("c"), objs: []any{claim("c", resourcev1.DeviceRequest{Name: "r"})},
			reason: "resource claim ns/c, request r: unknown request type"},
		{name: "a selector berth cannot evaluate", pod: podWithClaims("c"), objs: []any{gpu, claim("c", exact("r", "gpu", 1, "true", "unsupported"))},
			reason: "claim ns/c, request r: selector #1: selector uses unsupported, which berth does not evaluate"},
		{name: "a class selector berth cannot evaluate", pod: podWithClaims("c"), objs: []any{class("gpu", "unsupported"), claim("c", firstAvailable("r", sub("a", "gpu", 1)))},
			reason: "claim ns/c, request r/a: class gpu: selector #0: selector uses unsupported, which berth does not evaluate"},
		{name: "an empty constraint fails on every node", pod: podWithClaims("c"), objs: []any{gpu, func() *resourcev1.ResourceClaim {
			c := claim("c", exact("r", "gpu", 1))
			c.Spec.Devices.Constraints = []resourcev1.DeviceConstraint{{}}
			return c
		}()}, fail: true},
		{name: "an allocated claim in use by another pod can be shared", pod: podWithClaims("c"), objs: []any{func() *resourcev1.ResourceClaim {
			c := allocated(claim("c", exact("r", "gpu", 1)), nil, "p1/d0")
			c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "other", UID: "other"}}
			return c
		}()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap([]*snapshot.NodeInfo{node("n0")}, tt.objs...)
			nf, v := newPlugin(t).PreFilter(snapshot.NewPodInfo(tt.pod), s)
			if tt.reason != "" {
				if v.Fits() || !v.Unresolvable || v.Failed || strings.Join(v.Reasons, "|") != tt.reason {
					t.Fatalf("verdict %+v, want unresolvable %q", v, tt.reason)
				}
				return
			}
			if !v.Fits() {
				t.Fatalf("verdict %+v, want a pass", v)
			}
			if (nf == nil) != tt.none {
				t.Fatalf("filter %v, want none: %v", nf, tt.none)
			}
			if nf != nil {
				if got := nf.Filter(s.Get("n0")); got.Failed != tt.fail {
					t.Errorf("Filter = %+v, want failed %v", got, tt.fail)
				}
			}
		})
	}
}

func TestFilterAllocatedClaims(t *testing.T) {
	nodes := []*snapshot.NodeInfo{node("n0", "zone", "a"), node("n1", "zone", "b")}
	nodes[1].Node.Status.DeclaredFeatures = []string{"DRAOptionalNodeOperations"}
	zoneA := &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
		{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"a"}}}}}}
	failed := func() *resourcev1.ResourceClaim {
		c := allocated(claim("c", exact("r", "gpu", 1)), nil, "p1/d0")
		c.Status.Allocation.Devices.Results[0].BindingConditions = []string{"Attached"}
		c.Status.Allocation.Devices.Results[0].BindingFailureConditions = []string{"AttachFailed"}
		c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: driver, Pool: "p1", Device: "d0",
			Conditions: []metav1.Condition{{Type: "AttachFailed", Status: metav1.ConditionTrue}}}}
		return c
	}()
	tests := []struct {
		name  string
		claim *resourcev1.ResourceClaim
		fits  []string
	}{
		{"available everywhere", allocated(claim("c"), nil, "p1/d0"), []string{"n0", "n1"}},
		{"node name", allocated(claim("c"), nodeNameSelector("n1"), "p1/d0"), []string{"n1"}},
		{"node labels", allocated(claim("c"), zoneA, "p1/d0"), []string{"n0"}},
		{"binding failed", failed, nil},
		{"skips node operations: the node must declare the feature", func() *resourcev1.ResourceClaim {
			c := allocated(claim("c"), nil, "p1/d0")
			c.Status.Allocation.Devices.Results[0].SkipNodeOperations = []resourcev1.SkipNodeOperation{resourcev1.SkipNodeOperationAll}
			return c
		}(), []string{"n1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap(nodes, tt.claim)
			nf, v := newPlugin(t).PreFilter(snapshot.NewPodInfo(podWithClaims("c")), s)
			if !v.Fits() {
				t.Fatalf("PreFilter: %+v", v)
			}
			var fits []string
			for _, n := range s.Nodes {
				v := nf.Filter(n)
				if v.Fits() {
					fits = append(fits, n.Name())
				} else if v.Reasons[0] != ReasonNotAvailable || !v.Unresolvable {
					t.Errorf("%s: %+v, want %q", n.Name(), v, ReasonNotAvailable)
				}
			}
			if !reflect.DeepEqual(fits, tt.fits) {
				t.Errorf("fits %v, want %v", fits, tt.fits)
			}
		})
	}
}

func TestReservePlan(t *testing.T) {
	gpu := class("gpu")
	gpu.Spec.Config = []resourcev1.DeviceClassConfiguration{{DeviceConfiguration: resourcev1.DeviceConfiguration{
		Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: driver, Parameters: runtime.RawExtension{Raw: []byte(`{"class":1}`)}}}}}
	fresh := claim("fresh", exact("a", "gpu", 1), exact("b", "gpu", 1))
	fresh.Spec.Devices.Config = []resourcev1.DeviceClaimConfiguration{
		{Requests: []string{"b"}, DeviceConfiguration: resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: driver}}},
		{Requests: []string{"nope"}, DeviceConfiguration: resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: "skipped"}}},
	}
	shared := allocated(claim("shared", exact("r", "gpu", 1)), nil, "p1/d9")
	shared.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "other", UID: "other"}}
	mine := allocated(claim("mine", exact("r", "gpu", 1)), nil, "p1/d8")
	mine.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "pod-uid"}}
	s := snap([]*snapshot.NodeInfo{node("n0")}, gpu, fresh, shared, mine, slice("s1", "n0", "p1", dev("d0"), dev("d1"), dev("d8"), dev("d9")))

	nf, v := newPlugin(t).PreFilter(snapshot.NewPodInfo(podWithClaims("fresh", "shared", "mine")), s)
	if !v.Fits() {
		t.Fatalf("PreFilter: %+v", v)
	}
	if v := nf.Filter(s.Get("n0")); !v.Fits() {
		t.Fatalf("Filter: %+v", v)
	}
	plan := nf.(*prepared).Reserve(s.Get("n0")).(*Plan)
	if plan.PluginName() != "DynamicResources" || plan.Node != "n0" || plan.Pod.Name != "p" || plan.Err != nil || plan.WaitForBindingConditions {
		t.Fatalf("plan %+v", plan)
	}
	if len(plan.Claims) != 2 {
		t.Fatalf("%d claim updates, want 2 (fresh, shared; mine is reserved already)", len(plan.Claims))
	}
	ref := resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: "p", UID: "pod-uid"}

	f := plan.Claims[0]
	if f.Before != fresh || !f.Allocated || f.After.Name != "fresh" {
		t.Fatalf("first update %+v", f)
	}
	if !reflect.DeepEqual(f.After.Finalizers, []string{resourcev1.Finalizer}) || !reflect.DeepEqual(f.After.Status.ReservedFor, []resourcev1.ResourceClaimConsumerReference{ref}) {
		t.Errorf("fresh after: finalizers %v reservedFor %v", f.After.Finalizers, f.After.Status.ReservedFor)
	}
	want := &resourcev1.AllocationResult{
		Devices: resourcev1.DeviceAllocationResult{
			Results: []resourcev1.DeviceRequestAllocationResult{
				{Request: "a", Driver: driver, Pool: "p1", Device: "d0"},
				{Request: "b", Driver: driver, Pool: "p1", Device: "d1"},
			},
			Config: []resourcev1.DeviceAllocationConfiguration{
				{Source: resourcev1.AllocationConfigSourceClass, DeviceConfiguration: gpu.Spec.Config[0].DeviceConfiguration}, // names a and b: all
				{Source: resourcev1.AllocationConfigSourceClaim, Requests: []string{"b"}, DeviceConfiguration: fresh.Spec.Devices.Config[0].DeviceConfiguration},
			},
		},
		NodeSelector: nodeNameSelector("n0"),
	}
	if !reflect.DeepEqual(f.After.Status.Allocation, want) {
		t.Errorf("allocation\n%+v\nwant\n%+v", f.After.Status.Allocation, want)
	}
	if fresh.Status.Allocation != nil || len(fresh.Finalizers) > 0 {
		t.Errorf("Reserve changed the snapshot's claim")
	}

	sh := plan.Claims[1]
	if sh.Before != shared || sh.Allocated || sh.After.Status.Allocation == nil || len(sh.After.Finalizers) != 0 ||
		!reflect.DeepEqual(sh.After.Status.ReservedFor, append(slicesClone(shared.Status.ReservedFor), ref)) {
		t.Errorf("shared update %+v", sh)
	}
	if got := plan.PodClaims; len(got) != 3 {
		t.Errorf("PodClaims = %v", got)
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

func TestReserveNothingToDo(t *testing.T) {
	mine := allocated(claim("mine", exact("r", "gpu", 1)), nil, "p1/d8")
	mine.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "pod-uid"}}
	s := snap([]*snapshot.NodeInfo{node("n0")}, mine)
	nf, _ := newPlugin(t).PreFilter(snapshot.NewPodInfo(podWithClaims("mine")), s)
	if plan := nf.(*prepared).Reserve(s.Get("n0")); plan != nil {
		t.Errorf("plan %+v, want none", plan)
	}
}

func TestBindingConditions(t *testing.T) {
	withConditions := dev("d0")
	withConditions.BindingConditions = []string{"Attached"}
	withConditions.BindingFailureConditions = []string{"AttachFailed"}
	withConditions.BindsToNode = ptr(true)
	all := slice("s1", "", "p1", withConditions)
	s := snap([]*snapshot.NodeInfo{node("n0")}, class("gpu"), claim("c", exact("r", "gpu", 1)), all)
	nf, _ := newPlugin(t).PreFilter(snapshot.NewPodInfo(podWithClaims("c")), s)
	plan := nf.(*prepared).Reserve(s.Get("n0")).(*Plan)
	if !plan.WaitForBindingConditions || plan.BindingTimeout != 10*time.Minute {
		t.Fatalf("plan %+v, want to wait 10m", plan)
	}
	res := plan.Claims[0].After.Status.Allocation.Devices.Results[0]
	if !reflect.DeepEqual(res.BindingConditions, []string{"Attached"}) || !reflect.DeepEqual(res.BindingFailureConditions, []string{"AttachFailed"}) {
		t.Errorf("result %+v lacks the binding conditions", res)
	}
	if sel := plan.Claims[0].After.Status.Allocation.NodeSelector; !reflect.DeepEqual(sel, nodeNameSelector("n0")) {
		t.Errorf("a device that binds to its node must pin the allocation: %+v", sel)
	}

	now := time.Unix(1000, 0)
	claimWith := func(conds []metav1.Condition, allocatedAt time.Time) *resourcev1.ResourceClaim {
		c := plan.Claims[0].After.DeepCopy()
		c.Status.Allocation.AllocationTimestamp = &metav1.Time{Time: allocatedAt}
		if conds != nil {
			c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: driver, Pool: "p1", Device: "d0", Conditions: conds}}
		}
		return c
	}
	tests := []struct {
		name  string
		claim *resourcev1.ResourceClaim
		ready bool
		err   error
	}{
		{"no status yet", claimWith(nil, now), false, nil},
		{"condition true", claimWith([]metav1.Condition{{Type: "Attached", Status: metav1.ConditionTrue}}, now), true, nil},
		{"failure condition", claimWith([]metav1.Condition{{Type: "AttachFailed", Status: metav1.ConditionTrue}}, now), false, ErrDeviceBindingFailed},
		{"timed out", claimWith([]metav1.Condition{{Type: "Attached", Status: metav1.ConditionFalse}}, now.Add(-11*time.Minute)), false, ErrDeviceBindingTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, err := plan.Ready(func(string, string) *resourcev1.ResourceClaim { return tt.claim }, now)
			if ready != tt.ready || (tt.err == nil) != (err == nil) || (tt.err != nil && !strings.Contains(err.Error(), tt.err.Error())) {
				t.Errorf("Ready = %v, %v; want %v, %v", ready, err, tt.ready, tt.err)
			}
		})
	}
}

func TestScore(t *testing.T) {
	nodes := []*snapshot.NodeInfo{node("n0"), node("n1"), node("n2")}
	objs := []any{class("a100", "model=a100"), class("t4", "model=t4"),
		claim("c", firstAvailable("r", sub("big", "a100", 1), sub("small", "t4", 1))),
		slice("s0", "n0", "p0", dev("d0", "model", "t4")),
		slice("s1", "n1", "p1", dev("d0", "model", "a100")),
		slice("s2", "n2", "p2", dev("d0", "model", "t4"), dev("d1", "model", "a100"))}
	s := snap(nodes, objs...)
	pl := newPlugin(t)
	sc := pl.PreScore(snapshot.NewPodInfo(podWithClaims("c")), s, s.Nodes)
	if sc == nil {
		t.Fatal("no scorer")
	}
	scores := make([]int64, len(nodes))
	for i, n := range nodes {
		scores[i] = sc.Score(n)
	}
	if want := []int64{7, 8, 8}; !reflect.DeepEqual(scores, want) {
		t.Errorf("raw scores %v, want %v", scores, want)
	}
	sc.(interface{ Normalize([]int64) }).Normalize(scores)
	if want := []int64{87, 100, 100}; !reflect.DeepEqual(scores, want) {
		t.Errorf("normalized %v, want %v", scores, want)
	}
	// Without firstAvailable every node scores 0: no scorer.
	plain := snap(nodes, class("gpu"), claim("c", exact("r", "gpu", 1)))
	if sc := pl.PreScore(snapshot.NewPodInfo(podWithClaims("c")), plain, plain.Nodes); sc != nil {
		t.Errorf("a scorer without firstAvailable requests")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		args    Args
		compile Compiler
		err     string
	}{
		{"defaults", DefaultArgs(), fakeCompile, ""},
		{"filter timeout off", Args{FilterTimeout: 0, BindingTimeout: time.Minute}, fakeCompile, ""},
		{"negative filter timeout", Args{FilterTimeout: -1, BindingTimeout: time.Minute}, fakeCompile, "filterTimeout"},
		{"short binding timeout", Args{BindingTimeout: time.Millisecond}, fakeCompile, "bindingTimeout"},
		{"no compiler", DefaultArgs(), nil, "compiler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.args, tt.compile)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("New: %v, want %q", err, tt.err)
			}
		})
	}
}
