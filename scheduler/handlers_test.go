package scheduler

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/berth-scheduler/berth/kubeclient"
	"github.com/berth-scheduler/berth/metrics"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
	"github.com/berth-scheduler/berth/testenv"
)

// newTestScheduler builds a Scheduler whose informers are never started: tests call its
// handlers directly.
func newTestScheduler(t testing.TB) *Scheduler {
	t.Helper()
	c, err := kubeclient.New(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := DefaultProfile(DefaultSchedulerName, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	fc := fake.NewClientset()
	s, err := New(Config{
		Pods:      func(ns string) PodWriter { return fc.CoreV1().Pods(ns) },
		Events:    func(ns string) EventWriter { return fc.EventsV1().Events(ns) },
		Informers: kubeclient.NewInformers(c), Profiles: []Profile{prof},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAssumedPodIsNotQueuedAgain: an update of a pod the loop has placed but whose binding the
// informer has not delivered yet (its own status patch, written before) must not queue it again.
// It did once, and the pod, counted on its node, then preempted pods elsewhere.
func TestAssumedPodIsNotQueuedAgain(t *testing.T) {
	s := newTestScheduler(t)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", ResourceVersion: "1"},
		Spec: v1.PodSpec{SchedulerName: DefaultSchedulerName}}
	s.onPodAdd(pod)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qp, err := s.queue.Pop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bound := pod.DeepCopy()
	bound.Spec.NodeName = "n1"
	if err := s.cache.Assume(snapshot.NewPodInfo(bound), "n1"); err != nil {
		t.Fatal(err)
	}
	s.queue.Done(qp)

	patched := pod.DeepCopy()
	patched.ResourceVersion = "2"
	patched.Status.NominatedNodeName = "n1"
	s.onPodUpdate(pod, patched)
	if l := s.queue.Lens(); l.Active+l.Backoff+l.Unschedulable != 0 {
		t.Errorf("the assumed pod was queued again: %+v", l)
	}
	if _, ok := s.cache.Nomination("u1"); ok {
		t.Error("the assumed pod was nominated")
	}
}

func TestAwaitGone(t *testing.T) {
	s := newTestScheduler(t)
	victim := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "v", Namespace: "ns", UID: "v1"}, Spec: v1.PodSpec{NodeName: "n1"}}
	s.cache.AddPod(victim)
	victims := []*snapshot.PodInfo{snapshot.NewPodInfo(victim)}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	s.awaitGone(ctx, victims)
	if d := time.Since(start); d > goneWait/2 {
		t.Errorf("with its context ended, awaitGone took %s", d)
	}

	go func() {
		time.Sleep(30 * time.Millisecond)
		leaving := victim.DeepCopy()
		leaving.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		s.cache.UpdatePod(leaving) // terminating is not gone
		time.Sleep(30 * time.Millisecond)
		s.cache.RemovePod(leaving)
	}()
	start = time.Now()
	s.awaitGone(context.Background(), victims)
	if d := time.Since(start); d < 50*time.Millisecond || d > goneWait/2 {
		t.Errorf("awaitGone returned after %s; want about 60ms, when the victim is gone", d)
	}
	if s.cache.Holds("v1") {
		t.Error("the victim is still held")
	}
}

func TestNodeChangeMatters(t *testing.T) {
	base := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"a": "1"}},
		Status: v1.NodeStatus{DeclaredFeatures: []string{"F1"}}}
	tests := []struct {
		name string
		edit func(n *v1.Node)
		want bool
	}{
		{name: "a heartbeat", edit: func(n *v1.Node) {
			n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}
		}},
		{name: "a label", edit: func(n *v1.Node) { n.Labels["a"] = "2" }, want: true},
		{name: "cordoned", edit: func(n *v1.Node) { n.Spec.Unschedulable = true }, want: true},
		{name: "a declared feature", edit: func(n *v1.Node) { n.Status.DeclaredFeatures = append(n.Status.DeclaredFeatures, "F2") }, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := base.DeepCopy()
			tc.edit(n)
			if got := nodeChangeMatters(base, n); got != tc.want {
				t.Errorf("nodeChangeMatters = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTimedHandlers: every informer event is observed in scheduler_event_handling_duration_seconds
// under kube-scheduler's label for it, and the handler still runs; with the family disabled the
// handler is not wrapped.
func TestTimedHandlers(t *testing.T) {
	reg := metrics.NewRegistry()
	m, err := newSchedMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := &Scheduler{m: m}
	var calls int
	h := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { calls++ },
		UpdateFunc: func(_, _ any) { calls++ },
		DeleteFunc: func(any) { calls++ },
	}
	pending := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	bound := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1.PodSpec{NodeName: "n1"}}
	pods, nodes := s.timed(podEventLabel, h), s.timed(kindLabels("Node"), h)
	pods.OnAdd(pending, false)
	pods.OnUpdate(pending, pending)
	pods.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/p", Obj: pending})
	pods.OnAdd(bound, false)
	pods.OnUpdate(pending, bound)
	pods.OnDelete(bound)
	nodes.OnAdd(&v1.Node{}, false)
	nodes.OnUpdate(&v1.Node{}, &v1.Node{})
	nodes.OnDelete(&v1.Node{})
	if calls != 9 {
		t.Errorf("the handlers ran %d times, want 9", calls)
	}
	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"UnscheduledPodAdd", "UnscheduledPodUpdate", "UnscheduledPodDelete",
		"AssignedPodAdd", "AssignedPodUpdate", "AssignedPodDelete", "NodeAdd", "NodeUpdate", "NodeDelete"} {
		got, found, err := testenv.MetricSum(b.String(), "scheduler_event_handling_duration_seconds_count", `event="`+label+`"`)
		if err != nil || !found || got != 1 {
			t.Errorf("%s observed %v times (found %v, %v), want 1", label, got, found, err)
		}
	}

	off := metrics.NewRegistry()
	off.Configure([]string{"scheduler_event_handling_duration_seconds"}, nil)
	if s.m, err = newSchedMetrics(off); err != nil {
		t.Fatal(err)
	}
	if w := s.timed(podEventLabel, h); reflect.ValueOf(w.AddFunc).Pointer() != reflect.ValueOf(h.AddFunc).Pointer() {
		t.Error("with the family disabled the handler was wrapped anyway")
	}
}

// TestClaimCreatesMetric: an extended resource claim's creation is counted with upstream's labels.
func TestClaimCreatesMetric(t *testing.T) {
	reg := metrics.NewRegistry()
	m, err := newSchedMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.claimCreated("success")
	m.claimCreated("failure")
	m.claimCreated("success")
	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`dynamic_resource_allocation_resourceclaim_creates_total{admin_access="false",owner_api_group="",owner_api_kind="Pod",status="success"} 2`,
		`dynamic_resource_allocation_resourceclaim_creates_total{admin_access="false",owner_api_group="",owner_api_kind="Pod",status="failure"} 1`,
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("exposition lacks %s", want)
		}
	}
}
