package scheduler

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources"
	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources/devicecel"
	"github.com/berth-scheduler/berth/scheduler/plugins/imagelocality"
	"github.com/berth-scheduler/berth/scheduler/plugins/interpodaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodedeclaredfeatures"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodename"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeports"
	"github.com/berth-scheduler/berth/scheduler/plugins/noderesources"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodeunschedulable"
	"github.com/berth-scheduler/berth/scheduler/plugins/nodevolumelimits"
	"github.com/berth-scheduler/berth/scheduler/plugins/notyet"
	"github.com/berth-scheduler/berth/scheduler/plugins/podtopologyspread"
	"github.com/berth-scheduler/berth/scheduler/plugins/tainttoleration"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumebinding"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumerestrictions"
	"github.com/berth-scheduler/berth/scheduler/plugins/volumezone"
	"github.com/berth-scheduler/berth/scheduler/preempt"
	"github.com/berth-scheduler/berth/scheduler/queue"
)

// Plugins berth runs as part of its loop rather than as plugins: the queue always sorts by
// priority, always holds pods with scheduling gates, and always binds through the API.
const (
	prioritySort    = "PrioritySort"
	schedulingGates = "SchedulingGates"
	defaultBinder   = "DefaultBinder"
	// defaultPreemption runs in the loop when a pod fits nowhere (see Profile.Preemption).
	defaultPreemption = "DefaultPreemption"
	dynamicResources  = dynamicresources.Name
)

// ProfilesFromConfig builds one Profile per profile of cfg, which must be an effective
// configuration (config.Load, config.FromFlags or config.Default). A profile filters and scores
// with the plugins it enables, in the order and with the weights kube-scheduler resolves
// (config.Profile.Enabled), each built from the profile's arguments for it. A plugin's preFilter
// and preScore run with its filter and score: the preFilter and preScore sets select nothing on
// their own. An enabled plugin berth does not implement yet either refuses the pods it would
// judge (refusals) or is left out (NotImplemented lists both kinds); a profile that disables SchedulingGates is refused, as berth cannot schedule gated pods.
//
// f provides the Services and controllers default topology spreading reads (their informers are
// created here when PodTopologySpread is enabled, and started with f); nil finds none. seed
// makes tie-breaking reproducible (profile i uses seed+i).
func ProfilesFromConfig(cfg *config.KubeSchedulerConfiguration, f *kubeclient.Informers, seed uint64) ([]Profile, error) {
	if cfg == nil || cfg.Parallelism == nil || cfg.PercentageOfNodesToScore == nil {
		return nil, errors.New("building profiles: the configuration is not in effective form (use config.Load)")
	}
	profiles := make([]Profile, 0, len(cfg.Profiles))
	for i := range cfg.Profiles {
		cp := &cfg.Profiles[i]
		dp, err := decideProfile(cfg, cp, f, seed+uint64(i))
		if err != nil {
			return nil, fmt.Errorf("profiles[%d] (%s): %w", i, cp.Name(), err)
		}
		d, err := decide.New(dp)
		if err != nil {
			return nil, fmt.Errorf("profiles[%d] (%s): %w", i, cp.Name(), err)
		}
		var pre []PreEnqueuer
		for _, f := range dp.Filters {
			if pe, ok := f.(PreEnqueuer); ok {
				pre = append(pre, pe)
			}
		}
		dealloc, preemptFirst := claimPostFilter(cp)
		profiles = append(profiles, Profile{SchedulerName: cp.Name(), Decider: d, Interest: profileInterest,
			Preemption: preemptionArgs(cp), PostFilterFailsAfter: postFilterFailsAfter(cp), PreEnqueue: pre,
			NodeJudges: nodeJudges(dp.Filters), DeallocateClaims: dealloc, PreemptFirst: preemptFirst})
	}
	return profiles, nil
}

