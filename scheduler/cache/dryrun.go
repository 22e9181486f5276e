package cache

import (
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// DryRunSnapshot returns a new snapshot of the cache as it is now, for a dry run of a decision
// (explain): the scheduling loop's snapshot is neither read nor advanced, and the cache keeps
// what it has still to copy into the loop's next UpdateSnapshot. When without is not empty, the
// pod with that UID is left out (its place, its nomination, its use of claims), so that a bound
// pod's decision can be recomputed on the cluster minus itself. It clones every node; the
// caller owns the result.
func (c *Cache) DryRunSnapshot(without types.UID) *snapshot.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	skip := c.pods[without]
	list := make([]*snapshot.NodeInfo, 0, len(c.nodes))
	for name, n := range c.nodes {
		if n.Node == nil {
			continue
		}
		clone := n.Clone()
		if skip != nil && skip.node == name {
			clone.RemovePod(skip.info)
		}
		list = append(list, clone)
	}
	sortNodes(list)
	snap := snapshot.New(list, maps.Clone(c.namespaces))
	nominated := map[string][]*snapshot.PodInfo{}
	for uid, n := range c.nominated {
		if uid != without {
			nominated[n.node] = append(nominated[n.node], n.info)
		}
	}
	for _, pods := range nominated {
		slices.SortFunc(pods, func(a, b *snapshot.PodInfo) int { return strings.Compare(string(a.Pod.UID), string(b.Pod.UID)) })
	}
	snap.SetNominated(nominated)
	c.storage.fill(snap.Storage)
	c.devices.fill(snap.Devices)
	if skip != nil {
		for _, k := range snapshot.PodClaims(skip.info.Pod) {
			snap.Storage.SetClaimUsers(k, max(0, c.storage.users.live[k]-1))
		}
	}
	return snap
}

// fill copies every object into a new snapshot's view, leaving the dirty keys for the next flush.
func (o *objects[K, V]) fill(set func(V)) {
	for _, v := range o.live {
		set(v)
	}
}

// fill copies every storage object into st, a new snapshot's (see DryRunSnapshot).
func (s *storage) fill(st *snapshot.Storage) {
	s.claims.fill(st.SetClaim)
	s.volumes.fill(st.SetVolume)
	s.classes.fill(st.SetClass)
	s.csiNodes.fill(st.SetCSINode)
	s.drivers.fill(st.SetDriver)
	s.capacities.fill(st.SetCapacity)
	s.attachments.fill(st.SetAttachment)
	for k, n := range s.users.live {
		st.SetClaimUsers(k, n)
	}
}

// fill copies every resource.k8s.io object into dv, a new snapshot's (see DryRunSnapshot).
func (d *devices) fill(dv *snapshot.Devices) {
	d.claims.fill(dv.SetClaim)
	d.classes.fill(dv.SetClass)
	d.slices.fill(dv.SetSlice)
	d.taintRules.fill(dv.SetTaintRule)
}
