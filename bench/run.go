package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/testenv"
)

// benchNamespace holds every pod of a run (each run has its own control plane).
const benchNamespace = "bench"

// RunResult is one measured run.
type RunResult struct {
	Workload  string `json:"workload"`
	Scheduler string `json:"scheduler"` // berth, upstream or ceiling
	// ClientLimit is the -client-limits entry the scheduler ran at: a QPS (= burst) such as
	// "5000", or "default" for none. Empty for the ceiling, whose runs serve every limit.
	ClientLimit string `json:"clientLimit,omitempty"`
	Round       int    `json:"round"` // 1-based; berth and upstream of one round ran back to back
	Nodes       int    `json:"nodes"`
	Pods        int    `json:"pods"`
	Bindable    int    `json:"bindable"`
	Bound       int    `json:"bound"`
	// Seconds is from the first create to the run's completion: the last binding seen, or the
	// last pod seen marked unschedulable when that came later (a first pass). PodsPerSecond is
	// Bound/Seconds.
	Seconds       float64 `json:"seconds"`
	PodsPerSecond float64 `json:"podsPerSecond"`
	// FirstPass is set on runs of a first-pass workload (see benchdata.Workload.FirstPass).
	FirstPass *FirstPassResult `json:"firstPass,omitempty"`
	// CreateSeconds is from the first create to the last create returning: when it is close to
	// Seconds, the scheduler kept pace with the pod creation.
	CreateSeconds float64 `json:"createSeconds"`
	// P50Ms and P99Ms are create-to-bind latencies of the bound pods.
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
	// SchedulerCPUSeconds is the scheduler's user+system time between the first create and the
	// last binding; SchedulerStartCPUSeconds what it used before (start-up, informer sync).
	SchedulerCPUSeconds      float64 `json:"schedulerCpuSeconds"`
	SchedulerStartCPUSeconds float64 `json:"schedulerStartCpuSeconds"`
	// PeakRSSBytes is the scheduler's VmHWM at the end of the run.
	PeakRSSBytes int64 `json:"peakRssBytes"`
	// APIServerCPUSeconds and EtcdCPUSeconds cover the same window as SchedulerCPUSeconds.
	APIServerCPUSeconds float64 `json:"apiserverCpuSeconds"`
	EtcdCPUSeconds      float64 `json:"etcdCpuSeconds"`
	// SetupSeconds is the time to start the control plane, create the nodes and get the
	// scheduler ready (not part of any figure).
	SetupSeconds float64 `json:"setupSeconds"`
	// Violations lists every broken hard constraint; a run with any fails the benchmark.
	Violations []string `json:"violations,omitempty"`
	// Incomplete says why the run ended before every awaited pod arrived (none arrived for -stall,
	// or the scheduler died), e.g. "no pod bound for 1m0s: 0 of 1000 bound". Its figures cover
	// what it did until then; they stay out of the medians, and the benchmark goes on but fails at
	// its end.
	Incomplete string `json:"incomplete,omitempty"`
	// Preemption is set on runs of a preemption workload (see benchdata.Workload.Preemption).
	Preemption *PreemptionResult `json:"preemption,omitempty"`
	// ControllerManagerCPUSeconds is kube-controller-manager's CPU time in the same window as
	// SchedulerCPUSeconds, on runs that start it (a volumes workload: the PV binder).
	ControllerManagerCPUSeconds float64 `json:"controllerManagerCpuSeconds,omitempty"`
	// Explain is set on berth runs under explain load (-explain-rps); such runs stay out of the
	// berth medians and are compared with them in Report.Explain.
	Explain *ExplainLoad `json:"explain,omitempty"`
	// Bare is set on berth's runs without metrics and logs (-observability-cost); like the
	// explain runs they stay out of the berth medians, and Report.Observability compares them.
	Bare bool `json:"bare,omitempty"`
	// Latency is set on runs of the latency mode (open-loop arrival; see latency.go).
	Latency *LatencyResult `json:"latency,omitempty"`
}

// PreemptionResult is what a preemption run evicted: the run's pods can only be bound once
// victims are gone, ideally one per pod.
type PreemptionResult struct {
	// Victims is how many low-priority pods the run started with; Evicted how many of them were
	// gone at its end.
	Victims int `json:"victims"`
	Evicted int `json:"evicted"`
	// EvictedPerPod is Evicted over the run's pods bound (1 is the ideal), 0 when none was bound.
	EvictedPerPod float64 `json:"evictedPerPod"`
}

