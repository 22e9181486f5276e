package decide_test

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// TestExplainMatchesDecide runs the fuzz seeds' scenarios through Explain and Decide on two
// deciders built alike: the same node is chosen, every node Explain marks feasible passes the
// decider's own check and every node it rejects fails it, and Explain leaves the rotation and
// tie-breaking of the next Decide untouched.
func TestExplainMatchesDecide(t *testing.T) {
	for i, seed := range decideSeeds {
		t.Run(fmt.Sprintf("seed%d", i), func(t *testing.T) {
			s := decode(seed.script)
			d1, d2 := defaultProfileDecider(t, s.seed), defaultProfileDecider(t, s.seed)
			snap, _ := s.build()
			pi := snapshot.NewPodInfo(s.pod)
			explained, tr := d1.Explain(pi, snap)
			decided := d2.Decide(pi, snap)
			if explained.Node != decided.Node || (explained.Err == nil) != (decided.Err == nil) {
				t.Fatalf("explain chose %q (err %v), decide %q (err %v)", explained.Node, explained.Err, decided.Node, decided.Err)
			}
			if decided.Err == nil && decided.Node == "" && explained.Diagnosis.Message() != decided.Diagnosis.Message() {
				t.Errorf("explain's message %q, decide's %q", explained.Diagnosis.Message(), decided.Diagnosis.Message())
			}
			p := d2.Prepare(pi, snap)
			for _, nt := range tr.Nodes {
				v := p.Check(nt.Node, nil)
				if nt.Feasible() != v.Fits() {
					t.Errorf("node %s: explain says feasible=%v (%v by %s), the decider's check %v", nt.Node.Name(), nt.Feasible(), nt.Verdict.Reasons, nt.RejectedBy, v.Reasons)
				}
			}
			// Explain changed nothing: d1's first decision is d2's.
			if a := d1.Decide(pi, snap); a.Node != decided.Node {
				t.Errorf("after explain the decision chose %q, without %q", a.Node, decided.Node)
			}
		})
	}
}

// TestExplainSampling checks on 1000 identical nodes that Explain filters every node but scores
// only the sample the decision ranks, starting where Decide's search starts, and chooses as it.
func TestExplainSampling(t *testing.T) {
	d := defaultProfileDecider(t, 7)
	var list []*snapshot.NodeInfo
	for i := range 1000 {
		list = append(list, snapshot.NewNodeInfo(&v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%04d", i)},
			Status:     v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourcePods: resource.MustParse("110")}},
		}))
	}
	snap := snapshot.New(list, nil)
	pi := snapshot.NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}})
	for round := range 3 {
		res, tr := d.Explain(pi, snap)
		scored, feasible := 0, 0
		for _, nt := range tr.Nodes {
			if nt.Feasible() {
				feasible++
			}
			if nt.Scored {
				scored++
				if len(nt.Raw) != len(tr.Scorers) || len(nt.Normalized) != len(tr.Scorers) {
					t.Fatalf("node %s: %d raw, %d normalised scores for %d scorers", nt.Node.Name(), len(nt.Raw), len(nt.Normalized), len(tr.Scorers))
				}
			}
		}
		want := decide.NumFeasibleNodesToFind(0, 1000)
		if feasible != 1000 || scored != want || tr.Wanted != want || tr.Searched != want {
			t.Errorf("round %d: %d feasible, %d scored, wanted %d, searched %d; want 1000, %d, %d, %d", round, feasible, scored, tr.Wanted, tr.Searched, want, want, want)
		}
		if got := d.Decide(pi, snap); got.Node != res.Node {
			t.Errorf("round %d: explain chose %s, decide %s", round, res.Node, got.Node)
		}
		if tr.Node(res.Node) == nil || !tr.Node(res.Node).Scored {
			t.Errorf("round %d: chosen node %s not among the scored", round, res.Node)
		}
	}
}

func defaultProfileDecider(t *testing.T, seed uint64) *decide.Decider {
	t.Helper()
	prof, err := scheduler.DefaultProfile(scheduler.DefaultSchedulerName, nil, seed)
	if err != nil {
		t.Fatal(err)
	}
	return prof.Decider.(*decide.Decider)
}

// TestExplainIntoReusesTrace runs every fuzz seed's scenario through one Trace, one after
// another, and requires each to record exactly what a fresh Explain records: nothing of an
// earlier, larger or smaller, dry run may show through.
func TestExplainIntoReusesTrace(t *testing.T) {
	var reused decide.Trace
	for i, seed := range decideSeeds {
		s := decode(seed.script)
		snap, _ := s.build()
		pi := snapshot.NewPodInfo(s.pod)
		d1, d2 := defaultProfileDecider(t, s.seed), defaultProfileDecider(t, s.seed)
		fresh, ftr := d1.Explain(pi, snap)
		got := d2.ExplainInto(&reused, pi, snap)
		if got.Node != fresh.Node || (got.Err == nil) != (fresh.Err == nil) {
			t.Fatalf("seed %d: reused trace chose %q (err %v), fresh %q (err %v)", i, got.Node, got.Err, fresh.Node, fresh.Err)
		}
		if want, have := fmt.Sprintf("%+v %+v %d %d %d %q", ftr.Nodes, ftr.Scorers, ftr.Wanted, ftr.Start, ftr.Searched, ftr.Nominated),
			fmt.Sprintf("%+v %+v %d %d %d %q", reused.Nodes, reused.Scorers, reused.Wanted, reused.Start, reused.Searched, reused.Nominated); want != have {
			t.Errorf("seed %d: the reused trace differs from a fresh one:\nfresh  %s\nreused %s", i, want, have)
		}
		for _, nt := range ftr.Nodes {
			if r := reused.Node(nt.Node.Name()); r == nil || r.Node != nt.Node {
				t.Errorf("seed %d: reused trace finds %v for node %s", i, r, nt.Node.Name())
			}
		}
	}
}
