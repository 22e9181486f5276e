package decide

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// byName rejects the nodes named in reject, with their reason.
type byName struct {
	name         string
	reject       map[string]snapshot.Verdict
	preFilterErr snapshot.Verdict
}

func (b byName) Name() string { return b.name }
func (b byName) PreFilter(*snapshot.PodInfo, *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return b, b.preFilterErr
}
func (b byName) Filter(n *snapshot.NodeInfo) snapshot.Verdict { return b.reject[n.Node.Name] }

// scoreTable scores nodes from a table, optionally normalising by doubling.
type scoreTable map[string]int64

func (s scoreTable) Name() string { return "table" }
func (s scoreTable) PreScore(*snapshot.PodInfo, *snapshot.Snapshot, []*snapshot.NodeInfo) NodeScorer {
	return s
}
func (s scoreTable) Score(n *snapshot.NodeInfo) int64 { return s[n.Node.Name] }

func nodes(names ...string) *snapshot.Snapshot {
	var l []*snapshot.NodeInfo
	for _, n := range names {
		l = append(l, snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}))
	}
	return snapshot.New(l, nil)
}

func manyNodes(n int) *snapshot.Snapshot {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("n%04d", i)
	}
	return nodes(names...)
}

var pod = snapshot.NewPodInfo(&v1.Pod{})

func TestDecide(t *testing.T) {
	cpu := snapshot.Reject("Insufficient cpu")
	taint := snapshot.RejectUnresolvable("node(s) had untolerated taint(s)")
	tests := []struct {
		name        string
		snap        *snapshot.Snapshot
		filters     []FilterPlugin
		scorers     []WeightedScorer
		wantNode    string
		wantMessage string
		unresolv    bool
	}{
		{name: "no nodes", snap: nodes(), wantMessage: "0/0 nodes are available:"},
		{name: "highest score wins", snap: nodes("a", "b", "c"),
			scorers: []WeightedScorer{{scoreTable{"a": 10, "b": 50, "c": 20}, 1}}, wantNode: "b"},
		{name: "weights multiply", snap: nodes("a", "b"),
			scorers: []WeightedScorer{{scoreTable{"a": 10, "b": 0}, 3}, {scoreTable{"a": 0, "b": 20}, 1}}, wantNode: "a"},
		{name: "filtered node never chosen", snap: nodes("a", "b"),
			filters: []FilterPlugin{byName{name: "F", reject: map[string]snapshot.Verdict{"b": cpu}}},
			scorers: []WeightedScorer{{scoreTable{"a": 0, "b": 100}, 1}}, wantNode: "a"},
		{name: "reasons counted and sorted", snap: nodes("a", "b", "c", "d", "e"),
			filters:     []FilterPlugin{byName{name: "F", reject: map[string]snapshot.Verdict{"a": cpu, "b": cpu, "c": cpu, "d": taint, "e": taint}}},
			wantMessage: "0/5 nodes are available: 2 node(s) had untolerated taint(s), 3 Insufficient cpu."},
		{name: "prefilter rejection", snap: nodes("a", "b"),
			filters:     []FilterPlugin{byName{name: "F", preFilterErr: snapshot.RejectUnresolvable("bad spec")}},
			wantMessage: "0/2 nodes are available: bad spec.", unresolv: true},
		{name: "all unresolvable", snap: nodes("a"),
			filters:     []FilterPlugin{byName{name: "F", reject: map[string]snapshot.Verdict{"a": taint}}},
			wantMessage: "0/1 nodes are available: 1 node(s) had untolerated taint(s).", unresolv: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters, Scorers: tc.scorers, PercentageOfNodesToScore: 100})
			if err != nil {
				t.Fatal(err)
			}
			res := d.Decide(pod, tc.snap)
			if res.Node != tc.wantNode {
				t.Fatalf("node = %q, want %q", res.Node, tc.wantNode)
			}
			if tc.wantNode != "" {
				return
			}
			if res.Diagnosis == nil {
				t.Fatal("no diagnosis for an unschedulable pod")
			}
			if got := res.Diagnosis.Message(); got != tc.wantMessage {
				t.Errorf("message = %q, want %q", got, tc.wantMessage)
			}
			if res.Diagnosis.Unresolvable != tc.unresolv {
				t.Errorf("unresolvable = %v, want %v", res.Diagnosis.Unresolvable, tc.unresolv)
			}
		})
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		name       string
		percentage int32
		nodes      int
		want       int
	}{
		{"small cluster: all", 0, 99, 99},
		{"adaptive 1000 nodes: 42%", 0, 1000, 420},
		{"adaptive 5000 nodes: 10%", 0, 5000, 500},
		{"adaptive floor 5%", 0, 10000, 500},
		{"explicit 100", 100, 1000, 1000},
		{"at least 100", 1, 1000, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NumFeasibleNodesToFind(tc.percentage, tc.nodes); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSamplingRotatesAndParallelMatchesSerial(t *testing.T) {
	snap := manyNodes(1000)
	reject := map[string]snapshot.Verdict{}
	for i := 0; i < 1000; i += 3 {
		reject[fmt.Sprintf("n%04d", i)] = snapshot.Reject("Insufficient cpu")
	}
	f := []FilterPlugin{byName{name: "F", reject: reject}}
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			d, err := New(Profile{Filters: f})
			if err != nil {
				t.Fatal(err)
			}
			d.workers = workers // whatever this machine's CPUs allow
			res := d.Decide(pod, snap)
			if res.Feasible != 420 {
				t.Errorf("feasible = %d, want 420 (adaptive share of 1000)", res.Feasible)
			}
			if res.Evaluated >= 1000 || res.Evaluated < 420 {
				t.Errorf("evaluated = %d, want a partial search", res.Evaluated)
			}
			if d.st.nextStart != res.Evaluated%1000 {
				t.Errorf("next start = %d, want %d", d.st.nextStart, res.Evaluated)
			}
			if reject[res.Node].Reasons != nil {
				t.Errorf("chose rejected node %s", res.Node)
			}
		})
	}
}

