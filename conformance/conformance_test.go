package conformance

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

var (
	flagSeed      = flag.Uint64("conformance.seed", 0, "run only the scenario of this seed (also BERTH_CONFORMANCE_SEED)")
	flagScenarios = flag.Int("conformance.scenarios", 50, "how many generated scenarios TestConformance runs")
	flagBase      = flag.Uint64("conformance.base", 0, "the first scenario's seed; 0 picks one from the clock")
	flagShow      = flag.Bool("conformance.show", false, "log every scenario and both outcomes, not only failing ones")
)

// seeds returns the scenario seeds to run: the one asked for, or count consecutive ones from the
// base.
func seeds(t *testing.T, count int) []uint64 {
	one := *flagSeed
	if env := os.Getenv("BERTH_CONFORMANCE_SEED"); one == 0 && env != "" {
		v, err := strconv.ParseUint(env, 10, 64)
		if err != nil {
			t.Fatalf("BERTH_CONFORMANCE_SEED=%q: %v", env, err)
		}
		one = v
	}
	if one != 0 {
		return []uint64{one}
	}
	base := *flagBase
	if base == 0 {
		base = uint64(time.Now().UnixNano()%1_000_000_000) + 1
	}
	t.Logf("scenario seeds %d..%d (rerun one with -conformance.seed=N, all with -conformance.base=%d)", base, base+uint64(count)-1, base)
	out := make([]uint64, count)
	for i := range out {
		out[i] = base + uint64(i)
	}
	return out
}

// TestConformance runs generated scenarios through upstream kube-scheduler and berth and checks
// that the same pods stay pending, that groups left wholly pending get the same FailedScheduling
// message, and that every placement of either scheduler keeps every hard constraint.
func TestConformance(t *testing.T) {
	start := time.Now()
	var pods, pending, failed int
	var upTime, berthTime time.Duration
	list := seeds(t, *flagScenarios)
	for _, seed := range list {
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := generate(seed)
			up, be := runScenario(t, s)
			if up == nil || be == nil {
				return
			}
			pods += len(up.pods)
			upTime += up.took
			berthTime += be.took
			for _, p := range up.pods {
				if p.Spec.NodeName == "" {
					pending++
				}
			}
			compare(t, s, up, be)
		})
		if !ok {
			failed++
		}
	}
	t.Logf("%d scenarios (%d failed), %d incoming pods (%d left pending by upstream) in %s; settling took %s for upstream, %s for berth",
		len(list), failed, pods, pending, time.Since(start).Round(time.Millisecond), upTime.Round(time.Millisecond), berthTime.Round(time.Millisecond))
}

// runScenario sets the scenario up, runs both phases and the checker, and tears it down. It
// returns nil phases when the run itself failed (already reported).
func runScenario(t *testing.T, s *scenario) (up, be *phase) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := tearDown(ctx, s); err != nil {
			t.Errorf("tearing down: %v", err)
		}
	})
	if err := setUp(ctx, s); err != nil {
		t.Fatalf("setting up: %v\n%s", err, s)
	}
	existing, err := readExisting(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if up, err = runPhase(ctx, s, upstreamName); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	if be, err = runPhase(ctx, s, berthName); err != nil {
		t.Fatalf("%v\n%s\n%s", err, s, up)
	}
	var problems []string
	for _, v := range placementcheck.Check(newWorld(s, existing, up)) {
		problems = append(problems, "the checker rejects an UPSTREAM placement (checker or upstream bug): "+v.String())
	}
	for _, v := range placementcheck.Check(newWorld(s, existing, be)) {
		problems = append(problems, "berth placement breaks a hard constraint: "+v.String())
	}
	report(t, s, up, be, problems)
	if *flagShow {
		t.Logf("%s\n%s\n%s", s, up, be)
	}
	return up, be
}

// compare checks that each group has as many pending pods under berth as under upstream, and that
// the pods of a group left wholly pending carry the same message, preemption's part included.
func compare(t *testing.T, s *scenario, up, be *phase) {
	t.Helper()
	upPods, bePods := byName(up.pods), byName(be.pods)
	var problems []string
	for _, g := range s.groups {
		var upPending, bePending int
		for _, p := range g.pods {
			if upPods[p.Name] != nil && upPods[p.Name].Spec.NodeName == "" {
				upPending++
			}
			if bePods[p.Name] != nil && bePods[p.Name].Spec.NodeName == "" {
				bePending++
			}
		}
		if upPending != bePending {
			problems = append(problems, fmt.Sprintf("%s (%s, %d pods): upstream left %d pending, berth %d",
				g.name, g.kind, len(g.pods), upPending, bePending))
			continue
		}
		// With none of the group placed, every pod was judged against the fixed cluster alone,
		// so both schedulers must explain it the same way.
		if upPending != len(g.pods) {
			continue
		}
		for _, p := range g.pods {
			want, got := unschedulableMessage(upPods[p.Name]), unschedulableMessage(bePods[p.Name])
			if want != got {
				problems = append(problems, fmt.Sprintf("%s: FailedScheduling message differs:\n    upstream: %s\n    berth:    %s", p.Name, want, got))
			}
		}
	}
	report(t, s, up, be, problems)
}

// report fails t with the problems, the scenario and both outcomes.
func report(t *testing.T, s *scenario, up, be *phase, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	t.Errorf("%s: %d problem(s):\n  - %s\n\n%s\n%s\n%s", s.id, len(problems), strings.Join(problems, "\n  - "), s, up, be)
}

func byName(pods []*v1.Pod) map[string]*v1.Pod {
	out := map[string]*v1.Pod{}
	for _, p := range pods {
		out[p.Name] = p
	}
	return out
}
