package preempt

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// PDBsFrom converts PodDisruptionBudgets as upstream reads them: a selector that is missing,
// empty or invalid covers no pod.
func PDBsFrom(budgets []*policyv1.PodDisruptionBudget) []PDB {
	out := make([]PDB, 0, len(budgets))
	for _, b := range budgets {
		p := PDB{Namespace: b.Namespace, DisruptionsAllowed: b.Status.DisruptionsAllowed}
		if sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector); err == nil && b.Spec.Selector != nil {
			p.Selector = sel
		} else {
			p.Selector = labels.Nothing()
		}
		if len(b.Status.DisruptedPods) > 0 {
			p.DisruptedPods = make(map[string]bool, len(b.Status.DisruptedPods))
			for name := range b.Status.DisruptedPods {
				p.DisruptedPods[name] = true
			}
		}
		out = append(out, p)
	}
	return out
}

// Search looks for candidates for preemptor among nodes (those where preemption might help, in a
// stable order), starting at nodes[offset % len(nodes)] and wrapping around, as upstream's dry
// run does: each node is tried at most once, and the search stops once want candidates are found,
// at least one of them without budget violations (so it looks on past candidates that all
// violate a budget). It returns the candidates without violations first, then those with, and,
// for each node tried that is no candidate, the verdict why.
func Search(preemptor *snapshot.PodInfo, nodes []*snapshot.NodeInfo, offset, want int, filter Filter, pdbs []PDB, now time.Time) (cands []Candidate, rejected map[string]snapshot.Verdict) {
	if len(nodes) == 0 || want <= 0 {
		return nil, nil
	}
	var violating []Candidate
	rejected = map[string]snapshot.Verdict{}
	for i := range nodes {
		n := nodes[(offset+i)%len(nodes)]
		c, v := SelectVictims(preemptor, n, filter, pdbs, now)
		switch {
		case !v.Fits():
			rejected[n.Name()] = v
		case c.PDBViolations > 0:
			violating = append(violating, c)
		default:
			cands = append(cands, c)
		}
		if len(cands) > 0 && len(cands)+len(violating) >= want {
			break
		}
	}
	return append(cands, violating...), rejected
}