// preemptionArgs returns the profile's DefaultPreemption arguments, or nil when it does not enable
// DefaultPreemption as a postFilter plugin.
func preemptionArgs(cp *config.Profile) *preempt.Args {
	if !slices.ContainsFunc(cp.Enabled(config.PostFilter), func(p config.Plugin) bool { return p.Name == defaultPreemption }) {
		return nil
	}
	a := preempt.DefaultArgs()
	if c, ok := cp.PluginArgs(defaultPreemption).(*config.DefaultPreemptionArgs); ok {
		if c.MinCandidateNodesPercentage != nil {
			a.MinCandidateNodesPercentage = *c.MinCandidateNodesPercentage
		}
		if c.MinCandidateNodesAbsolute != nil {
			a.MinCandidateNodesAbsolute = *c.MinCandidateNodesAbsolute
		}
	}
	return &a
}

// claimPostFilter tells whether DynamicResources is a postFilter plugin of profile cp, and whether
// DefaultPreemption comes before it there (kube-scheduler's default order puts DynamicResources
// first: better deallocate an idle claim than evict a pod).
func claimPostFilter(cp *config.Profile) (deallocate, preemptFirst bool) {
	post := cp.Enabled(config.PostFilter)
	dra := slices.IndexFunc(post, func(p config.Plugin) bool { return p.Name == dynamicResources })
	preemption := slices.IndexFunc(post, func(p config.Plugin) bool { return p.Name == defaultPreemption })
	return dra >= 0, dra >= 0 && preemption >= 0 && preemption < dra
}

// postFilterFailsAfter returns the plugins whose PreFilter rejection makes kube-scheduler v1.37's
// PostFilter phase fail in profile cp: those whose PreFilter runs before DynamicResources', when
// DynamicResources is a PostFilter plugin. Its PostFilter then reads a state its PreFilter never
// wrote and errs ("not found"), and preemption is not tried. berth's refusals are left out: they
// stand for plugins berth lacks, and their pods get the usual preemption part.
func postFilterFailsAfter(cp *config.Profile) map[string]bool {
	isDRA := func(p config.Plugin) bool { return p.Name == dynamicResources }
	if !slices.ContainsFunc(cp.Enabled(config.PostFilter), isDRA) || !slices.ContainsFunc(cp.Enabled(config.PreFilter), isDRA) {
		return nil
	}
	out := map[string]bool{}
	for _, p := range cp.Enabled(config.PreFilter) {
		if isDRA(p) {
			break
		}
		if _, refused := refusals[p.Name]; !refused {
			out[p.Name] = true
		}
	}
	return out
}

// decideProfile wires one profile: build every enabled plugin berth implements, then line them up
// as the profile's filter and score sets say.
func decideProfile(cfg *config.KubeSchedulerConfiguration, cp *config.Profile, f *kubeclient.Informers, seed uint64) (decide.Profile, error) {
	if !slices.ContainsFunc(cp.Enabled(config.PreEnqueue), func(p config.Plugin) bool { return p.Name == schedulingGates }) {
		return decide.Profile{}, fmt.Errorf("plugins.preEnqueue: %s is disabled, but berth always holds pods that have scheduling gates", schedulingGates)
	}
	built := map[string]any{}
	for _, name := range cp.EnabledPlugins() {
		pl, err := buildPlugin(name, cp.PluginArgs(name), f)
		if err != nil {
			return decide.Profile{}, fmt.Errorf("plugin %s: %w", name, err)
		}
		if pl != nil {
			built[name] = pl
		}
	}

	dp := decide.Profile{
		PercentageOfNodesToScore: *cfg.PercentageOfNodesToScore,
		Parallelism:              int(*cfg.Parallelism),
		Seed:                     seed,
	}
	if cp.PercentageOfNodesToScore != nil {
		dp.PercentageOfNodesToScore = *cp.PercentageOfNodesToScore
	}
	// Refusals run first: a pod berth cannot judge is refused before any node is filtered.
	var refused []decide.FilterPlugin
	for _, p := range cp.Enabled(config.Filter) {
		switch fp := built[p.Name].(type) {
		case *notyet.Refusal:
			refused = append(refused, fp)
		case decide.FilterPlugin:
			dp.Filters = append(dp.Filters, fp)
		}
	}
	dp.Filters = append(refused, dp.Filters...)
	for _, p := range cp.Enabled(config.Score) {
		if sp, ok := built[p.Name].(decide.ScorePlugin); ok {
			dp.Scorers = append(dp.Scorers, decide.WeightedScorer{Plugin: sp, Weight: int64(*p.Weight)})
		}
	}
	return dp, nil
}

