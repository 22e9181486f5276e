package conformance

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/berth-scheduler/berth/testenv"
)

// The directed volume cases, one test per plugin. Each runs through both schedulers on two
// copies (see volume_test.go): the same pods stay pending with the same message, placements
// land where the case wants and pass placementcheck with their volumes.

// runVolumeCases runs each case as a subtest, its scenario id prefix and its index.
func runVolumeCases(t *testing.T, prefix string, cases []volCase) {
	for i := range cases {
		vc := &cases[i]
		t.Run(vc.name, func(t *testing.T) {
			up, be := runVolumeCase(t, fmt.Sprintf("%s%d", prefix, i), vc)
			if up == nil || be == nil {
				return
			}
			compareVolumes(t, vc, up, be)
		})
	}
}

// threeNodes are nodes a, b and c in zones z1, z2 and z3.
func threeNodes() []testenv.NodeSpec {
	return []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z2")}, {Name: "c", Labels: zone("z3")}}
}

func only(pod string, nodes ...string) map[string][]string { return map[string][]string{pod: nodes} }

// TestVolumeBinding: claims that are missing, unbound with an Immediate class, bound to a PV
// with node affinity, or waiting for their first consumer, matched to static PVs (the smallest
// that fits, on a node it reaches) or provisioned (where the class's allowed topologies and
// the driver's published storage capacity allow).
func TestVolumeBinding(t *testing.T) {
	rwo := v1.ReadWriteOnce
	fixedPV, fixedClaim := boundPair("fixed", "", "1Gi", rwo, onNodes("b"))
	fixedBC, fixedBCClaim := boundPair("fixed", "", "1Gi", rwo, onNodes("b", "c"))
	capacityDriver := csiDriver(capDriver, func(s *storagev1.CSIDriverSpec) { s.StorageCapacity = ptrTo(true) })
	cases := []volCase{
		{name: "a missing claim keeps the pod off every node", nodes: threeNodes(), pods: []*v1.Pod{vPod("pod", "data")}},
		{name: "an unbound claim of an Immediate class", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{immediate("now", noProvisioner)},
			claims:  []*v1.PersistentVolumeClaim{newClaim("data", "now", "1Gi")},
			pods:    []*v1.Pod{vPod("pod", "data")}},
		{name: "a claim pre-bound to a PV that does not exist", nodes: threeNodes(),
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "", "1Gi", claimOn("ghost"))},
			pods:   []*v1.Pod{vPod("pod", "data")}},
		{name: "a claim of a class that does not exist", nodes: threeNodes(),
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "nowhere", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "data")}},
		{name: "a claim being deleted", nodes: threeNodes(),
			pvs: []*v1.PersistentVolume{fixedPV}, claims: []*v1.PersistentVolumeClaim{fixedClaim}, deleting: []string{"fixed"},
			pods: []*v1.Pod{vPod("pod", "fixed")}},
		{name: "a claim whose PV is gone", nodes: threeNodes(),
			pvs: []*v1.PersistentVolume{fixedPV}, claims: []*v1.PersistentVolumeClaim{fixedClaim}, lost: []string{"fixed"},
			pods: []*v1.Pod{vPod("pod", "fixed")}},
		{name: "a generic ephemeral volume whose claim is not created yet", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("dyn", testProvisioner)},
			pods:    []*v1.Pod{with(vPod("pod"), withEphemeral("scratch", "dyn"))}},
		{name: "a generic ephemeral volume's claim the pod does not own", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("dyn", testProvisioner)}, provisioned: []string{"dyn"},
			claims: []*v1.PersistentVolumeClaim{newClaim("pod-scratch", "dyn", "1Gi")},
			pods:   []*v1.Pod{with(vPod("pod"), withEphemeral("scratch", "dyn"))}},
		{name: "a generic ephemeral volume, provisioned", nodes: threeNodes(), ephemeral: true,
			classes: []*storagev1.StorageClass{wffc("dyn", testProvisioner, inZones("z1", "z3"))}, provisioned: []string{"dyn"},
			pods: []*v1.Pod{with(vPod("pod"), withEphemeral("scratch", "dyn"))}, want: only("pod", "a", "c")},
		{name: "a bound PV's node affinity admits its node only", nodes: threeNodes(),
			pvs: []*v1.PersistentVolume{fixedPV}, claims: []*v1.PersistentVolumeClaim{fixedClaim},
			pods: []*v1.Pod{vPod("pod", "fixed")}, want: only("pod", "b")},
		{name: "a bound PV's only node is cordoned",
			nodes: []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z2"), Unschedulable: true}, {Name: "c", Labels: zone("z3")}},
			pvs:   []*v1.PersistentVolume{fixedPV}, claims: []*v1.PersistentVolumeClaim{fixedClaim},
			pods: []*v1.Pod{vPod("pod", "fixed")}},
		{name: "WaitForFirstConsumer: the smallest PV that fits, on the node it leaves least used", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs: []*v1.PersistentVolume{hostPathPV("a-1g", "static", "1Gi", onNodes("a")), hostPathPV("b-5g", "static", "5Gi", onNodes("b")),
				hostPathPV("b-2g", "static", "2Gi", onNodes("b")), hostPathPV("c-500m", "static", "500Mi", onNodes("c"))},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "static", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "data")}, want: only("pod", "b"), wantPV: map[string]string{"data": "b-2g"}},
		{name: "WaitForFirstConsumer: equal PVs on two nodes", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs:     []*v1.PersistentVolume{hostPathPV("a-2g", "static", "2Gi", onNodes("a")), hostPathPV("b-2g", "static", "2Gi", onNodes("b"))},
			claims:  []*v1.PersistentVolumeClaim{newClaim("data", "static", "1Gi")},
			pods:    []*v1.Pod{vPod("pod", "data")}, want: only("pod", "a", "b")},
		{name: "WaitForFirstConsumer: a PV by zone affinity and the claim's selector", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs: []*v1.PersistentVolume{hostPathPV("gold-z2", "static", "2Gi", pvAffinity(labelZone, "z2", "z3"), pvLabels("tier", "gold")),
				hostPathPV("silver-z1", "static", "2Gi", pvAffinity(labelZone, "z1"), pvLabels("tier", "silver"))},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "static", "1Gi", claimSelector("tier", "gold"))},
			pods:   []*v1.Pod{vPod("pod", "data")}, want: only("pod", "b", "c"), wantPV: map[string]string{"data": "gold-z2"}},
		{name: "WaitForFirstConsumer: no PV matches size, access modes, selector or class", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner), wffc("other", noProvisioner)},
			pvs: []*v1.PersistentVolume{hostPathPV("small", "static", "500Mi", onNodes("a"), pvLabels("tier", "gold")),
				hostPathPV("read-only", "static", "2Gi", onNodes("b"), pvModes(v1.ReadOnlyMany), pvLabels("tier", "gold")),
				hostPathPV("silver", "static", "2Gi", onNodes("c"), pvLabels("tier", "silver")),
				hostPathPV("other-class", "other", "2Gi", onNodes("c"), pvLabels("tier", "gold"))},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "static", "1Gi", claimSelector("tier", "gold"))},
			pods:   []*v1.Pod{vPod("pod", "data")}},
		{name: "WaitForFirstConsumer: a no-provisioner class without PVs", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			claims:  []*v1.PersistentVolumeClaim{newClaim("data", "static", "1Gi")},
			pods:    []*v1.Pod{vPod("pod", "data")}},
		{name: "WaitForFirstConsumer: a bound claim and a claim to match, on the node both allow", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs: []*v1.PersistentVolume{fixedBC, hostPathPV("s-a", "static", "1Gi", onNodes("a")),
				hostPathPV("s-b", "static", "1Gi", onNodes("b"))},
			claims: []*v1.PersistentVolumeClaim{fixedBCClaim, newClaim("data", "static", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "fixed", "data")}, want: only("pod", "b"), wantPV: map[string]string{"data": "s-b"}},
		{name: "WaitForFirstConsumer: a bound claim and a claim to match, on no common node", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs:     []*v1.PersistentVolume{fixedPV, hostPathPV("s-a", "static", "1Gi", onNodes("a"))},
			claims:  []*v1.PersistentVolumeClaim{fixedClaim, newClaim("data", "static", "1Gi")},
			pods:    []*v1.Pod{vPod("pod", "fixed", "data")}},
		{name: "WaitForFirstConsumer: a claim's VolumeAttributesClass", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs: []*v1.PersistentVolume{hostPathPV("gold-a", "static", "2Gi", onNodes("a"), csiVolume(attDriver), pvAttributes("gold")),
				hostPathPV("plain-b", "static", "1Gi", onNodes("b"), csiVolume(attDriver)),
				hostPathPV("silver-c", "static", "1Gi", onNodes("c"), csiVolume(attDriver), pvAttributes("silver"))},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "static", "1Gi", func(c *v1.PersistentVolumeClaim) { c.Spec.VolumeAttributesClassName = ptrTo("gold") })},
			pods:   []*v1.Pod{vPod("pod", "data")}, want: only("pod", "a"), wantPV: map[string]string{"data": "gold-a"}},
		{name: "WaitForFirstConsumer: a claim with a selected node skips static PVs", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs:     []*v1.PersistentVolume{hostPathPV("s-a", "static", "1Gi", onNodes("a")), hostPathPV("s-b", "static", "1Gi", onNodes("b"))},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "static", "1Gi", func(c *v1.PersistentVolumeClaim) {
				c.Annotations = map[string]string{testenv.AnnSelectedNode: "b"}
			})},
			pods: []*v1.Pod{vPod("pod", "data")}},
		{name: "WaitForFirstConsumer: two claims need two PVs on one node", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs: []*v1.PersistentVolume{hostPathPV("a1", "static", "1Gi", onNodes("a")), hostPathPV("a2", "static", "1Gi", onNodes("a")),
				hostPathPV("b1", "static", "1Gi", onNodes("b"))},
			claims: []*v1.PersistentVolumeClaim{newClaim("d1", "static", "1Gi"), newClaim("d2", "static", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "d1", "d2")}, want: only("pod", "a")},
		{name: "WaitForFirstConsumer: three claims compete for two PVs", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("static", noProvisioner)},
			pvs:     []*v1.PersistentVolume{hostPathPV("pv-a", "static", "1Gi", onNodes("a")), hostPathPV("pv-b", "static", "1Gi", onNodes("b"))},
			claims: []*v1.PersistentVolumeClaim{newClaim("d1", "static", "1Gi"), newClaim("d2", "static", "1Gi"),
				newClaim("d3", "static", "1Gi")},
			pods: []*v1.Pod{vPod("p1", "d1"), vPod("p2", "d2"), vPod("p3", "d3")}, loose: true, placed: 2},
		{name: "WaitForFirstConsumer: provisioned on any node", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("dyn", testProvisioner)}, provisioned: []string{"dyn"},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "dyn", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "data")}, want: only("pod", "a", "b", "c")},
		{name: "WaitForFirstConsumer: provisioned within the class's allowed topologies", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("dyn", testProvisioner, inZones("z2"))}, provisioned: []string{"dyn"},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "dyn", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "data")}, want: only("pod", "b")},
		{name: "WaitForFirstConsumer: allowed topologies no node is in", nodes: threeNodes(),
			classes: []*storagev1.StorageClass{wffc("dyn", testProvisioner, inZones("z9"))}, provisioned: []string{"dyn"},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "dyn", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "data")}},
		{name: "WaitForFirstConsumer: provisioned where the driver publishes enough capacity", nodes: threeNodes(),
			drivers: []*storagev1.CSIDriver{capacityDriver},
			classes: []*storagev1.StorageClass{wffc("cap", capDriver)}, provisioned: []string{"cap"},
			capacities: []*storagev1.CSIStorageCapacity{capacityIn("z1", "cap", "z1", "500Mi", ""), capacityIn("z2", "cap", "z2", "10Gi", "")},
			claims:     []*v1.PersistentVolumeClaim{newClaim("data", "cap", "1Gi")},
			pods:       []*v1.Pod{vPod("pod", "data")}, want: only("pod", "b")},
		{name: "WaitForFirstConsumer: provisioned where the published capacity is least used", nodes: threeNodes(),
			drivers: []*storagev1.CSIDriver{capacityDriver},
			classes: []*storagev1.StorageClass{wffc("cap", capDriver)}, provisioned: []string{"cap"},
			capacities: []*storagev1.CSIStorageCapacity{capacityIn("z1", "cap", "z1", "10Gi", ""), capacityIn("z2", "cap", "z2", "100Gi", ""),
				capacityIn("z3", "cap", "z3", "2Gi", "")},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "cap", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "data")}, want: only("pod", "b")},
		{name: "WaitForFirstConsumer: not enough published capacity anywhere", nodes: threeNodes(),
			drivers: []*storagev1.CSIDriver{capacityDriver},
			classes: []*storagev1.StorageClass{wffc("cap", capDriver)}, provisioned: []string{"cap"},
			capacities: []*storagev1.CSIStorageCapacity{capacityIn("z1", "cap", "z1", "500Mi", ""), capacityIn("z2", "cap", "z2", "10Gi", "512Mi")},
			claims:     []*v1.PersistentVolumeClaim{newClaim("data", "cap", "1Gi")},
			pods:       []*v1.Pod{vPod("pod", "data")}},
	}
	each, eachClaim := boundPair("fixed", "", "1Gi", rwo, onNodes("a", "b", "c", "e"), pvLabels(labelZone, "z1"), csiVolume(attDriver))
	cases = append(cases, volCase{name: "each node fails a different volume plugin",
		nodes: []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z1"), Unschedulable: true},
			{Name: "c", Labels: zone("z2")}, {Name: "d", Labels: zone("z1")}, {Name: "e", Labels: zone("z1")}},
		csiNodes: []*storagev1.CSINode{csiNodeOf("a", map[string]int32{attDriver: 0})},
		pvs:      []*v1.PersistentVolume{each}, claims: []*v1.PersistentVolumeClaim{eachClaim},
		existing: []*v1.Pod{on("e", with(dPod(""), withDisk("pd-1", false)))},
		pods:     []*v1.Pod{with(vPod("pod", "fixed"), withDisk("pd-1", false))}})
	runVolumeCases(t, "vb", cases)
}

