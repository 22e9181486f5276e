// Package conformance runs upstream kube-scheduler and berth side by side on one real control plane
// and checks that berth places pods by the same hard rules. It holds only tests; this file is its
// documentation.
//
// # What runs
//
// TestMain starts etcd and kube-apiserver (package testenv), then two scheduler processes for the
// whole package: upstream kube-scheduler v1.37.2 with a profile named "upstream", and berth,
// which schedules pods whose spec.schedulerName is "default-scheduler", each from a
// KubeSchedulerConfiguration file. Each has a second profile ("upstream-gpu-scored",
// "berth-gpu-scored") that scores MostAllocated over cpu, memory and DRA-backed GPUs, for
// TestDRAExtendedResourceScoring. Both use the system:kube-scheduler identity and run without
// leader election. BERTH_BIN selects a prebuilt
// berth binary; otherwise the tree is built with -race. Tests run one at a time: nodes are
// cluster-wide and both schedulers see all of them.
//
// # The generated scenarios (TestConformance)
//
// A scenario is made from one seed: 3-8 nodes with labels (some empty-valued), taints, cordons,
// conditions and capacity (cpu, memory, ephemeral-storage, pods, example.com/gpu,
// hugepages-2Mi); 2-3 labelled namespaces; pods already bound by spec.nodeName (covering
// NodeName), some holding host ports, some with required anti-affinity (or affinity, which binds
// only themselves), some terminating; and 5 to 17 incoming pods that use every filter:
// NodeUnschedulable, TaintToleration (NoSchedule/NoExecute), NodeAffinity (nodeSelector,
// required terms with every operator, matchFields), NodePorts, NodeResourcesFit (requests, init
// containers, sidecars, pod-level requests, RuntimeClass overhead, extended resources, huge
// pages, pod count), PodTopologySpread (DoNotSchedule with minDomains, nodeAffinityPolicy,
// nodeTaintsPolicy, matchLabelKeys) and InterPodAffinity (required affinity and anti-affinity,
// existing pods' anti-affinity, namespaces, namespaceSelector, matchLabelKeys and
// mismatchLabelKeys). Preferences are added as noise: they must not change what fits.
//
// Per scenario: create the objects (some nodes and existing pods first as a different draft,
// then updated, so that caches must apply updates); make sure both schedulers have seen them (a
// probe pod per scheduler pinned to the newest node: the pod watch is ordered, so a bound probe
// proves the earlier pods were seen, and the newest node the earlier nodes and deletions); phase
// A creates the incoming pods for upstream and waits until they settle (each bound or marked
// PodScheduled=False, and with any pending, nothing changed for 500ms), records and deletes
// them; phase B does the same for berth; then everything is deleted. A scenario takes about 2s.
//
// # Why "the same pods stay pending" is well defined
//
// The two schedulers pick different nodes among equally good ones and bind in different orders,
// so the generator only builds scenarios in which whether a pod can be placed does not depend on
// where earlier pods went:
//
//   - Capacity: for every node and resource, the incoming pods that would fit alone on the
//     node's free capacity also fit all together. A node is either roomy or too small for them
//     (the generator raises or lowers its allocatable until this holds), so a pod's fit never
//     depends on which other incoming pods landed there.
//   - Independent pods (groups of one) look only at the fixed cluster: their affinity,
//     anti-affinity and spreading selectors need the "app" label, which only pre-existing pods
//     carry, and their host port numbers are used by no other incoming pod.
//   - Groups of identical pods interact only with themselves (label conf.berth.test/grp): a
//     self anti-affinity group, a self affinity group, a topology spread group whose selector
//     matches its own pods, or a group sharing one host port. How many of them can be placed
//     does not depend on the order (for spreading: every feasible domain fills up to
//     min+maxSkew, where min is held by domains the pods cannot enter), and a pod rejected once
//     stays rejected, so no retry can change the outcome.
//
// So the comparison is per group: the same number of pending pods (for a group of one, the same
// pod). A group left wholly pending was judged against the fixed cluster alone, so its pods must
// also carry the same FailedScheduling message, including what preemption appends
// (" preemption: 0/N nodes are available: ..."): every pod has the same priority, so preemption
// finds no victims, and which nodes it says so of is fixed by the filters' verdicts.
//
// Every mismatch reports the seed, the whole scenario and both outcomes. Rerun one scenario with
//
//	go test ./conformance -run 'TestConformance$' -conformance.seed=N -v
//
// (or BERTH_CONFORMANCE_SEED=N). -conformance.scenarios sets how many scenarios run (default 50),
// -conformance.base their first seed (default: from the clock, printed) and -conformance.show
// logs every scenario and outcome.
//
// # The preemption scenarios (TestPreemption)
//
// A scenario is made from one seed: 3-6 nodes (some tainted, cordoned or full in pod count); one to four
// existing pods per node, bound by spec.nodeName, each of a priority tier (PriorityClasses of
// value 0, 100, 1000 and 10000, created once; the API server's Priority admission sets
// spec.priority), each with its own status.startTime, some covered by PodDisruptionBudgets
// whose status (0 to 2 disruptions allowed) the test sets, as no disruption controller runs; and
// one to three preemptors of priority 1000 or 10000, some with preemptionPolicy Never, some with
// required anti-affinity or topology spreading over the existing pods' labels, or carrying a
// label that existing pods' anti-affinity selects, each asking for more cpu than any node it
// could otherwise take has free. Every pod has terminationGracePeriodSeconds 0: with no kubelet,
// only then is a deleted bound pod gone at once.
//
// The scenario is created twice, a copy per scheduler (own namespaces, node names prefixed, the
// nodes labelled with their copy and the preemptors selecting it), and the two schedulers work
// at once, each on its copy; so no restore is needed and a scenario takes about 1.3s. In each
// copy the preemptors come one at a time: the next is created once the one before has settled
// (bound, or marked unschedulable with no nominated node and nothing changed for 500ms). The
// pods deleted meanwhile are its victims. A bound preemptor is given a start time, as a kubelet
// would, and stays (a later preemptor may evict it); a pending one is deleted.
//
// Why the comparison is well defined: upstream's choice is a function of the cluster. It tries
// every node the filters rejected for a reason preemption may resolve (it wants at least 100
// candidates, so all of them here); on each it removes every lower-priority pod, then adds them
// back one by one, most important first (higher priority, then earlier start; pods whose
// eviction would exceed a budget before the others), keeping those that still let the
// preemptor fit. Among the nodes that work it picks the fewest budget violations, then the
// lowest highest victim priority, the lowest sum of victim priorities, the fewest victims, the
// latest start of the highest-priority victims, and last the first node found (random). No two
// pods here start in the same second and no pod is covered by two budgets, so the order on a
// node is total and the start-time criterion always separates nodes: node and victims are
// determined. The test asks for less: a preemptor bound by one scheduler is bound by the other,
// after evicting pods of the same priorities (as a multiset), and one left pending gets the same
// FailedScheduling message, its " preemption: ..." part included (e.g. "preemption: not
// eligible due to preemptionPolicy=Never."). With victims only of values 0, 100 and 1000 and
// fewer than ten pods of one tier per node, the multiset follows from the criteria before the
// start time (highest priority, sum and count), so this holds even for a scheduler that breaks
// the last ties otherwise; how often both chose the same node, as many victims and the same
// victims is logged, not enforced. Once the two differ on a preemptor the copies differ, and
// later preemptors are only checked, not compared. For each scheduler, whatever the other did,
// victims must come from the preemptor's node and have lower priority, a pending or
// preemptionPolicy Never preemptor must evict nothing, and placementcheck must accept the
// preemptor's placement among the pods left. One thing no barrier proves: that the schedulers
// have seen the budgets (created first; the nodes, pods and probe that follow take far longer
// than a watch event's delivery).
//
// -conformance.preemptions sets how many scenarios run (default 25, at most 6 with -short);
// -conformance.seed, -conformance.base and -conformance.show work as above, and
// -conformance.preempt.self runs upstream in both copies, which shows the comparison well
// defined (200 scenarios, 299 preemptors: no difference, same node and victims every time):
//
//	go test ./conformance -run 'TestPreemption$' -conformance.seed=N -v
//
// # The volume scenarios (TestVolumeBinding, TestVolumeZone, TestVolumeRestrictions, TestVolumeLimits, TestVolumeRequeue, TestVolumeGenerated)
//
// A volume case is a small cluster with storage: StorageClasses (WaitForFirstConsumer or
// Immediate, with allowedTopologies), PVs (sizes, access modes, node affinity by node or zone,
// zone and region labels, CSI or in-tree sources, some created bound to a claim), claims,
// CSIDrivers (storageCapacity, preventPodSchedulingIfMissing), CSINodes (allocatable counts),
// CSIStorageCapacities, VolumeAttachments, pods already bound that use claims or inline disks,
// and incoming pods. The first volume test starts kube-controller-manager with the PV binder
// (upstream's VolumeBinding PreBind waits for it; it stays until the package ends), and a case
// whose classes provision dynamically runs testenv's provisioner for them.
//
// Scheduling consumes storage (a PV bound for upstream cannot serve berth), so, as for
// preemption, a case is created twice at once, a copy per scheduler: own namespace, names
// prefixed, nodes labelled with their copy and incoming pods selecting it (messages count both
// copies' nodes). Claims are created before their PVs, a PV meant to be bound carrying the
// claim's UID as a provisioner would; once the binder has made every PV Available and bound the
// pairs, the CSINodes, nodes and pods follow, then a barrier per copy: a probe pod mounting a
// claim bound last of all, pinned to the newest node, whose binding proves its scheduler has
// seen every claim, PV, node and pod before it (classes, CSI objects and attachments come
// earlier; none proves those seen). Both copies' incoming pods then settle at once; a pending
// pod whose claim is being bound (upstream is in its PreBind, polling the binder every second,
// under a stale PodScheduled=False), or which is nominated to a node, is waited for.
//
// The comparison: the same pods stay pending, with the same FailedScheduling message (the
// copy's names shortened); a directed case also fixes where each pod may land and, where
// upstream's choice is determined (the smallest PV that fits on the node whose storage it
// leaves least used), which PV a claim ends bound to; cases where which of several pods wins is
// the scheduler's choice (two pods, one ReadWriteOncePod claim) fix only how many are placed and
// compare the pending pods' messages as a multiset. placementcheck judges every placement with
// the claims, PVs and CSINodes as they ended. The directed cases cover each plugin's outcomes:
// missing, terminating, lost, unbound Immediate, mis-owned ephemeral claims; bound PVs' node
// affinity; WaitForFirstConsumer matching (size, access modes, selector, class,
// VolumeAttributesClass, several claims, claims competing for PVs, a node already selected) and
// provisioning (allowed topologies, published capacity and its scoring, generic ephemeral
// volumes); PV zones and regions; ReadWriteOncePod claims and inline disks; CSI limits from
// pods' volumes, unbound claims' provisioners, in-tree volumes migrating to CSI and
// VolumeAttachments, and drivers that must be installed; and a message naming a different volume
// plugin's reason for each node.
//
// Where preemption may help (NodeVolumeLimits, ReadWriteOncePod), a higher-priority pod must
// evict the same lower-priority users under both schedulers. TestVolumeRequeue checks the queue:
// a pod a volume plugin rejected is placed within seconds of each change those plugins register
// for (a claim, PV, StorageClass or CSIStorageCapacity created, a claim bound, a capacity or
// CSINode limit raised, a node labelled into a PV's zone, a pod holding a ReadWriteOncePod claim,
// an inline disk or a CSI volume deleted, a VolumeAttachment deleted).
//
// TestVolumeGenerated draws such cases from a seed (see its doc): 3-5 nodes, 4-8 pods whose
// feasibility depends only on the cluster (each claim has PVs of its own; nodes with a volume
// limit are full already), compared pod by pod. -conformance.volumes sets how many run (default
// 4, at most 2 with -short); -conformance.seed, -conformance.base and -conformance.show work as
// for TestConformance:
//
//	go test ./conformance -run 'TestVolumeGenerated$' -conformance.seed=N -v
//
// # The DRA scenarios (TestDynamicResources, TestDRAGenerated)
//
// A DRA case is a small cluster with devices: DeviceClasses (selectors, config), ResourceSlices
// the test publishes as a DRA driver would (a pool per node, network slices for nodes by selector
// or for all nodes, pools of several slices, stale generations, shared counters and partitions,
// tainted devices), ResourceClaims created beforehand (some already allocated), claim templates,
// and incoming pods. The first DRA test starts kube-controller-manager with the resourceclaim
// controller, which makes a pod's claims from its templates. Allocation consumes devices, so a
// case is created twice at once, a copy per scheduler, as for volumes: own namespace, nodes,
// pools, classes and even drivers prefixed (a copy's classes never select the other copy's
// devices). A barrier per copy (a class, a slice on the newest node and a claim, created last,
// and a probe pod using them) proves its scheduler has seen the case. A pod that a PreEnqueue
// check holds (its claim or template missing) gets no condition at all: one still without a
// PodScheduled condition after 3s counts as held, under both schedulers alike.
//
// TestDynamicResources' directed cases cover claims from templates and pre-created ones, missing
// claims, templates and classes, shared and already allocated claims (among them PostFilter's
// deallocation of a claim allocated for a node the pod cannot use, then allocated again), exact
// counts and allocationMode All, firstAvailable, matchAttribute, CEL selectors on every attribute
// type, capacity and the driver (and a runtime error), class selectors and config, admin access,
// device taints and tolerations, partitionable devices, network-attached slices, pools of
// several slices, incomplete pools and generations. The comparison: the same pods stay pending
// with the same message (generated claims' random names normalised), placements land where the
// case wants, and placementcheck accepts every allocation. One case is berth's own: a selector
// berth does not evaluate (berth's "selector uses X, which berth does not evaluate"; only berth's
// refusal is checked). Devices that allow multiple allocations and extended resources backed by
// DeviceClasses are not exercised (berth passes over the first and refuses the second).
//
// TestDRAGenerated draws scenarios from a seed (see its doc): groups of pods whose devices are
// their group's own, so whether a pod fits never depends on another group, compared per group.
// -conformance.dra sets how many run (default 24, at most 6 with -short):
//
//	go test ./conformance -run 'TestDRAGenerated$' -conformance.seed=N -v
//
// # The independent checker
//
// Besides comparing with upstream, every placement of both schedulers is checked against every
// hard constraint by package placementcheck, written from the API's semantics, not from either
// scheduler's code (the decision fuzzer in scheduler/decide uses it too). It judges the final
// state: cordons, taints, node affinity, host port conflicts, summed requests per resource,
// required affinity (with the first-pod-of-a-series exemption), anti-affinity both ways, and
// topology spreading, exactly for skews decided by pre-existing pods and, for sets of identical
// pods, by the invariant that a spread that started within maxSkew stays within it; in the
// volume scenarios also the pods' volumes (claims bound to PVs whose node affinity selects the
// node, PV zones, ReadWriteOncePod claims and inline disks, CSI volume limits), and in the DRA
// scenarios the pods' ResourceClaims (allocated and reserved for the pod, devices of the newest
// pool generation reaching the node, simple selectors, taints, counts, constraints, no device
// held twice, shared counters). Upstream's placements must pass it too, which is how the checker
// itself is validated; its TestCheck, TestCheckVolumes and TestCheckDevices show it rejects each
// broken rule.
//
// # Directed tests
//
// TestPluginEffects shows each plugin's effect on a real placement for both schedulers;
// TestFailedSchedulingMessage compares berth's message and event with upstream's for pods every
// node rejects for different reasons; TestSchedulingGates, TestPendingPodScheduledWhenNodeAdded,
// TestRequeueOnClusterEvent, TestDeletedWhileQueued and TestNodeNameIsRespected check the queue:
// gated pods wait, a pending pod is placed within seconds of the change that lets it fit, a pod
// deleted while queued is never bound, and a pod bound by spec.nodeName is left alone and counted.
package conformance
