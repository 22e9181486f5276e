package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-scheduler/berth/scheduler/explain"
)

// ErrNoDryRun: the pod's profile has a decider that cannot run dry (only a test's fake).
var ErrNoDryRun = errors.New("profile cannot explain its decisions")

// Explain explains the decision for the pod namespace/name: a dry run of its profile's decision
// on a new snapshot of the cache (see explain.Build; for a bound pod, on the cluster without
// it). Errors wrap explain.ErrPodNotFound and explain.ErrNotOurs. nodes, when not empty, are the only nodes to list. It assumes nothing, binds nothing,
// writes no event and leaves the queue as it is; it may run while Run schedules.
func (s *Scheduler) Explain(namespace, name string, nodes []string) (*explain.Report, error) {
	key := namespace + "/" + name
	obj, ok, err := s.podIndexer.GetByKey(key)
	if err != nil {
		return nil, fmt.Errorf("reading pod %s from the informer: %w", key, err)
	}
	if !ok {
		return nil, fmt.Errorf("pod %s: %w", key, explain.ErrPodNotFound)
	}
	pod := obj.(*v1.Pod)
	prof := s.profiles[pod.Spec.SchedulerName]
	if prof == nil {
		return nil, fmt.Errorf("pod %s has schedulerName %q, and this scheduler's profiles are %v: %w", key, pod.Spec.SchedulerName, s.ProfileNames(), explain.ErrNotOurs)
	}
	d, ok := prof.Decider.(explain.Decider)
	if !ok {
		return nil, fmt.Errorf("profile %s: %w", prof.SchedulerName, ErrNoDryRun)
	}
	in := explain.Input{Pod: pod, Profile: prof.SchedulerName, Decider: d, Nodes: nodes}
	if pod.Spec.NodeName != "" {
		in.Snapshot = s.cache.DryRunSnapshot(pod.UID)
	} else {
		in.Snapshot = s.cache.DryRunSnapshot("")
		if st, ok := s.queue.Status(key); ok {
			in.Queue = &st
		}
	}
	return explain.Build(in), nil
}

// Pending lists the pods this scheduler's queue holds, oldest first, with their age at now.
func (s *Scheduler) Pending(now time.Time) []explain.Pending {
	sts := s.queue.Statuses()
	out := make([]explain.Pending, 0, len(sts))
	for _, st := range sts {
		p := explain.Pending{
			Namespace: st.Pod.Namespace, Name: st.Pod.Name, Profile: st.Pod.Spec.SchedulerName, State: st.State,
			Attempts: st.Attempts, Created: st.Pod.CreationTimestamp.Time, LastMessage: st.Message,
			Age: now.Sub(st.Pod.CreationTimestamp.Time).Round(time.Second).String(),
		}
		if !st.LastAttempt.IsZero() {
			last := st.LastAttempt
			p.LastAttempt = &last
		}
		out = append(out, p)
	}
	return out
}

// ProfileNames lists the scheduler names this scheduler's profiles take, sorted.
func (s *Scheduler) ProfileNames() []string {
	names := make([]string, 0, len(s.profiles))
	for n := range s.profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