// FirstPassResult is the scheduler's first pass over the pods that fit nowhere: every one of them
// marked PodScheduled=False (reason Unschedulable), at the scheduler's default flags one status
// patch per pod.
type FirstPassResult struct {
	// Pods is how many pods fit nowhere; Marked how many of them were seen marked (all of them,
	// unless the run failed).
	Pods   int `json:"pods"`
	Marked int `json:"marked"`
	// Seconds is from the first create to the last of them seen marked; PodsPerSecond is
	// Marked/Seconds.
	Seconds       float64 `json:"seconds"`
	PodsPerSecond float64 `json:"podsPerSecond"`
}

// runSpec is what one run needs.
type runSpec struct {
	workload benchdata.Workload
	kind     string
	limit    clientLimit // unused for the ceiling
	round    int
	size     benchdata.Size
	clients  int
	// bin is the scheduler binary (unused for the ceiling).
	bin string
	// ceilingEvents makes the ceiling write the events a scheduler writes; ceilingBinders is
	// how many clients bind what the creating clients created (0: each creating client binds
	// its own pod before creating the next).
	ceilingEvents  bool
	ceilingBinders int
	// profileDir, when set, receives each scheduler's CPU profile over the first profileFor of
	// the measured window (profiling costs a few percent: such runs are not clean figures).
	profileDir string
	profileFor time.Duration
	// stall ends the run as incomplete when no pod was bound (nor, in a first pass, marked
	// unschedulable) for this long.
	stall    time.Duration
	progress io.Writer
	// explainRPS, when positive, sends that many /debug/explain requests per second to berth
	// during the measurement (see ExplainLoad).
	explainRPS int
	// berthArgs are more flags for berth (-observability-cost: its verbosity and metrics).
	berthArgs []string
	// bare marks the berth run without metrics and logs (see RunResult.Bare).
	bare bool
	// rate, when positive, creates the pods open loop at that many a second (the latency mode)
	// and adds the run's latency figures; timebox, when positive, ends the run as incomplete
	// once it has measured that long (see xl.go).
	rate    float64
	timebox time.Duration
}

// errViolations marks a run whose placements broke a hard constraint.
var errViolations = errors.New("hard constraints violated")

// env is one run set up and not yet measured: a fresh control plane with the workload's nodes,
// the pod watch, and the scheduler under test (or the ceiling's writer).
type env struct {
	spec      runSpec
	cp        *testenv.ControlPlane
	admin     kubernetes.Interface
	pods      []benchdata.Pod
	bindable  map[string]bool // names of pods that must be bound
	mustPend  map[string]bool // names of pods that must stay pending
	toMark    map[string]bool // names of pods whose first pass is measured (nil unless a first pass)
	victims   int             // how many victims the run starts with (0 unless a preemption run)
	obs       *observer
	stopWatch func()
	sched     *schedulerProc // nil for the ceiling
	ceiling   *ceilingWriter // nil unless the ceiling
	volumes   *volumeSetup   // nil unless a volumes run
	claims    *claimWatch    // nil unless the ceiling of a volumes run
	setup     time.Duration
}

