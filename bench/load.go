package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"golang.org/x/sync/errgroup"

	"github.com/berth-scheduler/berth/scheduler/benchdata"
)

// parallel calls fn(i) for i in 0..n-1 on workers goroutines, handing out indexes in order, and
// returns the first error (after which no new index is handed out).
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// createNodes creates the nodes (their status comes along on create).
func createNodes(ctx context.Context, c kubernetes.Interface, nodes []*v1.Node, workers int) error {
	return parallel(ctx, len(nodes), workers, func(ctx context.Context, i int) error {
		if _, err := c.CoreV1().Nodes().Create(ctx, nodes[i], metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", nodes[i].Name, err)
		}
		return nil
	})
}

// createPriorityClasses creates the workload's priority classes (before any pod names them).
func createPriorityClasses(ctx context.Context, c kubernetes.Interface, pcs []*schedulingv1.PriorityClass) error {
	for _, pc := range pcs {
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating priority class %s: %w", pc.Name, err)
		}
	}
	return nil
}

// createVictims creates a preemption run's victims, already bound (spec.nodeName set), and checks
// that the API server resolved their priority class: with its Priority admission plugin off,
// spec.priority stays unset and no scheduler would preempt anything.
func createVictims(ctx context.Context, c kubernetes.Interface, victims []*v1.Pod, workers int) error {
	return parallel(ctx, len(victims), workers, func(ctx context.Context, i int) error {
		created, err := c.CoreV1().Pods(victims[i].Namespace).Create(ctx, victims[i], metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating victim %s: %w", victims[i].Name, err)
		}
		if p := created.Spec.Priority; p == nil || *p != benchdata.LowPriority {
			got := "unset"
			if p != nil {
				got = fmt.Sprint(*p)
			}
			return fmt.Errorf("victim %s: spec.priority %s, want %d from class %s (is the API server's Priority admission plugin on?)",
				created.Name, got, benchdata.LowPriority, benchdata.LowPriorityClass)
		}
		return nil
	})
}

// creator creates a run's pods with a fixed number of concurrent clients and notes when each
// create returned (the start of its create-to-bind latency).
type creator struct {
	admin   kubernetes.Interface
	pods    []benchdata.Pod
	workers int
	// ceiling, when set, makes each client also do the writes a scheduler would for the pod.
	ceiling *ceilingWriter
	// rate, when positive, creates the pods open loop at that many a second instead (see
	// createPaced); lag is then how late the latest create started behind its schedule.
	rate float64
	lag  time.Duration

	mu        sync.Mutex
	createdAt map[string]time.Time
}

// run creates the pods. For the ceiling it also makes the scheduler's writes: on the creating
// client right after the create, or on a pool of binders fed by the creating clients.
func (c *creator) run(ctx context.Context) error {
	c.createdAt = make(map[string]time.Time, len(c.pods))
	if c.ceiling == nil {
		return c.create(ctx)
	}
	finish := c.ceiling.begin(ctx)
	return finish(c.create(ctx))
}

