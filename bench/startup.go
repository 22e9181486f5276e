package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
	"github.com/berth-scheduler/berth/testenv"
)

// The startup mode times what operators wait for when a scheduler (re)starts in a big cluster.
// Each round sets up one control plane with -nodes nodes and -bound-pods pods created already
// bound (spec.nodeName set, outside every figure, in a namespace of their own), then, one
// scheduler after the other on that same cluster (berth first in odd rounds, upstream first in
// even ones), times exec → /readyz 200 (informers synced) → the binding of a pod created at that
// moment, with the scheduler's CPU and peak RSS until then. Last it starts two berth replicas with
// leader election (-lease), waits until both are ready (the standby's caches warm) and the leader
// has bound a pod, SIGKILLs the leader and times until a pod created right then is bound by the
// new leader.

// boundNamespace holds the startup mode's pre-bound pods, apart from the probes of benchNamespace.
const boundNamespace = "bench-bound"

// Goals of the startup mode.
const (
	goalStartupTime = 0.5     // berth exec → first bind over upstream's, at most
	goalStartupRSS  = 1.0 / 3 // berth peak RSS over upstream's, at most
	// goalFailoverSlack is what the failover may take beyond the lease duration.
	goalFailoverSlack = time.Second
)

// StartupRun is one scheduler's cold start.
type StartupRun struct {
	Scheduler string `json:"scheduler"`
	Round     int    `json:"round"`
	// ReadySeconds is from exec to /readyz answering 200; FirstBindSeconds from exec to the
	// binding of the pod created at that moment, seen by the harness's watch; BindAfterReadyMs
	// the part of it after ready.
	ReadySeconds     float64 `json:"readySeconds"`
	FirstBindSeconds float64 `json:"firstBindSeconds"`
	BindAfterReadyMs float64 `json:"bindAfterReadyMs"`
	// CPUSeconds is the scheduler's user+system time from exec to the first bind; PeakRSSBytes
	// its VmHWM then.
	CPUSeconds   float64 `json:"cpuSeconds"`
	PeakRSSBytes int64   `json:"peakRssBytes"`
	// Incomplete says why the run ended without a first bind (its figures are then partial).
	Incomplete string `json:"incomplete,omitempty"`
}

// FailoverRun is one leader failover between two berth replicas.
type FailoverRun struct {
	Round        int     `json:"round"`
	LeaseSeconds float64 `json:"leaseSeconds"`
	// Seconds is from the leader's SIGKILL to the binding, by the new leader, of a pod created
	// right after it.
	Seconds    float64 `json:"seconds"`
	Incomplete string  `json:"incomplete,omitempty"`
}

// StartupStats are the medians of one scheduler's complete cold starts.
type StartupStats struct {
	Runs             int     `json:"runs"`
	Incomplete       int     `json:"incomplete,omitempty"`
	ReadySeconds     float64 `json:"readySeconds"`
	FirstBindSeconds float64 `json:"firstBindSeconds"`
	CPUSeconds       float64 `json:"cpuSeconds"`
	PeakRSSMiB       float64 `json:"peakRssMiB"`
}

// StartupReport is the startup mode's outcome.
type StartupReport struct {
	// SetupSeconds is, per round, the time to start the control plane and create the nodes
	// and the bound pods.
	SetupSeconds []float64     `json:"setupSeconds"`
	Runs         []StartupRun  `json:"runs"`
	Failovers    []FailoverRun `json:"failovers,omitempty"`
	Berth        StartupStats  `json:"berth"`
	Upstream     StartupStats  `json:"upstream"`
	// FailoverSeconds is the median of the complete failovers.
	FailoverSeconds float64 `json:"failoverSeconds,omitempty"`
}

// startupCluster is one round's control plane, full of bound pods, with a watch on the probes.
type startupCluster struct {
	cp        *testenv.ControlPlane
	admin     kubernetes.Interface
	obs       *observer
	stopWatch func()
}

func (c *startupCluster) close() {
	if c.stopWatch != nil {
		c.stopWatch()
	}
	c.cp.Stop()
}

