package conformance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/berth-scheduler/berth/conformance/placementcheck"
)

var (
	flagPreemptions = flag.Int("conformance.preemptions", 25, "how many generated scenarios TestPreemption runs (at most 6 with -short)")
	flagPreemptSelf = flag.Bool("conformance.preempt.self", false,
		"TestPreemption runs upstream kube-scheduler in both copies instead of upstream and berth: shows the comparison is well defined")
)

// boundQuiet is how long a step waits after its preemptor is bound, for late deletions.
const boundQuiet = 200 * time.Millisecond

// TestPreemption runs generated preemption scenarios through upstream kube-scheduler and berth,
// on two copies of one cluster at once, and checks that the same preemptors end up bound, that
// their victims come from the same priority tiers, that a preemptor left pending is explained
// the same way, and that every placement and eviction is valid. It reports how often both chose
// the same node and the same victims. See the package doc.
func TestPreemption(t *testing.T) {
	peer := berthName
	if *flagPreemptSelf {
		peer = upstreamName
	}
	ensurePriorityClasses(t)
	n := *flagPreemptions
	if testing.Short() {
		n = min(n, 6)
	}
	start := time.Now()
	var st preemptStats
	list := seeds(t, n)
	for _, seed := range list {
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := generatePreempt(seed)
			up, be := runPreemptScenario(t, s, peer)
			if up == nil || be == nil {
				return
			}
			comparePreempt(t, s, up, be, &st)
		})
		if !ok {
			st.failed++
		}
	}
	t.Logf("%d scenarios (%d failed) in %s, upstream against %s; %s", len(list), st.failed, time.Since(start).Round(time.Millisecond), peer, &st)
}

// ensurePriorityClasses creates the tiers' PriorityClasses unless they exist, and waits until the
// API server's Priority admission knows them (it reads them through an informer).
func ensurePriorityClasses(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range prioClasses {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: c.name}, Value: c.value,
			Description: "a priority tier of berth's conformance preemption scenarios"}
		if c.never {
			pc.PreemptionPolicy = ptrTo(v1.PreemptNever)
		}
		if _, err := admin.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating PriorityClass %s: %v", c.name, err)
		}
	}
	for _, c := range prioClasses {
		p := newPod(metav1.NamespaceDefault, "prio-check", nil)
		p.Spec.PriorityClassName = c.name
		p.Spec.Containers = []v1.Container{container("c", nil)}
		for {
			_, err := admin.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil {
				break
			}
			if err := sleep(ctx, 50*time.Millisecond); err != nil {
				t.Fatalf("PriorityClass %s not admitted: %v", c.name, err)
			}
		}
	}
}

