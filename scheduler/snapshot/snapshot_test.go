package snapshot

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func reqs(kv ...string) v1.ResourceList {
	rl := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		rl[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return rl
}

func ctr(kv ...string) v1.Container {
	return v1.Container{Name: "c", Resources: v1.ResourceRequirements{Requests: reqs(kv...)}}
}

func sidecar(kv ...string) v1.Container {
	c := ctr(kv...)
	always := v1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

func TestPodRequests(t *testing.T) {
	mi := int64(1024 * 1024)
	tests := []struct {
		name                 string
		spec                 v1.PodSpec
		cpu, mem             int64
		nonZeroCPU, nonZeroM int64
		scalar               map[v1.ResourceName]int64
	}{
		{name: "no requests", spec: v1.PodSpec{Containers: []v1.Container{ctr()}},
			nonZeroCPU: DefaultMilliCPURequest, nonZeroM: DefaultMemoryRequest},
		{name: "every container states cpu and memory", spec: v1.PodSpec{
			InitContainers: []v1.Container{sidecar("cpu", "300m", "memory", "1Mi"), ctr("cpu", "1", "memory", "3Mi")},
			Containers:     []v1.Container{ctr("cpu", "500m", "memory", "1Mi")}},
			cpu: 1300, mem: 4 * mi, nonZeroCPU: 1300, nonZeroM: 4 * mi},
		{name: "an init container without memory", spec: v1.PodSpec{
			InitContainers: []v1.Container{ctr("cpu", "1")},
			Containers:     []v1.Container{ctr("cpu", "500m", "memory", "1Mi")}},
			cpu: 1000, mem: mi, nonZeroCPU: 1000, nonZeroM: DefaultMemoryRequest},
		{name: "a zero request is stated", spec: v1.PodSpec{Containers: []v1.Container{ctr("cpu", "0", "memory", "0")}}},
		{name: "two containers sum", spec: v1.PodSpec{Containers: []v1.Container{ctr("cpu", "100m", "memory", "1Mi"), ctr("cpu", "200m")}},
			cpu: 300, mem: mi, nonZeroCPU: 300, nonZeroM: mi + DefaultMemoryRequest},
		{name: "init container peak wins", spec: v1.PodSpec{
			InitContainers: []v1.Container{ctr("cpu", "2")},
			Containers:     []v1.Container{ctr("cpu", "500m")}},
			cpu: 2000, nonZeroCPU: 2000, nonZeroM: DefaultMemoryRequest},
		{name: "sidecar adds to app and to later init containers", spec: v1.PodSpec{
			InitContainers: []v1.Container{sidecar("cpu", "300m"), ctr("cpu", "1")},
			Containers:     []v1.Container{ctr("cpu", "500m")}},
			cpu: 1300, nonZeroCPU: 1300, nonZeroM: 2 * DefaultMemoryRequest}, // app container and sidecar each default
		{name: "sidecar after init container does not add to it", spec: v1.PodSpec{
			InitContainers: []v1.Container{ctr("cpu", "1"), sidecar("cpu", "300m")},
			Containers:     []v1.Container{ctr("cpu", "500m")}},
			cpu: 1000, nonZeroCPU: 1000, nonZeroM: 2 * DefaultMemoryRequest},
		{name: "overhead added", spec: v1.PodSpec{Containers: []v1.Container{ctr("cpu", "100m")}, Overhead: reqs("cpu", "50m", "memory", "10Mi")},
			cpu: 150, mem: 10 * mi, nonZeroCPU: 150, nonZeroM: DefaultMemoryRequest + 10*mi},
		{name: "pod-level requests replace container sum", spec: v1.PodSpec{
			Resources:  &v1.ResourceRequirements{Requests: reqs("cpu", "1", "memory", "1Gi")},
			Containers: []v1.Container{ctr("cpu", "100m"), ctr()}},
			cpu: 1000, mem: 1024 * mi, nonZeroCPU: 1000, nonZeroM: 1024 * mi},
		{name: "pod-level cpu only keeps container memory default", spec: v1.PodSpec{
			Resources:  &v1.ResourceRequirements{Requests: reqs("cpu", "1")},
			Containers: []v1.Container{ctr()}},
			cpu: 1000, nonZeroCPU: 1000, nonZeroM: DefaultMemoryRequest},
		{name: "extended resources and hugepages", spec: v1.PodSpec{Containers: []v1.Container{ctr("example.com/gpu", "2", "hugepages-2Mi", "4Mi", "cpu", "1")}},
			cpu: 1000, nonZeroCPU: 1000, nonZeroM: DefaultMemoryRequest,
			scalar: map[v1.ResourceName]int64{"example.com/gpu": 2, "hugepages-2Mi": 4 * mi}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pi := NewPodInfo(&v1.Pod{Spec: tc.spec})
			if pi.Requests.MilliCPU != tc.cpu || pi.Requests.Memory != tc.mem {
				t.Errorf("requests = %dm cpu %d mem, want %dm %d", pi.Requests.MilliCPU, pi.Requests.Memory, tc.cpu, tc.mem)
			}
			if pi.NonZeroCPU != tc.nonZeroCPU || pi.NonZeroMemory != tc.nonZeroM {
				t.Errorf("non-zero = %dm cpu %d mem, want %dm %d", pi.NonZeroCPU, pi.NonZeroMemory, tc.nonZeroCPU, tc.nonZeroM)
			}
			for name, want := range tc.scalar {
				if got := pi.Requests.Get(name); got != want {
					t.Errorf("%s = %d, want %d", name, got, want)
				}
			}
		})
	}
}

func TestHostPortConflicts(t *testing.T) {
	pod := func(ip string, proto v1.Protocol, port int32) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(ip + string(proto))}, Spec: v1.PodSpec{Containers: []v1.Container{{Ports: []v1.ContainerPort{{HostIP: ip, Protocol: proto, HostPort: port, ContainerPort: 80}}}}}}
	}
	tests := []struct {
		name     string
		existing *v1.Pod
		want     HostPort
		conflict bool
	}{
		{"same wildcard port", pod("", "", 80), HostPort{"0.0.0.0", v1.ProtocolTCP, 80}, true},
		{"other protocol", pod("", v1.ProtocolUDP, 80), HostPort{"0.0.0.0", v1.ProtocolTCP, 80}, false},
		{"specific vs wildcard used", pod("", "", 80), HostPort{"10.0.0.1", v1.ProtocolTCP, 80}, true},
		{"wildcard vs specific used", pod("10.0.0.1", "", 80), HostPort{"0.0.0.0", v1.ProtocolTCP, 80}, true},
		{"two specific addresses", pod("10.0.0.1", "", 80), HostPort{"10.0.0.2", v1.ProtocolTCP, 80}, false},
		{"other port", pod("", "", 81), HostPort{"0.0.0.0", v1.ProtocolTCP, 80}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNodeInfo(&v1.Node{}, NewPodInfo(tc.existing))
			if got := n.UsedPorts.Conflicts(tc.want); got != tc.conflict {
				t.Errorf("Conflicts = %v, want %v", got, tc.conflict)
			}
			n.RemovePod(NewPodInfo(tc.existing))
			if n.UsedPorts.Conflicts(tc.want) {
				t.Error("conflict remains after the pod was removed")
			}
		})
	}
}