func TestTiesAreSeeded(t *testing.T) {
	pickAll := func(seed uint64) []string {
		d, _ := New(Profile{Scorers: []WeightedScorer{{scoreTable{}, 1}}, Seed: seed})
		var out []string
		snap := nodes("a", "b", "c", "d")
		for range 20 {
			out = append(out, d.Decide(pod, snap).Node)
		}
		return out
	}
	a, b := pickAll(7), pickAll(7)
	seen := map[string]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed gave different picks: %v vs %v", a, b)
		}
		seen[a[i]] = true
	}
	if len(seen) < 2 {
		t.Errorf("ties always broken the same way: %v", a)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Profile{PercentageOfNodesToScore: 120}); err == nil || err.Error() != "percentageOfNodesToScore: Invalid value: 120: not in valid range [0-100]" {
		t.Errorf("err = %v", err)
	}
	if _, err := New(Profile{Scorers: []WeightedScorer{{scoreTable{}, 0}}}); err == nil {
		t.Error("zero weight accepted")
	}
}

// restricted is a filter that admits only the named nodes and says so up front.
type restricted struct {
	name  string
	nodes []string
}

func (r restricted) Name() string { return r.name }
func (r restricted) PreFilter(*snapshot.PodInfo, *snapshot.Snapshot) (NodeFilter, snapshot.Verdict) {
	return r, snapshot.Verdict{}
}
func (r restricted) NodeNames() []string { return r.nodes }
func (r restricted) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	for _, name := range r.nodes {
		if n.Node.Name == name {
			return snapshot.Verdict{}
		}
	}
	return snapshot.RejectUnresolvable("should not be asked")
}

func TestNodeRestriction(t *testing.T) {
	tests := []struct {
		name     string
		filters  []FilterPlugin
		wantNode string
		wantMsg  string
	}{
		{name: "only the named node is considered", filters: []FilterPlugin{restricted{"NodeAffinity", []string{"b"}}}, wantNode: "b"},
		{name: "named node rejected by another filter", filters: []FilterPlugin{
			restricted{"NodeAffinity", []string{"b"}},
			byName{name: "F", reject: map[string]snapshot.Verdict{"b": snapshot.Reject("Insufficient cpu")}}},
			wantMsg: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."},
		{name: "named node absent", filters: []FilterPlugin{restricted{"NodeAffinity", []string{"zz"}}},
			wantMsg: "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeAffinity]."},
		{name: "disjoint restrictions", filters: []FilterPlugin{restricted{"NodeAffinity", []string{"a"}}, restricted{"Other", []string{"b"}}},
			wantMsg: "0/3 nodes are available: node(s) didn't satisfy plugin(s) [NodeAffinity Other] simultaneously."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Profile{Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			res := d.Decide(pod, nodes("a", "b", "c"))
			if res.Node != tc.wantNode {
				t.Fatalf("node %q, want %q", res.Node, tc.wantNode)
			}
			if tc.wantMsg != "" && res.Diagnosis.Message() != tc.wantMsg {
				t.Errorf("message %q, want %q", res.Diagnosis.Message(), tc.wantMsg)
			}
		})
	}
}

func TestParallelScoresMatchSerial(t *testing.T) {
	snap := manyNodes(1000)
	a, b := scoreTable{}, scoreTable{}
	for i, n := range snap.Nodes {
		a[n.Node.Name] = int64(i*7919) % 101
		b[n.Node.Name] = int64(i*104729) % 97
	}
	a["n0613"], b["n0613"] = 100, 100 // the single best node
	scorers := []WeightedScorer{{a, 1}, {b, 2}, {doubled{b}, 3}}
	var want []int64
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			d, err := New(Profile{Scorers: scorers, PercentageOfNodesToScore: 100})
			if err != nil {
				t.Fatal(err)
			}
			d.workers = workers
			res := d.Decide(pod, snap)
			if res.Node != "n0613" || res.Feasible != 1000 {
				t.Errorf("decision = %s over %d feasible, want n0613 over 1000", res.Node, res.Feasible)
			}
			d.st.raw = make([]int64, 3*len(snap.Nodes)) // poisoned: every entry must be rewritten
			for i := range d.st.raw {
				d.st.raw[i] = -1000
			}
			got := append([]int64(nil), d.score(&d.st, nil, nil, pod, snap, snap.Nodes, nil)...)
			if want == nil {
				want = got
				for i, n := range snap.Nodes {
					name := n.Node.Name
					if w := a[name] + 2*b[name] + 3*min(2*b[name], MaxNodeScore); got[i] != w {
						t.Fatalf("total of %s = %d, want %d", name, got[i], w)
					}
				}
				return
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("total %d = %d with %d workers, %d with 1", i, got[i], workers, want[i])
				}
			}
		})
	}
}

