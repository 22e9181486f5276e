package main

import (
	"fmt"
	"sort"
	"strconv"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
)

// The checker judges a finished run from the API's final state, independently of any scheduler's
// code: it re-derives every hard constraint the benchmark pods carry (node capacity, node selector
// and required node affinity, NoSchedule taints, required inter-pod (anti-)affinity, hard
// topology spread, gates), checks that no pod of the run was deleted (a preempting scheduler may
// delete only the victims a preemption run starts with), checks on a volumes run that each bound
// pod's claim is bound to a volume of its own reachable from the pod's node, on a devices run that
// each bound pod's ResourceClaim holds one device of the pod's node, given to no other claim and
// reserved for the pod, and lists each one
// broken. It supports
// the operators the workloads use; anything else is reported as a violation rather than silently
// passed.

// placement is the final state of a run.
type placement struct {
	nodes map[string]*v1.Node
	// pods are every pod of the namespace: the run's and what is left of its victims.
	pods []*v1.Pod
	// mustStayPending names pods that must never be bound.
	mustStayPending map[string]bool
	// runPods names the pods the run created, each of which must still exist (nil: not checked).
	runPods map[string]bool
	// incomplete marks a run that ended before every pod was bound: the pods it left pending are
	// reported with the run, not as violations; everything else is checked as usual.
	incomplete bool
	// claims (by namespace/name) and volumes (by name) are the final claims and PVs of a volumes
	// run, whose pods' volumes are then checked (see checkVolumes); nil otherwise.
	claims  map[string]*v1.PersistentVolumeClaim
	volumes map[string]*v1.PersistentVolume
	// resourceClaims (by namespace/name) and slices are the final ResourceClaims and
	// ResourceSlices of a devices run, whose pods' device claims are then checked (see
	// checkDevices); nil otherwise.
	resourceClaims map[string]*resourcev1.ResourceClaim
	slices         []*resourcev1.ResourceSlice
}

// check returns the violations in p, sorted. With constraints false only the pending/bound
// expectations, the deletions, the volumes and the devices are checked (the ceiling binds
// round-robin and ignores constraints by design, but must leave each pod's volume and device on
// its node).
func check(p placement, constraints bool) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var bound []*v1.Pod
	present := map[string]bool{}
	for _, pod := range p.pods {
		present[pod.Name] = true
		name := pod.Namespace + "/" + pod.Name
		switch {
		case pod.Spec.NodeName == "" && !p.mustStayPending[pod.Name] && !p.incomplete:
			add("%s: never bound, but it fits", name)
		case pod.Spec.NodeName != "" && p.mustStayPending[pod.Name]:
			add("%s: bound to %s, but it must stay pending", name, pod.Spec.NodeName)
		case pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) > 0:
			add("%s: bound to %s while gated", name, pod.Spec.NodeName)
		}
		if pod.Spec.NodeName == "" {
			continue
		}
		if p.nodes[pod.Spec.NodeName] == nil {
			add("%s: bound to unknown node %s", name, pod.Spec.NodeName)
			continue
		}
		bound = append(bound, pod)
	}
	for name := range p.runPods {
		if !present[name] {
			add("pod %s: deleted, but only the victims a preemption run starts with may be", name)
		}
	}
	if p.claims != nil {
		out = append(out, checkVolumes(p, bound)...)
	}
	if p.resourceClaims != nil {
		out = append(out, checkDevices(p, bound)...)
	}
	if constraints {
		out = append(out, checkCapacity(p.nodes, bound)...)
		for _, pod := range bound {
			out = append(out, checkNodeLocal(pod, p.nodes[pod.Spec.NodeName])...)
		}
		out = append(out, checkInterPod(p.nodes, bound)...)
		out = append(out, checkSpread(p.nodes, bound)...)
	}
	sort.Strings(out)
	return out
}

// checkCapacity checks that each node's pods fit its allocatable cpu, memory and pod count.
func checkCapacity(nodes map[string]*v1.Node, bound []*v1.Pod) []string {
	type use struct{ cpu, mem, pods int64 }
	used := map[string]*use{}
	for _, pod := range bound {
		u := used[pod.Spec.NodeName]
		if u == nil {
			u = &use{}
			used[pod.Spec.NodeName] = u
		}
		req := podRequests(pod)
		u.cpu += req.Cpu().MilliValue()
		u.mem += req.Memory().Value()
		u.pods++
	}
	var out []string
	for name, u := range used {
		alloc := nodes[name].Status.Allocatable
		if c := alloc.Cpu().MilliValue(); u.cpu > c {
			out = append(out, fmt.Sprintf("node %s: pods request %dm cpu, allocatable %dm", name, u.cpu, c))
		}
		if m := alloc.Memory().Value(); u.mem > m {
			out = append(out, fmt.Sprintf("node %s: pods request %d bytes of memory, allocatable %d", name, u.mem, m))
		}
		if n := alloc.Pods().Value(); u.pods > n {
			out = append(out, fmt.Sprintf("node %s: %d pods, allocatable %d", name, u.pods, n))
		}
	}
	return out
}

