package conformance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

// Settling: a phase is over when every pod is bound or marked unschedulable and, if any is
// pending, nothing changed for settleQuiet.
const (
	settleQuiet   = 500 * time.Millisecond
	settleTimeout = 60 * time.Second
	pollEvery     = 25 * time.Millisecond
)

// phase is what one scheduler made of a scenario's incoming pods.
type phase struct {
	scheduler string
	pods      []*v1.Pod // as they ended, sorted by name
	took      time.Duration
}

// outcome returns pod name -> node, or "" for pending.
func (ph *phase) outcome() map[string]string {
	out := map[string]string{}
	for _, p := range ph.pods {
		out[p.Name] = p.Spec.NodeName
	}
	return out
}

func (ph *phase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (settled in %s):\n", ph.scheduler, ph.took.Round(time.Millisecond))
	for _, p := range ph.pods {
		if p.Spec.NodeName != "" {
			fmt.Fprintf(&b, "  %s -> %s\n", p.Name, p.Spec.NodeName)
			continue
		}
		fmt.Fprintf(&b, "  %s pending: %s\n", p.Name, unschedulableMessage(p))
	}
	return b.String()
}

// unschedulableMessage returns the message of the pod's PodScheduled=False condition.
func unschedulableMessage(p *v1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
			return c.Message
		}
	}
	return ""
}

func markedUnschedulable(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// setUp creates the scenario's namespaces, nodes and existing pods, turns the chosen existing
// pods into terminating ones, then waits until both schedulers have seen it all.
func setUp(ctx context.Context, s *scenario) error {
	for _, ns := range s.namespaces {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, ns.DeepCopy(), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
		}
	}
	for _, n := range s.nodes {
		if err := createNode(ctx, n, s.changed[n.Name]); err != nil {
			return err
		}
	}
	zero := int64(0)
	for _, p := range s.existing {
		c := p.DeepCopy()
		if s.terminating[p.Name] {
			c.Finalizers = []string{holdFinalizer}
		}
		if err := createPod(ctx, c, s.changed[p.Name]); err != nil {
			return err
		}
		if s.terminating[p.Name] {
			err := admin.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			if err != nil {
				return fmt.Errorf("deleting (to hold terminating) %s: %w", podName(p), err)
			}
		}
	}
	last := s.nodes[len(s.nodes)-1].Name
	return probe(ctx, s.home(), s.id, last, 30*time.Second)
}

// tearDown deletes the scenario's pods and nodes (namespaces stay: without a namespace controller
// they would never finish terminating) and waits until the pods are gone.
func tearDown(ctx context.Context, s *scenario) error {
	var errs []error
	zero := int64(0)
	sel := metav1.ListOptions{LabelSelector: labelScenario + "=" + s.id}
	release := []byte(`{"metadata":{"finalizers":null}}`)
	for _, ns := range s.namespaces {
		for _, p := range s.existing {
			if s.terminating[p.Name] && p.Namespace == ns.Name {
				_, err := admin.CoreV1().Pods(ns.Name).Patch(ctx, p.Name, types.MergePatchType, release, metav1.PatchOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("releasing %s: %w", podName(p), err))
				}
			}
		}
		if err := admin.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); err != nil {
			errs = append(errs, fmt.Errorf("deleting pods in %s: %w", ns.Name, err))
		}
	}
	if err := admin.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting nodes: %w", err))
	}
	for _, ns := range s.namespaces {
		if err := waitGone(ctx, ns.Name, sel); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readExisting lists the scenario's existing pods as the API holds them.
func readExisting(ctx context.Context, s *scenario) ([]*v1.Pod, error) {
	var out []*v1.Pod
	for _, ns := range s.namespaces {
		l, err := admin.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=existing," + labelScenario + "=" + s.id})
		if err != nil {
			return nil, fmt.Errorf("listing existing pods in %s: %w", ns.Name, err)
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out, nil
}

// runPhase creates the incoming pods for scheduler, waits until they settle, reads them, then
// deletes them and waits until they are gone.
func runPhase(ctx context.Context, s *scenario, scheduler string) (*phase, error) {
	ns := s.home()
	sel := metav1.ListOptions{LabelSelector: labelKind + "=incoming," + labelScenario + "=" + s.id}
	start := time.Now()
	incoming := s.incoming()
	for _, p := range incoming {
		c := p.DeepCopy()
		c.Spec.SchedulerName = scheduler
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating incoming pod %s for %s: %w", p.Name, scheduler, err)
		}
	}
	pods, err := settle(ctx, ns, sel, len(incoming))
	ph := &phase{scheduler: scheduler, pods: pods, took: time.Since(start)}
	zero := int64(0)
	if derr := admin.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); derr != nil {
		return ph, errors.Join(err, fmt.Errorf("deleting incoming pods: %w", derr))
	}
	if werr := waitGone(ctx, ns, sel); werr != nil {
		return ph, errors.Join(err, werr)
	}
	if err != nil {
		return ph, fmt.Errorf("%s: %w", scheduler, err)
	}
	return ph, nil
}

// settle polls the pods until want of them exist, each is bound or marked unschedulable, and,
// when some are pending, their state has not changed for settleQuiet.
func settle(ctx context.Context, ns string, sel metav1.ListOptions, want int) ([]*v1.Pod, error) {
	deadline := time.Now().Add(settleTimeout)
	var last string
	var lastChange time.Time
	for {
		l, err := admin.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("listing incoming pods: %w", err)
		}
		pods := make([]*v1.Pod, len(l.Items))
		for i := range l.Items {
			pods[i] = &l.Items[i]
		}
		sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
		decided, pending := len(pods) == want, 0
		var state strings.Builder
		for _, p := range pods {
			switch {
			case p.Spec.NodeName != "":
			case markedUnschedulable(p):
				pending++
			default:
				decided = false
			}
			fmt.Fprintf(&state, "%s=%s|%s;", p.Name, p.Spec.NodeName, unschedulableMessage(p))
		}
		if state.String() != last {
			last, lastChange = state.String(), time.Now()
		}
		if decided && (pending == 0 || time.Since(lastChange) >= settleQuiet) {
			return pods, nil
		}
		if time.Now().After(deadline) {
			if err := schedulerAlive(); err != nil {
				return pods, err
			}
			return pods, fmt.Errorf("pods did not settle within %s: %s", settleTimeout, last)
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return pods, err
		}
	}
}

// waitGone waits until no pod in ns matches sel.
func waitGone(ctx context.Context, ns string, sel metav1.ListOptions) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := admin.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			return fmt.Errorf("listing pods in %s: %w", ns, err)
		}
		if len(l.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			names := make([]string, len(l.Items))
			for i, p := range l.Items {
				names[i] = p.Name
			}
			return fmt.Errorf("pods %v in %s still there after 30s", names, ns)
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return err
		}
	}
}

// newWorld assembles the checker's view of a phase.
func newWorld(s *scenario, existing []*v1.Pod, ph *phase) *placementcheck.World {
	w := &placementcheck.World{Nodes: map[string]*v1.Node{}, NamespaceLabels: map[string]map[string]string{},
		Existing: existing, Incoming: ph.pods}
	for _, n := range s.nodes {
		w.Nodes[n.Name] = n
	}
	for _, ns := range s.namespaces {
		w.NamespaceLabels[ns.Name] = ns.Labels
	}
	return w
}