// create creates the pods (see run).
func (c *creator) create(ctx context.Context) error {
	if c.rate > 0 {
		return c.createPaced(ctx)
	}
	if c.ceiling == nil || c.ceiling.binders == 0 {
		return parallel(ctx, len(c.pods), c.workers, func(ctx context.Context, i int) error {
			created, err := c.createPod(ctx, i)
			if err != nil || c.ceiling == nil {
				return err
			}
			return c.ceiling.write(ctx, created, c.pods[i].MustStayPending, i)
		})
	}
	type job struct {
		pod *v1.Pod
		i   int
	}
	jobs := make(chan job, len(c.pods))
	g, gctx := errgroup.WithContext(ctx)
	for range c.ceiling.binders {
		g.Go(func() error {
			for j := range jobs {
				if err := c.ceiling.write(gctx, j.pod, c.pods[j.i].MustStayPending, j.i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(jobs)
		return parallel(gctx, len(c.pods), c.workers, func(ctx context.Context, i int) error {
			created, err := c.createPod(ctx, i)
			if err == nil {
				jobs <- job{created, i} // buffered for every pod: never blocks
			}
			return err
		})
	})
	return g.Wait()
}

// createPod creates pod i and notes when the create returned.
func (c *creator) createPod(ctx context.Context, i int) (*v1.Pod, error) {
	p := c.pods[i]
	created, err := c.admin.CoreV1().Pods(p.Pod.Namespace).Create(ctx, p.Pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod %s: %w", p.Pod.Name, err)
	}
	now := time.Now()
	c.mu.Lock()
	c.createdAt[p.Pod.Name] = now
	c.mu.Unlock()
	return created, nil
}

// createTimes returns when each pod's create returned.
func (c *creator) createTimes() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.createdAt
}

// ceilingWriter performs, as the scheduler identity, exactly the API writes a scheduler makes
// for a pod: for one that fits, the binding (round-robin over the nodes) and the Scheduled event;
// for a preemptor, first the deletion of a victim and its Preempted event, then the binding to the
// victim's node; for a pod with WaitForFirstConsumer claims, first the claims' selected-node
// annotation, then, once the PV binder has bound them, the binding; for a pod with device claims,
// first each claim's allocation and reservation (one status write each, a device of the node
// chosen round-robin), then the binding; for one that fits nowhere, the
// FailedScheduling event and the PodScheduled=False condition; for a gated one, nothing.
type ceilingWriter struct {
	sched  kubernetes.Interface
	nodes  []*v1.Node
	events bool
	// binders is how many clients make these writes (0: the creating clients themselves).
	binders int
	// evict names, per pod index, the victim to delete before binding the pod to its node ("" or
	// beyond its end: none).
	evict []eviction
	// claims, set on a volumes run, tells when a claim is bound. A pod with claims then gets its
	// claims' selected-node annotation, and is bound (with its event) once the PV binder has bound
	// them all, on a goroutine of its own (see begin), as a scheduler's binding cycle waits.
	claims *claimWatch
	// devices, set on a devices run, makes the ceiling allocate pod i, bound to node i mod N of
	// the N nodes, device (i div N) mod DevicesPerNode of that node for each of its ResourceClaims:
	// no device twice as long as there are no more pods than devices.
	devices bool
	waiting errgroup.Group
	// waitCtx bounds the waits; cancel ends them (see begin).
	waitCtx context.Context
	cancel  context.CancelFunc
}

// begin readies w for a run under ctx and returns finish, which waits for the bindings still
// waiting for their claims (all of them ended at once when the run failed: err non-nil) and
// returns err or else their first error.
func (w *ceilingWriter) begin(ctx context.Context) (finish func(err error) error) {
	w.waitCtx, w.cancel = context.WithCancel(ctx)
	return func(err error) error {
		if err != nil {
			w.cancel()
		}
		werr := w.waiting.Wait()
		w.cancel()
		if err != nil {
			return err
		}
		return werr
	}
}

// eviction is a victim the ceiling deletes to make room for a preemptor, and the victim's node.
type eviction struct{ victim, node string }

// evictions returns, per pod of the run, the victim the ceiling deletes for it (nil unless the
// run starts with victims).
func evictions(w benchdata.Workload, s benchdata.Size, victims []*v1.Pod) []eviction {
	if len(victims) == 0 {
		return nil
	}
	nodeOf := make(map[string]string, len(victims))
	for _, v := range victims {
		nodeOf[v.Name] = v.Spec.NodeName
	}
	out := make([]eviction, s.Pods)
	for i := range out {
		if v := w.VictimOf(s, i); v != "" {
			out[i] = eviction{victim: v, node: nodeOf[v]}
		}
	}
	return out
}

func (w *ceilingWriter) write(ctx context.Context, pod *v1.Pod, pending bool, i int) error {
	if len(pod.Spec.SchedulingGates) > 0 {
		return nil
	}
	if pending {
		if w.events {
			if err := w.event(ctx, pod, v1.EventTypeWarning, "FailedScheduling", "Scheduling", "0/0 nodes are available: ceiling run."); err != nil {
				return err
			}
		}
		return w.markUnschedulable(ctx, pod)
	}
	node := w.nodes[i%len(w.nodes)].Name
	if i < len(w.evict) && w.evict[i].victim != "" {
		node = w.evict[i].node
		if err := w.preempt(ctx, pod, w.evict[i].victim, node); err != nil {
			return err
		}
	}
	if w.devices {
		d := (i / len(w.nodes)) % benchdata.DevicesPerNode
		for _, c := range podResourceClaims(pod) {
			if err := allocateDevice(ctx, w.sched, pod, c, node, d); err != nil {
				return err
			}
		}
	}
	if claims := podClaims(pod); w.claims != nil && len(claims) > 0 {
		for _, c := range claims {
			if err := selectNode(ctx, w.sched, pod.Namespace, c, node); err != nil {
				return err
			}
		}
		w.waiting.Go(func() error {
			for _, c := range claims {
				if err := w.claims.waitBound(w.waitCtx, c); err != nil {
					return err
				}
			}
			return w.bind(w.waitCtx, pod, node)
		})
		return nil
	}
	return w.bind(ctx, pod, node)
}

// bind binds pod to node and writes its Scheduled event.
func (w *ceilingWriter) bind(ctx context.Context, pod *v1.Pod, node string) error {
	err := w.sched.CoreV1().Pods(pod.Namespace).Bind(ctx, &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("ceiling: binding %s to %s: %w", pod.Name, node, err)
	}
	if !w.events {
		return nil
	}
	return w.event(ctx, pod, v1.EventTypeNormal, "Scheduled", "Binding",
		fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node))
}

// preempt deletes victim (grace period 0: with no kubelet a bound pod deleted with a grace period
// would never go away) and writes its Preempted event, as a scheduler preempting it for pod.
func (w *ceilingWriter) preempt(ctx context.Context, pod *v1.Pod, victim, node string) error {
	zero := int64(0)
	err := w.sched.CoreV1().Pods(pod.Namespace).Delete(ctx, victim, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil {
		return fmt.Errorf("ceiling: preempting %s on %s for %s: %w", victim, node, pod.Name, err)
	}
	if !w.events {
		return nil
	}
	v := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: victim}}
	return w.event(ctx, v, v1.EventTypeNormal, "Preempted", "Preempting",
		fmt.Sprintf("Preempted by pod %s on node %s", pod.UID, node))
}

