package scheduler

import (
	"context"
	"fmt"
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