// podRequests is the larger of the containers' summed requests and any one init container's, plus
// the pod overhead.
func podRequests(pod *v1.Pod) v1.ResourceList {
	sum := v1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		addTo(sum, c.Resources.Requests)
	}
	for _, c := range pod.Spec.InitContainers {
		for k, q := range c.Resources.Requests {
			if cur, ok := sum[k]; !ok || q.Cmp(cur) > 0 {
				sum[k] = q.DeepCopy()
			}
		}
	}
	addTo(sum, pod.Spec.Overhead)
	return sum
}

func addTo(sum, add v1.ResourceList) {
	for k, q := range add {
		cur := sum[k]
		cur.Add(q)
		sum[k] = cur
	}
}

// checkNodeLocal checks the pod's node selector, required node affinity and taints against node.
func checkNodeLocal(pod *v1.Pod, node *v1.Node) []string {
	var out []string
	name := pod.Namespace + "/" + pod.Name
	for k, v := range pod.Spec.NodeSelector {
		if node.Labels[k] != v {
			out = append(out, fmt.Sprintf("%s on %s: nodeSelector %s=%s not matched", name, node.Name, k, v))
		}
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		ok, err := matchNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, node)
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("%s on %s: cannot check node affinity: %v", name, node.Name, err))
		case !ok:
			out = append(out, fmt.Sprintf("%s on %s: required node affinity not matched", name, node.Name))
		}
	}
	for _, t := range node.Spec.Taints {
		if t.Effect != v1.TaintEffectNoSchedule && t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		if !tolerated(pod.Spec.Tolerations, t) {
			out = append(out, fmt.Sprintf("%s on %s: taint %s=%s:%s not tolerated", name, node.Name, t.Key, t.Value, t.Effect))
		}
	}
	return out
}

// matchNodeSelector reports whether node matches any of the terms (an empty term matches nothing).
func matchNodeSelector(sel *v1.NodeSelector, node *v1.Node) (bool, error) {
	for _, term := range sel.NodeSelectorTerms {
		if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
			continue
		}
		ok := true
		for _, r := range term.MatchExpressions {
			m, err := matchRequirement(r, node.Labels[r.Key], hasKey(node.Labels, r.Key))
			if err != nil {
				return false, err
			}
			ok = ok && m
		}
		for _, r := range term.MatchFields {
			if r.Key != "metadata.name" {
				return false, fmt.Errorf("matchFields key %q", r.Key)
			}
			m, err := matchRequirement(r, node.Name, true)
			if err != nil {
				return false, err
			}
			ok = ok && m
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func matchRequirement(r v1.NodeSelectorRequirement, value string, present bool) (bool, error) {
	in := func() bool {
		for _, v := range r.Values {
			if v == value {
				return true
			}
		}
		return false
	}
	switch r.Operator {
	case v1.NodeSelectorOpIn:
		return present && in(), nil
	case v1.NodeSelectorOpNotIn:
		return !present || !in(), nil
	case v1.NodeSelectorOpExists:
		return present, nil
	case v1.NodeSelectorOpDoesNotExist:
		return !present, nil
	case v1.NodeSelectorOpGt, v1.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false, nil
		}
		have, err1 := strconv.ParseInt(value, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false, nil
		}
		if r.Operator == v1.NodeSelectorOpGt {
			return have > want, nil
		}
		return have < want, nil
	}
	return false, fmt.Errorf("operator %q", r.Operator)
}

// tolerated reports whether some toleration tolerates taint t.
func tolerated(tols []v1.Toleration, t v1.Taint) bool {
	for _, tol := range tols {
		if tol.Effect != "" && tol.Effect != t.Effect {
			continue
		}
		switch tol.Operator {
		case v1.TolerationOpExists:
			if tol.Key == "" || tol.Key == t.Key {
				return true
			}
		case v1.TolerationOpEqual, "":
			if tol.Key == t.Key && tol.Value == t.Value {
				return true
			}
		}
	}
	return false
}