// buildPlugin builds the plugin called name from its configured arguments (nil: the defaults).
// It returns nil for plugins that are built in or not implemented, and a notyet.Refusal for the
// plugins in refusals.
func buildPlugin(name string, args config.PluginArgs, f *kubeclient.Informers) (any, error) {
	if r, ok := refusals[name]; ok {
		return notyet.New(name, r.needs(f)), nil
	}
	switch name {
	case nodeunschedulable.Name:
		return nodeunschedulable.New(), nil
	case nodename.Name:
		return nodename.New(), nil
	case tainttoleration.Name:
		return tainttoleration.New(), nil
	case nodeports.Name:
		return nodeports.New(), nil
	case nodedeclaredfeatures.Name:
		return nodedeclaredfeatures.New(), nil
	case nodevolumelimits.Name:
		return nodevolumelimits.New(), nil
	case imagelocality.Name:
		return imagelocality.New(), nil
	case volumerestrictions.Name:
		return volumerestrictions.New(), nil
	case volumezone.Name:
		return volumezone.New(), nil
	case dynamicresources.Name:
		a := dynamicresources.DefaultArgs()
		if c, ok := args.(*config.DynamicResourcesArgs); ok {
			if c.FilterTimeout != nil {
				a.FilterTimeout = c.FilterTimeout.Duration
			}
			if c.BindingTimeout != nil {
				a.BindingTimeout = c.BindingTimeout.Duration
			}
		}
		return dynamicresources.New(a, DeviceSelectorCompiler)
	case volumebinding.Name:
		a := volumebinding.DefaultArgs()
		if c, ok := args.(*config.VolumeBindingArgs); ok {
			if c.BindTimeoutSeconds != nil {
				a.BindTimeout = time.Duration(*c.BindTimeoutSeconds) * time.Second
			}
			if len(c.Shape) > 0 {
				a.Shape = c.Shape
			}
		}
		return volumebinding.New(a)
	case nodeaffinity.Name:
		a := nodeaffinity.DefaultArgs()
		if c, ok := args.(*config.NodeAffinityArgs); ok {
			a = c.Args
		}
		return nodeaffinity.New(a)
	case noderesources.FitName:
		a := noderesources.DefaultFitArgs()
		if c, ok := args.(*config.NodeResourcesFitArgs); ok {
			a = c.NodeResourcesFitArgs
		}
		pl, err := noderesources.NewFit(a)
		if err != nil {
			return nil, err
		}
		return pl.WithDeviceMatcher(dynamicresources.NewClassMatcher(DeviceSelectorCompiler)), nil
	case noderesources.BalancedAllocationName:
		a := noderesources.DefaultBalancedAllocationArgs()
		if c, ok := args.(*config.NodeResourcesBalancedAllocationArgs); ok {
			a = c.NodeResourcesBalancedAllocationArgs
		}
		pl, err := noderesources.NewBalancedAllocation(a)
		if err != nil {
			return nil, err
		}
		return pl.WithDeviceMatcher(dynamicresources.NewClassMatcher(DeviceSelectorCompiler)), nil
	case podtopologyspread.Name:
		a := podtopologyspread.DefaultArgs()
		if c, ok := args.(*config.PodTopologySpreadArgs); ok {
			a = c.Args
		}
		return podtopologyspread.New(a, spreadListers(f))
	case interpodaffinity.Name:
		a := interpodaffinity.DefaultArgs()
		if c, ok := args.(*config.InterPodAffinityArgs); ok {
			a = c.PluginArgs()
		}
		return interpodaffinity.New(a)
	}
	return nil, nil
}

