package scheduler

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fullPod has every field Trim keeps and every kind of field it drops.
func fullPod() *v1.Pod {
	always := v1.ContainerRestartPolicyAlways
	req := v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("64Mi")}
	lim := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}
	container := func(name string) v1.Container {
		return v1.Container{
			Name: name, Image: "registry.k8s.io/pause:3.10",
			Ports:     []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: v1.ProtocolTCP}},
			Resources: v1.ResourceRequirements{Requests: req, Limits: lim, Claims: []v1.ResourceClaim{{Name: "gpu"}}},
			Command:   []string{"/pause"}, Args: []string{"-v"}, WorkingDir: "/",
			Env: []v1.EnvVar{{Name: "A", Value: "b"}},
			VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data"},
				{Name: "bind", MountPath: "/bind", BindMountOptions: []string{"noexec"}}},
			RestartPolicyRules: []v1.ContainerRestartRule{{Action: v1.ContainerRestartRuleActionRestartAllContainers}},
			LivenessProbe:      &v1.Probe{PeriodSeconds: 10}, ReadinessProbe: &v1.Probe{PeriodSeconds: 5},
			SecurityContext: &v1.SecurityContext{}, TerminationMessagePath: "/dev/termination-log",
			ImagePullPolicy: v1.PullIfNotPresent,
			ResizePolicy:    []v1.ContainerResizePolicy{{ResourceName: v1.ResourceCPU, RestartPolicy: v1.NotRequired}},
		}
	}
	sidecar := container("sidecar")
	sidecar.RestartPolicy = &always
	prio := int32(10)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{"a": "b"}, OwnerReferences: []metav1.OwnerReference{{Name: "rs"}}},
		Spec: v1.PodSpec{
			InitContainers: []v1.Container{sidecar}, Containers: []v1.Container{container("app")},
			EphemeralContainers: []v1.EphemeralContainer{{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "debug"}},
				{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "bind", Image: "busybox",
					VolumeMounts: []v1.VolumeMount{{Name: "bind", MountPath: "/b", BindMountOptions: []string{"ro"}}}}}},
			Volumes:      []v1.Volume{{Name: "data"}},
			NodeSelector: map[string]string{"disk": "ssd"}, SchedulerName: "default-scheduler", Priority: &prio,
			Tolerations:               []v1.Toleration{{Key: "k", Operator: v1.TolerationOpExists}},
			TopologySpreadConstraints: []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone"}},
			Overhead:                  v1.ResourceList{v1.ResourceCPU: resource.MustParse("10m")},
			Resources:                 &v1.ResourceRequirements{Limits: lim},
		},
		Status: v1.PodStatus{
			Phase: v1.PodRunning, NominatedNodeName: "n1", PodIP: "10.0.0.1",
			Conditions: []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionTrue}},
			ContainerStatuses: []v1.ContainerStatus{{Name: "app", ImageID: "sha256:x", ContainerID: "c://1",
				AllocatedResources: req, Resources: &v1.ResourceRequirements{Requests: req}}},
			EphemeralContainerStatuses: []v1.ContainerStatus{{Name: "debug"}},
		},
	}
}

func TestTrimSharesLimitsEqualToRequests(t *testing.T) {
	q := func(s string) resource.Quantity { return resource.MustParse(s) }
	tests := []struct {
		name        string
		req, lim    v1.ResourceList
		wantShared  bool
		wantLimitsN int
	}{
		{name: "equal by value", req: v1.ResourceList{"cpu": q("1"), "memory": q("1Gi")},
			lim: v1.ResourceList{"cpu": q("1000m"), "memory": q("1Gi")}, wantShared: true, wantLimitsN: 2},
		{name: "a larger limit", req: v1.ResourceList{"cpu": q("1")}, lim: v1.ResourceList{"cpu": q("2")}, wantLimitsN: 1},
		{name: "a limit on fewer resources", req: v1.ResourceList{"cpu": q("1"), "memory": q("1Gi")},
			lim: v1.ResourceList{"cpu": q("1")}, wantLimitsN: 1},
		{name: "no limits", req: v1.ResourceList{"cpu": q("1")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c",
				Resources: v1.ResourceRequirements{Requests: tc.req, Limits: tc.lim}}}}}
			Trim(p)
			r := p.Spec.Containers[0].Resources
			if len(r.Limits) != tc.wantLimitsN || !equality.Semantic.DeepEqual(r.Limits, tc.lim) && len(tc.lim) > 0 {
				t.Errorf("limits %v, want %v", r.Limits, tc.lim)
			}
			if shared := len(r.Limits) > 0 && reflect.ValueOf(r.Limits).UnsafePointer() == reflect.ValueOf(r.Requests).UnsafePointer(); shared != tc.wantShared {
				t.Errorf("limits share the requests' map: %v, want %v", shared, tc.wantShared)
			}
		})
	}
}