// TestVolumeZone: a bound PV's zone and region labels against the nodes'.
func TestVolumeZone(t *testing.T) {
	rwo := v1.ReadWriteOnce
	zonedPV := func(kv ...string) []*v1.PersistentVolume {
		pv, _ := boundPair("zoned", "", "1Gi", rwo, pvLabels(kv...))
		return []*v1.PersistentVolume{pv}
	}
	_, zonedClaim := boundPair("zoned", "", "1Gi", rwo)
	claims := []*v1.PersistentVolumeClaim{zonedClaim}
	pods := []*v1.Pod{vPod("pod", "zoned")}
	cases := []volCase{
		{name: "a PV's zone admits the nodes of that zone",
			nodes: []testenv.NodeSpec{{Name: "a", Labels: zone("z1")}, {Name: "b", Labels: zone("z2")}, {Name: "c", Labels: zone("z1")}},
			pvs:   zonedPV(labelZone, "z1"), claims: claims, pods: pods, want: only("pod", "a", "c")},
		{name: "a PV in two zones", nodes: threeNodes(),
			pvs: zonedPV(labelZone, "z1__z3"), claims: claims, pods: pods, want: only("pod", "a", "c")},
		{name: "no node in the PV's zone", nodes: threeNodes(), pvs: zonedPV(labelZone, "z9"), claims: claims, pods: pods},
		{name: "a node without zone labels takes any zone",
			nodes: []testenv.NodeSpec{{Name: "a", Labels: zone("z2")}, {Name: "b"}},
			pvs:   zonedPV(labelZone, "z1"), claims: claims, pods: pods, want: only("pod", "b")},
		{name: "a PV's region",
			nodes: []testenv.NodeSpec{{Name: "a", Labels: zone("z1", v1.LabelTopologyRegion, "r2")}, {Name: "b", Labels: zone("z1", v1.LabelTopologyRegion, "r1")}},
			pvs:   zonedPV(v1.LabelTopologyRegion, "r1"), claims: claims, pods: pods, want: only("pod", "b")},
		{name: "a PV's beta zone label against the nodes' GA label", nodes: threeNodes(),
			pvs: zonedPV(v1.LabelFailureDomainBetaZone, "z3"), claims: claims, pods: pods, want: only("pod", "c")},
	}
	runVolumeCases(t, "vz", cases)
}

