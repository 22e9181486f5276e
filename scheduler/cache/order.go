package cache

import (
	"sort"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// sortNodes orders nodes as kube-scheduler's node tree does: round-robin across zones (region and
// zone labels), each zone's nodes in name order, so that sampling a prefix of the list (when
// percentageOfNodesToScore < 100) spreads over zones.
func sortNodes(nodes []*snapshot.NodeInfo) {
	byZone := map[string][]*snapshot.NodeInfo{}
	var zones []string
	for _, n := range nodes {
		z := zoneKey(n.Node)
		if _, ok := byZone[z]; !ok {
			zones = append(zones, z)
		}
		byZone[z] = append(byZone[z], n)
	}
	sort.Strings(zones)
	for _, z := range zones {
		l := byZone[z]
		sort.Slice(l, func(i, j int) bool { return l[i].Node.Name < l[j].Node.Name })
	}
	out := nodes[:0]
	for i := 0; len(out) < cap(out) && len(out) < len(nodes); i++ {
		for _, z := range zones {
			if i < len(byZone[z]) {
				out = append(out, byZone[z][i])
			}
		}
	}
}

func zoneKey(n *v1.Node) string {
	return n.Labels[v1.LabelTopologyRegion] + ":\x00:" + n.Labels[v1.LabelTopologyZone]
}