func TestTrimPod(t *testing.T) {
	p := fullPod()
	Trim(p)
	orig := fullPod()

	// What is kept.
	if !equality.Semantic.DeepEqual(p.ObjectMeta, orig.ObjectMeta) {
		t.Errorf("metadata changed: %+v", p.ObjectMeta)
	}
	want := orig.Spec
	bindOnly := []v1.VolumeMount{{Name: "bind", BindMountOptions: []string{"noexec"}}}
	want.EphemeralContainers = []v1.EphemeralContainer{{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "bind",
		VolumeMounts: []v1.VolumeMount{{Name: "bind", BindMountOptions: []string{"ro"}}}}}}
	want.InitContainers, want.Containers = nil, nil
	got := p.Spec
	got.InitContainers, got.Containers = nil, nil
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("pod spec outside containers changed:\ngot  %+v\nwant %+v", got, want)
	}
	for _, tc := range []struct {
		name      string
		got, orig v1.Container
	}{
		{"init container", p.Spec.InitContainers[0], orig.Spec.InitContainers[0]},
		{"container", p.Spec.Containers[0], orig.Spec.Containers[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, o := tc.got, tc.orig
			if c.Name != o.Name || c.Image != o.Image || !equality.Semantic.DeepEqual(c.Ports, o.Ports) ||
				!equality.Semantic.DeepEqual(c.Resources.Requests, o.Resources.Requests) ||
				!equality.Semantic.DeepEqual(c.Resources.Limits, o.Resources.Limits) ||
				!equality.Semantic.DeepEqual(c.Resources.Claims, o.Resources.Claims) ||
				!equality.Semantic.DeepEqual(c.RestartPolicy, o.RestartPolicy) ||
				!equality.Semantic.DeepEqual(c.ResizePolicy, o.ResizePolicy) ||
				!equality.Semantic.DeepEqual(c.RestartPolicyRules, o.RestartPolicyRules) ||
				!equality.Semantic.DeepEqual(c.VolumeMounts, bindOnly) {
				t.Errorf("a kept field changed: %+v", c)
			}
			if c.Command != nil || c.Args != nil || c.Env != nil ||
				c.LivenessProbe != nil || c.ReadinessProbe != nil || c.SecurityContext != nil || c.WorkingDir != "" ||
				c.TerminationMessagePath != "" || c.ImagePullPolicy != "" {
				t.Errorf("a dropped field is still set: %+v", c)
			}
		})
	}
	if p.Status.Phase != orig.Status.Phase || p.Status.NominatedNodeName != "n1" ||
		!equality.Semantic.DeepEqual(p.Status.Conditions, orig.Status.Conditions) {
		t.Errorf("a kept status field changed: %+v", p.Status)
	}
	cs := p.Status.ContainerStatuses
	if len(cs) != 1 || cs[0].Name != "app" || cs[0].ImageID != "" || cs[0].ContainerID != "" ||
		!equality.Semantic.DeepEqual(cs[0].AllocatedResources, orig.Status.ContainerStatuses[0].AllocatedResources) ||
		!equality.Semantic.DeepEqual(cs[0].Resources, orig.Status.ContainerStatuses[0].Resources) {
		t.Errorf("container statuses: got %+v, want name and resources only", cs)
	}
	if p.Status.EphemeralContainerStatuses != nil {
		t.Error("ephemeral container statuses kept")
	}

	again := p.DeepCopy()
	Trim(again)
	if !equality.Semantic.DeepEqual(again, p) {
		t.Error("trimming twice changes the pod again; client-go may transform an object more than once")
	}
}

func TestTrimNode(t *testing.T) {
	alloc := v1.ResourceList{v1.ResourceCPU: resource.MustParse("4")}
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"zone": "a"}},
		Spec:       v1.NodeSpec{Unschedulable: true, Taints: []v1.Taint{{Key: "k", Effect: v1.TaintEffectNoSchedule}}},
		Status: v1.NodeStatus{
			Capacity: alloc, Allocatable: alloc,
			Images:           []v1.ContainerImage{{Names: []string{"nginx"}, SizeBytes: 1}},
			Conditions:       []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			Addresses:        []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "10.0.0.1"}},
			NodeInfo:         v1.NodeSystemInfo{KubeletVersion: "v1.37.2"},
			DeclaredFeatures: []string{"RestartAllContainersOnContainerExits"},
		},
	}
	orig := n.DeepCopy()
	Trim(n)
	if !equality.Semantic.DeepEqual(n.ObjectMeta, orig.ObjectMeta) || !equality.Semantic.DeepEqual(n.Spec, orig.Spec) {
		t.Errorf("node metadata or spec changed: %+v", n)
	}
	want := v1.NodeStatus{Allocatable: alloc, Images: orig.Status.Images, DeclaredFeatures: orig.Status.DeclaredFeatures}
	if !equality.Semantic.DeepEqual(n.Status, want) {
		t.Errorf("node status: got %+v, want allocatable, images and declared features only", n.Status)
	}
}

func TestTrimLeavesOtherObjects(t *testing.T) {
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{"a": "b"}},
		Status: v1.NamespaceStatus{Phase: v1.NamespaceActive}}
	orig := ns.DeepCopy()
	Trim(ns)
	Trim("not an object")
	if !equality.Semantic.DeepEqual(ns, orig) {
		t.Errorf("namespace changed: %+v", ns)
	}
}