// TestVolumeRestrictions: ReadWriteOncePod claims.
func TestVolumeRestrictions(t *testing.T) {
	soloPV, soloClaim := boundPair("solo", "", "1Gi", v1.ReadWriteOncePod)
	sharedPV, sharedClaim := boundPair("shared", "", "1Gi", v1.ReadWriteOnce)
	two := []testenv.NodeSpec{{Name: "a"}, {Name: "b"}}
	cases := []volCase{
		{name: "a ReadWriteOncePod claim in use by a bound pod", nodes: two,
			pvs: []*v1.PersistentVolume{soloPV}, claims: []*v1.PersistentVolumeClaim{soloClaim},
			existing: []*v1.Pod{on("a", with(dPod(""), withClaims("solo")))}, pods: []*v1.Pod{vPod("pod", "solo")}},
		{name: "a ReadWriteOncePod claim no pod uses", nodes: two,
			pvs: []*v1.PersistentVolume{soloPV}, claims: []*v1.PersistentVolumeClaim{soloClaim},
			pods: []*v1.Pod{vPod("pod", "solo")}, want: only("pod", "a", "b")},
		{name: "a higher-priority pod preempts the user of a ReadWriteOncePod claim", nodes: two,
			pvs: []*v1.PersistentVolume{soloPV}, claims: []*v1.PersistentVolumeClaim{soloClaim},
			existing: []*v1.Pod{on("a", with(dPod(""), func(p *v1.Pod) { withClaims("solo")(p); p.Spec.PriorityClassName = classFor(100, false) }))},
			pods:     []*v1.Pod{with(vPod("pod", "solo"), func(p *v1.Pod) { p.Spec.PriorityClassName = classFor(10000, false) })},
			want:     only("pod", "a", "b"), evicted: []string{"e0"}},
		{name: "two incoming pods share a ReadWriteOncePod claim", nodes: two,
			pvs: []*v1.PersistentVolume{soloPV}, claims: []*v1.PersistentVolumeClaim{soloClaim},
			pods: []*v1.Pod{vPod("p1", "solo"), vPod("p2", "solo")}, loose: true, placed: 1},
		{name: "an inline disk a pod on the node uses", nodes: two,
			existing: []*v1.Pod{on("a", with(dPod(""), withDisk("pd-1", false)))},
			pods:     []*v1.Pod{with(vPod("pod"), withDisk("pd-1", false))}, want: only("pod", "b")},
		{name: "an inline disk every node's pods use", nodes: two,
			existing: []*v1.Pod{on("a", with(dPod(""), withDisk("pd-1", false))), on("b", with(dPod(""), withDisk("pd-1", true)))},
			pods:     []*v1.Pod{with(vPod("pod"), withDisk("pd-1", false))}},
		{name: "an inline disk mounted read-only by both", nodes: two,
			existing: []*v1.Pod{on("a", with(dPod(""), withDisk("pd-1", true)))},
			pods:     []*v1.Pod{with(vPod("pod"), withDisk("pd-1", true))}, want: only("pod", "a", "b")},
		{name: "a ReadWriteOnce claim in use by a bound pod", nodes: two,
			pvs: []*v1.PersistentVolume{sharedPV}, claims: []*v1.PersistentVolumeClaim{sharedClaim},
			existing: []*v1.Pod{on("a", with(dPod(""), withClaims("shared")))}, pods: []*v1.Pod{vPod("pod", "shared")}, want: only("pod", "a", "b")},
	}
	runVolumeCases(t, "vr", cases)
}

