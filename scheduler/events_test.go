package scheduler

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestRecorderFoldsRepeats(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"}}
	other := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns", UID: "u2"}}
	tests := []struct {
		name          string
		notes         []string
		pods          []*v1.Pod
		wantCreates   int
		wantPatches   int
		wantLastCount int32
	}{
		{name: "one event", notes: []string{"a"}, pods: []*v1.Pod{pod}, wantCreates: 1},
		{name: "second becomes a series", notes: []string{"a", "a"}, pods: []*v1.Pod{pod, pod}, wantCreates: 1, wantPatches: 1, wantLastCount: 2},
		{name: "later repeats only counted", notes: []string{"a", "a", "a", "a"}, pods: []*v1.Pod{pod, pod, pod, pod}, wantCreates: 1, wantPatches: 1, wantLastCount: 2},
		{name: "different note is a new event", notes: []string{"a", "b"}, pods: []*v1.Pod{pod, pod}, wantCreates: 2},
		{name: "different pod is a new event", notes: []string{"a", "a"}, pods: []*v1.Pod{pod, other}, wantCreates: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset()
			r := newRecorder(func(ns string) EventWriter { return c.EventsV1().Events(ns) }, "test")
			for i, note := range tc.notes {
				if w := r.record("default-scheduler", tc.pods[i], nil, v1.EventTypeWarning, "FailedScheduling", "Scheduling", note); w != nil {
					if err := w.write(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
			}
			creates, patches := 0, 0
			for _, a := range c.Actions() {
				switch a.(type) {
				case k8stesting.CreateAction:
					creates++
				case k8stesting.PatchAction:
					patches++
				}
			}
			if creates != tc.wantCreates || patches != tc.wantPatches {
				t.Errorf("creates %d patches %d, want %d and %d", creates, patches, tc.wantCreates, tc.wantPatches)
			}
			if tc.wantLastCount > 0 {
				evs, err := c.EventsV1().Events("ns").List(context.Background(), metav1.ListOptions{})
				if err != nil || len(evs.Items) != 1 || evs.Items[0].Series == nil || evs.Items[0].Series.Count != tc.wantLastCount {
					t.Errorf("events = %+v, err %v; want one series of count %d", evs, err, tc.wantLastCount)
				}
			}
		})
	}
}
