// Command berth is a drop-in replacement for kube-scheduler v1.37: same flags, Lease, RBAC,
// events and metric names, same placements. This file wires the parts together; each part lives in
// its own package (flags, httpserve, metrics, election, scheduler).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/election"
	"github.com/berth-scheduler/berth/flags"
	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/logging"
	"github.com/berth-scheduler/berth/metrics"
	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/sdnotify"
)

// Stamped at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "v0.0.0-dev"
	commit  = "unknown"
)

// processStart is when berth started, as /statusz reports it.
var processStart = time.Now()

// gcPercent is berth's default GOGC: a scheduler's heap is mostly long-lived informer caches, so
// collecting at +50% instead of +100% cuts peak memory by about a third (5000 nodes / 10000 pods:
// 151 -> 123 MiB RSS) for a few percent more of its small CPU. GOGC in the environment wins.
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errSignal ends the errgroup on SIGINT/SIGTERM; it is a clean exit.
var errSignal = errors.New("received termination signal")

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := flags.Parse(args)
	switch {
	case errors.Is(err, flags.ErrHelp):
		flags.Usage(stdout, "berth")
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "berth: %v\n", err)
		return 1
	}
	if opts.Version != flags.VersionNone {
		printVersion(stdout, opts.Version)
		return 0
	}
	cfg, err := config.FromFlags(opts)
	if err != nil {
		fmt.Fprintf(stderr, "berth: %v\n", err)
		return 1
	}
	if opts.WriteConfigTo != "" {
		if err := config.WriteFile(opts.WriteConfigTo, cfg); err != nil {
			fmt.Fprintf(stderr, "berth: %v\n", err)
			return 1
		}
		return 0
	}
	log, setVerbosity := newLogger(opts.Logs, stderr)
	if log.Enabled(context.Background(), logging.V(1)) {
		for _, line := range opts.FlagLines() {
			log.Log(context.Background(), logging.V(1), line, logging.Plain())
		}
	}
	// kube-scheduler's first lines, which operators and log pipelines look for.
	log.Info("Starting Kubernetes Scheduler", "version", version, "commit", commit, "compatibility", "v"+flags.KubeVersion)
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		gogc = strconv.Itoa(gcPercent) + " (berth's default)"
	}
	log.Info("Golang settings", "GOGC", gogc, "GOMAXPROCS", os.Getenv("GOMAXPROCS"), "GOTRACEBACK", os.Getenv("GOTRACEBACK"))
	for _, w := range opts.Warnings() {
		log.Warn(w)
	}
	for _, m := range scheduler.NotImplemented(cfg) {
		log.Warn("the configuration enables a plugin berth does not implement yet", "plugin", m.Plugin, "effect", m.Effect)
	}
	if err := serve(opts, cfg, setVerbosity, log); err != nil && !errors.Is(err, errSignal) {
		fmt.Fprintf(stderr, "berth: %v\n", err)
		return 1
	}
	log.Info("berth stopped")
	return 0
}

