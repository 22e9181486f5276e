package conformance

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

// createNode creates n; with viaDraft it first creates draftNode(n) and then updates it to n
// (spec and labels, then status), so the schedulers see an add followed by updates.
func createNode(ctx context.Context, n *v1.Node, viaDraft bool) error {
	nodes := admin.CoreV1().Nodes()
	if !viaDraft {
		if _, err := nodes.Create(ctx, n.DeepCopy(), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
		return nil
	}
	got, err := nodes.Create(ctx, draftNode(n), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating draft node %s: %w", n.Name, err)
	}
	final := n.DeepCopy()
	final.ResourceVersion = got.ResourceVersion
	if got, err = nodes.Update(ctx, final, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating node %s: %w", n.Name, err)
	}
	final.ResourceVersion = got.ResourceVersion
	if _, err := nodes.UpdateStatus(ctx, final, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating node %s status: %w", n.Name, err)
	}
	return nil
}

// draftNode is a different first version of n: other zone, pool and disk labels, the opposite
// cordon, other taints and twice the cpu and more pods.
func draftNode(n *v1.Node) *v1.Node {
	d := n.DeepCopy()
	d.Labels[labelZone] = "z-draft"
	d.Labels[labelPool] = "draft"
	delete(d.Labels, labelDisk)
	d.Spec.Unschedulable = !n.Spec.Unschedulable
	if len(d.Spec.Taints) > 0 {
		d.Spec.Taints = nil
	} else {
		d.Spec.Taints = []v1.Taint{{Key: taintDedicated, Value: "draft", Effect: v1.TaintEffectNoSchedule}}
	}
	alloc := placementcheck.ToAmounts(n.Status.Allocatable)
	alloc[v1.ResourceCPU] *= 2
	alloc[v1.ResourcePods] += 5
	d.Status.Allocatable = resourceList(alloc)
	d.Status.Capacity = resourceList(alloc)
	return d
}

// createPod creates p; with viaDraft it first creates draftPod(p) and then updates its labels.
func createPod(ctx context.Context, p *v1.Pod, viaDraft bool) error {
	pods := admin.CoreV1().Pods(p.Namespace)
	if !viaDraft {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating pod %s: %w", podName(p), err)
		}
		return nil
	}
	got, err := pods.Create(ctx, draftPod(p), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating draft pod %s: %w", podName(p), err)
	}
	got.Labels = p.Labels
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating pod %s labels: %w", podName(p), err)
	}
	return nil
}

// draftPod is p with other labels: app changed or added, role toggled, no group.
func draftPod(p *v1.Pod) *v1.Pod {
	d := p.DeepCopy()
	d.Labels = map[string]string{}
	for k, v := range p.Labels {
		d.Labels[k] = v
	}
	if _, ok := d.Labels[labelApp]; ok {
		d.Labels[labelApp] = "draft"
	} else {
		d.Labels[labelApp] = "web"
	}
	if _, ok := d.Labels[labelRole]; ok {
		delete(d.Labels, labelRole)
	} else {
		d.Labels[labelRole] = "x"
	}
	delete(d.Labels, labelGroup)
	return d
}
