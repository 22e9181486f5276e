package conformance

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod edits for the directed and requeue cases: each returns a func that changes one pod.

type podOpt func(*v1.Pod)

func port(n int32, ip string) v1.ContainerPort {
	return v1.ContainerPort{ContainerPort: n, HostPort: n, HostIP: ip, Protocol: v1.ProtocolTCP}
}

func withPorts(ps ...v1.ContainerPort) podOpt {
	return func(p *v1.Pod) { p.Spec.Containers[0].Ports = ps }
}

func initContainer(sidecar bool, req v1.ResourceList, ps ...v1.ContainerPort) podOpt {
	return func(p *v1.Pod) {
		c := container(fmt.Sprintf("i%d", len(p.Spec.InitContainers)), req)
		c.Ports = ps
		if sidecar {
			always := v1.ContainerRestartPolicyAlways
			c.RestartPolicy = &always
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

func nodeTerms(terms ...v1.NodeSelectorTerm) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}}
	}
}

func expr(key string, op v1.NodeSelectorOperator, vals ...string) v1.NodeSelectorTerm {
	return v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: op, Values: vals}}}
}

func podTermOpt(anti bool, key string, sel map[string]string, edit ...func(*v1.PodAffinityTerm)) podOpt {
	return func(p *v1.Pod) {
		t := v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, TopologyKey: key}
		for _, e := range edit {
			e(&t)
		}
		p.Spec.Affinity = withPodTerms(p.Spec.Affinity, anti, t)
	}
}

func spread(key string, maxSkew int32, sel *metav1.LabelSelector, edit ...func(*v1.TopologySpreadConstraint)) podOpt {
	return func(p *v1.Pod) {
		c := v1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: sel}
		for _, e := range edit {
			e(&c)
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	}
}

func appSel(v string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{labelApp: v}}
}
