package scheduler

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
)

// fakeClaims is a ResourceClaim store that answers like the API server: a write with a stale
// resource version is a conflict, a successful one gets a new resource version.
type fakeClaims struct {
	mu      sync.Mutex
	claims  map[string]*resourcev1.ResourceClaim
	rv      int
	calls   []string
	patches []string
	// before, when set, runs before each write (to change the stored claim meanwhile).
	before func(stored *resourcev1.ResourceClaim)
	// fail makes the calls named (create, update, status, delete) fail with the error.
	fail map[string]error
}

var claimsResource = schema.GroupResource{Group: "resource.k8s.io", Resource: "resourceclaims"}

func (f *fakeClaims) CreateResourceClaim(_ context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "create")
	if err := f.fail["create"]; err != nil {
		return nil, err
	}
	if rc.Name != "" || rc.UID != "" || rc.ResourceVersion != "" {
		return nil, fmt.Errorf("create with name %q, uid %q, resourceVersion %q", rc.Name, rc.UID, rc.ResourceVersion)
	}
	out := rc.DeepCopy()
	out.Name = rc.GenerateName + "x7k2p"
	out.UID = types.UID("uid-" + out.Name)
	f.rv++
	out.ResourceVersion = fmt.Sprint(f.rv)
	out.Status = resourcev1.ResourceClaimStatus{} // the status is not written on create
	if f.claims == nil {
		f.claims = map[string]*resourcev1.ResourceClaim{}
	}
	f.claims[out.Namespace+"/"+out.Name] = out
	return out.DeepCopy(), nil
}

func (f *fakeClaims) DeleteResourceClaim(_ context.Context, ns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "delete")
	if err := f.fail["delete"]; err != nil {
		return err
	}
	if _, ok := f.claims[ns+"/"+name]; !ok {
		return apierrors.NewNotFound(claimsResource, name)
	}
	delete(f.claims, ns+"/"+name)
	return nil
}

func (f *fakeClaims) GetResourceClaim(_ context.Context, ns, name string) (*resourcev1.ResourceClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "get")
	c, ok := f.claims[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "resource.k8s.io", Resource: "resourceclaims"}, name)
	}
	return c.DeepCopy(), nil
}

func (f *fakeClaims) put(what string, rc *resourcev1.ResourceClaim, status bool) (*resourcev1.ResourceClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, what)
	k := rc.Namespace + "/" + rc.Name
	stored := f.claims[k]
	if err := f.fail[what]; err != nil {
		return nil, err
	}
	if stored == nil {
		return nil, apierrors.NewNotFound(claimsResource, rc.Name)
	}
	if f.before != nil {
		f.before(stored)
		f.before = nil
	}
	if stored.ResourceVersion != rc.ResourceVersion {
		return nil, apierrors.NewConflict(schema.GroupResource{Group: "resource.k8s.io", Resource: "resourceclaims"}, rc.Name, fmt.Errorf("stale"))
	}
	out := stored.DeepCopy()
	if status {
		out.Status = *rc.Status.DeepCopy()
	} else {
		out.Finalizers = append([]string(nil), rc.Finalizers...)
	}
	f.rv++
	out.ResourceVersion = fmt.Sprint(f.rv)
	f.claims[k] = out
	return out.DeepCopy(), nil
}

func (f *fakeClaims) UpdateResourceClaim(_ context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error) {
	return f.put("update", rc, false)
}

func (f *fakeClaims) UpdateResourceClaimStatus(_ context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error) {
	return f.put("status", rc, true)
}

func (f *fakeClaims) PatchResourceClaimStatus(_ context.Context, ns, name string, patch []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "patch")
	f.patches = append(f.patches, string(patch))
	return nil
}

