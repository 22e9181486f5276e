package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/debugz"
	"github.com/berth-scheduler/berth/election"
	"github.com/berth-scheduler/berth/flags"
	"github.com/berth-scheduler/berth/httpserve"
	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/logging"
	"github.com/berth-scheduler/berth/metrics"
	"github.com/berth-scheduler/berth/podresources"
	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/queue"
)

// newLogger returns the one log stream on stderr, in kube-scheduler's formats (klog text, or its
// JSON keys with --logging-format=json), with the records of -v and below (package logging).
// client-go's klog output is routed into it. setVerbosity changes -v while running, for berth's
// loggers and client-go's alike (PUT /debug/flags/v).
func newLogger(l flags.Logs, w io.Writer) (log *slog.Logger, setVerbosity func(int) error) {
	h := logging.NewHandler(w, l.Format, int(min(l.Verbosity, 1<<20)), l.VModule...)
	log = slog.New(h)
	klog.SetSlogLogger(log)
	// client-go filters its own V(n) logs by klog's verbosity: give it ours.
	kfs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(kfs)
	setVerbosity = func(v int) error {
		if err := kfs.Set("v", strconv.Itoa(v)); err != nil {
			return fmt.Errorf("setting klog's verbosity: %w", err)
		}
		h.SetVerbosity(v)
		return nil
	}
	_ = setVerbosity(int(min(l.Verbosity, 1<<20)))
	return log, setVerbosity
}

// clientSet holds the API clients: main for the scheduling work (lists and watches, bindings,
// status patches), events for events, election for the Lease, each with its own rate limiter of
// --kube-api-qps/burst as in kube-scheduler (so events never take tokens from the bindings'
// budget, and bindings never delay a lease renewal); and the delegated-auth clients (nil when not
// configured).
type clientSet struct {
	main, events, election *kubeclient.Client
	authn, authz           *kubeclient.Client
}

