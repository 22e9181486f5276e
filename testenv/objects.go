package testenv

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// NodeSpec describes a test node. Zero fields get defaults: 4 CPU, 32Gi memory, 110 pods.
type NodeSpec struct {
	Name          string
	CPU, Memory   string
	Pods          int
	Labels        map[string]string
	Taints        []v1.Taint
	Unschedulable bool
	// Extra adds allocatable resources (extended resources, ephemeral-storage, hugepages).
	Extra v1.ResourceList
	// DeclaredFeatures is status.declaredFeatures (for NodeDeclaredFeatures).
	DeclaredFeatures []string
}

// Node builds the node object: Ready, with capacity = allocatable, and the
// kubernetes.io/hostname label set to its name (as the kubelet does).
func Node(s NodeSpec) *v1.Node {
	cpu, mem, pods := s.CPU, s.Memory, s.Pods
	if cpu == "" {
		cpu = "4"
	}
	if mem == "" {
		mem = "32Gi"
	}
	if pods == 0 {
		pods = 110
	}
	alloc := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse(cpu),
		v1.ResourceMemory: resource.MustParse(mem),
		v1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	for k, v := range s.Extra {
		alloc[k] = v
	}
	labels := map[string]string{"kubernetes.io/hostname": s.Name}
	for k, v := range s.Labels {
		labels[k] = v
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: labels},
		Spec:       v1.NodeSpec{Taints: s.Taints, Unschedulable: s.Unschedulable},
		Status: v1.NodeStatus{
			Capacity: alloc, Allocatable: alloc,
			Conditions:       []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady"}},
			DeclaredFeatures: s.DeclaredFeatures,
		},
	}
}

// CreateNode creates the node described by s (the apiserver keeps a node's status on create).
func CreateNode(ctx context.Context, c kubernetes.Interface, s NodeSpec) (*v1.Node, error) {
	n, err := c.CoreV1().Nodes().Create(ctx, Node(s), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating node %s: %w", s.Name, err)
	}
	return n, nil
}

// Pod returns a pending pod with one container requesting cpu and memory (either may be empty)
// and terminationGracePeriodSeconds 0, so that deleting it never waits for a kubelet.
func Pod(namespace, name, cpu, memory string) *v1.Pod {
	req := v1.ResourceList{}
	if cpu != "" {
		req[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		req[v1.ResourceMemory] = resource.MustParse(memory)
	}
	zero := int64(0)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{}},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []v1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10",
				Resources: v1.ResourceRequirements{Requests: req},
			}},
		},
	}
}

// CreateNamespace creates a namespace with a generated name starting with prefix.
func CreateNamespace(ctx context.Context, c kubernetes.Interface, prefix string, labels map[string]string) (string, error) {
	ns, err := c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating namespace %s-*: %w", prefix, err)
	}
	return ns.Name, nil
}
