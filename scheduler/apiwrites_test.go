package scheduler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	k8stesting "k8s.io/client-go/testing"
)

// client-go's typed clients satisfy the writer interfaces, as kubeclient's do (main uses them).
var (
	_ PodWriter   = corev1client.PodInterface(nil)
	_ EventWriter = eventsv1client.EventInterface(nil)
)

func TestWriterPodWrites(t *testing.T) {
	pending := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Generation: 3}}
	since := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	marked := pending.DeepCopy()
	marked.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: "Unschedulable",
		Message: "0/3 nodes are available", ObservedGeneration: 3, LastTransitionTime: since}}
	nominated := marked.DeepCopy()
	nominated.Status.NominatedNodeName = "n1"
	victim := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"}}
	targeted := victim.DeepCopy()
	targeted.Status.Conditions = []v1.PodCondition{{Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: v1.PodReasonPreemptionByScheduler}}
	preemptor := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "ns", UID: "u9"}, Spec: v1.PodSpec{SchedulerName: "default-scheduler"}}
	n1, none := "n1", ""
	tests := []struct {
		name        string
		absent      bool // the pod does not exist
		write       func(ctx context.Context, w *writer) error
		want        []string // "verb subresource" of each request, in order
		wantInPatch []string // in the first request's patch
	}{
		{
			name:  "bind posts the binding subresource",
			write: func(ctx context.Context, w *writer) error { return w.bind(ctx, pending, "n1") },
			want:  []string{"create binding"},
		},
		{
			name: "unschedulable patches the status",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, pending, "Unschedulable", "0/3 nodes are available", nil)
			},
			want: []string{"patch status"}, wantInPatch: []string{`"reason":"Unschedulable"`, `"observedGeneration":3`},
		},
		{
			name: "an identical condition is not written again",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, marked, "Unschedulable", "0/3 nodes are available", nil)
			},
		},
		{
			name: "a new message keeps the transition time",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, marked, "Unschedulable", "0/4 nodes are available", nil)
			},
			want: []string{"patch status"}, wantInPatch: []string{`"lastTransitionTime":"2026-01-02T03:04:05Z"`, `0/4`},
		},
		{
			name: "a nomination is written with the condition",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, marked, "Unschedulable", "0/3 nodes are available", &n1)
			},
			want: []string{"patch status"}, wantInPatch: []string{`"nominatedNodeName":"n1"`, `"reason":"Unschedulable"`},
		},
		{
			name: "an unchanged nomination and condition are not written",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, nominated, "Unschedulable", "0/3 nodes are available", &n1)
			},
		},
		{
			name: "a nomination is cleared with null",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, nominated, "Unschedulable", "0/3 nodes are available", &none)
			},
			want: []string{"patch status"}, wantInPatch: []string{`"nominatedNodeName":null`},
		},
		{
			name:  "nominate",
			write: func(ctx context.Context, w *writer) error { return w.nominate(ctx, pending, "n2") },
			want:  []string{"patch status"}, wantInPatch: []string{`{"metadata":{"uid":"u1"},"status":{"nominatedNodeName":"n2"}}`},
		},
		{
			name:  "clearNomination",
			write: func(ctx context.Context, w *writer) error { return w.clearNomination(ctx, nominated) },
			want:  []string{"patch status"}, wantInPatch: []string{`"nominatedNodeName":null`, `"uid":"u1"`},
		},
		{
			name:  "evict marks the victim, then deletes it",
			write: func(ctx context.Context, w *writer) error { return w.evict(ctx, victim, preemptor) },
			want:  []string{"patch status", "delete "},
			wantInPatch: []string{`"type":"DisruptionTarget"`, `"reason":"PreemptionByScheduler"`,
				`"message":"default-scheduler: preempting to accommodate a higher priority pod"`},
		},
		{
			name:  "evict of a victim already marked only deletes",
			write: func(ctx context.Context, w *writer) error { return w.evict(ctx, targeted, preemptor) },
			want:  []string{"delete "},
		},
		{
			name: "evict of a victim already gone is no error", absent: true,
			write: func(ctx context.Context, w *writer) error { return w.evict(ctx, victim, preemptor) },
			want:  []string{"patch status"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset(pending.DeepCopy())
			if tc.absent {
				c = fake.NewClientset()
			}
			var namespaces []string
			w := &writer{pods: func(ns string) PodWriter { namespaces = append(namespaces, ns); return c.CoreV1().Pods(ns) }}
			if err := tc.write(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range c.Actions() {
				got = append(got, a.GetVerb()+" "+a.GetSubresource())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("requests %q, want %q", got, tc.want)
			}
			for _, ns := range namespaces {
				if ns != "ns" {
					t.Errorf("pod writers asked for namespace %q, want ns", ns)
				}
			}
			if len(tc.wantInPatch) > 0 {
				p := c.Actions()[0].(k8stesting.PatchAction)
				for _, want := range tc.wantInPatch {
					if p.GetPatchType() != types.StrategicMergePatchType || !strings.Contains(string(p.GetPatch()), want) {
						t.Errorf("patch %s %s, want a strategic merge patch containing %s", p.GetPatchType(), p.GetPatch(), want)
					}
				}
			}
		})
	}
}

// TestNominationPatchIsPatchStatus wants nominate's struct-encoded patch to be byte for byte the
// one patchStatus's map would send.
func TestNominationPatchIsPatchStatus(t *testing.T) {
	for _, node := range []string{"n1", "node-with-\"quote\"", ""} {
		var p nominationPatch
		p.Metadata.UID, p.Status.NominatedNodeName = "u-1", node
		got, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": types.UID("u-1")}, "status": map[string]any{"nominatedNodeName": node}})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("node %q: nominate patches %s, patchStatus would send %s", node, got, want)
		}
	}
}
