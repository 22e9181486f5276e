package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
)

// ResourceClaimWriter writes the ResourceClaims of pods' device plans. kubeclient's
// ResourceClaims(ns) provides it (see setup.go); it is called from binding cycles, concurrently.
type ResourceClaimWriter interface {
	GetResourceClaim(ctx context.Context, namespace, name string) (*resourcev1.ResourceClaim, error)
	// UpdateResourceClaim writes the claim's metadata and spec (the finalizer).
	UpdateResourceClaim(ctx context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error)
	// UpdateResourceClaimStatus writes the claim's status (allocation, reservedFor).
	UpdateResourceClaimStatus(ctx context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error)
	// PatchResourceClaimStatus applies a strategic merge patch to the claim's status.
	PatchResourceClaimStatus(ctx context.Context, namespace, name string, patch []byte) error
	// CreateResourceClaim creates a claim (a pod's extended resource claim, by generateName).
	CreateResourceClaim(ctx context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error)
	// DeleteResourceClaim deletes the claim namespace/name.
	DeleteResourceClaim(ctx context.Context, namespace, name string) error
}

// errNoClaimWriter fails the binding cycle of a pod with ResourceClaims to write when
// Config.ResourceClaims was not set.
var errNoClaimWriter = errors.New("no writer for ResourceClaims is configured")

// deviceStep carries out a DynamicResources plan, as kube-scheduler's PreBind does: each claim the
// scheduler allocated gets the delete-protection finalizer and its allocation, and every claim
// gets the pod in status.reservedFor, with a fresh read and another try on a conflict. The
// kubelet prepares the devices of a pod only once its claims are reserved for it.
//
// A plan with an extended resource claim (dynamicresources.ExtendedClaim) then creates that
// claim, writes its finalizer, allocation and reservation as for the others, and patches the pod's
// status.extendedResourceClaimStatus with the claim's name and the request mappings.
//
// When a device the plan allocated has binding conditions, the step then waits, as upstream's
// does, until the driver reports them true, a failure condition is set, or the plan's binding
// timeout passes.
type deviceStep struct {
	plan    *dynamicresources.Plan
	cache   *cache.Cache
	w       ResourceClaimWriter
	now     func() time.Time
	podGone func() bool
	// patchPod applies a strategic merge patch of status to the pod's status.
	patchPod func(ctx context.Context, pod *v1.Pod, status map[string]any) error
	written  []bool // the claim's status names the pod (so unreserve must remove it)
	// created is the extended resource claim once created (unreserve deletes it).
	created *resourcev1.ResourceClaim
	// creates counts the extended resource claims' creations by status ("success", "failure"),
	// as dynamic_resource_allocation_resourceclaim_creates_total; nil counts nothing.
	creates func(status string)
}

func (d *deviceStep) plugin() string { return dynamicresources.Name }

// reserve assumes the plan's claims in the cache: the devices are taken for the next decision.
func (d *deviceStep) reserve() {
	d.written = make([]bool, len(d.plan.Claims))
	for _, c := range d.plan.Claims {
		d.cache.AssumeResourceClaim(c.After)
	}
	if x := d.plan.Extended; x != nil {
		d.cache.AssumeResourceClaim(x.Assumed)
	}
}

// unreserve drops the assumptions and takes the pod out of the reservedFor of the claims written
// so far (the resourceclaim controller deallocates a claim nobody reserves). A failure here is
// left to the next attempt, which finds the claim already reserved for the pod.
func (d *deviceStep) unreserve(ctx context.Context) {
	if x := d.plan.Extended; x != nil {
		d.cache.RestoreResourceClaim(x.Claim.Namespace, x.Claim.Name)
		if d.created != nil {
			d.cache.RestoreResourceClaim(d.created.Namespace, d.created.Name)
			_ = deleteClaim(ctx, d.w, d.created) // else the next attempt finds it stale, and deletes it
		}
	}
	for i := len(d.plan.Claims) - 1; i >= 0; i-- {
		c := d.plan.Claims[i].Before
		d.cache.RestoreResourceClaim(c.Namespace, c.Name)
		if !d.written[i] || d.w == nil {
			continue
		}
		patch := fmt.Sprintf(`{"metadata":{"uid":%q},"status":{"reservedFor":[{"$patch":"delete","uid":%q}]}}`, c.UID, d.plan.Pod.UID)
		_ = d.w.PatchResourceClaimStatus(ctx, c.Namespace, c.Name, []byte(patch))
	}
}