func newClients(opts *flags.Options, sc *config.KubeSchedulerConfiguration) (*clientSet, error) {
	cc := sc.ClientConnection
	cfg, err := restConfig(opts.Master, cc.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.DisableCompression = true
	cfg.ContentType, cfg.AcceptContentTypes = cc.ContentType, cc.AcceptContentTypes
	if cfg.AcceptContentTypes == "" && strings.Contains(cfg.ContentType, "protobuf") {
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	cfg.QPS, cfg.Burst = cc.QPS, int(cc.Burst)
	cfg.UserAgent = "berth/" + version
	cs := &clientSet{}
	if cs.main, err = kubeclient.New(cfg); err != nil {
		return nil, fmt.Errorf("creating API client: %w", err)
	}
	evcfg := rest.CopyConfig(cfg)
	evcfg.UserAgent += " events"
	if cs.events, err = kubeclient.New(evcfg); err != nil {
		return nil, fmt.Errorf("creating events client: %w", err)
	}
	ecfg := rest.CopyConfig(cfg)
	ecfg.UserAgent += " leader-election"
	if cs.election, err = kubeclient.New(ecfg); err != nil {
		return nil, fmt.Errorf("creating leader-election client: %w", err)
	}
	if cs.authn, err = delegatedClient(opts.Authentication.Kubeconfig, "--authentication-kubeconfig"); err != nil {
		return nil, err
	}
	if cs.authz, err = delegatedClient(opts.Authorization.Kubeconfig, "--authorization-kubeconfig"); err != nil {
		return nil, err
	}
	return cs, nil
}

// restConfig follows kube-scheduler: --master and/or --kubeconfig, else the in-cluster config.
func restConfig(master, kubeconfig string) (*rest.Config, error) {
	if master == "" && kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig: not given and no in-cluster config: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags(master, kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %q: %w", kubeconfig, err)
	}
	return cfg, nil
}

// delegatedClient builds the client for delegated authentication or authorization: from the
// given kubeconfig, else in-cluster, else none (nil, as kube-scheduler then runs without).
func delegatedClient(kubeconfig, flag string) (*kubeclient.Client, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
			return nil, fmt.Errorf("%s %q: %w", flag, kubeconfig, err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, nil
	}
	cfg.UserAgent = "berth/" + version + " delegated-auth"
	c, err := kubeclient.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: creating client: %w", flag, err)
	}
	return c, nil
}

func newScheduler(opts *flags.Options, sc *config.KubeSchedulerConfiguration, clients *clientSet, f *kubeclient.Informers, reg *metrics.Registry, log *slog.Logger) (*scheduler.Scheduler, error) {
	c := clients.main
	profiles, err := scheduler.ProfilesFromConfig(sc, f, uint64(time.Now().UnixNano()))
	if err != nil {
		return nil, err
	}
	s, err := scheduler.New(scheduler.Config{
		Pods:      func(ns string) scheduler.PodWriter { return c.Pods(ns) },
		Events:    func(ns string) scheduler.EventWriter { return clients.events.Events(ns) },
		Informers: f, Profiles: profiles,
		Queue: queue.Config{
			InitialBackoff:     time.Duration(*sc.PodInitialBackoffSeconds) * time.Second,
			MaxBackoff:         time.Duration(*sc.PodMaxBackoffSeconds) * time.Second,
			MaxInUnschedulable: opts.Deprecated.PodMaxInUnschedulablePodsDuration,
		},
		Metrics: reg, Logger: log, // no component key: upstream's scheduling lines carry none
		Volumes:        volumeWriter{c},
		ResourceClaims: claimWriter{c},
	})
	if err != nil {
		return nil, fmt.Errorf("creating scheduler: %w", err)
	}
	return s, nil
}

func newElector(sc *config.KubeSchedulerConfiguration, c *kubeclient.Client, events *leaseEvents, log *slog.Logger) (*election.Elector, error) {
	l := sc.LeaderElection
	le := flags.LeaderElection{
		LeaderElect: *l.LeaderElect, LeaseDuration: l.LeaseDuration.Duration, RenewDeadline: l.RenewDeadline.Duration,
		RetryPeriod: l.RetryPeriod.Duration, ResourceLock: l.ResourceLock, ResourceName: l.ResourceName, ResourceNamespace: l.ResourceNamespace,
	}
	if err := le.Validate(); err != nil {
		return nil, err
	}
	id, err := election.DefaultIdentity()
	if err != nil {
		return nil, fmt.Errorf("leader election identity: %w", err)
	}
	e, err := election.New(election.Config{
		Client: c.Leases(le.ResourceNamespace), Namespace: le.ResourceNamespace, Name: le.ResourceName, Identity: id,
		LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod,
		Logger: log, // no component key: upstream's election lines carry none
		Events: events,
	})
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	return e, nil
}

// leaseEvents records "became leader" events on the Lease, as kube-scheduler does. The elector
// hands them over without blocking; run, in main's errgroup, writes them.
type leaseEvents struct {
	client     *kubeclient.Client
	controller string // the first profile's scheduler name, as kube-scheduler reports it
	log        *slog.Logger
	queue      chan leaseEvent
}

type leaseEvent struct {
	lease   *coordinationv1.Lease
	message string
}

func newLeaseEvents(c *kubeclient.Client, controller string, log *slog.Logger) *leaseEvents {
	return &leaseEvents{client: c, controller: controller, log: log, queue: make(chan leaseEvent, 8)}
}

// LeaderElection implements election.EventSink; an event that finds the queue full is dropped.
func (l *leaseEvents) LeaderElection(lease *coordinationv1.Lease, message string) {
	if !strings.HasSuffix(message, "became leader") {
		return
	}
	select {
	case l.queue <- leaseEvent{lease, message}:
	default:
	}
}

// run writes queued events until ctx ends.
func (l *leaseEvents) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-l.queue:
			l.write(ctx, ev.lease, ev.message)
		}
	}
}

func (l *leaseEvents) write(ctx context.Context, lease *coordinationv1.Lease, message string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := metav1.NewMicroTime(time.Now())
	_, err := l.client.Events(lease.Namespace).Create(ctx, &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", lease.Name, now.UnixNano()), Namespace: lease.Namespace},
		EventTime:           now,
		ReportingController: l.controller,
		ReportingInstance:   l.controller,
		Action:              "Leader", Reason: "LeaderElection", Type: v1.EventTypeNormal, Note: message,
		Regarding: v1.ObjectReference{Kind: "Lease", APIVersion: "coordination.k8s.io/v1",
			Namespace: lease.Namespace, Name: lease.Name, UID: lease.UID},
	}, metav1.CreateOptions{})
	if err != nil {
		l.log.Debug("recording leader election event", "err", err)
	}
}

