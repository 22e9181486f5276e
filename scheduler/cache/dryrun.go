package cache

import (
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// DryRunSnapshot returns a new snapshot of the cache as it is now, for a dry run of a decision
// (explain): the scheduling loop's snapshot is neither read nor advanced, and the cache keeps
// what it has still to copy into the loop's next UpdateSnapshot. When without is not empty, the
// pod with that UID is left out (its place, its nomination, its use of claims), so that a bound
// pod's decision can be recomputed on the cluster minus itself. The caller owns the result.
//
// It shares the immutable node clones of the loop's last snapshot and clones only the nodes
// changed since, so that the cache's lock, which informer handlers and the loop wait for, is
// held briefly; the snapshot's indexes are built after it is released.
func (c *Cache) DryRunSnapshot(without types.UID) *snapshot.Snapshot {
	d := c.dryRun(without)
	for _, pods := range d.nominated {
		slices.SortFunc(pods, func(a, b *snapshot.PodInfo) int { return strings.Compare(string(a.Pod.UID), string(b.Pod.UID)) })
	}
	var snap *snapshot.Snapshot
	if d.positions != nil {
		snap = snapshot.NewAt(d.nodes, d.positions, d.namespaces)
	} else {
		sortNodes(d.nodes)
		snap = snapshot.New(d.nodes, d.namespaces)
	}
	snap.SetNominated(d.nominated)
	snap.Storage, snap.Devices = d.storage, d.devices
	snap.Time = time.Now()
	return snap
}

// dryRunParts is what DryRunSnapshot copies under the cache's lock.
type dryRunParts struct {
	nodes      []*snapshot.NodeInfo
	namespaces map[string]labels.Set
	nominated  map[string][]*snapshot.PodInfo
	storage    *snapshot.Storage
	devices    *snapshot.Devices
	// positions, when not nil, are the loop's snapshot's, and nodes are in its order already.
	positions map[string]int
}

// dryRun copies, under the lock, what a dry-run snapshot is built from (see DryRunSnapshot).
func (c *Cache) dryRun(without types.UID) dryRunParts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var skip *snapshot.PodInfo
	skipNode := ""
	if ps, ok := c.pods[without]; ok {
		skip, skipNode = ps.info, ps.node
	}
	d := dryRunParts{
		namespaces: maps.Clone(c.namespaces), nominated: map[string][]*snapshot.PodInfo{},
		storage: snapshot.NewStorage(), devices: snapshot.NewDevices(),
	}
	if !c.nodeSetChange && c.frozen != nil {
		// The node set is the loop's: share its clones, in its order, and its positions; clone
		// only the nodes changed since.
		d.nodes, d.positions = slices.Clone(c.frozen), c.frozenAt
		for name := range c.dirty {
			if i, ok := c.frozenAt[name]; ok {
				d.nodes[i] = c.nodes[name].Clone()
			}
		}
		if i, ok := c.frozenAt[skipNode]; ok && skip != nil {
			clone := c.nodes[skipNode].Clone()
			clone.RemovePod(skip)
			d.nodes[i] = clone
		}
	} else {
		d.nodes = make([]*snapshot.NodeInfo, 0, len(c.nodes))
		for name, n := range c.nodes {
			if n.Node == nil {
				continue
			}
			clone := n.Clone()
			if name == skipNode {
				clone.RemovePod(skip)
			}
			d.nodes = append(d.nodes, clone)
		}
	}
	for uid, n := range c.nominated {
		if uid != without {
			d.nominated[n.node] = append(d.nominated[n.node], n.info)
		}
	}
	c.storage.fill(d.storage)
	c.devices.fill(d.devices)
	if skip != nil {
		for _, k := range snapshot.PodClaims(skip.Pod) {
			d.storage.SetClaimUsers(k, max(0, c.storage.users.live[k]-1))
		}
	}
	return d
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
	dv.SetPending(d.pendingAllocations())
	d.classes.fill(dv.SetClass)
	d.slices.fill(dv.SetSlice)
	d.taintRules.fill(dv.SetTaintRule)
}