// TestVolumeLimits: NodeVolumeLimits, CSINode allocatable counts per CSI driver.
func TestVolumeLimits(t *testing.T) {
	rwo := v1.ReadWriteOnce
	csiPair := func(name, driver string) (*v1.PersistentVolume, *v1.PersistentVolumeClaim) {
		return boundPair(name, "", "1Gi", rwo, csiVolume(driver))
	}
	e1, e1c := csiPair("e1", attDriver)
	e2, e2c := csiPair("e2", attDriver)
	n, nc := csiPair("new", attDriver)
	s, sc := csiPair("strict", strictDriver)
	limits := func(a, b int32) []*storagev1.CSINode {
		return []*storagev1.CSINode{csiNodeOf("a", map[string]int32{attDriver: a}), csiNodeOf("b", map[string]int32{attDriver: b})}
	}
	two := []testenv.NodeSpec{{Name: "a"}, {Name: "b"}}
	uses := func(node string, claims ...string) *v1.Pod { return on(node, with(dPod(""), withClaims(claims...))) }
	ebsPV, ebsClaim := boundPair("ebs", "", "1Gi", rwo, func(pv *v1.PersistentVolume) {
		pv.Spec.PersistentVolumeSource = v1.PersistentVolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-2"}}
	})
	strict := csiDriver(strictDriver, func(s *storagev1.CSIDriverSpec) { s.PreventPodSchedulingIfMissing = ptrTo(true) })
	cases := []volCase{
		{name: "a node at its CSI volume limit", nodes: two, csiNodes: limits(1, 1),
			pvs: []*v1.PersistentVolume{e1, n}, claims: []*v1.PersistentVolumeClaim{e1c, nc},
			existing: []*v1.Pod{uses("a", "e1")}, pods: []*v1.Pod{vPod("pod", "new")}, want: only("pod", "b")},
		{name: "every node at its CSI volume limit", nodes: two, csiNodes: limits(1, 1),
			pvs: []*v1.PersistentVolume{e1, e2, n}, claims: []*v1.PersistentVolumeClaim{e1c, e2c, nc},
			existing: []*v1.Pod{uses("a", "e1"), uses("b", "e2")}, pods: []*v1.Pod{vPod("pod", "new")}},
		{name: "two incoming pods compete for a node's last CSI volume", nodes: two, csiNodes: limits(1, 0),
			pvs: []*v1.PersistentVolume{e1, e2}, claims: []*v1.PersistentVolumeClaim{e1c, e2c},
			pods: []*v1.Pod{vPod("p1", "e1"), vPod("p2", "e2")}, loose: true, placed: 1},
		{name: "a higher-priority pod preempts a pod holding the node's last CSI volume", nodes: two, csiNodes: limits(1, 0),
			pvs: []*v1.PersistentVolume{e1, n}, claims: []*v1.PersistentVolumeClaim{e1c, nc},
			existing: []*v1.Pod{with(uses("a", "e1"), func(p *v1.Pod) { p.Spec.PriorityClassName = classFor(100, false) })},
			pods:     []*v1.Pod{with(vPod("pod", "new"), func(p *v1.Pod) { p.Spec.PriorityClassName = classFor(10000, false) })},
			want:     only("pod", "a"), evicted: []string{"e0"}},
		{name: "a volume already on the node counts once", nodes: two, csiNodes: limits(1, 0),
			pvs: []*v1.PersistentVolume{e1}, claims: []*v1.PersistentVolumeClaim{e1c},
			existing: []*v1.Pod{uses("a", "e1")}, pods: []*v1.Pod{vPod("pod", "e1")}, want: only("pod", "a")},
		{name: "a VolumeAttachment fills the node", nodes: two, csiNodes: limits(1, 1),
			pvs:         []*v1.PersistentVolume{hostPathPV("attached", "", "1Gi", csiVolume(attDriver)), n},
			claims:      []*v1.PersistentVolumeClaim{nc},
			attachments: []*storagev1.VolumeAttachment{attachment("va", attDriver, "a", "attached")},
			pods:        []*v1.Pod{vPod("pod", "new")}, want: only("pod", "b")},
		{name: "a VolumeAttachment of the pod's own volume", nodes: two, csiNodes: limits(1, 1),
			pvs: []*v1.PersistentVolume{n}, claims: []*v1.PersistentVolumeClaim{nc},
			attachments: []*storagev1.VolumeAttachment{attachment("va", attDriver, "a", "new")},
			pods:        []*v1.Pod{vPod("pod", "new")}, want: only("pod", "b")},
		{name: "in-tree volumes count against the CSI driver they migrate to", nodes: two,
			csiNodes: []*storagev1.CSINode{csiNodeOf("a", map[string]int32{ebsDriver: 2}), csiNodeOf("b", map[string]int32{ebsDriver: 2})},
			pvs:      []*v1.PersistentVolume{ebsPV}, claims: []*v1.PersistentVolumeClaim{ebsClaim},
			existing: []*v1.Pod{on("a", with(dPod(""), func(p *v1.Pod) { withClaims("ebs")(p); withEBS("vol-1")(p) }))},
			pods:     []*v1.Pod{with(vPod("pod"), withEBS("vol-3"))}, want: only("pod", "b")},
		{name: "an unbound claim counts against its class's provisioner", nodes: two, csiNodes: limits(0, 1),
			classes: []*storagev1.StorageClass{wffc("att", attDriver)}, provisioned: []string{"att"},
			claims: []*v1.PersistentVolumeClaim{newClaim("data", "att", "1Gi")},
			pods:   []*v1.Pod{vPod("pod", "data")}, want: only("pod", "b")},
		{name: "a driver that must be installed", nodes: threeNodes(), drivers: []*storagev1.CSIDriver{strict},
			csiNodes: []*storagev1.CSINode{csiNodeOf("a", map[string]int32{strictDriver: -1}), csiNodeOf("b", map[string]int32{attDriver: 5})},
			pvs:      []*v1.PersistentVolume{s}, claims: []*v1.PersistentVolumeClaim{sc},
			pods: []*v1.Pod{vPod("pod", "strict")}, want: only("pod", "a")},
		{name: "a driver no node installs", nodes: threeNodes(), drivers: []*storagev1.CSIDriver{strict},
			csiNodes: []*storagev1.CSINode{csiNodeOf("b", map[string]int32{attDriver: 5})},
			pvs:      []*v1.PersistentVolume{s}, claims: []*v1.PersistentVolumeClaim{sc},
			pods: []*v1.Pod{vPod("pod", "strict")}},
	}
	runVolumeCases(t, "vl", cases)
}