// serve builds every part, then runs them in one errgroup until a signal or the first error.
func serve(opts *flags.Options, cfg *config.KubeSchedulerConfiguration, setVerbosity func(int) error, log *slog.Logger) error {
	reg := metrics.NewRegistry()
	allowed, err := metricLabelAllowLists(opts.Metrics)
	if err != nil {
		return err
	}
	reg.Configure(opts.Metrics.DisabledMetrics, allowed)
	if err := reg.RegisterMeta(); err != nil {
		return fmt.Errorf("registering the registry's metrics: %w", err)
	}
	if err := reg.RegisterRuntime(); err != nil {
		return fmt.Errorf("registering runtime metrics: %w", err)
	}
	// Before the clients, so that rest_client_transport_create_calls_total counts their
	// transports, as kube-scheduler's does.
	if err := kubeclient.RegisterClientMetrics(reg); err != nil {
		return fmt.Errorf("registering rest_client metrics: %w", err)
	}
	clients, err := newClients(opts, cfg)
	if err != nil {
		return err
	}
	informers := kubeclient.NewInformers(clients.main, kubeclient.WithTrim(scheduler.Trim), kubeclient.WithMetrics(reg))
	if err := informers.Err(); err != nil {
		return fmt.Errorf("registering informer metrics: %w", err)
	}
	sched, err := newScheduler(opts, cfg, clients, informers, reg, log)
	if err != nil {
		return err
	}
	var elector *election.Elector
	leaseEvents := newLeaseEvents(clients.events, cfg.Profiles[0].Name(), log)
	if *cfg.LeaderElection.LeaderElect {
		if elector, err = newElector(cfg, clients.election, leaseEvents, log); err != nil {
			return err
		}
	}
	if err := registerFeatureGates(reg, opts); err != nil {
		return fmt.Errorf("registering kubernetes_feature_enabled: %w", err)
	}
	if err := registerVersionInfo(reg); err != nil {
		return fmt.Errorf("registering version_info: %w", err)
	}
	if err := registerBuildInfo(reg); err != nil {
		return fmt.Errorf("registering kubernetes_build_info: %w", err)
	}
	if err := registerLeaderMetric(reg, elector); err != nil {
		return err
	}
	notify, err := sdnotify.FromEnv() // nil (a no-op) outside systemd
	if err != nil {
		log.Warn("not notifying systemd", "err", err)
	}
	notified := func(err error) {
		if err != nil {
			log.Warn("notifying systemd", "err", err)
		}
	}
	synced := newFlag()
	server, err := newHTTPServer(opts, cfg, clients, reg, elector, synced, setVerbosity, log)
	if err != nil {
		return err
	}
	if err := mountPodResources(server, informers, log); err != nil {
		return err
	}
	if err := mountDebug(server, sched, elector); err != nil {
		return err
	}
	if err := server.Listen(); err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(context.Background())
	g.Go(func() error { return waitForSignal(ctx) })
	g.Go(func() error { return server.Serve(ctx) })
	g.Go(func() error { return leaseEvents.run(ctx) })
	g.Go(func() error { return notify.Watchdog(ctx, livez(elector)) })
	g.Go(func() error { <-ctx.Done(); notified(notify.Stopping()); return nil })
	g.Go(func() error {
		informers.Start(ctx)
		err := informers.WaitForCacheSync(ctx)
		if err == nil {
			err = sched.WaitForHandlers(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		notified(notify.Ready()) // before set: READY=1 precedes every STATUS=
		synced.set()
		log.Info("informer caches synced and handled")
		<-ctx.Done()
		informers.Shutdown()
		return nil
	})
	g.Go(func() error {
		if !synced.wait(ctx) {
			return nil
		}
		if elector == nil {
			notified(notify.Status("leader: scheduling (leader election disabled)"))
			return sched.Run(ctx)
		}
		notified(notify.Status("standby: waiting for the leader lease"))
		return elector.Run(ctx, func(leadCtx context.Context) error {
			notified(notify.Status("leader: scheduling"))
			defer func() {
				if ctx.Err() == nil {
					notified(notify.Status("standby: lost the leader lease"))
				}
			}()
			return sched.Run(leadCtx)
		})
	})
	return g.Wait()
}

// livez is what the systemd watchdog checks: the elector's health (nil-safe).
func livez(e *election.Elector) func() error {
	return func() error {
		if e == nil {
			return nil
		}
		return e.Check(nil)
	}
}

func waitForSignal(ctx context.Context) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		return fmt.Errorf("%w %v", errSignal, s)
	case <-ctx.Done():
		return nil
	}
}

func printVersion(w io.Writer, req flags.VersionRequest) {
	if req == flags.VersionRaw {
		fmt.Fprintf(w, "{\"gitVersion\":%q,\"gitCommit\":%q,\"kubeSchedulerCompatibility\":\"v%s\"}\n", version, commit, flags.KubeVersion)
		return
	}
	fmt.Fprintf(w, "berth %s (commit %s; kube-scheduler v%s compatible)\n", version, commit, flags.KubeVersion)
}

// syncFlag is set once the informer caches have synced.
type syncFlag struct{ ch chan struct{} }

func newFlag() *syncFlag { return &syncFlag{ch: make(chan struct{})} }
func (f *syncFlag) set() { close(f.ch) }

func (f *syncFlag) isSet() bool {
	select {
	case <-f.ch:
		return true
	default:
		return false
	}
}

// wait blocks until the flag is set (true) or ctx ends (false).
func (f *syncFlag) wait(ctx context.Context) bool {
	select {
	case <-f.ch:
		return true
	case <-ctx.Done():
		return false
	}
}
