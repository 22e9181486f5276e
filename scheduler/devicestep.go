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
}

// errNoClaimWriter fails the binding cycle of a pod with ResourceClaims to write when
// Config.ResourceClaims was not set.
var errNoClaimWriter = errors.New("no writer for ResourceClaims is configured")

// claimUpdate is one claim of a device plan: as the decision saw it, and as it must be (allocated
// when allocate, reserved for the pod).
type claimUpdate struct {
	before, after *resourcev1.ResourceClaim
	allocate      bool
}

// deviceStep carries out a DynamicResources plan, as kube-scheduler's PreBind does: each claim the
// scheduler allocated gets the delete-protection finalizer and its allocation, and every claim
// gets the pod in status.reservedFor, with a fresh read and another try on a conflict. The
// kubelet prepares the devices of a pod only once its claims are reserved for it.
type deviceStep struct {
	pod     *v1.Pod
	claims  []claimUpdate
	cache   *cache.Cache
	w       ResourceClaimWriter
	now     func() time.Time
	written []bool // the claim's status names the pod (so unreserve must remove it)
}

func (d *deviceStep) plugin() string { return "DynamicResources" }

// reserve assumes the plan's claims in the cache: the devices are taken for the next decision.
func (d *deviceStep) reserve() {
	d.written = make([]bool, len(d.claims))
	for _, c := range d.claims {
		d.cache.AssumeResourceClaim(c.after)
	}
}

// unreserve drops the assumptions and takes the pod out of the reservedFor of the claims written
// so far (the resourceclaim controller deallocates a claim nobody reserves). A failure here is
// left to the next attempt, which finds the claim already reserved for the pod.
func (d *deviceStep) unreserve(ctx context.Context) {
	for i := len(d.claims) - 1; i >= 0; i-- {
		c := d.claims[i].before
		d.cache.RestoreResourceClaim(c.Namespace, c.Name)
		if !d.written[i] || d.w == nil {
			continue
		}
		patch := fmt.Sprintf(`{"metadata":{"uid":%q},"status":{"reservedFor":[{"$patch":"delete","uid":%q}]}}`, c.UID, d.pod.UID)
		_ = d.w.PatchResourceClaimStatus(ctx, c.Namespace, c.Name, []byte(patch))
	}
}

// claimWriteTries bounds the fresh reads and writes of one claim on conflicts (client-go's
// retry.DefaultRetry, which kube-scheduler uses, makes five).
const claimWriteTries = 5

// preBind writes each claim in turn.
func (d *deviceStep) preBind(ctx context.Context) error {
	if d.w == nil {
		return errNoClaimWriter
	}
	for i, c := range d.claims {
		written, err := d.write(ctx, c)
		if err != nil {
			return err
		}
		d.written[i] = true
		d.cache.AssumeResourceClaim(written) // until the informer has it (or newer)
	}
	return nil
}

// write reserves one claim for the pod (and allocates it), reading it again after a conflict.
func (d *deviceStep) write(ctx context.Context, c claimUpdate) (*resourcev1.ResourceClaim, error) {
	key := types.NamespacedName{Namespace: c.before.Namespace, Name: c.before.Name}
	cur := c.before.DeepCopy()
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
func (d *deviceStep) writeOnce(ctx context.Context, key types.NamespacedName, cur *resourcev1.ResourceClaim, c claimUpdate) (*resourcev1.ResourceClaim, error) {
	if cur.DeletionTimestamp != nil {
		return nil, fmt.Errorf("claim %s got deleted in the meantime", key)
	}
	if c.allocate {
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
		cur.Status.Allocation = c.after.Status.Allocation.DeepCopy()
	} else if cur.Status.Allocation == nil {
		return nil, fmt.Errorf("claim %s got deallocated elsewhere in the meantime", key)
	}
	cur.Status.ReservedFor = append(cur.Status.ReservedFor, resourcev1.ResourceClaimConsumerReference{
		Resource: "pods", Name: d.pod.Name, UID: d.pod.UID,
	})
	if cur.Status.Allocation.AllocationTimestamp == nil {
		cur.Status.Allocation = cur.Status.Allocation.DeepCopy()
		cur.Status.Allocation.AllocationTimestamp = &metav1.Time{Time: d.now()}
	}
	out, err := d.w.UpdateResourceClaimStatus(ctx, cur)
	if err != nil {
		if c.allocate {
			return nil, fmt.Errorf("add allocation and reservation to claim %s: %w", key, err)
		}
		return nil, fmt.Errorf("add reservation to claim %s: %w", key, err)
	}
	return out, nil
}
