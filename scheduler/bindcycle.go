package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumebinding"
)

// The binding cycle. Once a decision has chosen a node, the pod is assumed there and each plugin
// plan (decide.Result.Plans) becomes a bindStep:
//
//	reserve    in the scheduling loop: the step's effect on the cache (assumed PVs and claims),
//	           so that the next decision already sees it;
//	nominate   off the loop, as kube-scheduler: status.nominatedNodeName names the chosen node;
//	preBind    off the loop: the API writes that must succeed before the pod is bound, and the
//	           wait for what they set off (the PV controller binding the claims);
//	bind       the pods/binding write, as for every pod;
//	unreserve  when a later step fails: each reserved step is undone, in reverse order, and the
//	           pod is forgotten and retried with backoff.
//
// A pod without plans goes straight to bind in the writer pool. A pod with plans runs its cycle
// on a goroutine of its own, which Run tracks and waits for: the wait may last the plugin's bind
// timeout (ten minutes by default), and must not hold one of the pool's writers meanwhile.

// bindStep is one plan's part of a pod's binding cycle (see above).
type bindStep interface {
	// plugin names the plugin whose plan this is.
	plugin() string
	reserve()
	preBind(ctx context.Context) error
	// unreserve undoes reserve, and what preBind wrote that must not outlive a failed cycle.
	unreserve(ctx context.Context)
}

// VolumeWriter writes the PersistentVolumes and claims of a pod's volume plan. kubeclient's
// PersistentVolumes() and PersistentVolumeClaims(ns) provide it (see setup.go); it is called
// from binding cycles, concurrently.
type VolumeWriter interface {
	UpdateVolume(ctx context.Context, pv *v1.PersistentVolume) (*v1.PersistentVolume, error)
	UpdateClaim(ctx context.Context, pvc *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error)
}

// errNoVolumeWriter fails the binding cycle of a pod with volumes to bind when Config.Volumes
// was not set.
var errNoVolumeWriter = errors.New("no writer for PersistentVolumes and PersistentVolumeClaims is configured")

// steps turns a decision's plans into binding steps.
func (s *Scheduler) steps(pod *v1.Pod, plans []decide.Plan) []bindStep {
	var out []bindStep
	for _, p := range plans {
		switch p := p.(type) {
		case *volumebinding.Plan:
			out = append(out, &volumeStep{plan: p, cache: s.cache, w: s.volumes, podGone: func() bool { return s.podGone(pod) }})
		case *dynamicresources.Plan:
			out = append(out, &deviceStep{plan: p, cache: s.cache, w: s.claims, now: time.Now, podGone: func() bool { return s.podGone(pod) },
				patchPod: s.writer.patchStatus, creates: s.m.claimCreated})
		default:
			// A plan the scheduler cannot carry out must fail the cycle, never be dropped:
			// the pod would be bound without what its plugin reserved.
			out = append(out, unknownPlan{p})
		}
	}
	return out
}

// unknownPlan is a plan of a type steps does not know; its pre-bind fails.
type unknownPlan struct{ p decide.Plan }

func (u unknownPlan) plugin() string          { return u.p.PluginName() }
func (unknownPlan) reserve()                  {}
func (unknownPlan) unreserve(context.Context) {}
func (u unknownPlan) preBind(context.Context) error {
	return fmt.Errorf("internal error: no binding step for a %T plan", u.p)
}

// runCycle runs pod's pre-bind steps and, when they all succeed, binds it; on a failure it undoes
// the steps and retries the pod. It runs on its own goroutine (see above).
func (s *Scheduler) runCycle(ctx context.Context, b binding) {
	// As kube-scheduler v1.37 (NominatedNodeNameForExpectation): before pre-bind work, the pod's
	// status names the node it is about to be bound to, for other components (the cluster
	// autoscaler); the binding clears it. A failure here does not stop the cycle.
	if b.bound.Status.NominatedNodeName != b.bound.Spec.NodeName {
		if err := s.writer.nominate(ctx, b.bound, b.bound.Spec.NodeName); err != nil {
			s.log.Info("Failed to update the nominated node name in the binding cycle", "pod", klogRef(b.bound), "err", err)
		}
	}
	preBind := b.rec.start()
	for _, st := range b.steps {
		t := b.rec.start()
		err := st.preBind(ctx)
		b.rec.plugin(st.plugin(), pointPreBind, err, t)
		if err != nil {
			b.rec.point(pointPreBind, err, preBind)
			b.undo(ctx)
			s.bindFailed(ctx, b, "SchedulerError", fmt.Sprintf("running PreBind plugin %q: %v", st.plugin(), err), err)
			return
		}
	}
	b.rec.point(pointPreBind, nil, preBind)
	s.bind(ctx, b)
}

