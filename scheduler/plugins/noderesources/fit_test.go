package noderesources

import (
	"fmt"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestFitFilter(t *testing.T) {
	// A node with 4 cpu, 8Gi memory, 10 pod slots, 20Gi ephemeral storage, 2 GPUs and 64Mi of
	// 2Mi hugepages, on which pods already request 3 cpu, 4Gi memory and 1 GPU.
	alloc := rl("cpu", "4", "memory", "8Gi", "pods", "10", "ephemeral-storage", "20Gi",
		"example.com/gpu", "2", "hugepages-2Mi", "64Mi", "kubernetes.io/widget", "1")
	busy := func() *snapshot.NodeInfo {
		return nodeWith("busy", alloc, podWith("cpu", "3", "memory", "4Gi", "example.com/gpu", "1"))
	}
	full := func() *snapshot.NodeInfo { // no pod slot left
		return nodeWith("full", rl("cpu", "4", "memory", "8Gi", "pods", "1"), podWith("cpu", "4", "memory", "8Gi"))
	}
	fits := snapshot.Verdict{}
	reject := func(unresolvable bool, reasons ...string) snapshot.Verdict {
		return snapshot.Verdict{Reasons: reasons, Unresolvable: unresolvable}
	}
	// DeviceClasses providing extended resources (DRAExtendedResource).
	gpuName := "example.com/gpu"
	classes := snapshot.DevicesOf(
		&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu-class"}, Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: &gpuName}},
		&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "fpga"}},
	)
	tests := []struct {
		name    string
		args    NodeResourcesFitArgs
		classes *snapshot.Devices
		pod     *snapshot.PodInfo
		node    *snapshot.NodeInfo
		want    snapshot.Verdict
	}{
		{name: "pod requesting nothing fits a node whose cpu is spent",
			pod: podWith(), node: nodeWith("n", rl("cpu", "1", "pods", "2"), podWith("cpu", "1")), want: fits},
		{name: "pod requesting nothing still needs a pod slot",
			pod: podWith(), node: full(), want: reject(false, "Too many pods")},
		{name: "node without a pods allocatable has no slot",
			pod: podWith(), node: nodeWith("n", rl("cpu", "4")), want: reject(false, "Too many pods")},
		{name: "exactly the free amount fits",
			pod: podWith("cpu", "1", "memory", "4Gi", "example.com/gpu", "1"), node: busy(), want: fits},
		{name: "cpu short but within allocatable is resolvable",
			pod: podWith("cpu", "2"), node: busy(), want: reject(false, "Insufficient cpu")},
		{name: "cpu above allocatable is unresolvable",
			pod: podWith("cpu", "5"), node: busy(), want: reject(true, "Insufficient cpu")},
		{name: "memory short",
			pod: podWith("memory", "5Gi"), node: busy(), want: reject(false, "Insufficient memory")},
		{name: "ephemeral storage above allocatable",
			pod: podWith("ephemeral-storage", "21Gi"), node: busy(), want: reject(true, "Insufficient ephemeral-storage")},
		{name: "reasons in upstream order with pod count first",
			pod:  podWith("cpu", "1", "memory", "1Gi", "ephemeral-storage", "1Gi"),
			node: nodeWith("n", rl("cpu", "1", "memory", "1Gi", "pods", "1", "ephemeral-storage", "1Gi"), podWith("cpu", "500m", "memory", "1", "ephemeral-storage", "1")),
			want: reject(false, "Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage")},
		{name: "one unresolvable shortfall makes the verdict unresolvable",
			pod: podWith("cpu", "2", "memory", "9Gi"), node: busy(), want: reject(true, "Insufficient cpu", "Insufficient memory")},
		{name: "init container peak counts",
			pod: podSpec(v1.PodSpec{
				InitContainers: []v1.Container{{Name: "init", Resources: v1.ResourceRequirements{Requests: rl("cpu", "2")}}},
				Containers:     []v1.Container{{Name: "app", Resources: v1.ResourceRequirements{Requests: rl("cpu", "500m")}}},
			}), node: busy(), want: reject(false, "Insufficient cpu")},
		{name: "overhead counts",
			pod: podSpec(v1.PodSpec{
				Containers: []v1.Container{{Name: "app", Resources: v1.ResourceRequirements{Requests: rl("memory", "4Gi")}}},
				Overhead:   rl("memory", "1Mi"),
			}), node: busy(), want: reject(false, "Insufficient memory")},
		{name: "extended resource short",
			pod: podWith("example.com/gpu", "2"), node: busy(), want: reject(false, "Insufficient example.com/gpu")},
		{name: "extended resource the node lacks is unresolvable",
			pod: podWith("example.com/fpga", "1"), node: busy(), want: reject(true, "Insufficient example.com/fpga")},
		{name: "zero extended request is not checked",
			pod: podWith("example.com/fpga", "0"), node: busy(), want: fits},
		{name: "hugepages above allocatable",
			pod: podWith("hugepages-2Mi", "128Mi"), node: busy(), want: reject(true, "Insufficient hugepages-2Mi")},
		{name: "scalar reasons sorted by name after the fixed ones",
			pod: podWith("cpu", "2", "hugepages-2Mi", "128Mi", "example.com/gpu", "3", "example.com/fpga", "1"), node: busy(),
			want: reject(true, "Insufficient cpu", "Insufficient example.com/fpga", "Insufficient example.com/gpu", "Insufficient hugepages-2Mi")},
		{name: "ignored extended resource",
			args: NodeResourcesFitArgs{IgnoredResources: []string{"example.com/fpga"}},
			pod:  podWith("example.com/fpga", "1"), node: busy(), want: fits},
		{name: "ignored resource group",
			args: NodeResourcesFitArgs{IgnoredResourceGroups: []string{"example.com"}},
			pod:  podWith("example.com/fpga", "1", "example.com/gpu", "5"), node: busy(), want: fits},
		{name: "ignored group leaves other domains checked",
			args: NodeResourcesFitArgs{IgnoredResourceGroups: []string{"example.com"}},
			pod:  podWith("example.com/fpga", "1", "vendor.io/nic", "1"), node: busy(), want: reject(true, "Insufficient vendor.io/nic")},
		{name: "kubernetes.io resources cannot be ignored",
			args: NodeResourcesFitArgs{IgnoredResources: []string{"kubernetes.io/widget"}, IgnoredResourceGroups: []string{"kubernetes.io"}},
			pod:  podWith("kubernetes.io/widget", "2"), node: busy(), want: reject(true, "Insufficient kubernetes.io/widget")},
		{name: "DRA-backed extended resource on a node without it: left to DynamicResources",
			classes: classes, pod: podWith("example.com/gpu", "2"), node: nodeWith("n", rl("cpu", "4", "pods", "10")), want: fits},
		{name: "implicit device class resource on a node without it: left to DynamicResources",
			classes: classes, pod: podWith("deviceclass.resource.kubernetes.io/fpga", "3"), node: nodeWith("n", rl("cpu", "4", "pods", "10")), want: fits},
		{name: "DRA-backed extended resource advertised as zero: left to DynamicResources",
			classes: classes, pod: podWith("example.com/gpu", "2"), node: nodeWith("n", rl("pods", "10", "example.com/gpu", "0")), want: fits},
		{name: "DRA-backed extended resource the node advertises: checked the device-plugin way",
			classes: classes, pod: podWith("example.com/gpu", "2"), node: busy(), want: reject(false, "Insufficient example.com/gpu")},
		{name: "extended resource no class provides: still checked",
			classes: classes, pod: podWith("example.com/fpga", "1"), node: nodeWith("n", rl("pods", "10")), want: reject(true, "Insufficient example.com/fpga")},
		{name: "implicit name of a class that does not exist: still checked",
			classes: classes, pod: podWith("deviceclass.resource.kubernetes.io/none", "1"), node: nodeWith("n", rl("pods", "10")),
			want: reject(true, "Insufficient deviceclass.resource.kubernetes.io/none")},
		{name: "hugepages cannot be ignored",
			args: NodeResourcesFitArgs{IgnoredResources: []string{"hugepages-2Mi"}},
			pod:  podWith("hugepages-2Mi", "128Mi"), node: busy(), want: reject(true, "Insufficient hugepages-2Mi")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			args.SetDefaults()
			pl := mustFit(t, args)
			snap := snapshot.New([]*snapshot.NodeInfo{tc.node}, nil)
			if tc.classes != nil {
				snap.Devices = tc.classes
			}
			f, v := pl.PreFilter(tc.pod, snap)
			if !v.Fits() || f == nil {
				t.Fatalf("PreFilter = %v, %+v; want a filter and no rejection", f, v)
			}
			got := f.Filter(tc.node)
			if len(got.Reasons) == 0 {
				got.Reasons = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v, want %+v", got, tc.want)
			}
			// Shortfalls (explain) agrees: a resource left to DRA is never short.
			if sf := f.(decide.Shortfaller).Shortfalls(tc.node); tc.want.Fits() && len(sf) > 0 {
				t.Errorf("Shortfalls = %+v on a node that fits", sf)
			}
		})
	}
}

