package podresources

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/metrics"
)

func list(kv ...string) v1.ResourceList {
	l := v1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func ctr(name string, req, lim v1.ResourceList) v1.Container {
	return v1.Container{Name: name, Resources: v1.ResourceRequirements{Requests: req, Limits: lim}}
}

func sidecar(name string, req, lim v1.ResourceList) v1.Container {
	c := ctr(name, req, lim)
	always := v1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

// same reports whether a and b hold the same quantities (by value, whatever their format).
func same(a, b v1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if w, ok := b[name]; !ok || q.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestRequestsAndLimits(t *testing.T) {
	tests := []struct {
		name               string
		spec               v1.PodSpec
		wantReq, wantLimit v1.ResourceList
	}{
		{name: "containers are summed",
			spec: v1.PodSpec{Containers: []v1.Container{
				ctr("a", list("cpu", "100m", "memory", "1Gi"), list("cpu", "200m")),
				ctr("b", list("cpu", "300m"), list("cpu", "1", "memory", "2Gi")),
			}},
			wantReq: list("cpu", "400m", "memory", "1Gi"), wantLimit: list("cpu", "1200m", "memory", "2Gi")},
		{name: "an init container larger than the containers sets the floor",
			spec: v1.PodSpec{
				InitContainers: []v1.Container{ctr("init", list("cpu", "2"), list("cpu", "3"))},
				Containers:     []v1.Container{ctr("a", list("cpu", "500m", "memory", "1Gi"), nil)},
			},
			wantReq: list("cpu", "2", "memory", "1Gi"), wantLimit: list("cpu", "3")},
		{name: "sidecars run beside the containers and the later init containers",
			spec: v1.PodSpec{
				InitContainers: []v1.Container{
					sidecar("proxy", list("cpu", "200m"), nil),
					ctr("migrate", list("cpu", "1"), nil),
				},
				Containers: []v1.Container{ctr("a", list("cpu", "500m"), nil)},
			},
			// Running: 500m + 200m sidecar = 700m; while migrating: 1 + 200m = 1200m.
			wantReq: list("cpu", "1200m"), wantLimit: list()},
		{name: "overhead adds to requests, and to limits only where one is set",
			spec: v1.PodSpec{
				Containers: []v1.Container{ctr("a", list("cpu", "1", "memory", "1Gi"), list("cpu", "2"))},
				Overhead:   list("cpu", "250m", "memory", "100Mi"),
			},
			wantReq: list("cpu", "1250m", "memory", "1124Mi"), wantLimit: list("cpu", "2250m")},
		{name: "pod-level resources replace cpu and memory, not extended resources",
			spec: v1.PodSpec{
				Resources: &v1.ResourceRequirements{Requests: list("cpu", "4", "memory", "8Gi"), Limits: list("cpu", "8")},
				Containers: []v1.Container{ctr("a", list("cpu", "1", "example.com/gpu", "1"),
					list("cpu", "1", "example.com/gpu", "1"))},
			},
			wantReq: list("cpu", "4", "memory", "8Gi", "example.com/gpu", "1"), wantLimit: list("cpu", "8", "example.com/gpu", "1")},
		{name: "no resources at all", spec: v1.PodSpec{Containers: []v1.Container{ctr("a", nil, nil)}},
			wantReq: list(), wantLimit: list()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{Spec: tc.spec}
			if got := Requests(pod); !same(got, tc.wantReq) {
				t.Errorf("Requests = %v, want %v", got, tc.wantReq)
			}
			if got := Limits(pod); !same(got, tc.wantLimit) {
				t.Errorf("Limits = %v, want %v", got, tc.wantLimit)
			}
		})
	}
}

func TestRegisterReportsAsUpstream(t *testing.T) {
	prio := int32(1000)
	pods := []*v1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bound"},
			Spec: v1.PodSpec{NodeName: "n1", SchedulerName: "default-scheduler", Priority: &prio,
				Containers: []v1.Container{ctr("a", list("cpu", "250m", "memory", "64Mi", "hugepages-2Mi", "4Mi", "example.com/gpu", "2"),
					list("memory", "128Mi"))}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending"},
			Spec:   v1.PodSpec{SchedulerName: "default-scheduler", Containers: []v1.Container{ctr("a", list("cpu", "1"), nil)}},
			Status: v1.PodStatus{Phase: v1.PodFailed}}, // not bound: reported whatever its phase
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "done"},
			Spec:   v1.PodSpec{NodeName: "n1", Containers: []v1.Container{ctr("a", list("cpu", "1"), nil)}},
			Status: v1.PodStatus{Phase: v1.PodSucceeded}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "zero"},
			Spec: v1.PodSpec{NodeName: "n1", Containers: []v1.Container{ctr("a", list("cpu", "0"), nil)}}},
	}
	reg := metrics.NewRegistry()
	if err := Register(reg, func() []*v1.Pod { return pods }); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		`kube_pod_resource_request{namespace="ns",node="n1",pod="bound",priority="1000",resource="cpu",scheduler="default-scheduler",unit="cores"} 0.25`,
		`kube_pod_resource_request{namespace="ns",node="n1",pod="bound",priority="1000",resource="memory",scheduler="default-scheduler",unit="bytes"} 67108864`,
		`kube_pod_resource_request{namespace="ns",node="n1",pod="bound",priority="1000",resource="hugepages-2Mi",scheduler="default-scheduler",unit="bytes"} 4194304`,
		`kube_pod_resource_request{namespace="ns",node="n1",pod="bound",priority="1000",resource="example.com/gpu",scheduler="default-scheduler",unit=""} 2`,
		`kube_pod_resource_limit{namespace="ns",node="n1",pod="bound",priority="1000",resource="memory",scheduler="default-scheduler",unit="bytes"} 134217728`,
		`kube_pod_resource_request{namespace="ns",node="",pod="pending",priority="",resource="cpu",scheduler="default-scheduler",unit="cores"} 1`,
		"# TYPE kube_pod_resource_request gauge",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, absent := range []string{`pod="done"`, `pod="zero"`} {
		if strings.Contains(got, absent) {
			t.Errorf("reported %s: a finished pod, or a zero quantity, is left out", absent)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", got)
	}
}