// runStartup runs the startup mode into rep and finishes it. A cold start or failover that did
// not complete is reported as such and the benchmark goes on; the error then names them.
func runStartup(ctx context.Context, cfg config, rep *Report, berth, upstream string) (*Report, error) {
	sr := &StartupReport{}
	rep.Startup = sr
	var incomplete []string
	for round := 1; round <= cfg.rounds; round++ {
		kinds := []string{kindBerth, kindUpstream}
		if cfg.berthOnly {
			kinds = kinds[:1]
		} else if round%2 == 0 {
			kinds[0], kinds[1] = kinds[1], kinds[0]
		}
		probes := map[string]bool{}
		for _, k := range kinds {
			probes[probeName(k, round)] = true
		}
		if cfg.failover {
			probes[probeName("leader", round)], probes[probeName("failover", round)] = true, true
		}
		began := time.Now()
		cl, err := setUpStartup(ctx, cfg, probes)
		if err != nil {
			rep.finish()
			return rep, fmt.Errorf("round %d: %w", round, err)
		}
		sr.SetupSeconds = append(sr.SetupSeconds, time.Since(began).Seconds())
		fmt.Fprintf(cfg.progress, "bench: round %d: %d nodes and %d bound pods set up in %.1fs\n", round, cfg.size.Nodes, cfg.boundPods, time.Since(began).Seconds())
		for _, k := range kinds {
			bin := berth
			if k == kindUpstream {
				bin = upstream
			}
			res, err := coldStart(ctx, cfg, cl, k, bin, round)
			if err != nil {
				cl.close()
				rep.finish()
				return rep, fmt.Errorf("round %d, %s: %w", round, k, err)
			}
			sr.Runs = append(sr.Runs, res)
			fmt.Fprintf(cfg.progress, "bench: round %d: %-8s ready in %6.2fs, first bind at %6.2fs (%4.0fms after ready), cpu %5.2fs, rss %4.0fMiB%s\n",
				round, k, res.ReadySeconds, res.FirstBindSeconds, res.BindAfterReadyMs, res.CPUSeconds, float64(res.PeakRSSBytes)/(1<<20), incompleteNote(res.Incomplete))
			if res.Incomplete != "" {
				incomplete = append(incomplete, fmt.Sprintf("round %d, %s: %s", round, k, res.Incomplete))
			}
		}
		if cfg.failover {
			fr, err := failover(ctx, cfg, cl, berth, round)
			if err != nil {
				cl.close()
				rep.finish()
				return rep, fmt.Errorf("round %d, failover: %w", round, err)
			}
			sr.Failovers = append(sr.Failovers, fr)
			fmt.Fprintf(cfg.progress, "bench: round %d: failover (lease %s) in %.2fs%s\n", round, cfg.lease, fr.Seconds, incompleteNote(fr.Incomplete))
			if fr.Incomplete != "" {
				incomplete = append(incomplete, fmt.Sprintf("round %d, failover: %s", round, fr.Incomplete))
			}
		}
		cl.close()
	}
	rep.finish()
	if len(incomplete) > 0 {
		return rep, fmt.Errorf("%d measurements %w: %s", len(incomplete), errIncomplete, strings.Join(incomplete, "; "))
	}
	return rep, nil
}

func incompleteNote(s string) string {
	if s == "" {
		return ""
	}
	return "; INCOMPLETE: " + s
}

// probeName names the pod whose binding a measurement waits for.
func probeName(what string, round int) string { return fmt.Sprintf("probe-%s-%d", what, round) }

// setUpStartup starts a control plane with cfg's nodes and bound pods and a watch on the probes
// of benchNamespace. On error it has torn down what it started.
func setUpStartup(ctx context.Context, cfg config, probes map[string]bool) (cl *startupCluster, err error) {
	cl = &startupCluster{}
	if cl.cp, err = testenv.Start(ctx, testenv.Options{Progress: cfg.progress}); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		if err != nil {
			cl.close()
			cl = nil
		}
	}()
	if cl.admin, err = client(cl.cp.Admin, -1, 0); err != nil {
		return cl, err
	}
	for _, ns := range []string{benchNamespace, boundNamespace} {
		if _, err := cl.admin.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return cl, fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	basic, _ := benchdata.Get("basic")
	if err := createNodes(ctx, cl.admin, basic.Nodes(cfg.size.Nodes), cfg.clients); err != nil {
		return cl, err
	}
	bound := boundPods(cfg.boundPods, cfg.size.Nodes)
	err = parallel(ctx, len(bound), cfg.clients, func(ctx context.Context, i int) error {
		if _, err := cl.admin.CoreV1().Pods(boundNamespace).Create(ctx, bound[i], metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating bound pod %s: %w", bound[i].Name, err)
		}
		return nil
	})
	if err != nil {
		return cl, err
	}
	cl.obs = newObserver(probes, nil)
	if cl.stopWatch, err = cl.obs.watch(ctx, cl.admin, benchNamespace); err != nil {
		return cl, err
	}
	return cl, nil
}

