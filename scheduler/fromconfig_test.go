package scheduler

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/preempt"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const configHeader = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"

// loadConfig loads header+body through config.Load.
func loadConfig(t *testing.T, body string) *config.KubeSchedulerConfiguration {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(configHeader+body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newInformers returns informers over a client of an unreachable server; they are never
// started, so the listers default topology spreading reads stay empty.
func newInformers(t testing.TB) *kubeclient.Informers {
	t.Helper()
	c, err := kubeclient.New(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return kubeclient.NewInformers(c)
}

// pipeline renders a decide.Profile's plugins as names and "name:weight".
func pipeline(dp decide.Profile) (filters, scorers []string) {
	for _, f := range dp.Filters {
		filters = append(filters, f.Name())
	}
	for _, s := range dp.Scorers {
		scorers = append(scorers, fmt.Sprintf("%s:%d", s.Plugin.Name(), s.Weight))
	}
	return filters, scorers
}

func TestDecideProfileFromConfig(t *testing.T) {
	tests := []struct {
		name             string
		body             string
		profile          int
		filters, scorers []string
		percentage       int32
		parallelism      int
	}{
		{name: "default", filters: []string{"NodeName", "NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodePorts",
			"NodeResourcesFit", "VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding", "VolumeZone", "PodTopologySpread", "InterPodAffinity", "DynamicResources", "NodeDeclaredFeatures"},
			scorers: []string{"TaintToleration:3", "NodeAffinity:2", "NodeResourcesFit:1", "VolumeBinding:1", "PodTopologySpread:2",
				"InterPodAffinity:2", "DynamicResources:2", "NodeResourcesBalancedAllocation:1", "ImageLocality:1"},
			parallelism: 16},
		{name: "star and explicit plugins", body: `parallelism: 4
percentageOfNodesToScore: 30
profiles:
- schedulerName: a
- schedulerName: minimal
  percentageOfNodesToScore: 80
  plugins:
    multiPoint:
      disabled: [{name: '*'}]
      enabled:
      - {name: PrioritySort}
      - {name: SchedulingGates}
      - {name: DefaultBinder}
      - {name: VolumeZone}
      - {name: NodeName}
      - {name: TaintToleration, weight: 4}
      - {name: NodeResourcesFit, weight: 2}
`, profile: 1, filters: []string{"VolumeZone", "NodeName", "TaintToleration", "NodeResourcesFit"},
			scorers: []string{"TaintToleration:4", "NodeResourcesFit:2"}, percentage: 80, parallelism: 4},
		{name: "top-level percentage applies to a profile without its own", body: "percentageOfNodesToScore: 30\nprofiles:\n- schedulerName: a\n  plugins:\n    score:\n      disabled: [{name: '*'}]\n",
			filters: []string{"NodeName", "NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodePorts",
				"NodeResourcesFit", "VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding", "VolumeZone", "PodTopologySpread", "InterPodAffinity", "DynamicResources", "NodeDeclaredFeatures"}, percentage: 30, parallelism: 16},
		{name: "point order and weights", body: `profiles:
- plugins:
    filter:
      disabled: [{name: '*'}]
      enabled: [{name: NodePorts}, {name: NodeName}]
    score:
      disabled: [{name: ImageLocality}, {name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeAffinity, weight: 9}]
`, filters: []string{"NodePorts", "NodeName"},
			scorers:     []string{"NodeAffinity:9", "TaintToleration:3", "NodeResourcesFit:1", "VolumeBinding:1", "PodTopologySpread:2", "InterPodAffinity:2", "DynamicResources:2"},
			parallelism: 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, tc.body)
			dp, err := decideProfile(cfg, &cfg.Profiles[tc.profile], newInformers(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			filters, scorers := pipeline(dp)
			if !reflect.DeepEqual(filters, tc.filters) {
				t.Errorf("filters = %v\nwant      %v", filters, tc.filters)
			}
			if !reflect.DeepEqual(scorers, tc.scorers) {
				t.Errorf("scorers = %v\nwant      %v", scorers, tc.scorers)
			}
			if dp.PercentageOfNodesToScore != tc.percentage || dp.Parallelism != tc.parallelism {
				t.Errorf("percentage %d, parallelism %d; want %d, %d", dp.PercentageOfNodesToScore, dp.Parallelism, tc.percentage, tc.parallelism)
			}
		})
	}
}

// TestArgsReachThePlugins shows a profile's arguments configure its plugins: the same pod goes
// to the emptier node under LeastAllocated and to the fuller one under MostAllocated.
func TestArgsReachThePlugins(t *testing.T) {
	cfg := loadConfig(t, `profiles:
- schedulerName: spread
- schedulerName: pack
  plugins:
    multiPoint:
      disabled: [{name: NodeResourcesBalancedAllocation}, {name: ImageLocality}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy: {type: MostAllocated}
`)
	profiles, err := ProfilesFromConfig(cfg, newInformers(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	node := func(name string, usedCPU string) *snapshot.NodeInfo {
		n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}}}
		used := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "used-" + name, Namespace: "ns", UID: types.UID("u-" + name)},
			Spec: v1.PodSpec{NodeName: name, Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
				v1.ResourceCPU: resource.MustParse(usedCPU), v1.ResourceMemory: resource.MustParse("1Gi")}}}}}}
		return snapshot.NewNodeInfo(n, snapshot.NewPodInfo(used))
	}
	snap := snapshot.New([]*snapshot.NodeInfo{node("empty", "100m"), node("full", "3")}, nil)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "p"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse("500m"), v1.ResourceMemory: resource.MustParse("1Gi")}}}}}}
	want := map[string]string{"spread": "empty", "pack": "full"}
	for _, p := range profiles {
		if got := p.Decider.Decide(snapshot.NewPodInfo(pod), snap).Node; got != want[p.SchedulerName] {
			t.Errorf("profile %s placed the pod on %q, want %q", p.SchedulerName, got, want[p.SchedulerName])
		}
	}
}

