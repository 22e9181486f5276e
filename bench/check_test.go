package main

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Small builders for checker cases: nodes n-a (zone z1), n-b (z1), n-c (z2), n-d (z2, tainted).

func testNodes() map[string]*v1.Node {
	mk := func(name, zone string, taints ...v1.Taint) *v1.Node {
		alloc := v1.ResourceList{
			v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("2Gi"),
			v1.ResourcePods: resource.MustParse("10"),
		}
		return &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				"kubernetes.io/hostname": name, "zone": zone, "disk": map[bool]string{true: "ssd", false: "hdd"}[name == "n-a"],
			}},
			Spec:   v1.NodeSpec{Taints: taints},
			Status: v1.NodeStatus{Allocatable: alloc},
		}
	}
	return map[string]*v1.Node{
		"n-a": mk("n-a", "z1"), "n-b": mk("n-b", "z1"), "n-c": mk("n-c", "z2"),
		"n-d": mk("n-d", "z2", v1.Taint{Key: "dedicated", Value: "batch", Effect: v1.TaintEffectNoSchedule}),
	}
}

type podOpt func(*v1.Pod)

func pod(name, node string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{}},
		Spec: v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("100Mi")},
		}}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func cpu(q string) podOpt {
	return func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse(q) }
}

func label(k, v string) podOpt { return func(p *v1.Pod) { p.Labels[k] = v } }

func antiAffinity(k, v, key string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}, TopologyKey: key,
		}}}}
	}
}

func affinity(k, v, key string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}, TopologyKey: key,
		}}}}
	}
}

func nodeAffinity(op v1.NodeSelectorOperator, key string, values ...string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}},
		}}}
	}
}

func spread(k, v, key string) podOpt {
	return func(p *v1.Pod) {
		p.Labels[k] = v
		p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: key,
			WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}}}
	}
}

func tolerate(key, value string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Tolerations = []v1.Toleration{{Key: key, Operator: v1.TolerationOpEqual, Value: value, Effect: v1.TaintEffectNoSchedule}}
	}
}

func gated(p *v1.Pod) { p.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "hold"}} }

