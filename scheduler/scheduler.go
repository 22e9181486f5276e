// Package scheduler places pending pods on nodes the way kube-scheduler does. It watches pods,
// nodes and namespaces through informers, keeps pending pods in a queue and the cluster in a cache,
// asks a pure decision function (package decide) for a node, and binds the pod with a bounded pool
// of API writers.
//
// New registers informer handlers at once (so a standby's cache stays warm); Run schedules until
// its context ends, and only one Run may be active at a time. The caller (main) runs Run under the
// context of its leadership: when leadership ends, Run stops, waits for its in-flight bindings and
// forgets what it had assumed. This package knows nothing of HTTP or Leases.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/logging"
	"github.com/berth-scheduler/berth/metrics"
	"github.com/berth-scheduler/berth/scheduler/cache"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
	"github.com/berth-scheduler/berth/scheduler/preempt"
	"github.com/berth-scheduler/berth/scheduler/queue"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// DefaultSchedulerName is the spec.schedulerName of pods kube-scheduler's default profile takes.
const DefaultSchedulerName = "default-scheduler"

// Decider decides one pod at a time (see decide.Decider).
type Decider interface {
	Decide(pod *snapshot.PodInfo, snap *snapshot.Snapshot) decide.Result
}

// Profile is one scheduler name with its decision pipeline.
type Profile struct {
	// SchedulerName selects the pods (spec.schedulerName) this profile schedules.
	SchedulerName string
	Decider       Decider
	// Interest maps a rejecting plugin's name to the cluster events that could make a pod it
	// rejected fit; plugins not listed count as interested in every event.
	Interest map[string]queue.Events
	// Preemption is DefaultPreemption's arguments; nil when the profile does not preempt.
	Preemption *preempt.Args
	// PostFilterFailsAfter names the plugins whose PreFilter rejection makes kube-scheduler's
	// PostFilter phase fail in this profile (see postFilterFailsAfter).
	PostFilterFailsAfter map[string]bool
	// DeallocateClaims is set when DynamicResources is a PostFilter plugin of the profile: for a
	// pod that fits nowhere, the claim its PostFilter proposes is deallocated (see
	// deallocation.go). PreemptFirst: DefaultPreemption runs before it (not kube-scheduler's
	// default order), so a preemption that finds a node leaves the claims alone.
	DeallocateClaims bool
	PreemptFirst     bool
	// PreEnqueue are the profile's plugins that may hold a pod back before any attempt (see
	// PreEnqueuer).
	PreEnqueue []PreEnqueuer
	// NodeJudges are the profile's filters that judge a node by the node alone, by name: the
	// queueing hints of node events ask them whether a new or changed node could take a pod they
	// rejected (see nodeEventHelps). Optional: without them every node event requeues.
	NodeJudges map[string]decide.FilterPlugin

	rec *frameworkRecorder // the profile's framework metrics; nil counts nowhere
}

// recordedDecider is a Decider that reports its decisions for the framework metrics (as
// decide.Decider does).
type recordedDecider interface {
	SetRecorder(decide.Recorder)
}

// PreEnqueuer is a plugin that can tell, before a pod's attempt, that it cannot be attempted yet
// (kube-scheduler's PreEnqueue): such a pod is held without an attempt, event or condition until
// an event the plugin cares about (Profile.Interest), or a change of the pod.
type PreEnqueuer interface {
	Name() string
	// PreEnqueue returns why pod must wait, or "" when it may be attempted.
	PreEnqueue(pod *v1.Pod, snap *snapshot.Snapshot) string
}