// doubled normalises its scorer's scores by doubling them, capped at MaxNodeScore.
type doubled struct{ scoreTable }

func (d doubled) PreScore(*snapshot.PodInfo, *snapshot.Snapshot, []*snapshot.NodeInfo) NodeScorer {
	return d
}

func (d doubled) Normalize(scores []int64) {
	for i := range scores {
		scores[i] = min(2*scores[i], MaxNodeScore)
	}
}

func TestPassWorkers(t *testing.T) {
	for _, tc := range []struct {
		name              string
		parallelism, cpus int
		want              int
	}{
		{"one cpu", 16, 1, 1},
		{"two cpus share with the API server", 16, 2, 1},
		{"half of eight cpus", 16, 8, 4},
		{"parallelism caps", 3, 64, 3},
		{"parallelism one", 1, 64, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := passWorkers(tc.parallelism, tc.cpus); got != tc.want {
				t.Errorf("passWorkers(%d, %d) = %d, want %d", tc.parallelism, tc.cpus, got, tc.want)
			}
		})
	}
}

// TestScratchClearedAcrossSizes decides over a large snapshot where every node passes, then a
// smaller one, then the large one again with most nodes rejected: no node may pass on a verdict
// left from an earlier, larger call.
func TestScratchClearedAcrossSizes(t *testing.T) {
	reject := map[string]snapshot.Verdict{}
	d, err := New(Profile{Filters: []FilterPlugin{byName{name: "F", reject: reject}}, PercentageOfNodesToScore: 100})
	if err != nil {
		t.Fatal(err)
	}
	large, small := manyNodes(6), manyNodes(1)
	if res := d.Decide(pod, large); res.Feasible != 6 {
		t.Fatalf("first decision: %d feasible, want 6", res.Feasible)
	}
	if res := d.Decide(pod, small); res.Feasible != 1 {
		t.Fatalf("second decision: %d feasible, want 1", res.Feasible)
	}
	for i := 1; i < 6; i++ {
		reject[fmt.Sprintf("n%04d", i)] = snapshot.Reject("Insufficient cpu")
	}
	res := d.Decide(pod, large)
	if res.Feasible != 1 || res.Node != "n0000" {
		t.Errorf("third decision: %s over %d feasible, want n0000 over 1", res.Node, res.Feasible)
	}
}

func TestDiagnosisResolvable(t *testing.T) {
	cpu := snapshot.Reject("Insufficient cpu")
	taint := snapshot.RejectUnresolvable("node(s) had untolerated taint(s)")
	d, err := New(Profile{Filters: []FilterPlugin{byName{name: "f", reject: map[string]snapshot.Verdict{"a": cpu, "b": taint, "c": cpu}}}})
	if err != nil {
		t.Fatal(err)
	}
	res := d.Decide(pod, nodes("a", "b", "c"))
	var got []string
	for _, n := range res.Diagnosis.Resolvable {
		got = append(got, n.Name())
	}
	if res.Node != "" || fmt.Sprint(got) != "[a c]" {
		t.Errorf("node %q, resolvable %v; want none placed and [a c]", res.Node, got)
	}
	// A later call that places the pod leaves no stale nodes behind for the next failure.
	d2, _ := New(Profile{Filters: []FilterPlugin{byName{name: "f", reject: map[string]snapshot.Verdict{"a": taint}}}})
	if res := d2.Decide(pod, nodes("a", "b")); res.Node != "b" {
		t.Fatalf("placed on %q, want b", res.Node)
	}
	if res := d2.Decide(pod, nodes("a")); len(res.Diagnosis.Resolvable) != 0 {
		t.Errorf("resolvable %v after an unresolvable rejection, want none", res.Diagnosis.Resolvable)
	}
}