// TestDeviceStep runs a DynamicResources plan for one claim through its binding step: the claim
// berth allocated gets the finalizer, its allocation and the pod's reservation; a conflict reads
// it again; a claim allocated or deleted meanwhile fails the step; unreserve takes the pod out of
// reservedFor only where it was written.
func TestDeviceStep(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}}
	claim := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gpu", UID: "claim-uid", ResourceVersion: "10"}}
	alloc := &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
		{Request: "gpu", Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0"}}}}
	allocated := claim.DeepCopy()
	allocated.Status.Allocation = alloc.DeepCopy()
	allocated.Finalizers = []string{resourcev1.Finalizer}
	reserved := func(c *resourcev1.ResourceClaim) *resourcev1.ResourceClaim {
		out := c.DeepCopy()
		out.Status.ReservedFor = append(out.Status.ReservedFor, resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: "p", UID: "pod-uid"})
		if out.Status.Allocation == nil {
			out.Status.Allocation = alloc.DeepCopy()
		}
		return out
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name      string
		stored    *resourcev1.ResourceClaim // in the API server
		update    dynamicresources.ClaimUpdate
		before    func(stored *resourcev1.ResourceClaim)
		wantErr   string
		wantCalls string
	}{
		{name: "allocate: finalizer, then allocation and reservation", stored: claim,
			update: dynamicresources.ClaimUpdate{Before: claim, After: reserved(claim), Allocated: true}, wantCalls: "update status"},
		{name: "reserve an allocated claim: status only", stored: allocated,
			update: dynamicresources.ClaimUpdate{Before: allocated, After: reserved(allocated)}, wantCalls: "status"},
		{name: "a conflict reads the claim again", stored: claim,
			update:    dynamicresources.ClaimUpdate{Before: claim, After: reserved(claim), Allocated: true},
			before:    func(s *resourcev1.ResourceClaim) { s.ResourceVersion = "11"; s.Labels = map[string]string{"x": "y"} },
			wantCalls: "update get update status"},
		{name: "allocated elsewhere meanwhile", stored: claim,
			update: dynamicresources.ClaimUpdate{Before: claim, After: reserved(claim), Allocated: true},
			before: func(s *resourcev1.ResourceClaim) {
				s.ResourceVersion = "11"
				s.Status.Allocation = alloc.DeepCopy()
			},
			wantErr: "claim ns/gpu got allocated elsewhere in the meantime", wantCalls: "update get"},
		{name: "deallocated meanwhile", stored: allocated,
			update: dynamicresources.ClaimUpdate{Before: allocated, After: reserved(allocated)},
			before: func(s *resourcev1.ResourceClaim) {
				s.ResourceVersion = "11"
				s.Status.Allocation = nil
			},
			wantErr: "claim ns/gpu got deallocated elsewhere in the meantime", wantCalls: "status get"},
		{name: "deleted meanwhile", stored: allocated,
			update: dynamicresources.ClaimUpdate{Before: allocated, After: reserved(allocated)},
			before: func(s *resourcev1.ResourceClaim) {
				s.ResourceVersion = "11"
				s.DeletionTimestamp = &metav1.Time{Time: now}
			},
			wantErr: "claim ns/gpu got deleted in the meantime", wantCalls: "status get"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cache.New()
			c.SetResourceClaim(tc.stored)
			f := &fakeClaims{claims: map[string]*resourcev1.ResourceClaim{"ns/gpu": tc.stored.DeepCopy()}, rv: 10, before: tc.before}
			plan := &dynamicresources.Plan{Pod: pod, Node: "node-a", Claims: []dynamicresources.ClaimUpdate{tc.update}}
			step := &deviceStep{plan: plan, cache: c, w: f, now: func() time.Time { return now }}
			step.reserve()
			err := step.preBind(context.Background())
			if got := strings.Join(f.calls, " "); got != tc.wantCalls {
				t.Errorf("calls %q, want %q", got, tc.wantCalls)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("preBind = %v, want %q", err, tc.wantErr)
				}
				step.unreserve(context.Background())
				if len(f.patches) != 0 {
					t.Errorf("unreserve patched %v, though nothing was written", f.patches)
				}
				return
			}
			if err != nil {
				t.Fatalf("preBind: %v", err)
			}
			got := f.claims["ns/gpu"]
			if len(got.Finalizers) != 1 || got.Finalizers[0] != resourcev1.Finalizer {
				t.Errorf("finalizers %v, want %q", got.Finalizers, resourcev1.Finalizer)
			}
			if a := got.Status.Allocation; a == nil || len(a.Devices.Results) != 1 || a.Devices.Results[0].Device != "gpu-0" {
				t.Errorf("allocation %v, want gpu-0", a)
			} else if a.AllocationTimestamp == nil || !a.AllocationTimestamp.Time.Equal(now) {
				t.Errorf("allocationTimestamp %v, want %v", a.AllocationTimestamp, now)
			}
			if r := got.Status.ReservedFor; len(r) != 1 || r[0].UID != pod.UID || r[0].Resource != "pods" || r[0].Name != "p" {
				t.Errorf("reservedFor %v, want the pod", r)
			}
			if tc.update.After.Status.Allocation.AllocationTimestamp != nil {
				t.Errorf("the plan's claim was changed by the write")
			}
			step.unreserve(context.Background())
			want := fmt.Sprintf(`{"metadata":{"uid":%q},"status":{"reservedFor":[{"$patch":"delete","uid":%q}]}}`, types.UID("claim-uid"), pod.UID)
			if len(f.patches) != 1 || f.patches[0] != want {
				t.Errorf("unreserve patches %v, want [%s]", f.patches, want)
			}
		})
	}
}