// claimWriteTries bounds the fresh reads and writes of one claim on conflicts (client-go's
// retry.DefaultRetry, which kube-scheduler uses, makes five).
const claimWriteTries = 5

// preBind writes each claim in turn, then waits for binding conditions if the plan has any.
func (d *deviceStep) preBind(ctx context.Context) error {
	if d.plan.Err != nil {
		return d.plan.Err
	}
	if d.w == nil {
		return errNoClaimWriter
	}
	for i, c := range d.plan.Claims {
		written, err := d.write(ctx, c)
		if err != nil {
			return err
		}
		d.written[i] = true
		d.cache.AssumeWrittenResourceClaim(written) // until the informer has it (or newer)
	}
	if d.plan.Extended != nil {
		if err := d.writeExtended(ctx); err != nil {
			return err
		}
	}
	if !d.plan.WaitForBindingConditions {
		return nil
	}
	return d.waitForConditions(ctx)
}

// conditionCheckInterval is how often a step waiting for binding conditions looks at its claims
// (kube-scheduler polls every five seconds).
const conditionCheckInterval = time.Second

// waitForConditions waits until the binding conditions of the plan's devices hold, as the
// informer delivers the claims.
func (d *deviceStep) waitForConditions(ctx context.Context) error {
	timeout := time.NewTimer(d.plan.BindingTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(conditionCheckInterval)
	defer tick.Stop()
	for {
		if d.podGone != nil && d.podGone() {
			return errors.New("pod does not exist any more")
		}
		ready, err := d.plan.Ready(d.cache.APIResourceClaim, d.now())
		if err != nil || ready {
			return err
		}
		select {
		case <-tick.C:
		case <-timeout.C:
			return fmt.Errorf("%w: waiting for binding conditions", dynamicresources.ErrDeviceBindingTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// write reserves one claim for the pod (and allocates it), reading it again after a conflict.
func (d *deviceStep) write(ctx context.Context, c dynamicresources.ClaimUpdate) (*resourcev1.ResourceClaim, error) {
	key := types.NamespacedName{Namespace: c.Before.Namespace, Name: c.Before.Name}
	cur := c.Before.DeepCopy()
	for try := 1; ; try++ {
		out, err := d.writeOnce(ctx, key, cur, c)
		if err == nil || !apierrors.IsConflict(err) || try == claimWriteTries {
			return out, err
		}
		if cur, err = d.w.GetResourceClaim(ctx, key.Namespace, key.Name); err != nil {
			return nil, fmt.Errorf("get updated claim %s after conflict: %w", key, err)
		}
	}
}

// writeOnce applies c to cur, the claim as last read, and writes it.
func (d *deviceStep) writeOnce(ctx context.Context, key types.NamespacedName, cur *resourcev1.ResourceClaim, c dynamicresources.ClaimUpdate) (*resourcev1.ResourceClaim, error) {
	if cur.DeletionTimestamp != nil {
		return nil, fmt.Errorf("claim %s got deleted in the meantime", key)
	}
	if c.Allocated {
		if cur.Status.Allocation != nil {
			return nil, fmt.Errorf("claim %s got allocated elsewhere in the meantime", key)
		}
		if !slices.Contains(cur.Finalizers, resourcev1.Finalizer) {
			cur = cur.DeepCopy()
			cur.Finalizers = append(cur.Finalizers, resourcev1.Finalizer)
			updated, err := d.w.UpdateResourceClaim(ctx, cur)
			if err != nil {
				return nil, fmt.Errorf("add finalizer to claim %s: %w", key, err)
			}
			cur = updated
		}
		cur.Status.Allocation = c.After.Status.Allocation.DeepCopy()
	} else if cur.Status.Allocation == nil {
		return nil, fmt.Errorf("claim %s got deallocated elsewhere in the meantime", key)
	}
	cur.Status.ReservedFor = append(cur.Status.ReservedFor, d.consumer())
	if cur.Status.Allocation.AllocationTimestamp == nil {
		cur.Status.Allocation = cur.Status.Allocation.DeepCopy()
		cur.Status.Allocation.AllocationTimestamp = &metav1.Time{Time: d.now()}
	}
	out, err := d.w.UpdateResourceClaimStatus(ctx, cur)
	if err != nil {
		if c.Allocated {
			return nil, fmt.Errorf("add allocation and reservation to claim %s: %w", key, err)
		}
		return nil, fmt.Errorf("add reservation to claim %s: %w", key, err)
	}
	return out, nil
}

// consumer is the pod's entry in a claim's status.reservedFor.
func (d *deviceStep) consumer() resourcev1.ResourceClaimConsumerReference {
	p := d.plan.Pod
	return resourcev1.ResourceClaimConsumerReference{APIGroup: v1.GroupName, Resource: "pods", Name: p.Name, UID: p.UID}
}

// writeExtended creates the pod's extended resource claim, allocates and reserves it, and names it
// in the pod's status, as upstream's PreBind does.
func (d *deviceStep) writeExtended(ctx context.Context) error {
	x := d.plan.Extended
	c := x.Claim.DeepCopy()
	c.Name, c.UID = "", "" // the API server names it from generateName
	c.Status = resourcev1.ResourceClaimStatus{}
	created, err := d.w.CreateResourceClaim(ctx, c)
	if d.creates != nil {
		status := "success"
		if err != nil {
			status = "failure"
		}
		d.creates(status)
	}
	if err != nil {
		return fmt.Errorf("create claim for extended resources %s/%s: %w", c.Namespace, c.Name, err)
	}
	d.created = created
	d.plan.PodClaims = append(d.plan.PodClaims, types.NamespacedName{Namespace: created.Namespace, Name: created.Name})
	d.cache.RestoreResourceClaim(x.Claim.Namespace, x.Claim.Name)
	d.cache.AssumeResourceClaim(assumedAs(x.Assumed, created)) // until written
	after := created.DeepCopy()
	after.Status.Allocation = x.Allocation
	written, err := d.write(ctx, dynamicresources.ClaimUpdate{Before: created, After: after, Allocated: true})
	if err != nil {
		return err
	}
	d.created = written
	d.cache.AssumeWrittenResourceClaim(written)
	pod := d.plan.Pod
	st := x.ExtendedResourceClaimStatus(written.Name)
	if err := d.patchPod(ctx, pod, map[string]any{"extendedResourceClaimStatus": st}); err != nil {
		return fmt.Errorf("update pod %s/%s ExtendedResourceClaimStatus: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// assumedAs is the assumed claim (allocated, reserved) under the name and identity of the
// created claim.
func assumedAs(assumed, created *resourcev1.ResourceClaim) *resourcev1.ResourceClaim {
	out := created.DeepCopy()
	out.Finalizers = assumed.Finalizers
	out.Status = *assumed.Status.DeepCopy()
	return out
}

// deleteClaim deletes claim c, first writing it without the delete-protection finalizer (with a
// fresh read and another try on a conflict: c may be older than the stored claim, which may have
// the finalizer c lacks), as upstream deletes the extended resource claims it created. A claim
// already gone is no error.
func deleteClaim(ctx context.Context, w ResourceClaimWriter, c *resourcev1.ResourceClaim) error {
	if w == nil {
		return errNoClaimWriter
	}
	cur := c
	for try := 1; ; try++ {
		cur = cur.DeepCopy()
		cur.Finalizers = slices.DeleteFunc(cur.Finalizers, func(f string) bool { return f == resourcev1.Finalizer })
		_, err := w.UpdateResourceClaim(ctx, cur)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil {
			break
		}
		if !apierrors.IsConflict(err) || try == claimWriteTries {
			return fmt.Errorf("update resourceclaim %s/%s: %w", c.Namespace, c.Name, err)
		}
		if cur, err = w.GetResourceClaim(ctx, c.Namespace, c.Name); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("get resourceclaim %s/%s: %w", c.Namespace, c.Name, err)
		}
	}
	if err := w.DeleteResourceClaim(ctx, c.Namespace, c.Name); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete resourceclaim %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}
