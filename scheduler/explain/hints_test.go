package explain_test

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-scheduler/berth/scheduler"
	"github.com/berth-scheduler/berth/scheduler/explain"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func taintedWith(key, value string, effect v1.TaintEffect) func(*v1.Node) {
	return func(n *v1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func nodeLabel(k, v string) func(*v1.Node) {
	return func(n *v1.Node) { n.Labels[k] = v }
}

// cordonedByKubectl is a node as `kubectl cordon` and the node controller leave it.
func cordonedByKubectl(n *v1.Node) {
	n.Spec.Unschedulable = true
	n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule})
}

// with returns p changed by opts.
func with(p *v1.Pod, opts ...func(*v1.Pod)) *v1.Pod {
	for _, o := range opts {
		o(p)
	}
	return p
}

func labelled(k, v string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[k] = v
	}
}

func hostPort(port int32) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: port, HostPort: port})
	}
}

func requiredNodeAffinity(terms ...v1.NodeSelectorTerm) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
}

func podTerm(app, topologyKey string) v1.PodAffinityTerm {
	return v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: topologyKey}
}

func antiAffinity(app, topologyKey string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{podTerm(app, topologyKey)},
		}}
	}
}

func podAffinity(app, topologyKey string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{podTerm(app, topologyKey)},
		}}
	}
}

func spread(topologyKey, app string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, v1.TopologySpreadConstraint{
			MaxSkew: 1, TopologyKey: topologyKey, WhenUnsatisfiable: v1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		})
	}
}

// dropPod removes the named pod from the cluster.
func dropPod(c *cluster, name string) {
	for i, p := range c.pods {
		if p.Name == name {
			c.pods = append(c.pods[:i], c.pods[i+1:]...)
			return
		}
	}
}