// spreadListers reads the Services and controllers default topology spreading looks up from f's
// informers, creating them; nil f gives listers that find nothing.
func spreadListers(f *kubeclient.Informers) podtopologyspread.Listers {
	if f == nil {
		return podtopologyspread.Listers{}
	}
	return podtopologyspread.Listers{
		Services:               corelisters.NewServiceLister(f.Services().GetIndexer()),
		ReplicationControllers: corelisters.NewReplicationControllerLister(f.ReplicationControllers().GetIndexer()),
		ReplicaSets:            appslisters.NewReplicaSetLister(f.ReplicaSets().GetIndexer()),
		StatefulSets:           appslisters.NewStatefulSetLister(f.StatefulSets().GetIndexer()),
	}
}

// implemented are the plugins buildPlugin builds, and the ones berth runs as built-in behaviour.
var implemented = map[string]bool{
	nodeunschedulable.Name: true, nodename.Name: true, tainttoleration.Name: true, nodeports.Name: true, nodedeclaredfeatures.Name: true,
	imagelocality.Name: true, nodeaffinity.Name: true, noderesources.FitName: true,
	noderesources.BalancedAllocationName: true, podtopologyspread.Name: true, interpodaffinity.Name: true,
	volumerestrictions.Name: true, volumezone.Name: true, volumebinding.Name: true, nodevolumelimits.Name: true,
	dynamicresources.Name: true,
	prioritySort:          true, schedulingGates: true, defaultBinder: true, defaultPreemption: true,
}

// refusal is how berth stands in for an enabled plugin it does not implement yet: the pods the
// plugin would judge stay pending (package notyet) rather than be bound unjudged.
type refusal struct {
	// needs builds the test of which pods the plugin judges (f may be nil).
	needs func(f *kubeclient.Informers) notyet.Needs
	// pods describes those pods for the start-up warning.
	pods string
}

// refusals lists every plugin berth refuses for: when a plugin lands, its line goes. (None at the
// moment.)
var refusals = map[string]refusal{}

// partial lists the plugins berth implements in part, with the pods that stay pending for want of
// the rest. (None at the moment.)
var partial = map[string]string{}

// profileInterest is defaultInterest plus the refusals: only a change of the pod itself can lift
// one (a refused pod otherwise waits for the unschedulable pool's periodic flush).
var profileInterest = func() map[string]queue.Events {
	in := maps.Clone(defaultInterest)
	for name := range refusals {
		in[name] = queue.PodChange
	}
	return in
}()

// DeviceSelectorCompiler compiles the CEL device selectors of DeviceClasses and ResourceClaims
// for DynamicResources with berth's own evaluator (package devicecel). An expression outside what
// it evaluates is a compile error ("selector uses X, which berth does not evaluate"), which keeps
// the pod pending with that message; it is never taken as true or false.
var DeviceSelectorCompiler dynamicresources.Compiler = func(expr string) (dynamicresources.Selector, error) {
	p, err := devicecel.Compile(expr)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Missing is an enabled plugin berth does not implement, and what that means for pods.
type Missing struct {
	Plugin string
	// Effect says which pods stay pending for want of it.
	Effect string
}

// NotImplemented returns, sorted by plugin, the plugins cfg enables in some profile that berth
// does not implement yet (kube-scheduler's defaults include VolumeBinding, DynamicResources and
// others), each with its effect; main logs them at start.
func NotImplemented(cfg *config.KubeSchedulerConfiguration) []Missing {
	var out []Missing
	for i := range cfg.Profiles {
		for _, name := range cfg.Profiles[i].EnabledPlugins() {
			if (implemented[name] && partial[name] == "") || slices.ContainsFunc(out, func(m Missing) bool { return m.Plugin == name }) {
				continue
			}
			m := Missing{Plugin: name, Effect: "skipped: pods are scheduled without its checks"}
			if r, ok := refusals[name]; ok {
				m.Effect = r.pods + " stay pending (unschedulable, with a message naming the plugin)"
			}
			if p := partial[name]; p != "" {
				m.Effect = "implemented in part: " + p
			}
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Missing) int { return strings.Compare(a.Plugin, b.Plugin) })
	return out
}
