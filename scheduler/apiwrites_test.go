package scheduler

import (
	"context"
	"strings"
	"testing"

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
	pending := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"}}
	marked := pending.DeepCopy()
	marked.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available"}}
	tests := []struct {
		name        string
		write       func(ctx context.Context, w *writer) error
		wantVerb    string // "" when no request is expected
		wantSub     string
		wantInPatch string
	}{
		{
			name:     "bind posts the binding subresource",
			write:    func(ctx context.Context, w *writer) error { return w.bind(ctx, pending, "n1") },
			wantVerb: "create", wantSub: "binding",
		},
		{
			name: "unschedulable patches the status",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, pending, "Unschedulable", "0/3 nodes are available")
			},
			wantVerb: "patch", wantSub: "status", wantInPatch: `"reason":"Unschedulable"`,
		},
		{
			name: "an identical condition is not written again",
			write: func(ctx context.Context, w *writer) error {
				return w.markUnschedulable(ctx, marked, "Unschedulable", "0/3 nodes are available")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset(pending.DeepCopy())
			var namespaces []string
			w := &writer{pods: func(ns string) PodWriter { namespaces = append(namespaces, ns); return c.CoreV1().Pods(ns) }}
			if err := tc.write(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			acts := c.Actions()
			if tc.wantVerb == "" {
				if len(acts) != 0 {
					t.Fatalf("requests %v, want none", acts)
				}
				return
			}
			if len(acts) != 1 || acts[0].GetVerb() != tc.wantVerb || acts[0].GetSubresource() != tc.wantSub {
				t.Fatalf("requests %v, want one %s of pods/%s", acts, tc.wantVerb, tc.wantSub)
			}
			if len(namespaces) != 1 || namespaces[0] != "ns" {
				t.Errorf("pod writers asked for namespaces %v, want [ns]", namespaces)
			}
			if tc.wantInPatch != "" {
				p := acts[0].(k8stesting.PatchAction)
				if p.GetPatchType() != types.StrategicMergePatchType || !strings.Contains(string(p.GetPatch()), tc.wantInPatch) {
					t.Errorf("patch %s %s, want a strategic merge patch containing %s", p.GetPatchType(), p.GetPatch(), tc.wantInPatch)
				}
			}
		})
	}
}
