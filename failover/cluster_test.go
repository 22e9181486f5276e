package failover

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-scheduler/berth/testenv"
)

// workspace is a test's own namespace and node, and the admin client to fill them.
type workspace struct {
	admin kubernetes.Interface
	ns    string
	pods  int // pods created so far, for naming
}

// newWorkspace creates a namespace and a roomy node, both named after prefix.
func newWorkspace(t *testing.T, ctx context.Context, prefix string) *workspace {
	t.Helper()
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	ns, err := testenv.CreateNamespace(ctx, admin, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.CreateNode(ctx, admin, testenv.NodeSpec{Name: prefix + "-node", Pods: 200}); err != nil {
		t.Fatal(err)
	}
	return &workspace{admin: admin, ns: ns}
}

// createPods creates n pending pods and returns their names.
func (w *workspace) createPods(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	names := make([]string, 0, n)
	for range n {
		w.pods++
		name := fmt.Sprintf("p%d", w.pods)
		if _, err := w.admin.CoreV1().Pods(w.ns).Create(ctx, testenv.Pod(w.ns, name, "10m", "10Mi"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// waitBound waits until every named pod has a node and returns when the last was seen bound.
func (w *workspace) waitBound(t *testing.T, ctx context.Context, names []string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := w.admin.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var pending []string
		for _, p := range list.Items {
			if slices.Contains(names, p.Name) && p.Spec.NodeName == "" {
				pending = append(pending, p.Name)
			}
		}
		if len(pending) == 0 {
			return time.Now()
		}
		if time.Now().After(deadline) {
			sort.Strings(pending)
			t.Fatalf("pods %v in %s not bound within %s", pending, w.ns, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertPending fails unless every named pod is still unbound.
func (w *workspace) assertPending(t *testing.T, ctx context.Context, names []string) {
	t.Helper()
	for _, name := range names {
		p, err := w.admin.CoreV1().Pods(w.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "" {
			t.Errorf("pod %s/%s bound to %s, want it still pending", w.ns, name, p.Spec.NodeName)
		}
	}
}
