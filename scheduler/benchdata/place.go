package benchdata

// Place returns, for each of the first n pods of Pods(ns, s), the index of a node it can run on
// without breaking a hard constraint given the pods placed before it, or -1 for a pod that must
// stay pending. It is a fast stand-in for a scheduler (no scoring), for benchmarks that start
// from a partly filled cluster; n must not exceed s.Pods and s must pass Validate. A preemptor's
// node is that of the victim VictimOf names, whose place it takes.
//
// Pods of each shape go round-robin over the nodes that shape may use; spread pods take the
// zones in turn (so zone counts never differ by more than one); the j-th pod of an anti-affinity
// group takes the group's j-th node, which are distinct because no group outnumbers the nodes.
func (w Workload) Place(s Size, n int) []int {
	n = min(n, s.Pods)
	groups := w.antiGroups(s)
	eligible := map[Shape][]int{}
	zones := map[Shape][][]int{} // eligible nodes of a shape, by zone
	for _, sh := range w.Shapes {
		if _, ok := eligible[sh]; ok {
			continue
		}
		eligible[sh] = w.eligibleNodes(sh, s.Nodes)
		byZone := make([][]int, Zones)
		for _, i := range eligible[sh] {
			byZone[i%Zones] = append(byZone[i%Zones], i)
		}
		zones[sh] = byZone
	}
	out := make([]int, n)
	for i := range out {
		sh := w.Shapes[i%len(w.Shapes)]
		k := i / len(w.Shapes)
		nodes := eligible[sh]
		switch sh {
		case TooBig, Gated:
			out[i] = -1
		case Spread:
			z := zones[sh][k%Zones]
			out[i] = z[(k/Zones)%len(z)]
		case AntiAffinity:
			g, j := k%groups, k/groups
			out[i] = nodes[(j+g*len(nodes)/groups)%len(nodes)]
		default:
			out[i] = nodes[k%len(nodes)]
		}
	}
	return out
}