func TestProfilesFromConfigRefuses(t *testing.T) {
	gates := loadConfig(t, "profiles:\n- plugins:\n    preEnqueue:\n      disabled: [{name: SchedulingGates}]\n")
	_, err := ProfilesFromConfig(gates, newInformers(t), 1)
	if err == nil || !strings.Contains(err.Error(), "profiles[0] (default-scheduler): plugins.preEnqueue: SchedulingGates is disabled") {
		t.Errorf("disabled SchedulingGates: err = %v", err)
	}
	if _, err := ProfilesFromConfig(&config.KubeSchedulerConfiguration{}, newInformers(t), 1); err == nil {
		t.Error("a configuration that was not loaded was accepted")
	}
}

func TestPreemptionArgs(t *testing.T) {
	tests := []struct {
		name, body string
		want       *preempt.Args
	}{
		{"default", "", &preempt.Args{MinCandidateNodesPercentage: 10, MinCandidateNodesAbsolute: 100}},
		{"configured", "profiles:\n- pluginConfig:\n  - name: DefaultPreemption\n    args: {minCandidateNodesPercentage: 5, minCandidateNodesAbsolute: 0}\n",
			&preempt.Args{MinCandidateNodesPercentage: 5, MinCandidateNodesAbsolute: 0}},
		{"disabled", "profiles:\n- plugins:\n    postFilter:\n      disabled: [{name: DefaultPreemption}]\n", nil},
		{"disabled everywhere", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: DefaultPreemption}]\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			profiles, err := ProfilesFromConfig(loadConfig(t, tc.body), nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := profiles[0].Preemption; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Preemption = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPostFilterFailsAfter(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"default: the PreFilters before DynamicResources', refusals left out", "",
			[]string{"InterPodAffinity", "NodeAffinity", "NodeName", "NodePorts", "NodeResourcesFit", "NodeUnschedulable", "NodeVolumeLimits",
				"PodTopologySpread", "TaintToleration", "VolumeBinding", "VolumeRestrictions", "VolumeZone"}},
		{"without DynamicResources the PostFilter phase cannot fail", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: DynamicResources}]\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			profiles, err := ProfilesFromConfig(loadConfig(t, tc.body), nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(maps.Keys(profiles[0].PostFilterFailsAfter))
			if !slices.Equal(got, tc.want) {
				t.Errorf("PostFilterFailsAfter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNotImplemented(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"default", "", nil},
		{"only implemented plugins", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      enabled: [{name: PrioritySort}, {name: SchedulingGates}, {name: DefaultBinder}, {name: NodeName}]\n", nil},
		{"across profiles", "profiles:\n- schedulerName: a\n  plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      enabled: [{name: PrioritySort}, {name: DefaultBinder}, {name: DynamicResources}]\n- schedulerName: b\n  plugins:\n    multiPoint:\n      disabled: [{name: '*'}]\n      enabled: [{name: PrioritySort}, {name: DefaultBinder}, {name: GangScheduling}]\n",
			[]string{"GangScheduling"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range NotImplemented(loadConfig(t, tc.body)) {
				got = append(got, m.Plugin)
				if m.Effect == "" {
					t.Errorf("%s has no effect", m.Plugin)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("NotImplemented() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestVolumePlugins shows VolumeRestrictions and VolumeZone judge pods in the default profile,
// with the refusing volume plugins disabled where they would refuse the pod first.
func TestVolumePlugins(t *testing.T) {
	node := func(name, zone string, pods ...*v1.Pod) *snapshot.NodeInfo {
		n := snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"kubernetes.io/hostname": name, v1.LabelTopologyZone: zone}},
			Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"),
				v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}}})
		for _, p := range pods {
			n.AddPod(snapshot.NewPodInfo(p))
		}
		return n
	}
	withVolumes := func(name, node string, srcs ...v1.VolumeSource) *v1.Pod {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)},
			Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c"}}}}
		for i, src := range srcs {
			p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: fmt.Sprint("v", i), VolumeSource: src})
		}
		return p
	}
	claimVol := func(name string) v1.VolumeSource {
		return v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
	}
	iscsi := v1.VolumeSource{ISCSI: &v1.ISCSIVolumeSource{TargetPortal: "10.0.0.1:3260", IQN: "iqn.a"}}
	claim := func(name, volume string, mode v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
		return &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec: v1.PersistentVolumeClaimSpec{VolumeName: volume, AccessModes: []v1.PersistentVolumeAccessMode{mode}}}
	}
	zoned := func(name, zone string) *v1.PersistentVolume {
		return &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone}}}
	}
	holders := []*v1.Pod{withVolumes("disk-holder", "n0", iscsi), withVolumes("claim-holder", "n0", claimVol("single"))}
	snap := snapshot.New([]*snapshot.NodeInfo{node("n0", "z0", holders...), node("n1", "z1")}, nil)
	snap.Storage = snapshot.StorageOf(holders,
		claim("single", "pv-single", v1.ReadWriteOncePod), zoned("pv-single", "z0"),
		claim("in-z1", "pv-z1", v1.ReadWriteOnce), zoned("pv-z1", "z1"),
		claim("in-z2", "pv-z2", v1.ReadWriteOnce), zoned("pv-z2", "z2"))

	withoutRefusals := "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: NodeVolumeLimits}, {name: VolumeBinding}]\n"
	tests := []struct {
		name         string
		body         string
		pod          *v1.Pod
		node         string // where the pod goes, or "" for nowhere with message
		message      string
		unresolvable bool
	}{
		{name: "inline disk held on n0", pod: withVolumes("p", "", iscsi), node: "n1"},
		{name: "volume in n1's zone", body: withoutRefusals, pod: withVolumes("p", "", claimVol("in-z1")), node: "n1"},
		{name: "volume in no node's zone", body: withoutRefusals, pod: withVolumes("p", "", claimVol("in-z2")),
			message: "0/2 nodes are available: 2 node(s) had no available volume zone.", unresolvable: true},
		{name: "missing claim", body: withoutRefusals, pod: withVolumes("p", "", claimVol("nope")),
			message: `0/2 nodes are available: persistentvolumeclaim "nope" not found.`, unresolvable: true},
		{name: "ReadWriteOncePod claim in use", body: withoutRefusals, pod: withVolumes("p", "", claimVol("single")),
			message: "0/2 nodes are available: 2 node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another pod."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			profiles, err := ProfilesFromConfig(loadConfig(t, tc.body), newInformers(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			res := profiles[0].Decider.Decide(snapshot.NewPodInfo(tc.pod), snap)
			if res.Node != tc.node {
				msg := ""
				if res.Diagnosis != nil {
					msg = res.Diagnosis.Message()
				}
				t.Fatalf("placed on %q (%s), want %q", res.Node, msg, tc.node)
			}
			if tc.node != "" {
				// Not by chance: the other node does not fit.
				prepared := profiles[0].Decider.(*decide.Decider).Prepare(snapshot.NewPodInfo(tc.pod), snap)
				for _, n := range snap.Nodes {
					if v := prepared.Check(n, nil); n.Name() != tc.node && v.Fits() {
						t.Errorf("the pod fits %s too", n.Name())
					}
				}
				return
			}
			if got := res.Diagnosis.Message(); got != tc.message {
				t.Errorf("message = %q\nwant      %q", got, tc.message)
			}
			if res.Diagnosis.Unresolvable != tc.unresolvable {
				t.Errorf("unresolvable = %v, want %v", res.Diagnosis.Unresolvable, tc.unresolvable)
			}
		})
	}
}

