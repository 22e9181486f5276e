// Package podresources serves kube-scheduler's /metrics/resources families,
// kube_pod_resource_request and kube_pod_resource_limit: what each pod asks of its node and may
// use at most, per resource, by the rules the kubelet and the scheduler share (containers summed,
// init containers as a floor, sidecars added, pod-level resources and overhead applied).
package podresources

import (
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/metrics"
)

var labelNames = []string{"namespace", "pod", "node", "scheduler", "priority", "resource", "unit"}

// Register adds both families to reg. pods lists the pods to report, read at every scrape; a pod
// bound to a node that has finished (Succeeded or Failed) is left out, as upstream does.
func Register(reg *metrics.Registry, pods func() []*v1.Pod) error {
	if err := reg.GaugeVecFunc("kube_pod_resource_request",
		"[STABLE] Resources requested by workloads on the cluster, broken down by pod. This shows the resource usage the scheduler and kubelet expect per pod for resources along with the unit for the resource if any.",
		labelNames, func(emit func(float64, ...string)) { report(pods(), Requests, emit) }); err != nil {
		return err
	}
	return reg.GaugeVecFunc("kube_pod_resource_limit",
		"[STABLE] Resources limit for workloads on the cluster, broken down by pod. This shows the resource usage the scheduler and kubelet expect per pod for resources along with the unit for the resource if any.",
		labelNames, func(emit func(float64, ...string)) { report(pods(), Limits, emit) })
}

func report(pods []*v1.Pod, of func(*v1.Pod) v1.ResourceList, emit func(float64, ...string)) {
	for _, p := range pods {
		if p.Spec.NodeName != "" && (p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed) {
			continue
		}
		priority := ""
		if p.Spec.Priority != nil {
			priority = strconv.FormatInt(int64(*p.Spec.Priority), 10)
		}
		for name, q := range of(p) {
			if q.IsZero() {
				continue
			}
			emit(q.AsApproximateFloat64(), p.Namespace, p.Name, p.Spec.NodeName, p.Spec.SchedulerName, priority, string(name), unit(name))
		}
	}
}

// unit names the unit of a resource's value, or "" when it has none.
func unit(name v1.ResourceName) string {
	switch {
	case name == v1.ResourceCPU:
		return "cores"
	case name == v1.ResourceMemory, name == v1.ResourceStorage, name == v1.ResourceEphemeralStorage,
		strings.HasPrefix(string(name), v1.ResourceHugePagesPrefix):
		return "bytes"
	case strings.HasPrefix(string(name), v1.ResourceAttachableVolumesPrefix):
		return "integer"
	}
	return ""
}

// Requests returns what pod requests of its node.
func Requests(pod *v1.Pod) v1.ResourceList {
	out := aggregate(pod, func(c *v1.Container) v1.ResourceList { return c.Resources.Requests })
	if r := pod.Spec.Resources; r != nil && hasPodLevel(r.Requests) {
		setPodLevel(out, r.Requests)
	}
	add(out, pod.Spec.Overhead)
	return out
}

// Limits returns the most pod may use. Overhead counts only for resources with a limit.
func Limits(pod *v1.Pod) v1.ResourceList {
	out := aggregate(pod, func(c *v1.Container) v1.ResourceList { return c.Resources.Limits })
	if r := pod.Spec.Resources; r != nil && (hasPodLevel(r.Requests) || hasPodLevel(r.Limits)) {
		setPodLevel(out, r.Limits)
	}
	for name, q := range pod.Spec.Overhead {
		if v, ok := out[name]; ok && !v.IsZero() {
			v.Add(q)
			out[name] = v
		}
	}
	return out
}

// aggregate sums the containers' lists and the sidecars' (restartable init containers), and
// raises the result to what each init container needs while it runs: its own list plus the
// sidecars started before it.
func aggregate(pod *v1.Pod, list func(*v1.Container) v1.ResourceList) v1.ResourceList {
	out := v1.ResourceList{}
	for i := range pod.Spec.Containers {
		add(out, list(&pod.Spec.Containers[i]))
	}
	sidecars, floor := v1.ResourceList{}, v1.ResourceList{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			add(out, list(c))
			add(sidecars, list(c))
			raise(floor, sidecars)
			continue
		}
		running := v1.ResourceList{}
		add(running, list(c))
		add(running, sidecars)
		raise(floor, running)
	}
	raise(out, floor)
	return out
}

// hasPodLevel reports whether l names a resource that pod-level resources may set: cpu, memory
// and hugepages.
func hasPodLevel(l v1.ResourceList) bool {
	for name := range l {
		if podLevel(name) {
			return true
		}
	}
	return false
}

func podLevel(name v1.ResourceName) bool {
	return name == v1.ResourceCPU || name == v1.ResourceMemory || strings.HasPrefix(string(name), v1.ResourceHugePagesPrefix)
}

// setPodLevel replaces, in out, the resources that pod-level resources set.
func setPodLevel(out, podLevelList v1.ResourceList) {
	for name, q := range podLevelList {
		if podLevel(name) {
			out[name] = q.DeepCopy()
		}
	}
}

func add(out, l v1.ResourceList) {
	for name, q := range l {
		v, ok := out[name]
		if !ok {
			out[name] = q.DeepCopy()
			continue
		}
		v.Add(q)
		out[name] = v
	}
}

func raise(out, l v1.ResourceList) {
	for name, q := range l {
		if v, ok := out[name]; !ok || q.Cmp(v) > 0 {
			out[name] = q.DeepCopy()
		}
	}
}