// runPreemptScenario creates both copies of s, runs upstream's and peer's chain of preemptors at
// once, and tears everything down. It returns nil chains when the run itself failed (reported).
func runPreemptScenario(t *testing.T, s *preemptScenario, peer string) (up, be *chain) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	copies := []*preemptCopy{s.copyFor("u", upstreamName), s.copyFor("b", peer)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := tearDownPreempt(ctx, s, copies); err != nil {
			t.Errorf("tearing down: %v", err)
		}
	})
	if err := setUpPreempt(ctx, s, copies); err != nil {
		t.Fatalf("setting up: %v\n%s", err, s)
	}
	chains := make([]*chain, len(copies))
	errs := make([]error, len(copies))
	var wg sync.WaitGroup
	for i, c := range copies {
		wg.Go(func() { chains[i], errs[i] = runChain(ctx, c) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%v\n%s\n%s\n%s", err, s, chains[0], chains[1])
	}
	if *flagShow {
		t.Logf("%s\n%s\n%s", s, chains[0], chains[1])
	}
	return chains[0], chains[1]
}

// setUpPreempt creates both copies: namespaces, budgets (with their status: no disruption
// controller runs), nodes, existing pods (with their start times), then waits until both
// schedulers have seen them. Budgets come first: no barrier proves the schedulers saw them,
// but everything after them, the probe's binding included, takes far longer than a watch
// event's delivery.
func setUpPreempt(ctx context.Context, s *preemptScenario, copies []*preemptCopy) error {
	for _, c := range copies {
		for _, ns := range c.namespaces {
			if _, err := admin.CoreV1().Namespaces().Create(ctx, ns.DeepCopy(), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
			}
		}
	}
	for _, c := range copies {
		for _, b := range c.pdbs {
			pdbs := admin.PolicyV1().PodDisruptionBudgets(b.Namespace)
			got, err := pdbs.Create(ctx, b.DeepCopy(), metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("creating PodDisruptionBudget %s/%s: %w", b.Namespace, b.Name, err)
			}
			got.Status = b.Status
			got.Status.ObservedGeneration = got.Generation
			if _, err := pdbs.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("setting PodDisruptionBudget %s/%s status: %w", b.Namespace, b.Name, err)
			}
		}
	}
	for _, c := range copies {
		for _, n := range c.nodes {
			if err := createNode(ctx, n, false); err != nil {
				return err
			}
		}
	}
	for _, c := range copies {
		for _, p := range c.existing {
			got, err := admin.CoreV1().Pods(p.Namespace).Create(ctx, p.DeepCopy(), metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("creating pod %s: %w", podName(p), err)
			}
			got.Status.Phase, got.Status.StartTime = p.Status.Phase, p.Status.StartTime
			if _, err := admin.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("setting pod %s status: %w", podName(p), err)
			}
		}
	}
	last := copies[len(copies)-1]
	return probe(ctx, last.ns, s.id, last.nodes[len(last.nodes)-1].Name, 30*time.Second)
}