// metricLabelAllowLists reads --allow-metric-labels, or the YAML map of
// --allow-metric-labels-manifest ("metricName,labelName": "v1,v2").
func metricLabelAllowLists(m flags.Metrics) (map[string]map[string][]string, error) {
	entries := m.AllowMetricLabels
	if m.AllowMetricLabelsManifest != "" {
		data, err := os.ReadFile(m.AllowMetricLabelsManifest)
		if err != nil {
			return nil, fmt.Errorf("--allow-metric-labels-manifest: %w", err)
		}
		var manifest map[string]string
		if err := yaml.UnmarshalStrict(data, &manifest); err != nil {
			return nil, fmt.Errorf("--allow-metric-labels-manifest %s: %w", m.AllowMetricLabelsManifest, err)
		}
		entries = nil
		for k, v := range manifest {
			entries = append(entries, k+"="+v)
		}
		slices.Sort(entries)
	}
	allowed, err := flags.LabelAllowLists(entries)
	if err != nil && m.AllowMetricLabelsManifest != "" {
		return nil, fmt.Errorf("--allow-metric-labels-manifest %s: %w", m.AllowMetricLabelsManifest, err)
	}
	return allowed, err
}

// registerBuildInfo registers kubernetes_build_info, the family dashboards and the
// KubeVersionMismatch alert read the control plane's versions from. Its git_version is the
// Kubernetes version berth stands in for, "v1.37.0", with berth's own version as build metadata
// ("+berth.v0.4.0"), so that the alert's major.minor sees the cluster's version and a person sees
// that it is berth.
func registerBuildInfo(reg *metrics.Registry) error {
	info, err := reg.Gauge("kubernetes_build_info",
		"[BETA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.",
		"major", "minor", "git_version", "git_commit", "git_tree_state", "build_date", "go_version", "compiler", "platform")
	if err != nil {
		return err
	}
	major, minor, _ := strings.Cut(flags.KubeVersion, ".")
	info.With(major, minor, "v"+flags.KubeVersion+".0+berth."+version, commit, "clean", "", runtime.Version(), runtime.Compiler,
		runtime.GOOS+"/"+runtime.GOARCH).Set(1)
	return nil
}

// registerFeatureGates registers kubernetes_feature_enabled: each v1.37 gate, its stage and
// whether berth runs with it on (see flags.Options.Gates).
func registerFeatureGates(reg *metrics.Registry, opts *flags.Options) error {
	gates := opts.Gates()
	return reg.GaugeVecFunc("kubernetes_feature_enabled", "[BETA] This metric records the data about the stage and enablement of a k8s feature.",
		[]string{"name", "stage"}, func(emit func(float64, ...string)) {
			for _, g := range gates {
				v := 0.0
				if g.Enabled {
					v = 1
				}
				emit(v, g.Name, g.Stage)
			}
		})
}

// registerVersionInfo registers version_info, the compatibility versions berth runs at: it
// behaves as v1.37 only, and its minimum compatibility version is v1.37's default, the previous
// minor.
func registerVersionInfo(reg *metrics.Registry) error {
	info, err := reg.Gauge("version_info", "[ALPHA] Provides the compatibility version info of the component. "+
		"The component label is the name of the component, usually kube, but is relevant for aggregated-apiservers.",
		"component", "binary", "emulation", "min_compat")
	if err != nil {
		return err
	}
	info.With("kube", flags.KubeVersion, flags.KubeVersion, flags.PreviousVersion).Set(1)
	return nil
}

func registerLeaderMetric(reg *metrics.Registry, e *election.Elector) error {
	return reg.GaugeVecFunc("leader_election_master_status",
		"[ALPHA] Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
		[]string{"name"}, func(emit func(float64, ...string)) {
			if e == nil {
				return
			}
			v := 0.0
			if e.IsLeader() {
				v = 1
			}
			emit(v, "kube-scheduler")
		})
}