// boundPods returns n basic pods spread round-robin over nodes nodes, each already bound there.
func boundPods(n, nodes int) []*v1.Pod {
	basic, _ := benchdata.Get("basic")
	pods := basic.Pods(boundNamespace, benchdata.Size{Nodes: nodes, Pods: n})
	out := make([]*v1.Pod, len(pods))
	for i, p := range pods {
		p.Pod.Spec.NodeName = benchdata.NodeName(i % nodes)
		out[i] = p.Pod
	}
	return out
}

// probePod returns a basic pod named name in benchNamespace.
func probePod(name string) *v1.Pod {
	basic, _ := benchdata.Get("basic")
	p := basic.Pods(benchNamespace, benchdata.Size{Nodes: 1, Pods: 1})[0].Pod
	p.Name = name
	return p
}

// coldStart times one scheduler's start on the cluster. A scheduler that does not get ready or
// bind within the stall time makes an incomplete result, not an error.
func coldStart(ctx context.Context, cfg config, cl *startupCluster, kind, bin string, round int) (StartupRun, error) {
	res := StartupRun{Scheduler: kind, Round: round}
	limit := tunedLimit
	if len(cfg.limits) > 0 {
		limit = cfg.limits[0]
	}
	began := time.Now()
	var profiled chan error // with -cpuprofile: the CPU profile of the start, from exec on
	profileName := filepath.Join(cfg.profileDir, fmt.Sprintf("startup-%s-round%d", kind, round))
	started := func(s *schedulerProc) {
		if cfg.profileDir == "" {
			return
		}
		profiled = make(chan error, 1)
		go func() { profiled <- profileFromStart(ctx, s, cfg.profileFor, profileName+".pprof") }()
	}
	s, err := startScheduler(ctx, kind, bin, cl.cp.SchedulerKubeconfig, cl.cp.Dir, limit, true, false, nil, started)
	if err != nil {
		if ctx.Err() != nil {
			return res, err
		}
		res.Incomplete = firstLine(err.Error())
		return res, nil
	}
	defer s.stop()
	ready := time.Now()
	res.ReadySeconds = ready.Sub(began).Seconds()
	name := probeName(kind, round)
	bound, err := createAndAwait(ctx, cl, name, cfg.stall, s.exited)
	if err != nil {
		if !errors.Is(err, errIncomplete) {
			return res, err
		}
		res.Incomplete = err.Error()
	} else {
		res.FirstBindSeconds = bound.Sub(began).Seconds()
		res.BindAfterReadyMs = float64(bound.Sub(ready).Microseconds()) / 1000
	}
	if !s.exited() {
		if st, err := readProcStat("/proc", s.pid()); err == nil {
			res.CPUSeconds = st.CPUSeconds
		}
		if res.PeakRSSBytes, err = readPeakRSS("/proc", s.pid()); err != nil {
			return res, err
		}
	}
	if profiled != nil {
		if !s.exited() {
			// The heap at the first bind: in use, and allocated since exec (alloc_space).
			if err := s.fetch(ctx, "/debug/pprof/heap", 30*time.Second, profileName+".heap"); err != nil {
				return res, err
			}
		}
		if err := <-profiled; err != nil {
			return res, err
		}
	}
	return res, nil
}

