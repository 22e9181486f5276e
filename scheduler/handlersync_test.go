package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// TestWaitForHandlers: the informer has synced (its store holds the initial list) while its
// handler is still held on the first object; WaitForHandlers must not return nil until the
// handler has had every object of the list, and names the handler when it gives up.
func TestWaitForHandlers(t *testing.T) {
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &v1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []v1.Pod{
				{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}},
				{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"}},
			}}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewFake(), nil
		},
	}
	inf := toolscache.NewSharedIndexInformer(listOnly{lw}, &v1.Pod{}, 0, toolscache.Indexers{})
	release := make(chan struct{})
	var handled atomic.Int32
	s := &Scheduler{}
	if err := s.addHandler("pod", inf, toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { <-release; handled.Add(1) },
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); inf.RunWithContext(ctx) }()
	defer func() { cancel(); close(release); <-done }()
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the informer did not sync")
	}

	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	err := s.WaitForHandlers(short)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "pod") {
		t.Fatalf("WaitForHandlers with the handler held = %v, want a deadline error naming the pod handler", err)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("handled %d objects while held", n)
	}

	release <- struct{}{} // the first object; the second waits
	release <- struct{}{}
	if err := s.WaitForHandlers(ctx); err != nil {
		t.Fatalf("WaitForHandlers after the handler had both objects = %v", err)
	}
	if n := handled.Load(); n != 2 {
		t.Fatalf("handled %d objects, want 2", n)
	}
}

// listOnly is a ListWatch whose reflector lists, rather than streaming the initial list as a
// watch (which watch.NewFake never ends).
type listOnly struct{ *toolscache.ListWatch }

func (listOnly) IsWatchListSemanticsUnSupported() bool { return true }