// TestDeviceStepBindingConditions checks the wait for a device with binding conditions: the step
// returns once the informer delivers the claim with the condition true, fails on a failure
// condition, and times out at the plan's binding timeout.
func TestDeviceStepBindingConditions(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}}
	claim := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gpu", UID: "claim-uid", ResourceVersion: "10"}}
	result := resourcev1.DeviceRequestAllocationResult{Request: "gpu", Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0",
		BindingConditions: []string{"Attached"}, BindingFailureConditions: []string{"AttachFailed"}}
	after := claim.DeepCopy()
	after.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{result}}}
	after.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "pod-uid"}}
	withCondition := func(typ string) *resourcev1.ResourceClaim {
		c := after.DeepCopy()
		c.ResourceVersion = "99"
		c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0",
			Conditions: []metav1.Condition{{Type: typ, Status: metav1.ConditionTrue, Reason: "Driver", Message: typ}}}}
		return c
	}
	tests := []struct {
		name    string
		deliver *resourcev1.ResourceClaim // what the informer delivers after the write
		timeout time.Duration
		wantErr string
	}{
		{name: "the condition becomes true", deliver: withCondition("Attached"), timeout: time.Minute},
		{name: "a failure condition", deliver: withCondition("AttachFailed"), timeout: time.Minute, wantErr: "device binding failed"},
		{name: "nothing happens: timeout", timeout: 50 * time.Millisecond, wantErr: "device binding timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cache.New()
			c.SetResourceClaim(claim)
			f := &fakeClaims{claims: map[string]*resourcev1.ResourceClaim{"ns/gpu": claim.DeepCopy()}, rv: 10}
			plan := &dynamicresources.Plan{Pod: pod, Node: "node-a", Claims: []dynamicresources.ClaimUpdate{{Before: claim, After: after, Allocated: true}},
				PodClaims: []types.NamespacedName{{Namespace: "ns", Name: "gpu"}}, WaitForBindingConditions: true, BindingTimeout: tc.timeout}
			step := &deviceStep{plan: plan, cache: c, w: f, now: time.Now}
			step.reserve()
			if tc.deliver != nil {
				go func() {
					time.Sleep(20 * time.Millisecond)
					c.SetResourceClaim(tc.deliver)
				}()
			}
			err := step.preBind(context.Background())
			if tc.wantErr == "" && err != nil {
				t.Fatalf("preBind: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("preBind = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestUnknownPlanFails checks that a plan the scheduler has no step for fails the cycle rather
// than being dropped.
func TestUnknownPlanFails(t *testing.T) {
	s := &Scheduler{cache: cache.New()}
	steps := s.steps(&v1.Pod{}, []decide.Plan{otherPlan{}})
	if len(steps) != 1 {
		t.Fatalf("%d steps, want 1", len(steps))
	}
	if err := steps[0].preBind(context.Background()); err == nil || !strings.Contains(err.Error(), "no binding step") {
		t.Errorf("preBind = %v, want an internal error", err)
	}
}

type otherPlan struct{}

func (otherPlan) PluginName() string { return "Other" }

// TestDeviceStepExtended runs a plan with an extended resource claim through its binding step:
// the claim is created from generateName, gets its finalizer, allocation and reservation, and
// the pod's status names it with the request mappings; a failure after the create deletes the
// claim in unreserve, finalizer first.
func TestDeviceStepExtended(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}}
	controller := true
	toCreate := &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "<extended-resources>-pod-uid", GenerateName: "p-extended-resources-",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "pod-uid", Controller: &controller}},
			Annotations:     map[string]string{resourcev1.ExtendedResourceClaimAnnotation: "true"}},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{Name: "container-0-request-0",
			Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu-class", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1}}}}},
	}
	alloc := &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
		{Request: "container-0-request-0", Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0"}}}}
	assumed := toCreate.DeepCopy()
	assumed.Finalizers = []string{resourcev1.Finalizer}
	assumed.Status.Allocation = alloc
	assumed.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "pod-uid"}}
	mappings := []v1.ContainerExtendedResourceRequest{{ContainerName: "app", ResourceName: "example.com/gpu", RequestName: "container-0-request-0"}}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	const created = "ns/p-extended-resources-x7k2p"

	tests := []struct {
		name      string
		fail      map[string]error
		patchErr  error
		wantErr   string
		wantCalls string // claim writes in preBind, then unreserve's after "|"
		wantPatch bool
		// wantCreates is what dynamic_resource_allocation_resourceclaim_creates_total counted.
		wantCreates string
	}{
		{name: "created, allocated, reserved, named in the pod; a later failure deletes it", wantCalls: "create update status|update delete", wantPatch: true,
			wantCreates: "success"},
		{name: "the create fails: nothing to delete", fail: map[string]error{"create": fmt.Errorf("quota exceeded")},
			wantErr: "create claim for extended resources ns/: quota exceeded", wantCalls: "create|", wantCreates: "failure"},
		{name: "the status write fails: the claim is deleted, finalizer first", fail: map[string]error{"status": fmt.Errorf("boom")},
			wantErr: "add allocation and reservation to claim ns/p-extended-resources-x7k2p: boom", wantCalls: "create update status|update get update delete",
			wantCreates: "success"},
		{name: "the pod status patch fails: the claim is deleted", patchErr: fmt.Errorf("pod gone"),
			wantErr: "update pod ns/p ExtendedResourceClaimStatus: pod gone", wantCalls: "create update status|update delete", wantPatch: true,
			wantCreates: "success"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cache.New()
			f := &fakeClaims{rv: 10, fail: tc.fail}
			var patches []map[string]any
			var creates []string
			plan := &dynamicresources.Plan{Pod: pod, Node: "node-a",
				Extended: &dynamicresources.ExtendedClaim{Claim: toCreate, Assumed: assumed, Allocation: alloc, Mappings: mappings}}
			step := &deviceStep{plan: plan, cache: c, w: f, now: func() time.Time { return now },
				patchPod: func(_ context.Context, p *v1.Pod, st map[string]any) error {
					if p != pod {
						t.Errorf("patched pod %v", p)
					}
					patches = append(patches, st)
					return tc.patchErr
				},
				creates: func(status string) { creates = append(creates, status) }}
			step.reserve()
			err := step.preBind(context.Background())
			calls := strings.Join(f.calls, " ")
			if got := strings.Join(creates, " "); got != tc.wantCreates {
				t.Errorf("creates counted %q, want %q", got, tc.wantCreates)
			}
			if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("preBind = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("preBind: %v", err)
			}
			if tc.wantPatch {
				want := &v1.PodExtendedResourceClaimStatus{ResourceClaimName: "p-extended-resources-x7k2p", RequestMappings: mappings}
				if len(patches) != 1 || !reflect.DeepEqual(patches[0]["extendedResourceClaimStatus"], want) {
					t.Errorf("pod patches %+v, want extendedResourceClaimStatus %+v", patches, want)
				}
			} else if len(patches) > 0 {
				t.Errorf("pod patched %+v, want no patch", patches)
			}
			if err == nil {
				got := f.claims[created]
				if got == nil {
					t.Fatalf("claim %s not created: %v", created, f.claims)
				}
				if got.GenerateName != "p-extended-resources-" || got.Annotations[resourcev1.ExtendedResourceClaimAnnotation] != "true" ||
					!metav1.IsControlledBy(got, pod) || !reflect.DeepEqual(got.Spec, toCreate.Spec) {
					t.Errorf("created claim %+v", got)
				}
				if !reflect.DeepEqual(got.Finalizers, []string{resourcev1.Finalizer}) {
					t.Errorf("finalizers %v", got.Finalizers)
				}
				if a := got.Status.Allocation; a == nil || len(a.Devices.Results) != 1 || a.AllocationTimestamp == nil || !a.AllocationTimestamp.Time.Equal(now) {
					t.Errorf("allocation %+v", a)
				}
				if r := got.Status.ReservedFor; len(r) != 1 || r[0].UID != pod.UID || r[0].Resource != "pods" {
					t.Errorf("reservedFor %v", r)
				}
				if k := plan.PodClaims; len(k) != 1 || k[0].String() != created {
					t.Errorf("plan's pod claims %v, want %s", k, created)
				}
			}
			n := len(f.calls)
			step.unreserve(context.Background())
			calls += "|" + strings.Join(f.calls[n:], " ")
			if calls != tc.wantCalls {
				t.Errorf("calls %q, want %q", calls, tc.wantCalls)
			}
			if len(f.claims) != 0 {
				t.Errorf("claims left after unreserve: %v", f.claims)
			}
		})
	}
}