func TestFitFilterSeesPodsAddedAndRemoved(t *testing.T) {
	holder := podWith("cpu", "3")
	n := nodeWith("n", rl("cpu", "4", "pods", "10"), holder)
	f, _ := mustFit(t, DefaultFitArgs()).PreFilter(podWith("cpu", "2"), snapshot.New([]*snapshot.NodeInfo{n}, nil))
	if f.Filter(n).Fits() {
		t.Fatal("3 of 4 cpu in use: a 2-cpu pod must not fit")
	}
	n.RemovePod(holder)
	if v := f.Filter(n); !v.Fits() {
		t.Errorf("after removing the holder: %+v, want fit", v)
	}
}

func TestFitFilterSharedReasonsAreNotCorrupted(t *testing.T) {
	// Two-reason verdicts must not write into the shared one-reason slices.
	pl := mustFit(t, DefaultFitArgs())
	n := nodeWith("n", rl("cpu", "1", "memory", "1Gi", "pods", "10"))
	f, _ := pl.PreFilter(podWith("cpu", "2", "memory", "2Gi"), snapshot.New([]*snapshot.NodeInfo{n}, nil))
	for range 3 {
		f.Filter(n)
	}
	if insufficientCPU[0] != "Insufficient cpu" || len(insufficientCPU) != 1 {
		t.Errorf("shared reason changed: %q", insufficientCPU)
	}
	if got := f.Filter(n).Reasons; !reflect.DeepEqual(got, []string{"Insufficient cpu", "Insufficient memory"}) {
		t.Errorf("reasons = %q", got)
	}
}