// setUp prepares a run. On error it has already torn down what it started.
func setUp(ctx context.Context, spec runSpec) (e *env, err error) {
	began := time.Now()
	e = &env{spec: spec, bindable: map[string]bool{}, mustPend: map[string]bool{}}
	defer func() {
		if err != nil {
			e.close()
			e = nil
		}
	}()
	if e.cp, err = testenv.Start(ctx, testenv.Options{Progress: spec.progress}); err != nil {
		return e, fmt.Errorf("starting the control plane: %w", err)
	}
	if e.admin, err = client(e.cp.Admin, -1, 0); err != nil {
		return e, err
	}
	if _, err := e.admin.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}, metav1.CreateOptions{}); err != nil {
		return e, fmt.Errorf("creating namespace %s: %w", benchNamespace, err)
	}
	if err := createPriorityClasses(ctx, e.admin, spec.workload.PriorityClasses()); err != nil {
		return e, err
	}
	nodes := spec.workload.Nodes(spec.size.Nodes)
	if err := createNodes(ctx, e.admin, nodes, spec.clients); err != nil {
		return e, err
	}
	// A preemption run starts from full nodes, filled before any scheduler starts.
	victims := spec.workload.Victims(benchNamespace, spec.size)
	if err := createVictims(ctx, e.admin, victims, spec.clients); err != nil {
		return e, err
	}
	e.victims = len(victims)
	// A volumes run has its claims, the PV binder and the provisioner before any pod.
	if e.volumes, err = setUpVolumes(ctx, e.cp, e.admin, spec.workload, spec.size, spec.clients); err != nil {
		return e, err
	}
	// A devices run has its class, slices and claims before any pod.
	if err := setUpDevices(ctx, e.admin, spec.workload, spec.size, nodes, spec.clients); err != nil {
		return e, err
	}
	e.pods = spec.workload.Pods(benchNamespace, spec.size)
	if spec.workload.FirstPass {
		e.toMark = map[string]bool{}
	}
	for _, p := range e.pods {
		if !p.MustStayPending {
			e.bindable[p.Pod.Name] = true
			continue
		}
		e.mustPend[p.Pod.Name] = true
		if e.toMark != nil && len(p.Pod.Spec.SchedulingGates) == 0 { // it fits nowhere: the scheduler marks it
			e.toMark[p.Pod.Name] = true
		}
	}
	e.obs = newObserver(e.bindable, e.toMark)
	if e.stopWatch, err = e.obs.watch(ctx, e.admin, benchNamespace); err != nil {
		return e, err
	}
	if spec.kind == kindCeiling {
		sc, err := client(e.cp.Scheduler, ceilingClientLimit, ceilingClientLimit)
		if err != nil {
			return e, err
		}
		e.ceiling = &ceilingWriter{sched: sc, nodes: nodes, events: spec.ceilingEvents, binders: spec.ceilingBinders,
			evict: evictions(spec.workload, spec.size, victims), devices: spec.workload.Devices}
		if spec.workload.Volumes {
			if e.claims, err = watchClaims(ctx, e.admin, benchNamespace); err != nil {
				return e, err
			}
			e.ceiling.claims = e.claims
		}
	} else if e.sched, err = startScheduler(ctx, spec.kind, spec.bin, e.cp.SchedulerKubeconfig, e.cp.Dir, spec.limit, spec.profileDir != "" || spec.rate > 0, spec.explainRPS > 0, spec.berthArgs, nil); err != nil {
		return e, err
	}
	e.setup = time.Since(began)
	return e, nil
}

// close stops the scheduler, the watch and the control plane; it copes with a partial setUp.
func (e *env) close() {
	e.sched.stop()
	if e.stopWatch != nil {
		e.stopWatch()
	}
	if e.claims != nil {
		e.claims.stop()
	}
	e.volumes.stop()
	e.cp.Stop()
}

