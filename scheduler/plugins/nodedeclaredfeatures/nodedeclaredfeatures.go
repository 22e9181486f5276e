// Package nodedeclaredfeatures implements kube-scheduler v1.37's NodeDeclaredFeatures plugin: a
// pod whose spec uses a feature that not every kubelet supports may only run on a node that
// lists the feature in status.declaredFeatures. The features a pod needs are inferred from its
// spec as kube-scheduler's node feature registry infers them for scheduling; the other features
// of that registry are never inferred from a pod at scheduling time. Declaring the feature (a
// node update), not preemption, is what helps, so the verdict is unresolvable.
package nodedeclaredfeatures

import (
	"slices"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

const (
	// Name is the plugin's name in kube-scheduler configuration.
	Name = "NodeDeclaredFeatures"
	// ReasonUnsatisfied is the filter's reason, as kube-scheduler v1.37 words it.
	ReasonUnsatisfied = "node(s) didn't match Pod's required features"
)

// Feature names of the registry that a pod spec can require.
const (
	RestartAllContainers      = "RestartAllContainersOnContainerExits"
	UserNamespacesHostNetwork = "UserNamespacesHostNetworkSupport"
	VolumeBindMountOptions    = "VolumeBindMountOptions"
)

var unsatisfied = snapshot.RejectUnresolvable(ReasonUnsatisfied)

// NodeDeclaredFeatures is the plugin. It has no configuration and no state.
type NodeDeclaredFeatures struct{}

// New returns the plugin.
func New() *NodeDeclaredFeatures { return &NodeDeclaredFeatures{} }

// Name returns "NodeDeclaredFeatures".
func (*NodeDeclaredFeatures) Name() string { return Name }

// PreFilter returns nil (nothing to check) for a pod that needs no declared feature, and
// otherwise a filter that lets through only the nodes declaring every feature it needs.
func (*NodeDeclaredFeatures) PreFilter(pod *snapshot.PodInfo, _ *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	if need := Required(&pod.Pod.Spec); len(need) > 0 {
		return featureFilter(need), snapshot.Verdict{}
	}
	return nil, snapshot.Verdict{}
}

// featureFilter holds the features a pod needs.
type featureFilter []string

// Filter rejects, unresolvably, a node that does not declare every needed feature.
func (need featureFilter) Filter(n *snapshot.NodeInfo) snapshot.Verdict {
	if n.Node == nil {
		return unsatisfied
	}
	for _, f := range need {
		if !slices.Contains(n.Node.Status.DeclaredFeatures, f) {
			return unsatisfied
		}
	}
	return snapshot.Verdict{}
}

// Required returns the features spec needs, in the registry's order: restart rules with the
// RestartAllContainers action (in containers or init containers), host networking in a user
// namespace (hostUsers: false), and volume mounts with bind mount options (in any container).
func Required(spec *v1.PodSpec) []string {
	var out []string
	if restartsAll(spec.Containers) || restartsAll(spec.InitContainers) {
		out = append(out, RestartAllContainers)
	}
	if spec.HostNetwork && spec.HostUsers != nil && !*spec.HostUsers {
		out = append(out, UserNamespacesHostNetwork)
	}
	if bindMountOptions(spec) {
		out = append(out, VolumeBindMountOptions)
	}
	return out
}

func restartsAll(cs []v1.Container) bool {
	for i := range cs {
		for _, r := range cs[i].RestartPolicyRules {
			if r.Action == v1.ContainerRestartRuleActionRestartAllContainers {
				return true
			}
		}
	}
	return false
}

func bindMountOptions(spec *v1.PodSpec) bool {
	has := func(ms []v1.VolumeMount) bool {
		return slices.ContainsFunc(ms, func(m v1.VolumeMount) bool { return len(m.BindMountOptions) > 0 })
	}
	for i := range spec.Containers {
		if has(spec.Containers[i].VolumeMounts) {
			return true
		}
	}
	for i := range spec.InitContainers {
		if has(spec.InitContainers[i].VolumeMounts) {
			return true
		}
	}
	for i := range spec.EphemeralContainers {
		if has(spec.EphemeralContainers[i].VolumeMounts) {
			return true
		}
	}
	return false
}
