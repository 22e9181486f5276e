// Package placementcheck judges placements of pods against every hard scheduling constraint,
// from the Kubernetes API's semantics rather than from any scheduler's code. It is test
// support: the conformance tests (package conformance) run it on every placement of upstream
// kube-scheduler and of berth, and the decision fuzzer (scheduler/decide) on each of berth's
// decisions. The berth binary never imports it.
//
// A World is a cluster at the end of a phase: its nodes, the namespaces' labels, the pods
// bound before the phase began (terminating ones included) and the phase's incoming pods as
// they ended, bound or not. Check returns every hard constraint the incoming pods' placements
// break; pending pods break none.
//
//	w := &placementcheck.World{Nodes: nodes, NamespaceLabels: ns, Existing: before, Incoming: pods}
//	for _, v := range placementcheck.Check(w) {
//		t.Errorf("berth placement breaks a hard constraint: %v", v)
//	}
//
// # What it judges
//
// Node by node: cordons (NodeUnschedulable), NoSchedule and NoExecute taints against the
// tolerations, nodeSelector and required node affinity (every operator, matchFields on
// metadata.name). Across the pods on a node: host port conflicts (containers and sidecars,
// wildcard addresses, protocols) and requests summed per resource (sidecar-aware init
// containers, pod-level requests, overhead, extended resources, the pod count). Across the
// cluster: required inter-pod affinity and anti-affinity (both ways, namespaces,
// namespaceSelector, matchLabelKeys and mismatchLabelKeys) and DoNotSchedule topology
// spreading (minDomains, nodeAffinityPolicy, nodeTaintsPolicy, matchLabelKeys).
//
// Volumes, when the World carries the cluster's Storage (claims, PVs, CSINodes, CSIDrivers as
// they ended): every claim of a bound pod (generic ephemeral ones included) exists and is bound
// to a PV that names it back and whose required node affinity selects the node (VolumeBinding);
// such a PV's zone and region labels hold on the node unless the node has none (VolumeZone); a
// ReadWriteOncePod claim has one bound user, and pods on a node share no single-writer inline
// disk (VolumeRestrictions); the distinct CSI volumes of a node's pods stay within its CSINode's
// allocatable count per driver where an incoming pod added one, and a driver whose CSIDriver
// prevents scheduling where it is missing is listed by the node's CSINode (NodeVolumeLimits:
// CSI PVs only; VolumeAttachments and in-tree volumes migrating to CSI are not counted).
//
// Devices, when the World carries the cluster's dynamic resources (ResourceClaims, ResourceSlices,
// DeviceClasses as they ended): every ResourceClaim of a bound pod is allocated and reserved for
// it, its allocation's node selector selects the node, each device allocated is published by the
// newest generation of its pool in a slice that reaches the node, satisfies its class's and
// request's selectors where they are simple comparisons (others are not judged), and carries no
// taint the request does not tolerate, and has admin access exactly when asked; the class's
// opaque configuration is carried into the allocation; requests get their counts, matchAttribute and
// distinctAttribute constraints hold, capacity requests are rounded by their request policies and
// fit, a device that allows multiple allocations is held in shares (each with a shareID and its
// consumedCapacity) whose consumption stays within its capacity, no other device is held by two
// claims without admin access, and no pool's shared counters are overdrawn (DynamicResources).
//
// It judges the final state, so where several incoming pods interact it can only bound what
// each placement saw: required affinity allows the first pod of a series that matches its own
// terms, and spreading is exact for skews decided by pre-existing pods and, for sets of
// identical pods, checked by the invariant that a spread that started within maxSkew stays
// within it. With a single incoming pod every judgement is exact.
//
// Pods are read as the API server stores them: valid, with admission's changes applied (a
// RuntimeClass's overhead in spec.overhead). Resource amounts are integers (cpu in millicores,
// everything else in its base unit) that saturate at the int64 bounds; a saturated allocatable
// counts as unbounded, so quantities beyond int64 never produce a violation they might not
// deserve.
package placementcheck