func newHTTPServer(opts *flags.Options, sc *config.KubeSchedulerConfiguration, cs *clientSet, reg *metrics.Registry, e *election.Elector, synced *syncFlag, setVerbosity func(int) error, log *slog.Logger) (*httpserve.Server, error) {
	ss, an, az := opts.SecureServing, opts.Authentication, opts.Authorization
	cfg := httpserve.Config{
		BindAddress: ss.BindAddress.String(), Port: ss.Port,
		CertDir: ss.CertDir, CertFile: ss.CertFile, KeyFile: ss.KeyFile,
		MinTLSVersion: tlsVersionName(ss.MinVersion), CipherSuites: cipherNames(ss.CipherSuites),
		DisableHTTP2: ss.DisableHTTP2, HTTP2MaxStreamsPerConnection: ss.HTTP2MaxStreamsPerConnection,
		ClientCAFile: an.ClientCAFile,
		RequestHeader: httpserve.RequestHeaderConfig{
			ClientCAFile: an.RequestHeader.ClientCAFile, AllowedNames: an.RequestHeader.AllowedNames,
			UsernameHeaders: an.RequestHeader.UsernameHeaders, UIDHeaders: an.RequestHeader.UIDHeaders,
			GroupHeaders: an.RequestHeader.GroupHeaders, ExtraHeaderPrefixes: an.RequestHeader.ExtraHeaderPrefixes,
		},
		TokenCacheTTL:    an.TokenWebhookCacheTTL,
		AlwaysAllowPaths: az.AlwaysAllowPaths,
		AllowCacheTTL:    az.AuthorizedTTL, DenyCacheTTL: az.UnauthorizedTTL,
		Profiling: *sc.EnableProfiling, ContentionProfiling: *sc.EnableContentionProfiling,
		Metrics: reg, AuthMetrics: reg,
		Configz: func() any { return sc },
		Logger:  log.With("component", "http"),
	}
	if err := addZPages(&cfg, opts, setVerbosity); err != nil {
		return nil, err
	}
	for _, c := range ss.CurvePreferences {
		cfg.CurvePreferences = append(cfg.CurvePreferences, int32(c))
	}
	if cs.authn != nil {
		cfg.TokenReviewer = cs.authn.TokenReviews()
		if !an.SkipLookup {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			info, err := httpserve.LookupAuthentication(ctx, cs.authn.ConfigMaps(httpserve.AuthConfigMapNamespace))
			cancel()
			switch {
			case err == nil:
				info.ApplyTo(&cfg)
			case an.TolerateLookupFailure:
				log.Warn("continuing without the cluster's authentication configuration", "err", err)
			default:
				return nil, fmt.Errorf("--authentication-kubeconfig: %w", err)
			}
		}
	} else {
		log.Warn("no --authentication-kubeconfig and no in-cluster config: token and cluster client-CA authentication disabled")
	}
	if cs.authz != nil {
		cfg.Authorizer = cs.authz.SubjectAccessReviews()
	}
	srv, err := httpserve.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("secure serving: %w", err)
	}
	// kube-scheduler's checks: /healthz and /readyz watch the elector, /readyz also the
	// shutdown and the informers' sync, /livez has none (so only ping).
	if e != nil {
		if err := srv.AddHealthCheck("leaderElection", e.Check, httpserve.Healthz, httpserve.Readyz); err != nil {
			return nil, err
		}
	}
	if err := srv.AddHealthCheck("shutdown", srv.ShutdownCheck, httpserve.Readyz); err != nil {
		return nil, err
	}
	err = srv.AddHealthCheck("sched-handler-sync", func(*http.Request) error {
		if !synced.isSet() {
			return errors.New("handlers are not fully synchronized")
		}
		return nil
	}, httpserve.Readyz)
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// addZPages configures kube-scheduler's z-pages and debugging endpoints: /flagz (every flag as
// parsed), /statusz, /metrics/slis (its own registry, under the same --disabled-metrics and
// --allow-metric-labels as /metrics) and PUT /debug/flags/v. As kube-scheduler, /flagz is
// served only under the ComponentFlagz feature gate and /statusz under ComponentStatusz (both on
// by default).
func addZPages(cfg *httpserve.Config, opts *flags.Options, setVerbosity func(int) error) error {
	if opts.GateEnabled("ComponentFlagz") {
		flagValues := make(map[string]string, len(opts.Values))
		for _, v := range opts.Values {
			flagValues[v.Name] = v.Value
		}
		cfg.Flags = func() map[string]string { return flagValues }
	}
	if opts.GateEnabled("ComponentStatusz") {
		cfg.Status = httpserve.StatusInfo{
			StartTime: processStart,
			// As kubernetes_build_info's git_version, without the "v" upstream leaves out here.
			BinaryVersion:    flags.KubeVersion + ".0+berth." + version,
			EmulationVersion: flags.KubeVersion,
		}
	}
	allowed, err := metricLabelAllowLists(opts.Metrics)
	if err != nil {
		return err
	}
	cfg.SLIMetrics = metrics.NewRegistry()
	cfg.SLIMetrics.Configure(opts.Metrics.DisabledMetrics, allowed)
	cfg.SetVerbosity = setVerbosity
	return nil
}