// profileFromStart records s's CPU profile for d into path, starting as soon as its secure port
// answers (a scheduler serves it before its informers are synced).
func profileFromStart(ctx context.Context, s *schedulerProc, d time.Duration, path string) error {
	for {
		err := s.cpuProfile(ctx, d, path)
		if err == nil || s.exited() || ctx.Err() != nil || !strings.Contains(err.Error(), "connection refused") {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// createAndAwait creates the probe pod name and waits until the watch sees it bound, returning
// when. It fails with errIncomplete when that takes longer than limit or dead reports the
// scheduler gone.
func createAndAwait(ctx context.Context, cl *startupCluster, name string, limit time.Duration, dead func() bool) (time.Time, error) {
	if _, err := cl.admin.CoreV1().Pods(benchNamespace).Create(ctx, probePod(name), metav1.CreateOptions{}); err != nil {
		return time.Time{}, fmt.Errorf("creating pod %s: %w", name, err)
	}
	deadline := time.Now().Add(limit)
	for {
		bound, _ := cl.obs.snapshot()
		if t, ok := bound[name]; ok {
			return t, nil
		}
		if dead != nil && dead() {
			return time.Time{}, fmt.Errorf("%w: scheduler exited before binding %s", errIncomplete, name)
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%w: %s not bound within %s", errIncomplete, name, limit)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for %s to be bound: %w", name, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// failover starts two berth replicas with leader election, waits until both are ready and the
// leader has bound a pod, then SIGKILLs the leader and times until a pod created right after is
// bound (by the other: the only one left).
func failover(ctx context.Context, cfg config, cl *startupCluster, bin string, round int) (FailoverRun, error) {
	fr := FailoverRun{Round: round, LeaseSeconds: cfg.lease.Seconds()}
	var replicas []*schedulerProc
	defer func() {
		for _, r := range replicas {
			r.stop()
		}
	}()
	for range 2 {
		r, err := startReplica(cl.cp.SchedulerKubeconfig, bin, cfg.lease)
		if err != nil {
			return fr, err
		}
		replicas = append(replicas, r)
	}
	for _, r := range replicas {
		if err := r.waitReady(ctx, 120*time.Second); err != nil {
			fr.Incomplete = firstLine(err.Error())
			return fr, nil
		}
	}
	if _, err := createAndAwait(ctx, cl, probeName("leader", round), cfg.stall, nil); err != nil {
		if !errors.Is(err, errIncomplete) {
			return fr, err
		}
		fr.Incomplete = "no leader bound a pod: " + err.Error()
		return fr, nil
	}
	leader, err := leaderOf(ctx, replicas)
	if err != nil {
		fr.Incomplete = err.Error()
		return fr, nil
	}
	killed := time.Now()
	if err := leader.proc.Signal(syscall.SIGKILL); err != nil {
		return fr, fmt.Errorf("killing the leader: %w", err)
	}
	bound, err := createAndAwait(ctx, cl, probeName("failover", round), 3*cfg.lease+cfg.stall, nil)
	if err != nil {
		if !errors.Is(err, errIncomplete) {
			return fr, err
		}
		fr.Incomplete = err.Error()
		return fr, nil
	}
	fr.Seconds = bound.Sub(killed).Seconds()
	return fr, nil
}

// startReplica starts a berth replica with leader election at lease (renew deadline 3/4 of it,
// retry period 1/4), /metrics open to anonymous requests.
func startReplica(kubeconfig, bin string, lease time.Duration) (*schedulerProc, error) {
	port, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--kubeconfig", kubeconfig, "--authentication-skip-lookup"}, tunedLimit.berthArgs()...)
	args = append(args, "--leader-elect=true", "--leader-elect-lease-duration", lease.String(),
		"--leader-elect-renew-deadline", (lease * 3 / 4).String(), "--leader-elect-retry-period", (lease / 4).String(),
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--authorization-always-allow-paths="+openPaths)
	p, err := testenv.StartProcess(bin, args...)
	if err != nil {
		return nil, err
	}
	return &schedulerProc{kind: kindBerth, proc: p, addr: "127.0.0.1:" + strconv.Itoa(port)}, nil
}

// leaderOf returns the replica whose leader_election_master_status is 1 (exactly one must be).
func leaderOf(ctx context.Context, replicas []*schedulerProc) (*schedulerProc, error) {
	var leaders []*schedulerProc
	for _, r := range replicas {
		text, err := r.metrics(ctx)
		if err != nil {
			return nil, err
		}
		if gaugeIsOne(text, "leader_election_master_status") {
			leaders = append(leaders, r)
		}
	}
	if len(leaders) != 1 {
		return nil, fmt.Errorf("%d of %d replicas report leading, want 1", len(leaders), len(replicas))
	}
	return leaders[0], nil
}

// gaugeIsOne reports whether a sample of name in the exposition text has the value 1.
func gaugeIsOne(text, name string) bool {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil && v == 1 {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// finishStartup computes the medians and the goals of the startup mode.
func (r *Report) finishStartup() {
	sr := r.Startup
	if sr == nil {
		sr = &StartupReport{}
		r.Startup = sr
	}
	sr.Berth, sr.Upstream = startupStats(sr.Runs, kindBerth), startupStats(sr.Runs, kindUpstream)
	var fo []float64
	for _, f := range sr.Failovers {
		if f.Incomplete == "" {
			fo = append(fo, f.Seconds)
		}
	}
	sr.FailoverSeconds = median(fo)

	startup := Goal{Goal: "cold start: berth exec → first bind vs upstream", Target: fmt.Sprintf("≤ %.2f", goalStartupTime), Status: "not measured"}
	rss := Goal{Goal: "cold start: berth peak RSS vs upstream", Target: fmt.Sprintf("≤ %.2f", goalStartupRSS), Status: "not measured"}
	switch {
	case sr.Berth.Runs == 0 && sr.Berth.Incomplete > 0:
		startup.Measured, startup.Status = "berth did not complete", status(false)
		rss.Measured, rss.Status = startup.Measured, startup.Status
	case sr.Berth.Runs > 0 && sr.Upstream.Runs > 0:
		t := ratio(sr.Berth.FirstBindSeconds, sr.Upstream.FirstBindSeconds)
		startup.Measured = fmt.Sprintf("%s (%.2fs vs %.2fs)", fmtJudged(t, goalStartupTime, false), sr.Berth.FirstBindSeconds, sr.Upstream.FirstBindSeconds)
		startup.Status = status(t <= goalStartupTime)
		m := ratio(sr.Berth.PeakRSSMiB, sr.Upstream.PeakRSSMiB)
		rss.Measured = fmt.Sprintf("%s (%.0f MiB vs %.0f MiB)", fmtJudged(m, goalStartupRSS, false), sr.Berth.PeakRSSMiB, sr.Upstream.PeakRSSMiB)
		rss.Status = status(m <= goalStartupRSS)
	}
	fail := Goal{Goal: "failover: leader SIGKILL → first bind by the new leader", Status: "not measured"}
	if lease := r.Settings.LeaseSeconds; lease > 0 {
		limit := lease + goalFailoverSlack.Seconds()
		fail.Target = fmt.Sprintf("≤ lease %.1fs + %.0fs = %.1fs", lease, goalFailoverSlack.Seconds(), limit)
		switch {
		case len(fo) > 0:
			fail.Measured, fail.Status = fmt.Sprintf("%.2fs (median of %d)", sr.FailoverSeconds, len(fo)), status(sr.FailoverSeconds <= limit)
		case len(sr.Failovers) > 0:
			fail.Measured, fail.Status = "did not complete", status(false)
		}
	}
	r.Goals = []Goal{startup, rss, fail}
}

func startupStats(runs []StartupRun, kind string) StartupStats {
	var ready, bind, cpu, rss []float64
	incomplete := 0
	for _, r := range runs {
		if r.Scheduler != kind {
			continue
		}
		if r.Incomplete != "" {
			incomplete++
			continue
		}
		ready, bind, cpu = append(ready, r.ReadySeconds), append(bind, r.FirstBindSeconds), append(cpu, r.CPUSeconds)
		rss = append(rss, float64(r.PeakRSSBytes)/(1<<20))
	}
	return StartupStats{Runs: len(bind), Incomplete: incomplete, ReadySeconds: median(ready), FirstBindSeconds: median(bind),
		CPUSeconds: median(cpu), PeakRSSMiB: median(rss)}
}

// writeStartupMarkdown renders a startup-mode report.
func (r *Report) writeStartupMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	s, sr := r.Settings, r.Startup
	if sr == nil {
		sr = &StartupReport{}
	}
	p("# Benchmarks: cold start and leader failover, berth and upstream kube-scheduler side by side\n\n")
	r.writeModeHeader(p)
	p("- **Cluster:** %d nodes (4 cpu, 32Gi, 110 pods; 3 zones) and %d pods (100m/500Mi) created already bound, round-robin over the nodes, before any scheduler starts "+
		"(not measured); one fresh etcd + kube-apiserver per round, on which each scheduler in turn starts cold (berth first in odd rounds, upstream first in even ones), "+
		"%s; %d round(s). Figures are medians over the rounds.\n", s.Nodes, s.BoundPods, limitsPhrase(s.ClientLimits[:1]), s.Pairs)
	p("\n## Cold start\n\n*Ready* is from exec to /readyz answering 200 (informers synced); *first bind* from exec to the binding of a pod created the moment it was ready, " +
		"seen by the harness's watch. Scheduler CPU (user + system) and peak RSS (VmHWM) at that first bind.\n\n")
	p("| scheduler | ready s | first bind s | CPU s | peak RSS MiB |\n|---|---:|---:|---:|---:|\n")
	for _, k := range []struct {
		name string
		st   StartupStats
	}{{"upstream", sr.Upstream}, {"berth", sr.Berth}} {
		if k.st.Runs == 0 {
			note := "–"
			if k.st.Incomplete > 0 {
				note = "incomplete"
			}
			p("| %s | %s | %s | %s | %s |\n", k.name, note, note, note, note)
			continue
		}
		p("| %s | %.2f | %.2f | %.2f | %.0f |\n", k.name, k.st.ReadySeconds, k.st.FirstBindSeconds, k.st.CPUSeconds, k.st.PeakRSSMiB)
	}
	p("| berth/upstream | %s | %s | %s | %s |\n", fmtRatio(ratio(sr.Berth.ReadySeconds, sr.Upstream.ReadySeconds)),
		fmtRatio(ratio(sr.Berth.FirstBindSeconds, sr.Upstream.FirstBindSeconds)), fmtRatio(ratio(sr.Berth.CPUSeconds, sr.Upstream.CPUSeconds)),
		fmtRatio(ratio(sr.Berth.PeakRSSMiB, sr.Upstream.PeakRSSMiB)))
	if s.LeaseSeconds > 0 {
		p("\n## Leader failover\n\nTwo berth replicas with leader election (lease %.1fs, renew deadline 3/4 of it, retry period 1/4) on the same cluster, "+
			"both ready (the standby's informers synced) and the leader having bound a pod; then the leader is SIGKILLed and a pod created at once. "+
			"Measured: from the SIGKILL to that pod's binding, by the standby once it has taken the lease. Median: ", s.LeaseSeconds)
		if sr.FailoverSeconds > 0 {
			p("%.2fs.\n", sr.FailoverSeconds)
		} else {
			p("–.\n")
		}
	}
	r.writeGoalsAndRuns(p)
	p("\nSetup (control plane, nodes and bound pods) per round, seconds: %s.\n\n", fmtSeconds(sr.SetupSeconds))
	p("| round | scheduler | ready s | first bind s | bind after ready ms | CPU s | peak RSS MiB | note |\n|---:|---|---:|---:|---:|---:|---:|---|\n")
	for _, run := range sr.Runs {
		p("| %d | %s | %.2f | %.2f | %.0f | %.2f | %.0f | %s |\n", run.Round, run.Scheduler, run.ReadySeconds, run.FirstBindSeconds,
			run.BindAfterReadyMs, run.CPUSeconds, float64(run.PeakRSSBytes)/(1<<20), orEmpty(run.Incomplete))
	}
	if len(sr.Failovers) > 0 {
		p("\n| round | lease s | failover s | note |\n|---:|---:|---:|---|\n")
		for _, f := range sr.Failovers {
			p("| %d | %.1f | %.2f | %s |\n", f.Round, f.LeaseSeconds, f.Seconds, orEmpty(f.Incomplete))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orEmpty(s string) string {
	if s == "" {
		return ""
	}
	return "INCOMPLETE: " + s
}

func fmtSeconds(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, ", ")
}