func TestNodeInfoAddRemoveClone(t *testing.T) {
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1.NodeStatus{
		Allocatable: reqs("cpu", "4", "memory", "8Gi", "pods", "110"),
		Images:      []v1.ContainerImage{{Names: []string{"nginx"}, SizeBytes: 100}}}}
	anti := &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "a", Namespace: "ns"}, Spec: v1.PodSpec{
		Containers: []v1.Container{ctr("cpu", "1")},
		Affinity: &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{
			{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, TopologyKey: "kubernetes.io/hostname"}}}}}}
	plain := &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "b"}, Spec: v1.PodSpec{Containers: []v1.Container{ctr("cpu", "500m")}}}
	n := NewNodeInfo(node, NewPodInfo(anti), NewPodInfo(plain))
	if n.Requested.MilliCPU != 1500 || len(n.PodsWithRequiredAntiAffinity) != 1 || len(n.PodsWithScoringTerms) != 0 {
		t.Fatalf("after adds: cpu %d, anti %d, aff %d", n.Requested.MilliCPU, len(n.PodsWithRequiredAntiAffinity), len(n.PodsWithScoringTerms))
	}
	c := n.Clone()
	if !n.RemovePod(NewPodInfo(anti)) {
		t.Fatal("RemovePod did not find the pod")
	}
	if n.RemovePod(NewPodInfo(anti)) {
		t.Fatal("RemovePod removed a pod twice")
	}
	if n.Requested.MilliCPU != 500 || len(n.PodsWithRequiredAntiAffinity) != 0 || len(n.Pods) != 1 {
		t.Errorf("after remove: cpu %d, anti %d, pods %d", n.Requested.MilliCPU, len(n.PodsWithRequiredAntiAffinity), len(n.Pods))
	}
	if c.Requested.MilliCPU != 1500 || len(c.Pods) != 2 || len(c.PodsWithRequiredAntiAffinity) != 1 {
		t.Errorf("clone changed with the original: cpu %d, pods %d", c.Requested.MilliCPU, len(c.Pods))
	}
	s := New([]*NodeInfo{c, NewNodeInfo(nil)}, map[string]labels.Set{"ns": {"team": "a"}})
	if len(s.Nodes) != 1 || s.Get("n1") != c || len(s.WithRequiredAntiAffinity) != 1 || s.ImageNodes("nginx:latest") != 1 {
		t.Errorf("snapshot: nodes %d, anti %d, image nodes %d", len(s.Nodes), len(s.WithRequiredAntiAffinity), s.ImageNodes("nginx:latest"))
	}
}