// TestExtendedResourcesBackedByDRA runs pods requesting an extended resource a DeviceClass
// provides through the default profile (refused before berth allocated them): a node advertising
// the resource serves it the device-plugin way, a node without it needs devices, and NodeResourcesFit
// and DynamicResources agree on which checks the resource.
func TestExtendedResourcesBackedByDRA(t *testing.T) {
	gpu := "example.com/gpu"
	node := func(name string, gpus string) *snapshot.NodeInfo {
		alloc := v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")}
		if gpus != "" {
			alloc[v1.ResourceName(gpu)] = resource.MustParse(gpus)
		}
		return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Status: v1.NodeStatus{Allocatable: alloc}})
	}
	class := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: &gpu}}
	tests := []struct {
		name    string
		nodes   []*snapshot.NodeInfo
		want    string // the node, or
		message string // the FailedScheduling message
	}{
		{name: "a node advertising too little: NodeResourcesFit checks it", nodes: []*snapshot.NodeInfo{node("n0", "1"), node("n1", "")},
			message: "0/2 nodes are available: 1 Insufficient example.com/gpu, 1 cannot allocate all claims."},
		{name: "a node advertising enough serves it the device-plugin way", nodes: []*snapshot.NodeInfo{node("n0", "2"), node("n1", "")}, want: "n0"},
		{name: "no node advertises it, and none has devices", nodes: []*snapshot.NodeInfo{node("n0", ""), node("n1", "")},
			message: "0/2 nodes are available: 2 cannot allocate all claims."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot.New(tc.nodes, nil)
			snap.Devices = snapshot.DevicesOf(class)
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "p"},
				Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
					Requests: v1.ResourceList{v1.ResourceName(gpu): resource.MustParse("2")}}}}}}
			profiles, err := ProfilesFromConfig(loadConfig(t, ""), newInformers(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			res := profiles[0].Decider.Decide(snapshot.NewPodInfo(pod), snap)
			if res.Node != tc.want {
				t.Fatalf("placed on %q, want %q", res.Node, tc.want)
			}
			if tc.want != "" {
				return
			}
			if got := res.Diagnosis.Message(); got != tc.message {
				t.Errorf("message = %q\nwant      %q", got, tc.message)
			}
		})
	}
}