// mountPodResources serves kube-scheduler's /metrics/resources (kube_pod_resource_request and
// _limit of every pod in the informer's cache), behind the same authorization as /metrics.
func mountPodResources(srv *httpserve.Server, f *kubeclient.Informers, log *slog.Logger) error {
	reg := metrics.NewRegistry()
	store := f.Pods().GetStore()
	err := podresources.Register(reg, func() []*v1.Pod {
		objs := store.List()
		pods := make([]*v1.Pod, 0, len(objs))
		for _, o := range objs {
			if p, ok := o.(*v1.Pod); ok {
				pods = append(pods, p)
			}
		}
		return pods
	})
	if err != nil {
		return fmt.Errorf("registering /metrics/resources: %w", err)
	}
	return srv.Handle("/metrics/resources", reg.Handler(func(err error) { log.Warn("writing /metrics/resources", "err", err) }))
}

// mountDebug serves /debug/explain/NAMESPACE/POD and /debug/pending (package debugz) behind the
// same authentication and authorization as /metrics. Without leader election the replica
// always answers.
func mountDebug(srv *httpserve.Server, sched *scheduler.Scheduler, elector *election.Elector) error {
	var lead debugz.Leadership
	if elector != nil {
		lead = elector
	}
	if err := debugz.New(sched, lead).Mount(srv.Handle); err != nil {
		return fmt.Errorf("mounting the debug endpoints: %w", err)
	}
	return nil
}

func tlsVersionName(v uint16) string {
	names := map[uint16]string{0x0301: "VersionTLS10", 0x0302: "VersionTLS11", 0x0303: "VersionTLS12", 0x0304: "VersionTLS13"}
	return names[v]
}

func cipherNames(ids []uint16) []string {
	var out []string
	for _, id := range ids {
		out = append(out, tls.CipherSuiteName(id))
	}
	return out
}

// volumeWriter writes the PersistentVolumes and claims of pods' volume plans through c.
type volumeWriter struct{ c *kubeclient.Client }

func (w volumeWriter) UpdateVolume(ctx context.Context, pv *v1.PersistentVolume) (*v1.PersistentVolume, error) {
	return w.c.PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
}

func (w volumeWriter) UpdateClaim(ctx context.Context, pvc *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	return w.c.PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
}

// claimWriter writes the ResourceClaims of pods' device plans through c.
type claimWriter struct{ c *kubeclient.Client }

func (w claimWriter) GetResourceClaim(ctx context.Context, namespace, name string) (*resourcev1.ResourceClaim, error) {
	return w.c.ResourceClaims(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (w claimWriter) UpdateResourceClaim(ctx context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error) {
	return w.c.ResourceClaims(rc.Namespace).Update(ctx, rc, metav1.UpdateOptions{})
}

func (w claimWriter) UpdateResourceClaimStatus(ctx context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error) {
	return w.c.ResourceClaims(rc.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{})
}

func (w claimWriter) CreateResourceClaim(ctx context.Context, rc *resourcev1.ResourceClaim) (*resourcev1.ResourceClaim, error) {
	return w.c.ResourceClaims(rc.Namespace).Create(ctx, rc, metav1.CreateOptions{})
}

func (w claimWriter) DeleteResourceClaim(ctx context.Context, namespace, name string) error {
	return w.c.ResourceClaims(namespace).Delete(ctx, name, metav1.DeleteOptions{})
}

func (w claimWriter) PatchResourceClaimStatus(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := w.c.ResourceClaims(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}