// Config configures a Scheduler. Pods, Events, Informers and Profiles are required.
type Config struct {
	// Pods returns the writer of bindings and pod conditions for a namespace (for example
	// kubeclient's Pods).
	Pods func(namespace string) PodWriter
	// Events returns the writer of events.k8s.io/v1 Events for a namespace (for example
	// kubeclient's Events).
	Events func(namespace string) EventWriter
	// Informers provides the pod, node and namespace informers; New registers its handlers on
	// them, and the caller starts them.
	Informers *kubeclient.Informers
	Profiles  []Profile
	// Queue configures backoff and the unschedulable timeout; its OnIncoming is set by New.
	Queue queue.Config
	// BindWorkers bounds concurrent API writes (bindings, events, status); 0 means 128 (enough to
	// keep binding at the API server's pace: with 32, pods waited for a worker under load).
	BindWorkers int
	// Metrics receives the scheduler's metrics; nil counts nowhere.
	Metrics *metrics.Registry
	Logger  *slog.Logger
	// Identity is the events' reportingInstance suffix ("<schedulerName>-<Identity>"); the
	// hostname when empty.
	Identity string
	// Volumes writes the PVs and claims of pods whose volumes the scheduler binds (see
	// VolumeWriter); nil fails such pods' binding cycles.
	Volumes VolumeWriter
	// ResourceClaims writes the ResourceClaims of pods whose devices the scheduler allocates
	// (see ResourceClaimWriter); nil fails such pods' binding cycles.
	ResourceClaims ResourceClaimWriter
}

// Scheduler is the scheduling loop and what feeds it.
type Scheduler struct {
	profiles map[string]*Profile
	queue    *queue.Queue
	cache    *cache.Cache
	writer   writer
	workers  int
	m        *schedMetrics
	log      *slog.Logger

	running sync.Mutex // held by Run: one loop at a time
	snap    *snapshot.Snapshot
	// pdbLister reads the PodDisruptionBudgets preemption respects; nil when no profile preempts.
	pdbLister policylisters.PodDisruptionBudgetLister
	volumes   VolumeWriter
	claims    ResourceClaimWriter
	// podIndexer is the pod informer's store, where binding cycles see their pod deleted.
	podIndexer toolscache.Indexer
	// handlers are the event handlers registerHandlers added, for WaitForHandlers.
	handlers []handlerRegistration
	// cycles tracks the binding cycles that run on their own goroutines (see bindcycle.go).
	cycles sync.WaitGroup
}