// TestPreEnqueuers checks that the default profile holds pods back through DynamicResources'
// PreEnqueue, and that a profile disabling the plugin does not.
func TestPreEnqueuers(t *testing.T) {
	def, err := DefaultProfile("default-scheduler", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(def.PreEnqueue) != 1 || def.PreEnqueue[0].Name() != "DynamicResources" {
		t.Errorf("default profile PreEnqueue %v, want DynamicResources", def.PreEnqueue)
	}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec: v1.PodSpec{ResourceClaims: []v1.PodResourceClaim{{Name: "gpu", ResourceClaimName: new("missing")}}}}
	if why := def.PreEnqueue[0].PreEnqueue(pod, snapshot.New(nil, nil)); why != `could not find ResourceClaim "ns/missing"` {
		t.Errorf("PreEnqueue of a pod whose claim does not exist = %q", why)
	}
	if why := def.PreEnqueue[0].PreEnqueue(&v1.Pod{}, snapshot.New(nil, nil)); why != "" {
		t.Errorf("PreEnqueue of a pod without claims = %q, want none", why)
	}
}

func TestClaimPostFilter(t *testing.T) {
	tests := []struct {
		name, body               string
		deallocate, preemptFirst bool
	}{
		{"default: DynamicResources before DefaultPreemption", "", true, false},
		{"DynamicResources disabled at postFilter", "profiles:\n- plugins:\n    postFilter:\n      disabled: [{name: DynamicResources}]\n", false, false},
		{"DefaultPreemption first", "profiles:\n- plugins:\n    postFilter:\n      disabled: [{name: '*'}]\n      enabled: [{name: DefaultPreemption}, {name: DynamicResources}]\n", true, true},
		{"without DefaultPreemption", "profiles:\n- plugins:\n    postFilter:\n      disabled: [{name: DefaultPreemption}]\n", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			profiles, err := ProfilesFromConfig(loadConfig(t, tc.body), nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			if p := profiles[0]; p.DeallocateClaims != tc.deallocate || p.PreemptFirst != tc.preemptFirst {
				t.Errorf("DeallocateClaims %v, PreemptFirst %v; want %v, %v", p.DeallocateClaims, p.PreemptFirst, tc.deallocate, tc.preemptFirst)
			}
		})
	}
}
