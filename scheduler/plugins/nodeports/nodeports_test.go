package nodeports

import (
	"fmt"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.FilterPlugin = (*NodePorts)(nil)

// port builds a container port "ip/proto/hostPort"; empty ip or proto are left for defaulting.
func port(ip string, proto v1.Protocol, hostPort int32) v1.ContainerPort {
	return v1.ContainerPort{ContainerPort: 8080, HostIP: ip, Protocol: proto, HostPort: hostPort}
}

func podWithPorts(uid string, ports ...v1.ContainerPort) *snapshot.PodInfo {
	return snapshot.NewPodInfo(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID(uid)},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Ports: ports}}},
	})
}

func nodeWith(name string, pods ...*snapshot.PodInfo) *snapshot.NodeInfo {
	return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, pods...)
}

func TestFilter(t *testing.T) {
	taken := snapshot.Verdict{Reasons: []string{"node(s) didn't have free ports for the requested pod ports"}}
	tests := []struct {
		name        string
		pod         *snapshot.PodInfo
		node        *snapshot.NodeInfo
		want        snapshot.Verdict
		wantNoCheck bool
	}{
		{name: "no host ports: nothing to check", pod: podWithPorts("p", v1.ContainerPort{ContainerPort: 80}),
			node: nodeWith("n", podWithPorts("e", port("", "", 80))), wantNoCheck: true},
		{name: "empty node", pod: podWithPorts("p", port("", "", 80)), node: nodeWith("n")},
		{name: "same wildcard port", pod: podWithPorts("p", port("", "", 80)),
			node: nodeWith("n", podWithPorts("e", port("", v1.ProtocolTCP, 80))), want: taken},
		{name: "other port", pod: podWithPorts("p", port("", "", 81)),
			node: nodeWith("n", podWithPorts("e", port("", "", 80)))},
		{name: "other protocol", pod: podWithPorts("p", port("", v1.ProtocolUDP, 53)),
			node: nodeWith("n", podWithPorts("e", port("", v1.ProtocolTCP, 53)))},
		{name: "specific address against wildcard in use", pod: podWithPorts("p", port("10.0.0.1", "", 80)),
			node: nodeWith("n", podWithPorts("e", port("0.0.0.0", "", 80))), want: taken},
		{name: "wildcard against specific address in use", pod: podWithPorts("p", port("", "", 80)),
			node: nodeWith("n", podWithPorts("e", port("10.0.0.1", "", 80))), want: taken},
		{name: "two different specific addresses", pod: podWithPorts("p", port("10.0.0.2", "", 80)),
			node: nodeWith("n", podWithPorts("e", port("10.0.0.1", "", 80)))},
		{name: "same specific address", pod: podWithPorts("p", port("10.0.0.1", v1.ProtocolSCTP, 80)),
			node: nodeWith("n", podWithPorts("e", port("10.0.0.1", v1.ProtocolSCTP, 80))), want: taken},
		{name: "one of several ports taken", pod: podWithPorts("p", port("", "", 80), port("", "", 443)),
			node: nodeWith("n", podWithPorts("e", port("", "", 443))), want: taken},
	}
	pl := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, v := pl.PreFilter(tc.pod, snapshot.New([]*snapshot.NodeInfo{tc.node}, nil))
			if !v.Fits() {
				t.Fatalf("PreFilter rejected the pod: %+v", v)
			}
			if (f == nil) != tc.wantNoCheck {
				t.Fatalf("PreFilter filter nil = %v, want %v", f == nil, tc.wantNoCheck)
			}
			if f == nil {
				return
			}
			if got := f.Filter(tc.node); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFilterAfterHolderRemoved(t *testing.T) {
	holder := podWithPorts("holder", port("", "", 80))
	n := nodeWith("n", holder)
	f, _ := New().PreFilter(podWithPorts("p", port("", "", 80)), snapshot.New([]*snapshot.NodeInfo{n}, nil))
	if f.Filter(n).Fits() {
		t.Fatal("port held by another pod: want rejection")
	}
	if !n.RemovePod(holder) {
		t.Fatal("RemovePod found no holder")
	}
	if v := f.Filter(n); !v.Fits() {
		t.Errorf("after removing the holder: Filter = %+v, want fit", v)
	}
}

// kube-scheduler v1.37 counts the host ports of sidecars (init containers with restartPolicy
// Always), both for the incoming pod and for the pods on the node. That is snapshot.PodHostPorts'
// job; this test checks the plugin sees them.
func TestFilterSidecarPorts(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	sidecarPod := snapshot.NewPodInfo(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "s", UID: "s"},
		Spec: v1.PodSpec{
			InitContainers: []v1.Container{{Name: "proxy", RestartPolicy: &always, Ports: []v1.ContainerPort{port("", "", 15001)}}},
			Containers:     []v1.Container{{Name: "app"}},
		},
	})
	if len(snapshot.PodHostPorts(sidecarPod.Pod)) == 0 {
		t.Fatal("snapshot.PodHostPorts left out the sidecar's host port")
	}
	n := nodeWith("n", podWithPorts("e", port("", "", 15001)))
	f, _ := New().PreFilter(sidecarPod, snapshot.New([]*snapshot.NodeInfo{n}, nil))
	if f == nil || f.Filter(n).Fits() {
		t.Error("sidecar host port conflict not detected")
	}
}

func BenchmarkFilter5000(b *testing.B) {
	nodes := make([]*snapshot.NodeInfo, 5000)
	for i := range nodes {
		nodes[i] = nodeWith(fmt.Sprintf("node-%d", i),
			podWithPorts(fmt.Sprintf("a%d", i), port("", "", int32(8000+i%50))),
			podWithPorts(fmt.Sprintf("b%d", i), port("10.0.0.1", v1.ProtocolUDP, 53)))
	}
	f, _ := New().PreFilter(podWithPorts("p", port("", "", 8025), port("", v1.ProtocolUDP, 53)), snapshot.New(nodes, nil))
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range nodes {
			f.Filter(n)
		}
	}
}