// undo unreserves b's steps in reverse order.
func (b binding) undo(ctx context.Context) {
	if len(b.steps) == 0 {
		return
	}
	start := b.rec.start()
	for i := len(b.steps) - 1; i >= 0; i-- {
		t := b.rec.start()
		b.steps[i].unreserve(ctx)
		b.rec.plugin(b.steps[i].plugin(), pointUnreserve, nil, t)
	}
	b.rec.point(pointUnreserve, nil, start)
}

// volumeStep carries out a VolumeBinding plan: the chosen PVs get the claim in their claimRef,
// the claims to provision get the selected-node annotation, and the step then waits until the
// PV controller has bound every claim, or the plan's bind timeout passes.
type volumeStep struct {
	plan    *volumebinding.Plan
	cache   *cache.Cache
	w       VolumeWriter
	podGone func() bool

	pvs     []*v1.PersistentVolume      // the PVs to write, then as written
	claims  []*v1.PersistentVolumeClaim // the claims to write, then as written
	watched []types.NamespacedName      // the plan's claims, once watch has listed them
}

func (v *volumeStep) plugin() string { return volumebinding.Name }

// reserve assumes the plan's PVs and claims in the cache.
func (v *volumeStep) reserve() {
	for _, b := range v.plan.Bindings {
		pv, changed := b.BoundVolume()
		if changed {
			v.cache.AssumeVolume(pv)
		}
		v.pvs = append(v.pvs, pv)
	}
	for _, p := range v.plan.Provisions {
		c := p.SelectedClaim(v.plan.Node)
		v.cache.AssumeClaim(c)
		v.claims = append(v.claims, c)
	}
}

// unreserve drops the assumptions: decisions see the API server's objects again.
func (v *volumeStep) unreserve(context.Context) {
	for _, b := range v.plan.Bindings {
		v.cache.RestoreVolume(b.PV.Name)
	}
	for _, p := range v.plan.Provisions {
		v.cache.RestoreClaim(p.Claim.Namespace, p.Claim.Name)
	}
}

// bindCheckInterval is how often a waiting step looks again when none of its claims and PVs
// changed, for what it does not watch: the node or the pod may have gone. (kube-scheduler polls
// everything every second; a step wakes at once on its own claims and PVs.)
const bindCheckInterval = 5 * time.Second

// preBind writes the PVs, then the claims, and waits for the PV controller.
func (v *volumeStep) preBind(ctx context.Context) error {
	if v.w == nil {
		return errNoVolumeWriter
	}
	for i, pv := range v.pvs {
		written, err := v.w.UpdateVolume(ctx, pv)
		if err != nil {
			return err
		}
		v.pvs[i] = written
	}
	for i, c := range v.claims {
		written, err := v.w.UpdateClaim(ctx, c)
		if err != nil {
			return err
		}
		v.claims[i] = written
	}
	timeout := time.NewTimer(v.plan.BindTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(bindCheckInterval)
	defer tick.Stop()
	for {
		changed, stop := v.watch() // before looking, so that no change is missed
		done, err := v.check()
		if err != nil || done {
			stop()
			return err
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-timeout.C:
			err = fmt.Errorf("binding volumes: %w", context.DeadlineExceeded)
		case <-ctx.Done():
			err = ctx.Err()
		}
		stop()
		if err != nil {
			return err
		}
	}
}

// check looks once whether the plan is done.
func (v *volumeStep) check() (bool, error) {
	if v.podGone() {
		return false, errors.New("pod does not exist any more")
	}
	done, err := v.plan.Done(v.cache, v.pvs, v.claims)
	if err != nil {
		return false, fmt.Errorf("binding volumes: %w", err)
	}
	return done, nil
}

// watch watches the plan's claims and PVs, and the PVs provisioned for its claims so far.
func (v *volumeStep) watch() (<-chan struct{}, func()) {
	if v.watched == nil {
		for _, b := range v.plan.Bindings {
			v.watched = append(v.watched, types.NamespacedName{Namespace: b.Claim.Namespace, Name: b.Claim.Name})
		}
		for _, p := range v.plan.Provisions {
			v.watched = append(v.watched, types.NamespacedName{Namespace: p.Claim.Namespace, Name: p.Claim.Name})
		}
	}
	volumes := make([]string, 0, len(v.watched))
	for _, b := range v.plan.Bindings {
		volumes = append(volumes, b.PV.Name)
	}
	for _, p := range v.plan.Provisions {
		if api := v.cache.APIClaim(p.Claim.Namespace, p.Claim.Name); api != nil && api.Spec.VolumeName != "" {
			volumes = append(volumes, api.Spec.VolumeName)
		}
	}
	return v.cache.WatchStorage(v.watched, volumes)
}

// podGone reports whether pod was deleted (or replaced by a pod of the same name).
func (s *Scheduler) podGone(pod *v1.Pod) bool {
	if s.podIndexer == nil {
		return false
	}
	o, ok, err := s.podIndexer.GetByKey(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}.String())
	if err != nil || !ok {
		return err == nil
	}
	cur, isPod := o.(*v1.Pod)
	return !isPod || cur.UID != pod.UID
}
