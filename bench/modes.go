package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// The harness's modes: what one invocation measures. Each runs on the same machinery (fresh
// control planes, the same schedulers, the same checker) and writes a markdown and a JSON report.
const (
	// modeThroughput creates each run's pods as fast as -clients can and times them all bound.
	modeThroughput = "throughput"
	// modeLatency creates the pods open-loop at -rate for -arrival, whatever the scheduler does,
	// and reports create-to-bind percentiles and the schedulers' own SLI histogram (latency.go).
	modeLatency = "latency"
	// modeXL is throughput at 15,000 nodes, each run cut off at -timebox (xl.go).
	modeXL = "xl"
	// modeStartup times each scheduler's cold start on a cluster already full of bound pods, and
	// a leader failover between two berth replicas (startup.go).
	modeStartup = "startup"
)

const modesHelp = modeThroughput + " (default), " + modeLatency + " (open-loop arrival; preset 5000 nodes, basic,mixed), " +
	modeXL + " (preset 15000 nodes, 30000 pods, basic,spread, -timebox), " + modeStartup +
	" (cold start on 5000 nodes with -bound-pods pods bound, and leader failover)"

// modeOptions are the settings of the modes other than throughput.
type modeOptions struct {
	// rate is the latency mode's arrival rate, pods per second, over arrival.
	rate    float64
	arrival time.Duration
	// timebox ends a run as incomplete once it has measured this long (0: no time box).
	timebox time.Duration
	// boundPods is how many pods the startup mode's cluster holds, created bound before any
	// scheduler starts.
	boundPods int
	// lease is the startup mode's leader-election lease duration for the failover (the renew
	// deadline and retry period follow from it); failover false skips that measurement.
	lease    time.Duration
	failover bool
}

func (m *modeOptions) addFlags(fs *flag.FlagSet) {
	fs.Float64Var(&m.rate, "rate", 100, "-mode latency: pods created per second, open loop")
	fs.DurationVar(&m.arrival, "arrival", 60*time.Second, "-mode latency: how long pods arrive at -rate (-pods defaults to rate × arrival)")
	fs.DurationVar(&m.timebox, "timebox", 0, "end each run as incomplete, reporting how far it came, once it has measured this long (0: none; -mode xl: 20m)")
	fs.IntVar(&m.boundPods, "bound-pods", 50000, "-mode startup: pods already bound in the cluster, created before any scheduler starts")
	fs.DurationVar(&m.lease, "lease", 4*time.Second, "-mode startup: leader-election lease duration of the failover replicas (renew deadline 3/4 of it, retry period 1/4)")
	fs.BoolVar(&m.failover, "failover", true, "-mode startup: also time a leader failover between two berth replicas")
}

// modePresets are the flag values each mode implies, applied to the flags not given explicitly.
var modePresets = map[string]map[string]string{
	modeThroughput: {},
	modeLatency:    {"nodes": "5000", "workloads": "basic,mixed", "pairs": "1", "client-limits": "5000"},
	modeXL:         {"nodes": "15000", "pods": "30000", "workloads": "basic,spread", "pairs": "1", "client-limits": "5000", "timebox": "20m"},
	modeStartup:    {"nodes": "5000", "workloads": "basic", "pairs": "1", "client-limits": "5000"},
}

// applyModePreset sets, on the parsed fs, the preset values of mode for every flag not given on
// the command line; in the latency mode -pods defaults to rate × arrival.
func applyModePreset(fs *flag.FlagSet, mode string, m *modeOptions) error {
	preset, ok := modePresets[mode]
	if !ok {
		return fmt.Errorf("-mode %q: want one of %s", mode, modesHelp)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, v := range preset {
		if given[name] {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("-mode %s: presetting -%s: %w", mode, name, err)
		}
	}
	if mode == modeLatency && !given["pods"] {
		if err := fs.Set("pods", strconv.Itoa(latencyPods(m.rate, m.arrival))); err != nil {
			return fmt.Errorf("-mode %s: presetting -pods: %w", mode, err)
		}
	}
	return nil
}

// latencyPods is how many pods arrive at rate per second over arrival.
func latencyPods(rate float64, arrival time.Duration) int {
	return int(rate*arrival.Seconds() + 0.5)
}

// validateMode checks the settings of c's mode.
func (c config) validateMode() error {
	switch c.mode {
	case "", modeThroughput, modeXL:
	case modeLatency:
		if c.rate <= 0 {
			return fmt.Errorf("-rate %g: must be positive", c.rate)
		}
	case modeStartup:
		if c.boundPods < 0 {
			return fmt.Errorf("-bound-pods %d: must not be negative", c.boundPods)
		}
		if c.failover && c.lease < 2*time.Second {
			return fmt.Errorf("-lease %s: must be at least 2s", c.lease)
		}
	default:
		return fmt.Errorf("-mode %q: want one of %s", c.mode, modesHelp)
	}
	if c.timebox < 0 {
		return errors.New("-timebox: must not be negative")
	}
	return nil
}
