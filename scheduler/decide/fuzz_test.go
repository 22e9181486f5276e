package decide_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/conformance/placementcheck"
	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// FuzzDecide runs berth's default profile on a cluster and an incoming pod decoded from the
// input (see decode) and checks the decision (see judge): no panic, a chosen node breaks no
// hard constraint by package placementcheck, and a pod placed nowhere has a diagnosis that
// accounts for every node, each of which really breaks a constraint.
//
//	go test -run '^$' -fuzz FuzzDecide -parallel 1 ./scheduler/decide/
//
// Inputs it finds go to testdata/fuzz/FuzzDecide and run with go test from then on.
func FuzzDecide(f *testing.F) {
	for _, seed := range decideSeeds {
		f.Add(seed.script)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := decode(data)
		prof, err := scheduler.DefaultProfile(scheduler.DefaultSchedulerName, nil, s.seed)
		if err != nil {
			t.Fatal(err)
		}
		problem, bug := judge(s, prof.Decider)
		if bug != "" {
			t.Skip(bug)
		}
		if problem != "" {
			t.Fatalf("%s\n%s", problem, s)
		}
	})
}

// judge lets d decide where the scenario's pod goes and checks the decision:
//
//   - a chosen node is one of the snapshot's, and placing the pod there breaks no hard
//     constraint according to package placementcheck, a checker written from the API's
//     semantics (soundness);
//   - when no node is chosen, the Diagnosis accounts for every node (see checkDiagnosis) and
//     every node really breaks a constraint, by the same checker (completeness; not for pods
//     whose selectors schedulers cannot parse, see scenario.valid).
//
// It returns a problem found (the first one, unless a known bug explains it: then the last
// one) and the known bug that explains it if one does (see knownBug); both "" when the
// decision is right.
func judge(s *scenario, d scheduler.Decider) (problem, bug string) {
	snap, w := s.build()
	res := d.Decide(snapshot.NewPodInfo(s.pod), snap)
	if res.Node != "" {
		if w.Nodes[res.Node] == nil {
			return fmt.Sprintf("chose node %q, which is not in the snapshot", res.Node), ""
		}
		if res.Diagnosis != nil || res.Feasible < 1 || res.Evaluated > len(s.nodes) {
			return fmt.Sprintf("chose %s with diagnosis %+v, %d feasible, %d evaluated of %d nodes",
				res.Node, res.Diagnosis, res.Feasible, res.Evaluated, len(s.nodes)), ""
		}
		if vs := violations(s, w, res.Node); len(vs) > 0 {
			return fmt.Sprintf("berth placed the pod on %s, which breaks a hard constraint:\n%s", res.Node, joinViolations(vs)),
				knownBug(s, res.Node, vs)
		}
		return "", ""
	}
	if problem := checkDiagnosis(len(s.nodes), res); problem != "" || !s.valid {
		return problem, ""
	}
	for _, n := range s.nodes {
		if len(violations(s, w, n.Name)) > 0 {
			continue
		}
		problem = fmt.Sprintf("berth placed the pod nowhere (%q), but it fits %s by every hard constraint", res.Diagnosis.Message(), n.Name)
		if bug = knownBug(s, n.Name, nil); bug == "" {
			return problem, ""
		}
	}
	return problem, bug
}

// checkDiagnosis checks what decide.Decide guarantees of a pod placed nowhere among n nodes: a
// Diagnosis over all n whose message starts "0/n nodes are available:", naming a plugin when
// n > 0, and either a PreFilter message (the pod was refused before any node was filtered, or
// the nodes that could pass were ruled out up front) or a reason per rejected node. For the
// latter, every node was filtered (a search stops early only once it has a feasible node) and
// each rejection's reasons were counted, so the counts add up to at least n; as a reason is
// counted once per node that gives it, none exceeds n.
func checkDiagnosis(n int, res decide.Result) string {
	d := res.Diagnosis
	if d == nil {
		return "no node chosen and no diagnosis"
	}
	msg := d.Message()
	if want := fmt.Sprintf("0/%d nodes are available:", n); d.NumNodes != n || !strings.HasPrefix(msg, want) {
		return fmt.Sprintf("diagnosis over %d nodes, message %q; want %d nodes, message starting %q", d.NumNodes, msg, n, want)
	}
	switch {
	case res.Feasible != 0:
		return fmt.Sprintf("no node chosen, yet %d feasible", res.Feasible)
	case n == 0:
		return ""
	case len(d.Plugins) == 0:
		return fmt.Sprintf("the diagnosis names no plugin: %q", msg)
	case d.PreFilterMsg != "":
		return ""
	case res.Evaluated > n:
		return fmt.Sprintf("%d nodes evaluated of %d", res.Evaluated, n)
	}
	sum := 0
	for r, c := range d.Reasons {
		if strings.TrimSpace(r) == "" || c < 1 || c > n {
			return fmt.Sprintf("reason %q counted for %d of %d nodes: %q", r, c, n, msg)
		}
		sum += c
	}
	if sum < n || !strings.HasSuffix(msg, ".") {
		return fmt.Sprintf("the reasons account for %d of %d nodes: %q", sum, n, msg)
	}
	return ""
}

// build returns the snapshot berth decides on and the checker's view of the same cluster. The
// scenario's objects are shared, not copied: neither side changes them.
func (s *scenario) build() (*snapshot.Snapshot, *placementcheck.World) {
	byNode := map[string][]*snapshot.PodInfo{}
	for _, e := range s.existing {
		byNode[e.Spec.NodeName] = append(byNode[e.Spec.NodeName], snapshot.NewPodInfo(e))
	}
	infos := make([]*snapshot.NodeInfo, len(s.nodes))
	w := &placementcheck.World{Nodes: map[string]*v1.Node{}, NamespaceLabels: nsLabels, Existing: s.existing}
	for i, n := range s.nodes {
		infos[i] = snapshot.NewNodeInfo(n, byNode[n.Name]...)
		w.Nodes[n.Name] = n
	}
	ns := map[string]labels.Set{}
	for name, l := range nsLabels {
		ns[name] = l
	}
	return snapshot.New(infos, ns), w
}

// violations returns what placing the scenario's pod on node breaks.
func violations(s *scenario, w *placementcheck.World, node string) []placementcheck.Violation {
	bound := s.pod.DeepCopy()
	bound.Spec.NodeName = node
	one := *w
	one.Incoming = []*v1.Pod{bound}
	return placementcheck.Check(&one)
}

func joinViolations(vs []placementcheck.Violation) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "  " + v.String()
	}
	return strings.Join(out, "\n")
}

// TestJudgeCatchesMissingFilters shows that the seed corpus and judge together catch a profile
// that lacks any one of berth's filters: with the filter disabled, some seed's placement breaks
// the constraint it enforces.
func TestJudgeCatchesMissingFilters(t *testing.T) {
	for _, filter := range []string{"NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodePorts",
		"NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"} {
		t.Run(filter, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			body := "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n" +
				"profiles:\n- plugins:\n    filter:\n      disabled: [{name: " + filter + "}]\n"
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, seed := range decideSeeds {
				profiles, err := scheduler.ProfilesFromConfig(cfg, nil, 1)
				if err != nil {
					t.Fatal(err)
				}
				if problem, bug := judge(decode(seed.script), profiles[0].Decider); problem != "" && bug == "" {
					return
				}
			}
			t.Errorf("without %s every seed's decision passes judge", filter)
		})
	}
}
