package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// seenPod is a pod as the watch delivers it: bound to node (when set) and carrying a
// PodScheduled condition of status and reason (when status is set).
func seenPod(name, node string, status v1.ConditionStatus, reason string) *v1.Pod {
	p := &v1.Pod{}
	p.Name, p.Spec.NodeName = name, node
	if status != "" {
		p.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: status, Reason: reason}}
	}
	return p
}

func nameSet(list ...string) map[string]bool {
	out := map[string]bool{}
	for _, n := range list {
		out[n] = true
	}
	return out
}

func TestObserver(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	unsched := func(name string) *v1.Pod { return seenPod(name, "", v1.ConditionFalse, v1.PodReasonUnschedulable) }
	tests := []struct {
		name             string
		bindable, toMark map[string]bool
		seen             []*v1.Pod // seen at 1s, 2s, ...
		wantTally        string
		wantComplete     bool
		wantLast         int // seconds; 0: none
		wantWrong        string
	}{
		{name: "nothing awaited is complete at once", wantTally: "0 of 0 bound", wantComplete: true},
		{name: "bindings", bindable: nameSet("a", "b"),
			seen:      []*v1.Pod{seenPod("a", "", "", ""), seenPod("a", "n1", "", ""), seenPod("b", "n2", "", ""), seenPod("a", "n1", "", "")},
			wantTally: "2 of 2 bound", wantComplete: true, wantLast: 3},
		{name: "a mark alone does not count without a first pass", bindable: nameSet("a"),
			seen: []*v1.Pod{unsched("a")}, wantTally: "0 of 1 bound"},
		{name: "first pass complete at the last mark", toMark: nameSet("x", "y"),
			seen:      []*v1.Pod{unsched("x"), unsched("x"), unsched("y")},
			wantTally: "2 of 2 marked unschedulable", wantComplete: true, wantLast: 3},
		{name: "only PodScheduled=False, reason Unschedulable, marks", toMark: nameSet("x"),
			seen: []*v1.Pod{
				seenPod("x", "", v1.ConditionFalse, v1.PodReasonSchedulingGated),
				seenPod("x", "", v1.ConditionTrue, ""),
				seenPod("x", "", v1.ConditionFalse, "SchedulerError"),
			}, wantTally: "0 of 1 marked unschedulable"},
		{name: "other conditions are no mark", toMark: nameSet("x"),
			seen: []*v1.Pod{{ObjectMeta: seenPod("x", "", "", "").ObjectMeta, Status: v1.PodStatus{Conditions: []v1.PodCondition{
				{Type: v1.PodReady, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable}}}}},
			wantTally: "0 of 1 marked unschedulable"},
		{name: "bindings and marks both awaited", bindable: nameSet("a"), toMark: nameSet("x"),
			seen:      []*v1.Pod{unsched("x"), seenPod("a", "n1", "", "")},
			wantTally: "1 of 1 bound, 1 of 1 marked unschedulable", wantComplete: true, wantLast: 2},
		{name: "a marked pod bound is wrong", toMark: nameSet("x"),
			seen:      []*v1.Pod{unsched("x"), seenPod("x", "n1", "", "")},
			wantTally: "1 of 1 marked unschedulable", wantComplete: true, wantLast: 1, wantWrong: "[x on n1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newObserver(tc.bindable, tc.toMark)
			for i, p := range tc.seen {
				o.seen(p, at(i+1))
			}
			got := o.progress()
			if got.String() != tc.wantTally {
				t.Errorf("tally %q, want %q", got, tc.wantTally)
			}
			complete := false
			select {
			case <-o.all:
				complete = true
			default:
			}
			if complete != tc.wantComplete {
				t.Errorf("complete = %v, want %v", complete, tc.wantComplete)
			}
			if want := at(tc.wantLast); tc.wantLast > 0 && !got.last().Equal(want) || tc.wantLast == 0 && !got.last().IsZero() {
				t.Errorf("last arrival %s, want %ds in", got.last(), tc.wantLast)
			}
			if _, wrong := o.snapshot(); tc.wantWrong != "" && fmt.Sprint(wrong) != tc.wantWrong || tc.wantWrong == "" && len(wrong) > 0 {
				t.Errorf("wrong %v, want %s", wrong, tc.wantWrong)
			}
		})
	}
}

func TestObserverWait(t *testing.T) {
	tests := []struct {
		name             string
		bindable, toMark map[string]bool
		dead             bool
		wantErr          string // "" for complete
	}{
		{name: "nothing awaited", wantErr: ""},
		{name: "stalled bindings", bindable: nameSet("a"), wantErr: "no pod bound for 300ms: 0 of 1 bound"},
		{name: "stalled first pass", toMark: nameSet("x", "y"), wantErr: "no pod bound or marked unschedulable for 300ms: 1 of 2 marked unschedulable"},
		{name: "scheduler died", toMark: nameSet("x", "y"), dead: true, wantErr: "scheduler exited with 1 of 2 marked unschedulable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newObserver(tc.bindable, tc.toMark)
			o.seen(seenPod("x", "", v1.ConditionFalse, v1.PodReasonUnschedulable), time.Now())
			err := o.wait(context.Background(), 300*time.Millisecond, func() bool { return tc.dead })
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("wait: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, errIncomplete) {
				t.Fatalf("wait error %v, want one containing %q and wrapping errIncomplete", err, tc.wantErr)
			}
		})
	}
}

func TestFirstPassOf(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    tally
		want FirstPassResult
	}{
		{"complete", tally{marked: 600, toMark: 600, lastMark: start.Add(12 * time.Second)},
			FirstPassResult{Pods: 600, Marked: 600, Seconds: 12, PodsPerSecond: 50}},
		{"none marked", tally{toMark: 600}, FirstPassResult{Pods: 600}},
		{"a mark before the start counts as none", tally{marked: 1, toMark: 1, lastMark: start.Add(-time.Second)},
			FirstPassResult{Pods: 1, Marked: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstPassOf(tc.t, start); *got != tc.want {
				t.Errorf("firstPassOf = %+v, want %+v", *got, tc.want)
			}
		})
	}
}
