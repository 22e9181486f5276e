package chaos

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// placements follows the pods of a namespace with a list and watch of the test's own, and records
// each pod's node when first seen bound. A node that changes, or a bound pod that disappears, is a
// violation. It retries every 100ms whatever fails (client-go's reflector would back off for up
// to 30s after an outage, and the test wants to see the cluster as soon as it is back). Methods
// are safe for concurrent use.
type placements struct {
	mu         sync.Mutex
	node       map[string]string    // pod name → node
	seen       map[string]time.Time // pod name → when first seen bound
	violations []string
}

// watchPlacements starts following ns until t ends.
func (c *cluster) watchPlacements(t *testing.T, ns string) *placements {
	t.Helper()
	p := &placements{node: map[string]string{}, seen: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.follow(ctx, c.admin.CoreV1().Pods(ns)) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return p
}

// podLister is the part of the pods API follow needs.
type podLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*v1.PodList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// follow lists, then watches from the list's resource version, until ctx ends; after an error it
// watches again from the last version seen, or lists again if that version is gone.
func (p *placements) follow(ctx context.Context, pods podLister) {
	rv := ""
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	for ctx.Err() == nil {
		if rv == "" {
			list, err := pods.List(ctx, metav1.ListOptions{})
			if err != nil {
				pause()
				continue
			}
			for i := range list.Items {
				p.observe(&list.Items[i])
			}
			rv = list.ResourceVersion
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				rv = ""
			}
			pause()
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				if err := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					rv = ""
				}
				break
			}
			pod, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			rv = pod.ResourceVersion
			switch ev.Type {
			case watch.Deleted:
				p.deleted(pod)
			case watch.Added, watch.Modified:
				p.observe(pod)
			}
		}
		w.Stop()
		pause()
	}
}

func (p *placements) observe(pod *v1.Pod) {
	if pod.Spec.NodeName == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old, known := p.node[pod.Name]
	switch {
	case !known:
		p.node[pod.Name] = pod.Spec.NodeName
		p.seen[pod.Name] = time.Now()
	case old != pod.Spec.NodeName:
		p.violations = append(p.violations, fmt.Sprintf("pod %s moved from %s to %s", pod.Name, old, pod.Spec.NodeName))
	}
}

func (p *placements) deleted(pod *v1.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.violations = append(p.violations, fmt.Sprintf("pod %s deleted", pod.Name))
}

// firstSeenAfter returns the earliest time after since at which a pod was first seen bound.
func (p *placements) firstSeenAfter(since time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first time.Time
	for _, at := range p.seen {
		if at.After(since) && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first, !first.IsZero()
}

// boundBefore counts the pods first seen bound before at.
func (p *placements) boundBefore(at time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, seen := range p.seen {
		if seen.Before(at) {
			n++
		}
	}
	return n
}

// check waits until want pods have been seen bound, then reports every violation seen.
func (p *placements) check(t *testing.T, want int) {
	t.Helper()
	err := poll(context.Background(), 50*time.Millisecond, 30*time.Second, func() (bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.node) >= want, nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		t.Errorf("the test's watch saw %d pods bound, want %d: %v", len(p.node), want, err)
	}
	for _, v := range p.violations {
		t.Errorf("placement changed: %s", v)
	}
}
