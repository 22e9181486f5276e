package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth-scheduler/berth/logging"
	"github.com/berth-scheduler/berth/scheduler/decide"
	"github.com/berth-scheduler/berth/scheduler/preempt"
	"github.com/berth-scheduler/berth/scheduler/queue"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// evictParallelism bounds the concurrent evictions of one preemption (kube-scheduler's
// parallelizer default).
const evictParallelism = 16

// preemption is the outcome of one preemption attempt.
type preemption struct {
	// cand is the chosen node and its victims; nil when preemption cannot help.
	cand *preempt.Candidate
	// msg is what follows the filters' part of the FailedScheduling message ("preemption: ...").
	msg string
	// nominate is the pod's status.nominatedNodeName to write: nil leaves it, "" clears it.
	nominate *string
}

// tryPreemption runs DefaultPreemption for pod, which fit no node (diag), on the loop's snapshot,
// as kube-scheduler's PostFilter does. It only decides: acting is preemptAsync's.
func (s *Scheduler) tryPreemption(prof *Profile, pi *snapshot.PodInfo, diag *decide.Diagnosis, prepared *decide.Prepared) preemption {
	s.m.preemptions.With().Inc()
	potential := diag.Resolvable
	if diag.PreFilterMsg != "" && !diag.Unresolvable { // a PreFilter rejected the pod on every node
		potential = s.snap.Nodes
	}
	nominated := pi.Pod.Status.NominatedNodeName
	if node, ok := s.cache.Nomination(pi.Pod.UID); ok {
		nominated = node
	}
	cand, msg, eligible := preempt.Preempt(preempt.Request{
		Preemptor: pi, Snapshot: s.snap, Potential: potential,
		Nominated: nominated, NominatedUnresolvable: nominated != "" && !slices.ContainsFunc(potential, func(n *snapshot.NodeInfo) bool { return n.Name() == nominated }),
		Filter: prepared.Check, PDBs: s.pdbs(), Args: *prof.Preemption,
		Offset: func(n int) int { return rand.IntN(n) }, Now: time.Now(),
	})
	if cand != nil {
		node := cand.Node.Name()
		s.log.Log(context.Background(), logging.V(2), "the target node for the preemption is determined", "node", node, "pod", klogRef(pi.Pod),
			"victims", victimNames(cand.Victims), "nominated", nominated)
		return preemption{cand: cand, nominate: &node,
			msg: fmt.Sprintf("preemption: found a potential placement for pod on node %s, preempting %d victims", node, len(cand.Victims))}
	}
	p := preemption{msg: msg}
	if eligible { // preemption cannot help: the pod gives up its nomination
		none := ""
		p.nominate = &none
	}
	return p
}

func victimNames(victims []*snapshot.PodInfo) []string {
	out := make([]string, len(victims))
	for i, v := range victims {
		out[i] = klogRef(v.Pod).String()
	}
	return out
}

// pdbs returns the PodDisruptionBudgets preemption respects.
func (s *Scheduler) pdbs() []preempt.PDB {
	if s.pdbLister == nil {
		return nil
	}
	list, _ := s.pdbLister.List(labels.Everything()) // an indexer's List cannot fail
	return preempt.PDBsFrom(list)
}

// preemptAsync acts on a preemption in the pool, off the loop, as kube-scheduler v1.37 does with
// SchedulerAsyncPreemption: it records the FailedScheduling event and writes the pod's
// nomination with its PodScheduled condition, clears the nominations of lower-priority pods on
// the node, and evicts the victims. The pod stays in flight until then, so it is not retried
// before its victims are on their way out; it then waits for their deletion (AssignedPodDelete).
func (s *Scheduler) preemptAsync(ctx context.Context, qp *queue.QueuedPod, prof *Profile, p preemption, msg string, interest queue.Events) {
	pod, node := qp.Pod, p.cand.Node.Name()
	s.reportUnschedulable(ctx, prof.SchedulerName, pod, "Unschedulable", msg, p.nominate)
	prio := preempt.Priority(pod)
	for _, other := range s.cache.NominatedTo(node) {
		if preempt.Priority(other) >= prio {
			continue
		}
		s.cache.Unnominate(other.UID)
		if err := s.writer.clearNomination(ctx, other); err != nil {
			s.log.Info("clearing a lower-priority nomination", "pod", klogRef(other), "node", node, "err", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(evictParallelism)
	note := fmt.Sprintf("Preempted by pod %s on node %s", pod.UID, node)
	for _, victim := range p.cand.Victims {
		v := victim.Pod
		if v.DeletionTimestamp != nil {
			continue // already on its way out
		}
		g.Go(func() error {
			if err := s.writer.evict(gctx, v, pod); err != nil {
				return err
			}
			s.log.Log(gctx, logging.V(2), "Preemptor Pod preempted victim Pod", "preemptor", klogRef(pod), "victim", klogRef(v), "node", node)
			s.writer.event(prof.SchedulerName, v, pod, v1.EventTypeNormal, "Preempted", "Preempting", note)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		s.log.Error("preemption failed", "pod", klogRef(pod), "node", node, "err", err)
		s.queue.Retry(qp)
		return
	}
	s.awaitGone(ctx, p.cand.Victims)
	s.queue.Unschedulable(qp, interest|queue.AssignedPodDelete)
}

// Bounds of awaitGone.
const (
	gonePoll = 5 * time.Millisecond
	goneWait = 2 * time.Second
)

// awaitGone returns once the cache no longer holds any victim (or after goneWait, or when ctx
// ends). A preemptor retried after its first victim's deletion but before its last one's would
// judge a half-freed cluster: its nominated node still full, while the first eviction may have
// opened another node, where its other evictions are then wasted. kube-scheduler holds the
// preemptor back until its last victim is being deleted and then waits for that pod's deletion
// event; victims with a grace period stay longer than goneWait, and the pod then waits in the
// unschedulable pool for their deletion.
func (s *Scheduler) awaitGone(ctx context.Context, victims []*snapshot.PodInfo) {
	deadline := time.Now().Add(goneWait)
	for _, v := range victims {
		for s.cache.Holds(v.Pod.UID) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(gonePoll):
			}
		}
	}
}