// measure creates the pods, waits until every bindable pod is bound (and, for a first pass, every
// pod that fits nowhere is marked unschedulable), and judges the placements.
// A run that breaks a hard constraint returns its result with Violations and an error wrapping
// errViolations; one that ends before every awaited pod arrived returns its result so far, with
// Incomplete, and an error wrapping errIncomplete.
func (e *env) measure(ctx context.Context) (RunResult, error) {
	spec := e.spec
	res := RunResult{Workload: spec.workload.Name, Scheduler: spec.kind, Round: spec.round,
		Nodes: spec.size.Nodes, Pods: spec.size.Pods, Bindable: len(e.bindable), SetupSeconds: e.setup.Seconds()}
	if spec.kind != kindCeiling {
		res.ClientLimit = spec.limit.String()
	}
	cr := &creator{admin: e.admin, pods: e.pods, workers: spec.clients, ceiling: e.ceiling, rate: spec.rate}
	profiled := e.profile(ctx)
	cpu := newCPUMeter(e.sched)
	start := time.Now()
	var load *explainLoader
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan struct{})
	if spec.explainRPS > 0 {
		names := make([]string, len(e.pods))
		for i, p := range e.pods {
			names[i] = p.Pod.Name
		}
		load = newExplainLoader(e.sched.addr, names, spec.explainRPS)
		go func() { defer close(loadDone); load.run(loadCtx, benchNamespace) }()
	} else {
		close(loadDone)
	}
	boxed, unbox := timeBoxed(ctx, spec.timebox)
	err := cr.run(boxed)
	if err == nil {
		var dead func() bool
		if e.sched != nil {
			dead = e.sched.exited
		}
		err = e.obs.wait(boxed, spec.stall, dead)
	}
	err = unbox(err, e.obs.progress())
	done := e.obs.progress()
	window := cpu.stop()
	stopLoad()
	<-loadDone
	if load != nil {
		el := load.result()
		res.Explain = &el
	}
	res.Bare = spec.bare
	if perr := <-profiled; perr != nil && err == nil {
		err = perr
	}
	incomplete := errors.Is(err, errIncomplete)
	if err != nil && !incomplete {
		return res, fmt.Errorf("%s on %s: %w%s", spec.kind, spec.workload.Name, err, schedulerLog(e.sched))
	}
	if incomplete {
		res.Incomplete = strings.TrimPrefix(err.Error(), errIncomplete.Error()+": ")
	}
	ended := err
	res.SchedulerCPUSeconds, res.SchedulerStartCPUSeconds = window.sched, window.schedBefore
	res.APIServerCPUSeconds, res.EtcdCPUSeconds = window.apiserver, window.etcd
	res.ControllerManagerCPUSeconds = window.controllerManager
	if e.sched != nil && !e.sched.exited() {
		if res.PeakRSSBytes, err = readPeakRSS("/proc", e.sched.pid()); err != nil {
			return res, err
		}
		if spec.profileDir != "" {
			path := filepath.Join(spec.profileDir, spec.profileName()+".heap")
			if err := e.sched.fetch(ctx, "/debug/pprof/heap", 30*time.Second, path); err != nil {
				return res, err
			}
		}
	}
	bindTimes, wrong := e.obs.snapshot()
	res.Bound = len(bindTimes) - len(wrong)
	res.Seconds = max(0, done.last().Sub(start).Seconds())
	if res.Seconds > 0 {
		res.PodsPerSecond = float64(res.Bound) / res.Seconds
	}
	if e.toMark != nil {
		res.FirstPass = firstPassOf(done, start)
	}
	created := cr.createTimes()
	res.P50Ms, res.P99Ms = latencies(created, bindTimes, e.bindable)
	if spec.rate > 0 {
		res.Latency = e.latencyOf(ctx, cr, bindTimes)
	}
	for _, t := range created {
		res.CreateSeconds = max(res.CreateSeconds, t.Sub(start).Seconds())
	}

	// Give a wrong binding of a must-stay-pending pod a moment to show, then judge the API state.
	time.Sleep(300 * time.Millisecond)
	final, err := listPlacement(ctx, e.admin, e.mustPend, spec.workload)
	if err != nil {
		return res, err
	}
	final.runPods, final.incomplete = map[string]bool{}, incomplete
	for _, p := range e.pods {
		if _, ok := created[p.Pod.Name]; ok || !incomplete { // a time box may end the run before every create
			final.runPods[p.Pod.Name] = true
		}
	}
	if spec.workload.Preemption {
		res.Preemption = preemptionOf(final, e.victims, res.Bound)
	}
	res.Violations = check(final, spec.kind != kindCeiling)
	if len(res.Violations) > 0 {
		return res, fmt.Errorf("%s on %s: %w: %d, first: %s", spec.kind, spec.workload.Name, errViolations,
			len(res.Violations), res.Violations[0])
	}
	if incomplete {
		return res, fmt.Errorf("%s on %s: %w%s", spec.kind, spec.workload.Name, ended, schedulerLog(e.sched))
	}
	return res, nil
}

// preemptionOf returns what a preemption run that started with victims victims and bound bound
// pods evicted, judged from its final pods.
func preemptionOf(final placement, victims, bound int) *PreemptionResult {
	left := 0
	for _, p := range final.pods {
		if p.Labels[benchdata.ShapeLabel] == string(benchdata.Victim) {
			left++
		}
	}
	pr := &PreemptionResult{Victims: victims, Evicted: victims - left}
	if bound > 0 {
		pr.EvictedPerPod = float64(pr.Evicted) / float64(bound)
	}
	return pr
}