// New validates cfg, builds the queue and cache, and registers informer handlers on
// cfg.Informers (which the caller starts).
func New(cfg Config) (*Scheduler, error) {
	if cfg.Pods == nil {
		return nil, errors.New("scheduler config: Pods is required")
	}
	if cfg.Events == nil {
		return nil, errors.New("scheduler config: Events is required")
	}
	if cfg.Informers == nil {
		return nil, errors.New("scheduler config: Informers is required")
	}
	if len(cfg.Profiles) == 0 {
		return nil, errors.New("scheduler config: at least one profile is required")
	}
	if cfg.BindWorkers < 0 {
		return nil, fmt.Errorf("scheduler config: BindWorkers %d must not be negative", cfg.BindWorkers)
	}
	s := &Scheduler{
		profiles: map[string]*Profile{},
		cache:    cache.New(),
		workers:  cfg.BindWorkers,
		log:      cfg.Logger,
		volumes:  cfg.Volumes,
		claims:   cfg.ResourceClaims,
	}
	if s.workers == 0 {
		s.workers = 128
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i := range cfg.Profiles {
		p := cfg.Profiles[i]
		if p.SchedulerName == "" || p.Decider == nil {
			return nil, fmt.Errorf("profiles[%d]: schedulerName and a decider are required", i)
		}
		if _, dup := s.profiles[p.SchedulerName]; dup {
			return nil, fmt.Errorf("profiles[%d].schedulerName: Duplicate value: %q", i, p.SchedulerName)
		}
		s.profiles[p.SchedulerName] = &p
		if p.Preemption != nil && s.pdbLister == nil {
			s.pdbLister = policylisters.NewPodDisruptionBudgetLister(cfg.Informers.PodDisruptionBudgets().GetIndexer())
		}
	}
	var err error
	if s.m, err = newSchedMetrics(cfg.Metrics); err != nil {
		return nil, fmt.Errorf("registering scheduler metrics: %w", err)
	}
	if cfg.Metrics != nil {
		fm, err := newFrameworkMetrics(cfg.Metrics)
		if err != nil {
			return nil, fmt.Errorf("registering framework metrics: %w", err)
		}
		for _, p := range s.profiles {
			p.rec = newFrameworkRecorder(fm, p.SchedulerName)
			if d, ok := p.Decider.(recordedDecider); ok && p.rec != nil {
				d.SetRecorder(p.rec)
			}
		}
	}
	qcfg := cfg.Queue
	qcfg.OnIncoming = func(q, event string) { s.m.incoming.With(event, q).Inc() }
	if s.queue, err = queue.New(qcfg); err != nil {
		return nil, fmt.Errorf("scheduler queue: %w", err)
	}
	if cfg.Metrics != nil {
		err := cfg.Metrics.GaugeVecFunc("scheduler_pending_pods",
			"[STABLE] Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
			[]string{"queue"}, func(emit func(float64, ...string)) {
				l := s.queue.Lens()
				emit(float64(l.Active), "active")
				emit(float64(l.Backoff), "backoff")
				emit(float64(l.Unschedulable), "unschedulable")
				emit(float64(l.Gated), "gated")
			})
		if err != nil {
			return nil, fmt.Errorf("registering scheduler_pending_pods: %w", err)
		}
		err = cfg.Metrics.GaugeVecFunc("scheduler_unschedulable_pods",
			"[BETA] The number of unschedulable pods broken down by plugin name. A pod will increment the gauge for all plugins that caused it to not schedule and so this metric have meaning only when broken down by plugin.",
			[]string{"plugin", "profile"}, func(emit func(float64, ...string)) {
				type key struct{ plugin, profile string }
				counts := map[key]int{}
				s.queue.UnschedulablePlugins(func(pod *v1.Pod, rejectedBy []string) {
					for _, p := range rejectedBy {
						counts[key{p, pod.Spec.SchedulerName}]++
					}
				})
				for k, n := range counts {
					emit(float64(n), k.plugin, k.profile)
				}
			})
		if err != nil {
			return nil, fmt.Errorf("registering scheduler_unschedulable_pods: %w", err)
		}
		err = cfg.Metrics.GaugeVecFunc("scheduler_cache_size", "[ALPHA] Number of nodes, pods, and assumed (bound) pods in the scheduler cache.",
			[]string{"type"}, func(emit func(float64, ...string)) {
				nodes, pods, assumed := s.cache.Sizes()
				emit(float64(assumed), "assumed_pods")
				emit(float64(pods), "pods")
				emit(float64(nodes), "nodes")
			})
		if err != nil {
			return nil, fmt.Errorf("registering scheduler_cache_size: %w", err)
		}
	}
	id := cfg.Identity
	if id == "" {
		id, _ = os.Hostname()
	}
	sink := newEventSink(func(cause string) { s.m.eventsDropped.With(cause).Inc() }, s.log.With("component", "events"))
	s.writer = writer{pods: cfg.Pods, events: newRecorder(cfg.Events, id), sink: sink}
	if err := s.registerHandlers(cfg.Informers); err != nil {
		return nil, err
	}
	s.podIndexer = cfg.Informers.Pods().GetIndexer()
	return s, nil
}

// Run schedules pods until ctx ends. It returns after every binding it started has returned and
// every pod it assumed but did not see bound has been forgotten. Informers must have synced.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.TryLock() {
		return errors.New("scheduler: Run is already active")
	}
	defer s.running.Unlock()
	s.log.Info("scheduling loop started")
	pool := newPool(s.workers)
	var sinkDone sync.WaitGroup
	sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
	sinkDone.Add(1)
	go func() { defer sinkDone.Done(); s.writer.sink.run(sinkCtx) }()
	defer func() {
		s.cycles.Wait() // they end with ctx, undoing what they reserved
		pool.wait()
		stopSink() // after the bindings: their events are queued by then
		sinkDone.Wait()
		if n := s.cache.ForgetAllAssumed(); n > 0 {
			s.log.Info("forgot assumed pods", "count", n)
		}
		s.log.Info("scheduling loop stopped")
	}()
	var qdone sync.WaitGroup
	qctx, stopQueue := context.WithCancel(ctx)
	qdone.Add(1)
	go func() { defer qdone.Done(); s.queue.Run(qctx) }()
	defer func() { stopQueue(); qdone.Wait() }()
	for {
		qp, err := s.queue.Pop(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("popping the scheduling queue: %w", err)
		}
		s.scheduleOne(ctx, pool, qp)
	}
}

