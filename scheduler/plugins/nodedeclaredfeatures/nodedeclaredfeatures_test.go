package nodedeclaredfeatures

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

var _ decide.FilterPlugin = (*NodeDeclaredFeatures)(nil)

func TestRequired(t *testing.T) {
	restartAll := []v1.ContainerRestartRule{{Action: v1.ContainerRestartRuleActionRestartAllContainers}}
	bind := []v1.VolumeMount{{Name: "v", MountPath: "/v", BindMountOptions: []string{"nosuid"}}}
	no := false
	tests := []struct {
		name string
		spec v1.PodSpec
		want []string
	}{
		{name: "a plain pod", spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}},
		{name: "restart all containers", spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", RestartPolicyRules: restartAll}}},
			want: []string{RestartAllContainers}},
		{name: "restart all containers from an init container", spec: v1.PodSpec{InitContainers: []v1.Container{{Name: "i", RestartPolicyRules: restartAll}}},
			want: []string{RestartAllContainers}},
		{name: "another restart action needs nothing", spec: v1.PodSpec{Containers: []v1.Container{{Name: "c",
			RestartPolicyRules: []v1.ContainerRestartRule{{Action: v1.ContainerRestartRuleActionRestart}}}}}},
		{name: "host network in a user namespace", spec: v1.PodSpec{HostNetwork: true, HostUsers: &no}, want: []string{UserNamespacesHostNetwork}},
		{name: "host network with host users unset needs nothing", spec: v1.PodSpec{HostNetwork: true}},
		{name: "bind mount options in an ephemeral container", spec: v1.PodSpec{EphemeralContainers: []v1.EphemeralContainer{{
			EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "e", VolumeMounts: bind}}}}, want: []string{VolumeBindMountOptions}},
		{name: "all three, in the registry's order", spec: v1.PodSpec{HostNetwork: true, HostUsers: &no,
			Containers: []v1.Container{{Name: "c", VolumeMounts: bind, RestartPolicyRules: restartAll}}},
			want: []string{RestartAllContainers, UserNamespacesHostNetwork, VolumeBindMountOptions}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Required(&tc.spec); !slices.Equal(got, tc.want) {
				t.Errorf("Required = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	node := func(features ...string) *snapshot.NodeInfo {
		return snapshot.NewNodeInfo(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: v1.NodeStatus{DeclaredFeatures: features}})
	}
	no := false
	pod := func(spec v1.PodSpec) *snapshot.PodInfo { return snapshot.NewPodInfo(&v1.Pod{Spec: spec}) }
	both := v1.PodSpec{HostNetwork: true, HostUsers: &no, Containers: []v1.Container{{Name: "c",
		RestartPolicyRules: []v1.ContainerRestartRule{{Action: v1.ContainerRestartRuleActionRestartAllContainers}}}}}
	tests := []struct {
		name string
		pod  *snapshot.PodInfo
		node *snapshot.NodeInfo
		fits bool
	}{
		{name: "a plain pod is not checked", pod: pod(v1.PodSpec{}), node: node(), fits: true},
		{name: "every feature declared", pod: pod(both), node: node("Other", UserNamespacesHostNetwork, RestartAllContainers), fits: true},
		{name: "one feature missing", pod: pod(both), node: node(RestartAllContainers)},
		{name: "nothing declared", pod: pod(both), node: node()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, v := New().PreFilter(tc.pod, nil)
			if !v.Fits() {
				t.Fatalf("PreFilter rejected: %+v", v)
			}
			if f == nil {
				if !tc.fits {
					t.Fatal("no filter for a pod that needs features")
				}
				return
			}
			v = f.Filter(tc.node)
			if v.Fits() != tc.fits || (!tc.fits && (!v.Unresolvable || v.Reasons[0] != ReasonUnsatisfied)) {
				t.Errorf("Filter = %+v, want fits %v (else unresolvable %q)", v, tc.fits, ReasonUnsatisfied)
			}
		})
	}
}
