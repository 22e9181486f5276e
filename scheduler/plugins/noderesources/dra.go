package noderesources

import (
	"slices"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"

	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Scoring extended resources backed by DRA (DRAExtendedResource), as upstream: when the scoring
// strategy names an extended resource that a DeviceClass provides, a node that does not advertise
// it (allocatable zero) is scored on the devices of the class it can reach instead: as many as
// match the class is its capacity, and the allocated ones (held whole by some claim) its use.
// As upstream, every slice that reaches the node counts, whatever its pool's generation, and a
// slice that names no node, node selector or allNodes counts everywhere.

// DeviceMatcher tells whether a device satisfies a DeviceClass's selectors
// (dynamicresources.ClassMatcher). It must be safe for concurrent use.
type DeviceMatcher interface {
	Matches(class *resourcev1.DeviceClass, driver string, d *resourcev1.Device) (bool, error)
}

// draScoring is one pod's view of the scored extended resources backed by DRA.
type draScoring struct {
	devs    *snapshot.Devices
	classes map[v1.ResourceName]*resourcev1.DeviceClass
	matcher DeviceMatcher
}

// draScoringFor returns the scoring of the scored resources a class provides in snap, or nil when
// there are none (or no matcher).
func (a *allocationScorer) draScoringFor(snap *snapshot.Snapshot) *draScoring {
	if a.matcher == nil || snap == nil || snap.Devices == nil {
		return nil
	}
	var classes map[v1.ResourceName]*resourcev1.DeviceClass
	for _, r := range a.resources {
		if r.kind != kindScalar {
			continue
		}
		if c := snap.Devices.ExtendedResourceClass(r.name); c != nil {
			if classes == nil {
				classes = map[v1.ResourceName]*resourcev1.DeviceClass{}
			}
			classes[r.name] = c
		}
	}
	if classes == nil {
		return nil
	}
	return &draScoring{devs: snap.Devices, classes: classes, matcher: a.matcher}
}

// amounts returns how many devices of the class providing r node can reach (capacity), and how
// many of them are allocated; 0, 0 when no class provides r, or a selector fails (upstream then
// leaves the resource out of the node's score).
func (d *draScoring) amounts(r v1.ResourceName, node *v1.Node) (capacity, allocated int64) {
	class := d.classes[r]
	if class == nil || node == nil {
		return 0, 0
	}
	for _, s := range slices.Concat(d.devs.NodeSlices(node.Name), d.devs.SelectingSlices()) {
		perDevice := s.Spec.PerDeviceNodeSelection != nil && *s.Spec.PerDeviceNodeSelection
		if !perDevice && !sliceReaches(s, node) {
			continue
		}
		for i := range s.Spec.Devices {
			dev := &s.Spec.Devices[i]
			if perDevice && !deviceReaches(dev, node) {
				continue
			}
			ok, err := d.matcher.Matches(class, s.Spec.Driver, dev)
			if err != nil {
				return 0, 0
			}
			if ok {
				capacity++
				if d.devs.Allocated(snapshot.DeviceID{Driver: s.Spec.Driver, Pool: s.Spec.Pool.Name, Device: dev.Name}) {
					allocated++
				}
			}
		}
	}
	return capacity, allocated
}

// sliceReaches reports whether slice s counts for node: its own node's, one for all nodes, one
// whose node selector selects the node, or one naming none of these.
func sliceReaches(s *resourcev1.ResourceSlice, node *v1.Node) bool {
	switch {
	case s.Spec.NodeName != nil && *s.Spec.NodeName != "":
		return *s.Spec.NodeName == node.Name
	case s.Spec.AllNodes != nil && *s.Spec.AllNodes:
		return true
	case s.Spec.NodeSelector != nil:
		return nodeaffinity.CompileSelector(s.Spec.NodeSelector).Matches(node)
	}
	return true
}

// deviceReaches reports whether a device of a slice with per-device node selection counts for
// node.
func deviceReaches(d *resourcev1.Device, node *v1.Node) bool {
	switch {
	case d.AllNodes != nil && *d.AllNodes:
		return true
	case d.NodeName != nil && *d.NodeName == node.Name:
		return true
	case d.NodeSelector != nil:
		return nodeaffinity.CompileSelector(d.NodeSelector).Matches(node)
	}
	return false
}