// scheduleOne decides one pod and hands its API writes to the pool.
func (s *Scheduler) scheduleOne(ctx context.Context, pool *pool, qp *queue.QueuedPod) {
	start := time.Now()
	pod := qp.Pod
	prof := s.profiles[pod.Spec.SchedulerName]
	if prof == nil || pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
		s.queue.Done(qp)
		return
	}
	s.snap = s.cache.UpdateSnapshot(s.snap)
	cyc := prof.rec.newCycle()
	preEnqueue := cyc.start()
	for _, pe := range prof.PreEnqueue {
		if why := pe.PreEnqueue(pod, s.snap); why != "" {
			// kube-scheduler records its PreEnqueue points as Success, held or not.
			cyc.point(pointPreEnqueue, nil, preEnqueue)
			s.log.Debug("Pod held before scheduling", "pod", klogRef(pod), "plugin", pe.Name(), "reason", why)
			qp.Message = why
			s.queue.Hold(qp, interestOf(prof, []string{pe.Name()}))
			return
		}
	}
	cyc.point(pointPreEnqueue, nil, preEnqueue)
	pi := snapshot.NewPodInfo(pod)
	res := prof.Decider.Decide(pi, s.snap)
	profile := prof.SchedulerName

	if res.Err != nil {
		s.schedulingError(ctx, pool, qp, profile, res.Err, start)
		return
	}
	if res.Node == "" {
		s.unschedulable(ctx, pool, qp, prof, pi, res, start, cyc)
		return
	}
	s.m.algorithm.With().Observe(time.Since(start).Seconds())

	// A shallow copy: informer objects are never modified, so the assumed pod may share them.
	bound := new(v1.Pod)
	*bound = *pod
	bound.Spec.NodeName = res.Node
	// What PodInfo derives (requests, affinity terms) does not depend on spec.nodeName: reuse it.
	assumed := *pi
	assumed.Pod = bound
	if err := s.cache.Assume(&assumed, res.Node); err != nil {
		s.m.attempts.With(resultError, profile).Inc()
		s.log.Error("assuming pod", "pod", klogRef(pod), "err", err)
		s.queue.Retry(qp)
		return
	}
	b := binding{qp: qp, bound: bound, profile: profile, start: start, evaluated: res.Evaluated, feasible: res.Feasible, rec: cyc}
	reserve := cyc.start()
	if len(res.Plans) > 0 {
		b.steps = s.steps(bound, res.Plans)
		for _, st := range b.steps {
			t := cyc.start()
			st.reserve()
			cyc.plugin(st.plugin(), pointReserve, nil, t)
		}
	}
	cyc.point(pointReserve, nil, reserve)
	permit := cyc.start() // no Permit plugins: berth has none, as kube-scheduler's default profile
	cyc.point(pointPermit, nil, permit)
	if len(b.steps) == 0 {
		pool.submit(ctx, func(ctx context.Context) {
			s.m.binding.Inc() // as kube-scheduler counts its binding goroutine
			defer s.m.binding.Dec()
			preBind := cyc.start() // nothing to write before binding
			cyc.point(pointPreBind, nil, preBind)
			s.bind(ctx, b)
		})
		return
	}
	s.cycles.Add(1)
	go func() {
		defer s.cycles.Done()
		s.m.binding.Inc()
		defer s.m.binding.Dec()
		s.runCycle(ctx, b)
	}()
}

// binding is a pod on its way to be bound: its queue entry, the assumed pod, and its binding
// cycle's steps (see bindcycle.go).
type binding struct {
	qp                  *queue.QueuedPod
	bound               *v1.Pod
	profile             string
	start               time.Time
	evaluated, feasible int
	steps               []bindStep
	rec                 cycleRecorder
}