// firstPassOf returns the first pass of a run that started at start and came as far as t.
func firstPassOf(t tally, start time.Time) *FirstPassResult {
	fp := &FirstPassResult{Pods: t.toMark, Marked: t.marked}
	if t.marked > 0 {
		fp.Seconds = max(0, t.lastMark.Sub(start).Seconds())
	}
	if fp.Seconds > 0 {
		fp.PodsPerSecond = float64(fp.Marked) / fp.Seconds
	}
	return fp
}

// profile starts recording the scheduler's CPU profile when the spec asks for one; the channel
// yields the outcome once the profile is written (nil at once when there is nothing to do).
func (e *env) profile(ctx context.Context) <-chan error {
	out := make(chan error, 1)
	if e.spec.profileDir == "" || e.sched == nil {
		out <- nil
		return out
	}
	path := filepath.Join(e.spec.profileDir, e.spec.profileName()+".pprof")
	go func() { out <- e.sched.cpuProfile(ctx, e.spec.profileFor, path) }()
	return out
}

// profileName names the run's profiles, e.g. basic-berth-default-round1 (a scheduler's runs
// only: the ceiling has none).
func (s runSpec) profileName() string {
	kind := s.kind
	if s.explainRPS > 0 {
		kind += "-explain"
	}
	if s.bare {
		kind += "-bare"
	}
	return fmt.Sprintf("%s-%s-%s-round%d", s.workload.Name, kind, s.limit, s.round)
}

// client returns a clientset for cfg speaking protobuf, with the given rate limit (qps < 0: none).
func client(cfg *rest.Config, qps float32, burst int) (kubernetes.Interface, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = qps, burst
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c.UserAgent = "berth-bench"
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("creating a client for %s: %w", cfg.Host, err)
	}
	return cs, nil
}

// listPlacement reads the final nodes and benchmark pods from the API server; for a volumes
// workload w also the claims of the benchmark namespace and every PV, for a devices workload the
// ResourceClaims of the namespace and every ResourceSlice.
func listPlacement(ctx context.Context, c kubernetes.Interface, mustPend map[string]bool, w benchdata.Workload) (placement, error) {
	nl, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return placement{}, fmt.Errorf("listing nodes: %w", err)
	}
	pl, err := c.CoreV1().Pods(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return placement{}, fmt.Errorf("listing pods: %w", err)
	}
	p := placement{nodes: map[string]*v1.Node{}, mustStayPending: mustPend}
	for i := range nl.Items {
		p.nodes[nl.Items[i].Name] = &nl.Items[i]
	}
	for i := range pl.Items {
		p.pods = append(p.pods, &pl.Items[i])
	}
	if w.Devices {
		if err := listDevices(ctx, c, &p); err != nil {
			return placement{}, err
		}
	}
	if !w.Volumes {
		return p, nil
	}
	cl, err := c.CoreV1().PersistentVolumeClaims(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return placement{}, fmt.Errorf("listing claims: %w", err)
	}
	vl, err := c.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return placement{}, fmt.Errorf("listing PVs: %w", err)
	}
	p.claims, p.volumes = map[string]*v1.PersistentVolumeClaim{}, map[string]*v1.PersistentVolume{}
	for i := range cl.Items {
		p.claims[cl.Items[i].Namespace+"/"+cl.Items[i].Name] = &cl.Items[i]
	}
	for i := range vl.Items {
		p.volumes[vl.Items[i].Name] = &vl.Items[i]
	}
	return p, nil
}

// latencies returns the 50th and 99th percentile create-to-bind latency of the bindable pods
// seen bound, in milliseconds.
func latencies(created, bound map[string]time.Time, bindable map[string]bool) (p50, p99 float64) {
	var ms []float64
	for name, b := range bound {
		c, ok := created[name]
		if !ok || !bindable[name] {
			continue
		}
		ms = append(ms, float64(b.Sub(c).Microseconds())/1000)
	}
	return percentile(ms, 50), percentile(ms, 99)
}

// percentile returns the nearest-rank p-th percentile of v (0 when empty). It sorts v.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	rank := int(p/100*float64(len(v))+0.999999) - 1
	return v[max(0, min(rank, len(v)-1))]
}

// schedulerLog returns the tail of the scheduler's output for an error message, or "".
func schedulerLog(s *schedulerProc) string {
	if s == nil {
		return ""
	}
	return "\n----- " + s.kind + " output (tail) -----\n" + strings.TrimRight(testenv.Tail(s.proc.Output(), 4000), "\n")
}