func (w *ceilingWriter) event(ctx context.Context, pod *v1.Pod, typ, reason, action, note string) error {
	now := metav1.NewMicroTime(time.Now())
	_, err := w.sched.EventsV1().Events(pod.Namespace).Create(ctx, &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", pod.Name, now.UnixNano()), Namespace: pod.Namespace},
		EventTime:           now,
		ReportingController: "default-scheduler",
		ReportingInstance:   "default-scheduler-bench-ceiling",
		Action:              action, Reason: reason, Type: typ, Note: note,
		Regarding: v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace,
			Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("ceiling: recording %s event for %s: %w", reason, pod.Name, err)
	}
	return nil
}

func (w *ceilingWriter) markUnschedulable(ctx context.Context, pod *v1.Pod) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status": map[string]any{"conditions": []any{map[string]any{
			"type": v1.PodScheduled, "status": v1.ConditionFalse, "reason": v1.PodReasonUnschedulable,
			"message": "0/0 nodes are available: ceiling run.", "lastProbeTime": nil, "lastTransitionTime": metav1.Now(),
		}}},
	})
	if err != nil {
		return fmt.Errorf("ceiling: encoding status patch: %w", err)
	}
	_, err = w.sched.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("ceiling: updating the PodScheduled condition of %s: %w", pod.Name, err)
	}
	return nil
}