// unschedulable handles a pod that fits no node: it tries preemption when the profile preempts,
// records the attempt, and parks the pod (at once, or once the API writes of a preemption or of
// a claim's deallocation are done).
func (s *Scheduler) unschedulable(ctx context.Context, pool *pool, qp *queue.QueuedPod, prof *Profile, pi *snapshot.PodInfo, res decide.Result, start time.Time, cyc cycleRecorder) {
	pod, profile, diag := qp.Pod, prof.SchedulerName, res.Diagnosis
	filterMsg := diag.Message()
	msg := filterMsg
	var p preemption
	failsAfter := prof.PostFilterFailsAfter[diag.PreFilterRejectedBy]
	switch {
	case failsAfter:
		// kube-scheduler's DynamicResources PostFilter finds no state from its own PreFilter,
		// which this rejection kept from running: the PostFilter phase fails with "not found",
		// no preemption is tried and the nomination stays.
		msg += " not found"
	case prof.Preemption != nil && res.Prepared != nil:
		postFilter := cyc.start()
		p = s.tryPreemption(prof, pi, diag, res.Prepared)
		cyc.postFilterDone(p.cand != nil, postFilter)
		msg += " " + p.msg
	case prof.Preemption == nil:
		none := ""
		p.nominate = &none // without preemption a pod keeps no nomination
	}
	var dealloc *dynamicresources.Deallocation
	if prof.DeallocateClaims && !failsAfter && !(prof.PreemptFirst && p.cand != nil) {
		if dealloc = deallocation(res.PostFilter); dealloc != nil {
			msg = filterMsg + " " + postFilterMessage(prof, dealloc, p.msg, p.cand != nil)
		}
	}
	s.m.algorithm.With().Observe(time.Since(start).Seconds()) // as upstream, preemption's search included
	s.m.attempts.With(resultUnschedulable, profile).Inc()
	s.m.attemptDuration.With(resultUnschedulable, profile).Observe(time.Since(start).Seconds())
	if s.log.Enabled(ctx, logging.V(2)) {
		s.cycleLog(pod).Log(ctx, logging.V(2), "Unable to schedule pod; no fit; waiting", "pod", klogRef(pod), "err", msg)
	}
	qp.RejectedBy, qp.Message = diag.Plugins, msg
	interest := interestOf(prof, diag.Plugins)
	if p.cand != nil {
		s.cache.Nominate(pi, p.cand.Node.Name())
		s.m.victims.With().Observe(float64(len(p.cand.Victims)))
	}
	if dealloc != nil {
		pool.submit(ctx, func(ctx context.Context) { s.deallocateAsync(ctx, qp, prof, dealloc, p, msg, filterMsg, interest, cyc) })
		return
	}
	if p.cand != nil {
		pool.submit(ctx, func(ctx context.Context) { s.preemptAsync(ctx, qp, prof, p, msg, interest) })
		return
	}
	if p.nominate != nil && *p.nominate == "" {
		s.cache.Unnominate(pod.UID)
	}
	s.queue.Unschedulable(qp, interest)
	pool.submit(ctx, func(ctx context.Context) {
		s.reportUnschedulable(ctx, profile, pod, "Unschedulable", msg, p.nominate)
	})
}

// schedulingError handles a decision that failed because a plugin broke (kube-scheduler's Error
// status): the pod is retried with backoff, and the failure is reported with reason
// SchedulerError.
func (s *Scheduler) schedulingError(ctx context.Context, pool *pool, qp *queue.QueuedPod, profile string, err error, start time.Time) {
	s.m.attempts.With(resultError, profile).Inc()
	s.m.attemptDuration.With(resultError, profile).Observe(time.Since(start).Seconds())
	// kube-scheduler's utilruntime.HandleErrorWithContext line: an error, from its "UnhandledError"
	// logger, in the cycle's context.
	s.cycleLog(qp.Pod).Error("Error scheduling pod; retrying", logging.Named("UnhandledError"), "pod", klogRef(qp.Pod), "err", err)
	qp.Message = err.Error()
	s.queue.Retry(qp)
	pod, msg := qp.Pod, err.Error()
	pool.submit(ctx, func(ctx context.Context) { s.reportUnschedulable(ctx, profile, pod, "SchedulerError", msg, nil) })
}