// TestDeleteClaim checks the deletion of an extended resource claim (unreserve, PostFilter):
// finalizer out first, a conflict read again, a claim already gone no error.
func TestDeleteClaim(t *testing.T) {
	stale := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p-extended-resources-abc", ResourceVersion: "10",
		Finalizers: []string{"other", resourcev1.Finalizer}}}
	noFinalizer := stale.DeepCopy()
	noFinalizer.Finalizers = nil
	tests := []struct {
		name      string
		claim     *resourcev1.ResourceClaim // as the caller saw it
		stored    *resourcev1.ResourceClaim // nil: gone
		before    func(*resourcev1.ResourceClaim)
		fail      map[string]error
		wantErr   string
		wantCalls string
	}{
		{name: "finalizer out, then deleted", claim: stale, stored: stale, wantCalls: "update delete"},
		{name: "no finalizer: written as it is, then deleted", claim: noFinalizer, stored: noFinalizer, wantCalls: "update delete"},
		{name: "no finalizer as the caller saw it, but stored with one", claim: noFinalizer, stored: stale,
			before: func(s *resourcev1.ResourceClaim) { s.ResourceVersion = "11" }, wantCalls: "update get update delete"},
		{name: "a conflict reads the claim again", claim: stale, stored: stale,
			before: func(s *resourcev1.ResourceClaim) { s.ResourceVersion = "11" }, wantCalls: "update get update delete"},
		{name: "already gone", claim: stale, wantCalls: "update"},
		{name: "the delete fails", claim: noFinalizer, stored: noFinalizer, fail: map[string]error{"delete": fmt.Errorf("boom")},
			wantErr: "delete resourceclaim ns/p-extended-resources-abc: boom", wantCalls: "update delete"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeClaims{claims: map[string]*resourcev1.ResourceClaim{}, rv: 11, before: tc.before, fail: tc.fail}
			if tc.stored != nil {
				f.claims["ns/"+tc.stored.Name] = tc.stored.DeepCopy()
			}
			err := deleteClaim(context.Background(), f, tc.claim)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("deleteClaim = %v, want %q", err, tc.wantErr)
			}
			if got := strings.Join(f.calls, " "); got != tc.wantCalls {
				t.Errorf("calls %q, want %q", got, tc.wantCalls)
			}
			if tc.wantErr == "" && len(f.claims) != 0 {
				t.Errorf("claims left: %v", f.claims)
			}
		})
	}
}