func TestIsExtendedResourceName(t *testing.T) {
	tests := []struct {
		name v1.ResourceName
		want bool
	}{
		{"example.com/gpu", true},
		{"cpu", false},
		{"hugepages-2Mi", false},
		{"kubernetes.io/widget", false},
		{"foo.kubernetes.io/widget", false},
		{"requests.example.com/gpu", false},
		{"example.com/bad name", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.name), func(t *testing.T) {
			if got := isExtendedResourceName(tc.name); got != tc.want {
				t.Errorf("isExtendedResourceName(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func benchFitNodes(count int) []*snapshot.NodeInfo {
	nodes := make([]*snapshot.NodeInfo, count)
	for i := range nodes {
		var pods []*snapshot.PodInfo
		for j := range i % 8 {
			pods = append(pods, podWith("cpu", fmt.Sprintf("%dm", 200+j*50), "memory", "512Mi", "example.com/gpu", fmt.Sprint(j%2)))
		}
		nodes[i] = nodeWith(fmt.Sprintf("node-%d", i), rl("cpu", "4", "memory", "16Gi", "pods", "110", "example.com/gpu", "4"), pods...)
	}
	return nodes
}

func BenchmarkFitFilter5000(b *testing.B) {
	nodes := benchFitNodes(5000)
	pl := mustFit(b, DefaultFitArgs())
	f, _ := pl.PreFilter(podWith("cpu", "2", "memory", "1Gi", "example.com/gpu", "2"), snapshot.New(nodes, nil))
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nodes {
			f.Filter(n)
		}
	}
}