// bind binds b's pod (in the pool, or at the end of its binding cycle), then reports.
func (s *Scheduler) bind(ctx context.Context, b binding) {
	qp, bound, profile, start, evaluated, feasible := b.qp, b.bound, b.profile, b.start, b.evaluated, b.feasible
	bindStart := b.rec.start()
	err := s.writer.bind(ctx, bound, bound.Spec.NodeName)
	b.rec.plugin(defaultBinder, pointBind, err, bindStart)
	b.rec.point(pointBind, err, bindStart)
	if err != nil {
		b.undo(ctx)
		s.m.bindings.With("error").Inc()
		s.bindFailed(ctx, b, "SchedulerError", fmt.Sprintf("Binding rejected: %v", err), err)
		return
	}
	s.m.bindings.With("ok").Inc()
	postBind := b.rec.start() // no PostBind plugins, as in kube-scheduler's default profile
	b.rec.point(pointPostBind, nil, postBind)
	if s.log.Enabled(ctx, logging.V(2)) { // no argument boxing on the hot path when off
		s.cycleLog(bound).Log(ctx, logging.V(2), "Successfully bound pod to node", "pod", klogRef(bound), "node", bound.Spec.NodeName,
			"evaluatedNodes", evaluated, "feasibleNodes", feasible)
	}
	s.m.attempts.With(resultScheduled, profile).Inc()
	s.m.attemptDuration.With(resultScheduled, profile).Observe(time.Since(start).Seconds())
	s.m.podAttempts.With().Observe(float64(qp.Attempts))
	if qp.Flushed {
		s.m.afterFlush.With().Inc()
	}
	if !qp.InitialAttempt.IsZero() {
		s.m.sli.With(attemptsLabel(qp.Attempts)).Observe(time.Since(qp.InitialAttempt).Seconds())
	}
	s.queue.Done(qp)
	note := fmt.Sprintf("Successfully assigned %s/%s to %s", bound.Namespace, bound.Name, bound.Spec.NodeName)
	s.writer.event(profile, bound, nil, v1.EventTypeNormal, "Scheduled", "Binding", note)
}

// bindFailed forgets b's assumed pod after a failed binding cycle and retries it with backoff,
// reporting the failure unless the scheduling context ended (leadership or the process ending:
// the next leader retries).
func (s *Scheduler) bindFailed(ctx context.Context, b binding, reason, msg string, err error) {
	s.cache.Forget(b.bound)
	b.qp.Message = msg
	s.queue.Retry(b.qp)
	if ctx.Err() != nil {
		return
	}
	s.m.attempts.With(resultError, b.profile).Inc()
	s.m.attemptDuration.With(resultError, b.profile).Observe(time.Since(b.start).Seconds())
	s.log.Info("binding failed", "pod", klogRef(b.bound), "node", b.bound.Spec.NodeName, "err", err)
	s.reportUnschedulable(ctx, b.profile, b.qp.Pod, reason, msg, nil)
}

// reportUnschedulable records the FailedScheduling event and the PodScheduled=False condition,
// with the pod's nomination unless nominate is nil (see writer.markUnschedulable).
func (s *Scheduler) reportUnschedulable(ctx context.Context, profile string, pod *v1.Pod, reason, msg string, nominate *string) {
	s.writer.event(profile, pod, nil, v1.EventTypeWarning, "FailedScheduling", "Scheduling", msg)
	if err := s.writer.markUnschedulable(ctx, pod, reason, msg, nominate); err != nil {
		s.log.Debug("updating pod condition", "err", err)
	}
}

func interestOf(p *Profile, plugins []string) queue.Events {
	var ev queue.Events
	for _, name := range plugins {
		in, ok := p.Interest[name]
		if !ok {
			return queue.AllEvents
		}
		ev |= in
	}
	if ev == 0 {
		return queue.AllEvents
	}
	return ev
}

func attemptsLabel(n int) string {
	if n >= 15 {
		return "15+"
	}
	return fmt.Sprint(n)
}

// klogRef names pod in logs as kube-scheduler does (klog.KObj).
func klogRef(p *v1.Pod) logging.ObjectRef { return logging.KRef(p.Namespace, p.Name) }

// cycleLog returns the logger of pod's scheduling and binding cycles. kube-scheduler's carries the
// pod as context (klog.LoggerWithValues) and its lines name the pod again, so in JSON they hold
// "pod" twice, before "v" and among their own keys; klog's text writes it once. Berth's lines
// that kube-scheduler writes that way use this logger and name the pod too.
func (s *Scheduler) cycleLog(pod *v1.Pod) *slog.Logger { return s.log.With("pod", klogRef(pod)) }
