package scheduler

import (
	"errors"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-scheduler/berth/scheduler/explain"
	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

func TestExplain(t *testing.T) {
	s := newTestScheduler(t)
	s.cache.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("2"), v1.ResourcePods: resource.MustParse("10")}}})
	newPod := func(name, scheduler string) *v1.Pod {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)}, Spec: v1.PodSpec{SchedulerName: scheduler}}
		if err := s.podIndexer.Add(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pending := newPod("pending", DefaultSchedulerName)
	s.onPodAdd(pending)
	newPod("theirs", "other")
	assumed := newPod("assumed", DefaultSchedulerName)
	bound := assumed.DeepCopy()
	bound.Spec.NodeName = "n1"
	if err := s.cache.Assume(snapshot.NewPodInfo(bound), "n1"); err != nil {
		t.Fatal(err)
	}
	lens := s.queue.Lens()

	tests := []struct {
		name, pod   string
		wantErr     error
		wantQueue   string // "" no queue state
		wantBoundTo string
	}{
		{name: "missing pod", pod: "nope", wantErr: explain.ErrPodNotFound},
		{name: "another scheduler's pod", pod: "theirs", wantErr: explain.ErrNotOurs},
		{name: "pending pod", pod: "pending", wantQueue: "active"},
		{name: "assumed pod, binding under way", pod: "assumed", wantBoundTo: "n1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Explain("ns", tc.pod, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Explain error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if r.Decision.Node != "n1" || r.BoundTo != tc.wantBoundTo || r.Recomputed != (tc.wantBoundTo != "") {
				t.Errorf("decision %q, bound to %q (recomputed %v)", r.Decision.Node, r.BoundTo, r.Recomputed)
			}
			if got := ""; r.Queue != nil {
				got = r.Queue.State
				if got != tc.wantQueue {
					t.Errorf("queue state %q, want %q", got, tc.wantQueue)
				}
			} else if tc.wantQueue != "" {
				t.Errorf("no queue state, want %q", tc.wantQueue)
			}
		})
	}
	if got := s.queue.Lens(); got != lens {
		t.Errorf("explain changed the queue: %+v, was %+v", got, lens)
	}
	if _, pods, _ := s.cache.Sizes(); pods != 1 {
		t.Errorf("explain changed the cache: %d pods, want the 1 assumed", pods)
	}
	if p := s.Pending(pending.CreationTimestamp.Time); len(p) != 1 || p[0].Name != "pending" || p[0].State != "active" {
		t.Errorf("Pending() = %+v", p)
	}
}
