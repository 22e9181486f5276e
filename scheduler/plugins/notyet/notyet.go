// Package notyet keeps pending the pods that need a check from a kube-scheduler plugin berth does
// not implement yet. Binding such a pod anyway would place it where the missing check would have
// refused it (a volume on another node, devices never allocated), so a Refusal rejects it in
// PreFilter, before any node is filtered, with a message that names the plugin:
//
//	0/5 nodes are available: pod uses PersistentVolumeClaims, which berth does not schedule yet (VolumeBinding).
//
// A plugin berth implements in part may refuse the rest itself with the same Message.
//
// Each plugin's Needs function tells, from the pod alone, whether upstream's plugin would have
// judged the pod (rather than skipped it). The scheduler wires a Refusal for every such plugin a
// profile enables; a profile that disables the plugin schedules the pod without the check, as
// kube-scheduler would.
package notyet

import (
	"fmt"

	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// Needs tells what of pod a plugin would judge: a short phrase ("PersistentVolumeClaims") when it
// would, "" when upstream's plugin skips the pod.
type Needs func(pod *snapshot.PodInfo) string

// Refusal is a filter plugin that rejects, as unresolvable, every pod its plugin would judge.
type Refusal struct {
	plugin string
	needs  Needs
}

var _ decide.FilterPlugin = (*Refusal)(nil)

// New returns the Refusal for the plugin called name, which would judge what needs reports.
func New(name string, needs Needs) *Refusal { return &Refusal{plugin: name, needs: needs} }

// Name is the name of the plugin the Refusal stands in for, so diagnoses and metrics name it.
func (r *Refusal) Name() string { return r.plugin }

// PreFilter rejects pod on every node when the plugin would judge it, and checks nothing otherwise.
func (r *Refusal) PreFilter(pod *snapshot.PodInfo, _ *snapshot.Snapshot) (decide.NodeFilter, snapshot.Verdict) {
	if what := r.needs(pod); what != "" {
		return nil, snapshot.RejectUnresolvable(Message(what, r.plugin))
	}
	return nil, snapshot.Verdict{}
}

// Message is the reason a Refusal gives: "pod uses WHAT, which berth does not schedule yet (PLUGIN)".
func Message(what, plugin string) string {
	return fmt.Sprintf("pod uses %s, which berth does not schedule yet (%s)", what, plugin)
}