func TestAffinityTerms(t *testing.T) {
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}
	tests := []struct {
		name    string
		term    v1.PodAffinityTerm
		other   *v1.Pod
		nsLabel labels.Set
		match   bool
		wantErr bool
	}{
		{name: "own namespace by default", term: v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}},
			other: &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Labels: map[string]string{"app": "x"}}}, match: true},
		{name: "other namespace not matched", term: v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}},
			other: &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Labels: map[string]string{"app": "x"}}}},
		{name: "empty namespace selector matches all", term: v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{}, NamespaceSelector: &metav1.LabelSelector{}},
			other: &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other"}}, match: true},
		{name: "nil label selector matches nothing", term: v1.PodAffinityTerm{},
			other: &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}}},
		{name: "namespace selector by label", term: v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}},
			other: &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other"}}, nsLabel: labels.Set{"team": "a"}, match: true},
		{name: "bad selector recorded", term: v1.PodAffinityTerm{LabelSelector: bad}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}, Spec: v1.PodSpec{Affinity: &v1.Affinity{PodAffinity: &v1.PodAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{tc.term}}}}}
			pi := NewPodInfo(pod)
			if (pi.AffinityErr != nil) != tc.wantErr {
				t.Fatalf("AffinityErr = %v, want error %v", pi.AffinityErr, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got := pi.RequiredAffinity[0].Matches(tc.other, tc.nsLabel); got != tc.match {
				t.Errorf("Matches = %v, want %v", got, tc.match)
			}
		})
	}
}

