package podtopologyspread

import (
	"slices"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// indexedCounts returns what countDomains would for the pod's constraints cs, from the snapshot's
// topology index instead of a walk over every node and pod: one selector match per distinct label
// set, then one addition per domain it occupies. ok is false when the index cannot answer: the
// inclusion policies exclude some nodes (the pod's node affinity, or taints honoured), the
// snapshot indexes no more key sets, or some pod has no LabelsID.
func indexedCounts(snap *snapshot.Snapshot, cs []constraint, in *inclusion, ns string) (counts []map[string]int, ok bool) {
	if in.needTaints || (in.needAffinity && !in.affinity.MatchesAll()) {
		return nil, false
	}
	keys := make([]string, 0, len(cs))
	keyOf := make([]int, len(cs)) // constraint i counts per keys[keyOf[i]]
	for i := range cs {
		if keyOf[i] = slices.Index(keys, cs[i].topologyKey); keyOf[i] < 0 {
			keyOf[i], keys = len(keys), append(keys, cs[i].topologyKey)
		}
	}
	idx := snap.Topology(keys...)
	if idx == nil || idx.Unknown() > 0 {
		return nil, false
	}
	counts = make([]map[string]int, len(cs))
	for i := range cs {
		domains := idx.Domains(keyOf[i])
		counts[i] = make(map[string]int, len(domains))
		for d := range domains {
			counts[i][d] = 0
		}
	}
	for set := range idx.LabelSets() {
		for i := range cs {
			if cs[i].countsNothing || !cs[i].selects(set.Pod.Pod, ns) {
				continue
			}
			for d, c := range set.Counts[keyOf[i]] {
				counts[i][d] += c
			}
		}
	}
	return counts, true
}
