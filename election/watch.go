package election

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// Backoff between attempts to (re-)establish the watch. The RetryPeriod poll covers the gaps.
const (
	watchBackoffMin = 200 * time.Millisecond
	watchBackoffMax = 30 * time.Second
	// watchTimeoutSeconds asks the server to end each watch, so a silently dead connection is replaced.
	watchTimeoutSeconds = 5 * 60
)

// watch follows the Lease until ctx is done and sends a kick (never blocking; one pending kick is
// enough) for every change, so that a candidate re-reads the Lease at once: a release or a takeover is
// seen within one round trip instead of one RetryPeriod. Kicks are hints only: every decision is made
// on a fresh read.
func (e *Elector) watch(ctx context.Context, kicks chan<- struct{}) {
	backoff := watchBackoffMin
	for {
		events, err := e.watchOnce(ctx, kicks)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			e.log.Debug("watching the lease failed; polling meanwhile", "lock", e.lock(), "err", err, "retryIn", backoff)
		}
		if events > 0 {
			backoff = watchBackoffMin
		}
		t := e.clock.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		if events == 0 {
			backoff = min(2*backoff, watchBackoffMax)
		}
	}
}

// watchOnce runs one watch of the Lease to its end and returns how many events it delivered.
func (e *Elector) watchOnce(ctx context.Context, kicks chan<- struct{}) (int, error) {
	timeout := int64(watchTimeoutSeconds)
	w, err := e.leases.Watch(ctx, metav1.ListOptions{
		FieldSelector:  fields.OneTermEqualSelector("metadata.name", e.cfg.Name).String(),
		TimeoutSeconds: &timeout,
	})
	if err != nil {
		return 0, fmt.Errorf("watching lease %s/%s: %w", e.cfg.Namespace, e.cfg.Name, err)
	}
	defer w.Stop()
	events := 0
	for {
		select {
		case <-ctx.Done():
			return events, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return events, nil
			}
			switch ev.Type {
			case watch.Error:
				return events, fmt.Errorf("watching lease %s/%s: %w", e.cfg.Namespace, e.cfg.Name, apierrors.FromObject(ev.Object))
			case watch.Added, watch.Modified, watch.Deleted:
				// The server filters by name; check anyway, in case a client or proxy does not.
				if lease, ok := ev.Object.(*coordinationv1.Lease); ok && lease.Name == e.cfg.Name {
					events++
					select {
					case kicks <- struct{}{}:
					default:
					}
				}
			}
		}
	}
}