// TestHints checks each kind of hint on a cluster where it applies: the hint is offered, in
// order, and its change, applied by the test, makes the real decision place the pod; and that
// no hint is offered where the change alone would not be enough.
func TestHints(t *testing.T) {
	tests := []struct {
		name    string
		cluster cluster
		pod     *v1.Pod
		hints   []hint
	}{
		{
			name: "taints: several on one node, and NoExecute",
			cluster: cluster{nodes: []*v1.Node{
				node("two", "4", "eu-1a", taintedWith("a", "1", v1.TaintEffectNoSchedule), taintedWith("b", "", v1.TaintEffectNoExecute),
					taintedWith("soft", "", v1.TaintEffectPreferNoSchedule)),
				node("exec-1", "4", "eu-1a", taintedWith("b", "", v1.TaintEffectNoExecute)),
				node("exec-2", "4", "eu-1a", taintedWith("b", "", v1.TaintEffectNoExecute)),
			}},
			pod: pod("p", "1", ""),
			hints: []hint{
				{text: "2 nodes would fit if the taint b:NoExecute were tolerated (exec-1, exec-2)", fitsOn: []string{"exec-1", "exec-2"},
					change: func(_ *cluster, p *v1.Pod) {
						*p = *explain.Tolerating(p, v1.Taint{Key: "b", Effect: v1.TaintEffectNoExecute})
					}},
				{text: "1 node would fit if the taints a=1:NoSchedule and b:NoExecute were all tolerated (two)", fitsOn: []string{"two"},
					change: func(c *cluster, p *v1.Pod) {
						c.nodes = c.nodes[:1]
						*p = *explain.Tolerating(p, v1.Taint{Key: "a", Value: "1", Effect: v1.TaintEffectNoSchedule},
							v1.Taint{Key: "b", Effect: v1.TaintEffectNoExecute})
					}},
			},
		},
		{
			name:    "taints: tainted node that also lacks cpu",
			cluster: cluster{nodes: []*v1.Node{node("gpu", "2", "eu-1a", tainted("dedicated", "gpu"))}},
			pod:     pod("p", "3", ""),
		},
		{
			name: "cordoned nodes",
			cluster: cluster{nodes: []*v1.Node{
				node("c1", "4", "eu-1a", cordonedByKubectl), node("c2", "4", "eu-1b", cordonedByKubectl), node("c-small", "1", "eu-1b", cordoned),
			}},
			pod: pod("p", "2", ""),
			hints: []hint{{text: "2 nodes would fit if they were uncordoned (c1, c2)", fitsOn: []string{"c1", "c2"},
				change: func(c *cluster, _ *v1.Pod) {
					for _, n := range c.nodes[:2] {
						n.Spec.Unschedulable, n.Spec.Taints = false, nil
					}
				}}},
		},
		{
			name:    "cordoned node that also lacks cpu",
			cluster: cluster{nodes: []*v1.Node{node("c-small", "1", "eu-1b", cordonedByKubectl)}},
			pod:     pod("p", "2", ""),
		},
		{
			name: "labels: nodeSelector, on the nodes or off the pod",
			cluster: cluster{nodes: []*v1.Node{
				node("hdd-1", "4", "eu-1a", nodeLabel("disktype", "hdd")), node("hdd-2", "4", "eu-1b", nodeLabel("disktype", "hdd")),
				node("hdd-small", "1", "eu-1b", nodeLabel("disktype", "hdd")),
			}},
			pod: with(pod("p", "2", ""), withSelector("disktype", "ssd")),
			hints: []hint{
				{text: "2 nodes would fit if they had label disktype=ssd, or if the pod's nodeSelector did not require it (hdd-1, hdd-2)",
					fitsOn: []string{"hdd-1"},
					change: func(c *cluster, _ *v1.Pod) { c.nodes[0].Labels["disktype"] = "ssd" }},
				{text: "no node has label disktype=ssd", fitsOn: []string{"hdd-2"},
					change: func(c *cluster, _ *v1.Pod) { c.nodes[1].Labels["disktype"] = "ssd" }},
			},
		},
		{
			name: "labels: the closest required node affinity term",
			cluster: cluster{nodes: []*v1.Node{
				node("a", "4", "eu-1a", nodeLabel("disktype", "hdd")), node("b", "4", "eu-1b"),
			}},
			pod: with(pod("p", "1", ""), requiredNodeAffinity(
				v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{
					{Key: "disktype", Operator: v1.NodeSelectorOpIn, Values: []string{"ssd", "nvme"}},
					{Key: "gpu", Operator: v1.NodeSelectorOpIn, Values: []string{"a100"}},
				}},
				v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{
					{Key: v1.LabelTopologyZone, Operator: v1.NodeSelectorOpIn, Values: []string{"eu-1c"}},
					{Key: "disktype", Operator: v1.NodeSelectorOpNotIn, Values: []string{"hdd"}},
				}},
			)),
			hints: []hint{
				{text: "1 node would fit if it had zone eu-1c (b)", fitsOn: []string{"b"},
					change: func(c *cluster, _ *v1.Pod) { c.nodes[1].Labels[v1.LabelTopologyZone] = "eu-1c" }},
				{text: "1 node would fit if it had label disktype=ssd and label gpu=a100 (a)", fitsOn: []string{"a"},
					change: func(c *cluster, _ *v1.Pod) { c.nodes[0].Labels["disktype"], c.nodes[0].Labels["gpu"] = "ssd", "a100" }},
			},
		},
		{
			name:    "labels: node that also lacks cpu",
			cluster: cluster{nodes: []*v1.Node{node("hdd-small", "1", "eu-1a", nodeLabel("disktype", "hdd")), node("ssd", "1", "eu-1a", nodeLabel("disktype", "ssd"))}},
			pod:     with(pod("p", "2", ""), withSelector("disktype", "hdd")),
			hints: []hint{{text: "1 node lacks only 1 cpu (hdd-small)", fitsOn: []string{"hdd-small"},
				change: func(c *cluster, _ *v1.Pod) {
					c.nodes[0].Status.Allocatable[v1.ResourceCPU] = resource.MustParse("2")
				}}},
		},
		{
			name: "host ports",
			cluster: cluster{
				nodes: []*v1.Node{node("n1", "4", "eu-1a"), node("n2", "4", "eu-1b")},
				pods:  []*v1.Pod{with(pod("web-1", "100m", "n1"), hostPort(8080)), with(pod("web-2", "100m", "n2"), hostPort(8080))},
			},
			pod: with(pod("p", "1", ""), hostPort(8080)),
			hints: []hint{{text: "2 nodes would fit if port 8080 were free (n1, n2)", fitsOn: []string{"n1"},
				change: func(c *cluster, _ *v1.Pod) { dropPod(c, "web-1") }}},
		},
		{
			name: "host ports: node that also lacks cpu",
			cluster: cluster{
				nodes: []*v1.Node{node("n1", "4", "eu-1a")},
				pods:  []*v1.Pod{with(pod("web-1", "100m", "n1"), hostPort(8080)), pod("big", "3500m", "n1")},
			},
			pod: with(pod("p", "1", ""), hostPort(8080)),
		},
		{
			name: "anti-affinity: the pod's own term",
			cluster: cluster{
				nodes: []*v1.Node{node("a1", "4", "eu-1a"), node("a2", "4", "eu-1a"), node("b1", "4", "eu-1b")},
				pods: []*v1.Pod{with(pod("web-a", "100m", "a1"), labelled("app", "web")),
					with(pod("web-b1", "100m", "b1"), labelled("app", "web")), with(pod("web-b2", "100m", "b1"), labelled("app", "web"))},
			},
			pod: with(pod("p", "1", ""), antiAffinity("web", v1.LabelTopologyZone)),
			hints: []hint{
				{text: "2 nodes would fit if pod ns/web-a (matching the anti-affinity term app=web in a zone) were not there (a1, a2)",
					fitsOn: []string{"a1", "a2"}, change: func(c *cluster, _ *v1.Pod) { dropPod(c, "web-a") }},
				{text: "1 node would fit if pods ns/web-b1, ns/web-b2 (matching the anti-affinity term app=web in a zone) were not there (b1)",
					fitsOn: []string{"b1"}, change: func(c *cluster, _ *v1.Pod) { dropPod(c, "web-b1"); dropPod(c, "web-b2"); dropPod(c, "web-a") }},
			},
		},
		{
			name: "anti-affinity: a running pod's term",
			cluster: cluster{
				nodes: []*v1.Node{node("n1", "4", "eu-1a")},
				pods:  []*v1.Pod{with(pod("db", "100m", "n1"), antiAffinity("api", v1.LabelHostname))},
			},
			pod: with(pod("p", "1", ""), labelled("app", "api")),
			hints: []hint{{text: "1 node would fit if pod ns/db (whose anti-affinity term app=api on a node matches this pod) were not there (n1)",
				fitsOn: []string{"n1"}, change: func(c *cluster, _ *v1.Pod) { dropPod(c, "db") }}},
		},
		{
			// Without the web pod the node no longer meets the pod's affinity.
			name: "anti-affinity: the pod in the way is the one its affinity needs",
			cluster: cluster{
				nodes: []*v1.Node{node("n1", "4", "eu-1a")},
				pods:  []*v1.Pod{with(pod("web", "100m", "n1"), labelled("app", "web"))},
			},
			pod: with(pod("p", "1", ""), podAffinity("web", v1.LabelTopologyZone), func(p *v1.Pod) {
				p.Spec.Affinity.PodAntiAffinity = &v1.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{podTerm("web", v1.LabelHostname)},
				}
			}),
		},
		{
			name:    "affinity: no pod matches the term",
			cluster: cluster{nodes: []*v1.Node{node("n1", "4", "eu-1a")}},
			pod:     with(pod("p", "1", ""), podAffinity("db", v1.LabelTopologyZone)),
			hints: []hint{{text: "no pod matching the affinity term app=db runs in any zone", fitsOn: []string{"n1"},
				change: func(c *cluster, _ *v1.Pod) {
					c.pods = append(c.pods, with(pod("db", "100m", "n1"), labelled("app", "db")))
				}}},
		},
		{
			name: "topology spread: the constraint whose skew blocks",
			cluster: cluster{
				nodes: []*v1.Node{node("a1", "4", "eu-1a"), node("b1", "1", "eu-1b")},
				pods:  []*v1.Pod{with(pod("web-1", "100m", "a1"), labelled("app", "web")), with(pod("web-2", "100m", "a1"), labelled("app", "web"))},
			},
			pod: with(pod("p", "2", ""), labelled("app", "web"), spread(v1.LabelTopologyZone, "web")),
			hints: []hint{
				{text: "1 node lacks only 1 cpu (b1)", fitsOn: []string{"b1"},
					change: func(c *cluster, _ *v1.Pod) { c.nodes[1].Status.Allocatable[v1.ResourceCPU] = resource.MustParse("2") }},
				{text: "1 node would fit if the topology spread constraint on topology.kubernetes.io/zone (maxSkew 1) were ScheduleAnyway (a1; on a1 " +
					"topology.kubernetes.io/zone=eu-1a would hold 3 matching pods, 3 more than topology.kubernetes.io/zone=eu-1b; maxSkew 1)",
					fitsOn: []string{"a1"}, change: func(_ *cluster, p *v1.Pod) { *p = *explain.ScheduleAnyway(p, 0) }},
			},
		},
		{
			name: "topology spread: a second constraint blocks too",
			cluster: cluster{
				nodes: []*v1.Node{node("a1", "4", "eu-1a"), node("b1", "4", "eu-1b", cordoned)},
				pods:  []*v1.Pod{with(pod("web-1", "100m", "a1"), labelled("app", "web"))},
			},
			pod: with(pod("p", "1", ""), labelled("app", "web"), spread(v1.LabelTopologyZone, "web"), spread(v1.LabelHostname, "web")),
			hints: []hint{{text: "1 node would fit if it were uncordoned (b1)", fitsOn: []string{"b1"},
				change: func(c *cluster, _ *v1.Pod) { c.nodes[1].Spec.Unschedulable = false }}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.cluster.snapshot()
			before := nodeStates(snap)
			r := explain.Build(explain.Input{Pod: tc.pod, Profile: scheduler.DefaultSchedulerName, Decider: newDecider(t), Snapshot: snap})
			if r.Decision.Node != "" {
				t.Fatalf("the pod fits on %s", r.Decision.Node)
			}
			if after := nodeStates(snap); after != before {
				t.Errorf("the hints changed the snapshot: %s, was %s", after, before)
			}
			checkHints(t, tc.cluster, tc.pod, r.Summary.Hints, tc.hints)
		})
	}
}

// nodeStates words what the hints' changes could touch in the snapshot's nodes.
func nodeStates(snap *snapshot.Snapshot) string {
	var b strings.Builder
	for _, n := range snap.Nodes {
		fmt.Fprintf(&b, "%s: unschedulable %v, taints %v, labels %v, pods %d, ports %d, cpu %d; ", n.Name(), n.Unschedulable,
			n.Node.Spec.Taints, n.Node.Labels, len(n.Pods), n.UsedPorts.Len(), n.Allocatable.MilliCPU)
	}
	return b.String()
}