func TestNormalizeImageName(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "nginx:latest", "nginx:1.2": "nginx:1.2", "reg:5000/app": "reg:5000/app:latest",
		"reg:5000/app:v1": "reg:5000/app:v1", "app@sha256:abc": "app@sha256:abc",
	} {
		if got := NormalizeImageName(in); got != want {
			t.Errorf("NormalizeImageName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUpdateRefreshesAffinityLists(t *testing.T) {
	term := v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, TopologyKey: "zone"}
	pod := func(uid string, aff *v1.Affinity) *PodInfo {
		return NewPodInfo(&v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Namespace: "ns"}, Spec: v1.PodSpec{Affinity: aff}})
	}
	anti := func(uid string) *PodInfo {
		return pod(uid, &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term}}})
	}
	preferred := func(uid string) *PodInfo {
		return pod(uid, &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{Weight: 1, PodAffinityTerm: term}}}})
	}
	node := func(name string) *v1.Node { return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	for _, tc := range []struct {
		name              string
		before            []*PodInfo
		add               *PodInfo
		wantAnti, wantScr int // pods on n1 in the listed NodeInfo, -1: n1 not listed
	}{
		{name: "another anti-affinity pod on a listed node", before: []*PodInfo{anti("a")}, add: anti("b"), wantAnti: 2, wantScr: -1},
		{name: "first anti-affinity pod", add: anti("a"), wantAnti: 1, wantScr: -1},
		{name: "another scoring pod on a listed node", before: []*PodInfo{preferred("a")}, add: preferred("b"), wantAnti: -1, wantScr: 2},
		{name: "plain pod on a node listed for both", before: []*PodInfo{anti("a"), preferred("b")}, add: pod("c", nil), wantAnti: 1, wantScr: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n1 := NewNodeInfo(node("n1"), tc.before...)
			s := New([]*NodeInfo{n1, NewNodeInfo(node("n2"))}, nil)
			changed := n1.Clone()
			changed.AddPod(tc.add)
			if !s.Update([]*NodeInfo{changed}) {
				t.Fatal("Update refused a known node")
			}
			check := func(list string, nodes []*NodeInfo, pods func(*NodeInfo) []*PodInfo, want int) {
				t.Helper()
				switch {
				case want < 0 && len(nodes) != 0:
					t.Errorf("%s lists %d nodes, want none", list, len(nodes))
				case want >= 0 && (len(nodes) != 1 || nodes[0] != changed):
					t.Errorf("%s = %v, want the updated n1 only", list, nodes)
				case want >= 0 && len(pods(nodes[0])) != want:
					t.Errorf("%s: n1 has %d such pods, want %d", list, len(pods(nodes[0])), want)
				}
			}
			check("WithRequiredAntiAffinity", s.WithRequiredAntiAffinity, func(n *NodeInfo) []*PodInfo { return n.PodsWithRequiredAntiAffinity }, tc.wantAnti)
			check("WithScoringTerms", s.WithScoringTerms, func(n *NodeInfo) []*PodInfo { return n.PodsWithScoringTerms }, tc.wantScr)
		})
	}
}

// TestNodeSpecCopies checks that the node's unschedulable flag and taints follow every SetNode,
// survive Clone, and clear when the node object goes.
func TestNodeSpecCopies(t *testing.T) {
	taints := []v1.Taint{{Key: "k", Effect: v1.TaintEffectNoSchedule}}
	cordoned := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: v1.NodeSpec{Unschedulable: true, Taints: taints}}
	plain := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	for _, tc := range []struct {
		name          string
		nodes         []*v1.Node // set in order
		unschedulable bool
		taints        int
	}{
		{name: "cordoned and tainted", nodes: []*v1.Node{cordoned}, unschedulable: true, taints: 1},
		{name: "uncordoned and untainted", nodes: []*v1.Node{cordoned, plain}},
		{name: "cordoned later", nodes: []*v1.Node{plain, cordoned}, unschedulable: true, taints: 1},
		{name: "node object gone", nodes: []*v1.Node{cordoned, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNodeInfo(nil)
			for _, node := range tc.nodes {
				n.SetNode(node)
			}
			for _, got := range []*NodeInfo{n, n.Clone()} {
				if got.Unschedulable != tc.unschedulable || len(got.Taints) != tc.taints {
					t.Errorf("unschedulable %v with %d taints, want %v with %d", got.Unschedulable, len(got.Taints), tc.unschedulable, tc.taints)
				}
			}
		})
	}
}

// BenchmarkNewPodInfo builds the PodInfo of a pod as most are: one container stating cpu and
// memory, a few labels.
func BenchmarkNewPodInfo(b *testing.B) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b4d"}},
		Spec: v1.PodSpec{NodeName: "n", Containers: []v1.Container{ctr("cpu", "100m", "memory", "500Mi")}}}
	b.ReportAllocs()
	for b.Loop() {
		NewPodInfo(pod)
	}
}