func podsOn(node string, n int) []*v1.Pod {
	var out []*v1.Pod
	for i := range n {
		out = append(out, pod(fmt.Sprintf("p%d", i), node, cpu("10m")))
	}
	return out
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name        string
		pods        []*v1.Pod
		pending     []string
		runPods     []string
		incomplete  bool
		constraints bool
		want        []string // substrings, one per expected violation
	}{
		{name: "valid mix", constraints: true, pending: []string{"big", "held"}, pods: []*v1.Pod{
			pod("a", "n-a"), pod("b", "n-b"),
			pod("big", "", cpu("9")), pod("held", "", gated),
			pod("x1", "n-a", label("app", "x"), antiAffinity("app", "x", "kubernetes.io/hostname")),
			pod("x2", "n-b", label("app", "x"), antiAffinity("app", "x", "kubernetes.io/hostname")),
			pod("s1", "n-a", spread("s", "1", "zone")), pod("s2", "n-c", spread("s", "1", "zone")), pod("s3", "n-b", spread("s", "1", "zone")),
			pod("ssd", "n-a", nodeAffinity(v1.NodeSelectorOpIn, "disk", "ssd")),
			pod("not-hdd", "n-a", nodeAffinity(v1.NodeSelectorOpNotIn, "disk", "hdd")),
			pod("batch", "n-d", tolerate("dedicated", "batch")),
			pod("near", "n-b", affinity("app", "x", "zone")),
		}},
		{name: "pod that fits left pending", constraints: true, pods: []*v1.Pod{pod("a", "")},
			want: []string{"ns/a: never bound"}},
		{name: "must-stay-pending pod bound", pending: []string{"big"}, pods: []*v1.Pod{pod("big", "n-a", cpu("9"))},
			want: []string{"must stay pending"}},
		{name: "gated pod bound", pods: []*v1.Pod{pod("g", "n-a", gated)}, want: []string{"while gated"}},
		{name: "unknown node", pods: []*v1.Pod{pod("a", "n-zzz")}, want: []string{"unknown node n-zzz"}},
		{name: "cpu over allocatable", constraints: true, pods: []*v1.Pod{pod("a", "n-a", cpu("600m")), pod("b", "n-a", cpu("600m"))},
			want: []string{"node n-a: pods request 1200m cpu, allocatable 1000m"}},
		{name: "too many pods", constraints: true, pods: podsOn("n-b", 11), want: []string{"node n-b: 11 pods, allocatable 10"}},
		{name: "anti-affinity broken, reported from both sides", constraints: true, pods: []*v1.Pod{
			pod("x1", "n-a", label("app", "x"), antiAffinity("app", "x", "kubernetes.io/hostname")),
			pod("x2", "n-a", label("app", "x"), antiAffinity("app", "x", "kubernetes.io/hostname")),
		}, want: []string{"ns/x1 on n-a: anti-affinity", "ns/x2 on n-a: anti-affinity"}},
		{name: "anti-affinity per zone", constraints: true, pods: []*v1.Pod{
			pod("x1", "n-a", label("app", "x"), antiAffinity("app", "x", "zone")),
			pod("other", "n-b", label("app", "x")),
		}, want: []string{"ns/x1 on n-a: anti-affinity (zone) broken by ns/other on n-b"}},
		{name: "required affinity without a match nearby", constraints: true, pods: []*v1.Pod{
			pod("near", "n-c", affinity("app", "x", "zone")), pod("x", "n-a", label("app", "x")),
		}, want: []string{"required affinity (zone) has no matching pod"}},
		{name: "spread skew 2", constraints: true, pods: []*v1.Pod{
			pod("s1", "n-a", spread("s", "1", "zone")), pod("s2", "n-b", spread("s", "1", "zone")),
		}, want: []string{"skew 2 > maxSkew 1"}},
		{name: "spread domains limited by node affinity", constraints: true, pods: []*v1.Pod{
			pod("s1", "n-a", spread("s", "1", "zone"), nodeAffinity(v1.NodeSelectorOpIn, "zone", "z1")),
			pod("s2", "n-b", spread("s", "1", "zone"), nodeAffinity(v1.NodeSelectorOpIn, "zone", "z1")),
		}},
		{name: "node affinity not matched", constraints: true, pods: []*v1.Pod{pod("a", "n-b", nodeAffinity(v1.NodeSelectorOpIn, "disk", "ssd"))},
			want: []string{"required node affinity not matched"}},
		{name: "node selector not matched", constraints: true, pods: []*v1.Pod{pod("a", "n-b", func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} })},
			want: []string{"nodeSelector disk=ssd not matched"}},
		{name: "unsupported operator is a violation", constraints: true, pods: []*v1.Pod{pod("a", "n-a", nodeAffinity("Near", "disk", "ssd"))},
			want: []string{"cannot check node affinity"}},
		{name: "taint not tolerated", constraints: true, pods: []*v1.Pod{pod("a", "n-d")},
			want: []string{"taint dedicated=batch:NoSchedule not tolerated"}},
		{name: "wrong toleration value", constraints: true, pods: []*v1.Pod{pod("a", "n-d", tolerate("dedicated", "web"))},
			want: []string{"not tolerated"}},
		{name: "constraints off (ceiling)", pods: []*v1.Pod{pod("a", "n-d"), pod("b", "n-a", cpu("2"))}},
		{name: "victims deleted, the run's pods all there", constraints: true, runPods: []string{"high"},
			pods: []*v1.Pod{pod("high", "n-a", cpu("600m")), pod("victim-1", "n-a", cpu("400m"))}},
		{name: "a pod of the run deleted", runPods: []string{"high", "gone"}, pods: []*v1.Pod{pod("high", "n-a")},
			want: []string{"pod gone: deleted, but only the victims"}},
		{name: "incomplete: pending pods are no violation, the rest is checked", constraints: true, incomplete: true,
			pods: []*v1.Pod{pod("a", ""), pod("b", "n-a", cpu("600m")), pod("c", "n-a", cpu("600m"))},
			want: []string{"node n-a: pods request 1200m cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pend := map[string]bool{}
			for _, n := range tc.pending {
				pend[n] = true
			}
			var run map[string]bool
			for _, n := range tc.runPods {
				if run == nil {
					run = map[string]bool{}
				}
				run[n] = true
			}
			got := check(placement{nodes: testNodes(), pods: tc.pods, mustStayPending: pend, runPods: run, incomplete: tc.incomplete}, tc.constraints)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