// tearDownPreempt deletes both copies' pods, budgets and nodes (namespaces stay: without a
// namespace controller they would never finish terminating) and waits until the pods are gone.
func tearDownPreempt(ctx context.Context, s *preemptScenario, copies []*preemptCopy) error {
	var errs []error
	zero := int64(0)
	sel := metav1.ListOptions{LabelSelector: labelScenario + "=" + s.id}
	for _, c := range copies {
		for _, ns := range []string{c.ns, c.side} {
			if err := admin.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); err != nil {
				errs = append(errs, fmt.Errorf("deleting pods in %s: %w", ns, err))
			}
			if err := admin.PolicyV1().PodDisruptionBudgets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("deleting PodDisruptionBudgets in %s: %w", ns, err))
			}
		}
	}
	if err := admin.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		errs = append(errs, fmt.Errorf("deleting nodes: %w", err))
	}
	for _, c := range copies {
		if err := waitGone(ctx, c.ns, sel); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// chain is what one scheduler made of a copy's preemptors, one step per preemptor.
type chain struct {
	copy  *preemptCopy
	steps []*step
}

// step is one preemptor's placement.
type step struct {
	// pod is the preemptor as it ended: bound, or pending and marked unschedulable.
	pod *v1.Pod
	// messages are its PodScheduled=False messages in the order seen.
	messages []string
	// before are the copy's pods when the preemptor was created; victims those of them that
	// were deleted before it settled, as they were.
	before, victims []*v1.Pod
	took            time.Duration
}

func (st *step) bound() bool { return st.pod.Spec.NodeName != "" }

// runChain creates the copy's preemptors one at a time, each once the one before has settled.
// A bound preemptor stays, with a start time as a kubelet would give it (a later preemptor may
// evict it); a pending one is deleted, so that it does not take room freed for a later one.
func runChain(ctx context.Context, c *preemptCopy) (*chain, error) {
	ch := &chain{copy: c}
	for k, p := range c.preemptors {
		before, err := livePods(ctx, c.ns)
		if err != nil {
			return ch, err
		}
		start := time.Now()
		if _, err := admin.CoreV1().Pods(c.ns).Create(ctx, p.DeepCopy(), metav1.CreateOptions{}); err != nil {
			return ch, fmt.Errorf("creating preemptor %s: %w", podName(p), err)
		}
		st, err := settleStep(ctx, c.ns, p.Name, before)
		if st != nil {
			st.took = time.Since(start)
			ch.steps = append(ch.steps, st)
		}
		if err != nil {
			return ch, fmt.Errorf("%s, preemptor %s: %w", c.scheduler, p.Name, err)
		}
		if st.bound() {
			err = startPod(ctx, c.ns, p.Name, preemptorStart(k))
		} else {
			err = deletePod(ctx, st.pod)
		}
		if err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// livePods lists the copy's existing pods and bound preemptors that are not being deleted.
func livePods(ctx context.Context, ns string) ([]*v1.Pod, error) {
	l, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labelKind + " in (existing,preemptor)"})
	if err != nil {
		return nil, fmt.Errorf("listing pods in %s: %w", ns, err)
	}
	var out []*v1.Pod
	for i := range l.Items {
		if p := &l.Items[i]; p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// settleStep polls the preemptor and the pods before it until it is bound (and nothing changed
// for boundQuiet), or marked unschedulable with no nominated node (and nothing changed for
// settleQuiet). A preemptor that preempted carries a nominated node until it is bound.
func settleStep(ctx context.Context, ns, name string, before []*v1.Pod) (*step, error) {
	st := &step{before: before}
	deadline := time.Now().Add(settleTimeout)
	var last string
	var lastChange time.Time
	for {
		live, err := livePods(ctx, ns)
		if err != nil {
			return nil, err
		}
		alive := map[string]bool{}
		st.pod = nil
		for _, p := range live {
			alive[p.Name] = true
			if p.Name == name {
				st.pod = p
			}
		}
		if st.pod == nil {
			return nil, fmt.Errorf("the preemptor %s/%s is gone", ns, name)
		}
		if msg := unschedulableMessage(st.pod); msg != "" && (len(st.messages) == 0 || st.messages[len(st.messages)-1] != msg) {
			st.messages = append(st.messages, msg)
		}
		st.victims = nil
		for _, p := range before {
			if !alive[p.Name] {
				st.victims = append(st.victims, p)
			}
		}
		state := fmt.Sprintf("%s|%s|%s|%v", st.pod.Spec.NodeName, st.pod.Status.NominatedNodeName, unschedulableMessage(st.pod), names(st.victims))
		if state != last {
			last, lastChange = state, time.Now()
		}
		quiet := time.Since(lastChange)
		switch {
		case st.bound() && quiet >= boundQuiet:
			return st, nil
		case !st.bound() && markedUnschedulable(st.pod) && st.pod.Status.NominatedNodeName == "" && quiet >= settleQuiet:
			return st, nil
		}
		if time.Now().After(deadline) {
			if err := schedulerAlive(); err != nil {
				return st, err
			}
			return st, fmt.Errorf("did not settle within %s: node %q, nominated %q, message %q, deleted %v",
				settleTimeout, st.pod.Spec.NodeName, st.pod.Status.NominatedNodeName, unschedulableMessage(st.pod), names(st.victims))
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return st, err
		}
	}
}

// startPod plays the kubelet for a bound preemptor: Running since at.
func startPod(ctx context.Context, ns, name string, at metav1.Time) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := admin.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Phase, p.Status.StartTime = v1.PodRunning, &at
		_, err = admin.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("starting pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// deletePod deletes p (that very pod: UID precondition) at once.
func deletePod(ctx context.Context, p *v1.Pod) error {
	zero := int64(0)
	err := admin.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
		Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", podName(p), err)
	}
	return nil
}

func names(pods []*v1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	slices.Sort(out)
	return out
}

// preemptStats sums the outcomes of TestPreemption's scenarios.
type preemptStats struct {
	failed int
	// steps counts preemptors; compared those both schedulers placed from the same state.
	steps, compared int
	// upBound, upPreempted, upVictims, upPending, upNever describe upstream's outcomes.
	upBound, upPreempted, upVictims, upPending, upNever int
	// bothBound counts compared preemptors both bound, sameNode, sameCount and sameVictims those
	// of them placed on the same node, after evicting as many pods, the same pods.
	bothBound, sameNode, sameCount, sameVictims int
}

func (s *preemptStats) String() string {
	return fmt.Sprintf("%d preemptors, %d compared from the same state; upstream bound %d (%d after evicting, %d victims in all) "+
		"and left %d pending (%d with preemptionPolicy Never); of the %d compared preemptors both bound: "+
		"same node %d, same victim count %d, same victims %d",
		s.steps, s.compared, s.upBound, s.upPreempted, s.upVictims, s.upPending, s.upNever, s.bothBound, s.sameNode, s.sameCount, s.sameVictims)
}

// comparePreempt checks every step of both chains and compares them step by step as long as
// both started from the same state (every earlier preemptor on the same node, evicting the same
// pods). It reports the problems on t and adds the outcomes to st.
func comparePreempt(t *testing.T, s *preemptScenario, up, be *chain, st *preemptStats) {
	t.Helper()
	var problems []string
	for _, v := range checkChain(s, up) {
		problems = append(problems, "UPSTREAM (a test or checker bug?): "+v)
	}
	for _, v := range checkChain(s, be) {
		problems = append(problems, be.copy.scheduler+": "+v)
	}
	same, differAfter := true, ""
	var skipped []string
	for k := range min(len(up.steps), len(be.steps)) {
		u, b := up.steps[k], be.steps[k]
		st.steps++
		st.tally(u)
		if !same {
			skipped = append(skipped, u.pod.Name)
			continue
		}
		st.compared++
		name := fmt.Sprintf("%s (priority %d)", u.pod.Name, priorityOf(u.pod))
		switch {
		case u.bound() != b.bound():
			problems = append(problems, fmt.Sprintf("%s: upstream %s; %s %s", name, up.describe(u), be.copy.scheduler, be.describe(b)))
		case !slices.Equal(priorities(u.victims), priorities(b.victims)):
			problems = append(problems, fmt.Sprintf("%s: victims of other priorities: upstream evicted %v, %s %v\n    upstream %s\n    %s %s",
				name, priorities(u.victims), be.copy.scheduler, priorities(b.victims), up.describe(u), be.copy.scheduler, be.describe(b)))
		case !u.bound() && lastMessage(u) != lastMessage(b):
			problems = append(problems, fmt.Sprintf("%s: FailedScheduling message differs:\n    upstream: %s\n    %s: %s",
				name, lastMessage(u), be.copy.scheduler, lastMessage(b)))
		}
		sameNode := up.copy.short(u.pod.Spec.NodeName) == be.copy.short(b.pod.Spec.NodeName)
		sameVictims := slices.Equal(names(u.victims), names(b.victims))
		if u.bound() && b.bound() {
			st.bothBound++
			st.sameNode += count(sameNode)
			st.sameCount += count(len(u.victims) == len(b.victims))
			st.sameVictims += count(sameVictims)
		}
		if same = u.bound() == b.bound() && sameNode && sameVictims; !same {
			differAfter = u.pod.Name
		}
	}
	if len(problems) == 0 {
		return
	}
	note := ""
	if len(skipped) > 0 {
		note = fmt.Sprintf("\n  (not compared, as the copies differ after %s: %s)", differAfter, strings.Join(skipped, ", "))
	}
	t.Errorf("%s: %d problem(s):\n  - %s%s\n\n%s\n%s\n%s", s.id, len(problems), strings.Join(problems, "\n  - "), note, s, up, be)
}

func count(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tally adds upstream's outcome of one step.
func (s *preemptStats) tally(u *step) {
	switch {
	case u.bound():
		s.upBound++
		s.upPreempted += count(len(u.victims) > 0)
		s.upVictims += len(u.victims)
	default:
		s.upPending++
		s.upNever += count(u.pod.Spec.PreemptionPolicy != nil && *u.pod.Spec.PreemptionPolicy == v1.PreemptNever)
	}
}

func lastMessage(st *step) string {
	if len(st.messages) == 0 {
		return ""
	}
	return st.messages[len(st.messages)-1]
}

// checkChain returns what is wrong with each step of ch whatever the other scheduler did:
// victims not on the preemptor's node, not of lower priority, evicted for a preemptor that may
// not preempt or that stayed pending, and placements the checker rejects.
func checkChain(s *preemptScenario, ch *chain) []string {
	var out []string
	for _, st := range ch.steps {
		p := st.pod
		prio := priorityOf(p)
		never := p.Spec.PreemptionPolicy != nil && *p.Spec.PreemptionPolicy == v1.PreemptNever
		if len(st.victims) > 0 {
			switch {
			case !st.bound():
				out = append(out, fmt.Sprintf("%s: evicted %v but left the preemptor pending", p.Name, names(st.victims)))
			case never:
				out = append(out, fmt.Sprintf("%s: evicted %v for a preemptor with preemptionPolicy Never", p.Name, names(st.victims)))
			}
		}
		for _, v := range st.victims {
			if st.bound() && v.Spec.NodeName != p.Spec.NodeName {
				out = append(out, fmt.Sprintf("%s: evicted %s from %s, not from the preemptor's node %s", p.Name, v.Name, ch.copy.short(v.Spec.NodeName), ch.copy.short(p.Spec.NodeName)))
			}
			if priorityOf(v) >= prio {
				out = append(out, fmt.Sprintf("%s: evicted %s of priority %d, not lower than the preemptor's %d", p.Name, v.Name, priorityOf(v), prio))
			}
		}
		if !st.bound() {
			continue
		}
		w := &placementcheck.World{Nodes: map[string]*v1.Node{}, NamespaceLabels: map[string]map[string]string{}, Incoming: []*v1.Pod{p}}
		for _, n := range ch.copy.nodes {
			w.Nodes[n.Name] = n
		}
		for _, ns := range ch.copy.namespaces {
			w.NamespaceLabels[ns.Name] = ns.Labels
		}
		gone := names(st.victims)
		for _, q := range st.before {
			if _, found := slices.BinarySearch(gone, q.Name); !found {
				w.Existing = append(w.Existing, q)
			}
		}
		for _, v := range placementcheck.Check(w) {
			out = append(out, "placement breaks a hard constraint: "+v.String())
		}
	}
	return out
}

// describe renders a step's outcome.
func (ch *chain) describe(st *step) string {
	if !st.bound() {
		return fmt.Sprintf("left it pending: %s", lastMessage(st))
	}
	var v []string
	for _, p := range st.victims {
		v = append(v, fmt.Sprintf("%s (priority %d, on %s)", p.Name, priorityOf(p), ch.copy.short(p.Spec.NodeName)))
	}
	if len(v) == 0 {
		return fmt.Sprintf("bound it to %s without evicting", ch.copy.short(st.pod.Spec.NodeName))
	}
	return fmt.Sprintf("bound it to %s after evicting %s", ch.copy.short(st.pod.Spec.NodeName), strings.Join(v, ", "))
}

func (ch *chain) String() string {
	if ch == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (copy %s):\n", ch.copy.scheduler, ch.copy.name)
	for _, st := range ch.steps {
		fmt.Fprintf(&b, "  %s %s in %s\n", st.pod.Name, ch.describe(st), st.took.Round(time.Millisecond))
		if st.bound() {
			for _, m := range st.messages {
				fmt.Fprintf(&b, "    before: %s\n", m)
			}
		}
	}
	return b.String()
}
