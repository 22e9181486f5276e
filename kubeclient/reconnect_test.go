package kubeclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestTryAgain(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	tests := []struct {
		name  string
		err   error
		again bool
		wait  time.Duration
	}{
		{name: "success", err: nil},
		{name: "connection refused", err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED), again: true},
		{name: "EOF", err: io.ErrUnexpectedEOF, again: true},
		{name: "503", err: apierrors.NewServiceUnavailable("starting"), again: true},
		{name: "500", err: apierrors.NewInternalError(errors.New("boom")), again: true},
		{name: "429 with Retry-After", err: apierrors.NewTooManyRequests("busy", 2), again: true, wait: 2 * time.Second},
		{name: "410 Gone goes to the reflector", err: apierrors.NewResourceExpired("too old resource version")},
		{name: "403 goes to the reflector", err: apierrors.NewForbidden(gr, "", errors.New("no"))},
		{name: "the caller gave up", err: fmt.Errorf("list: %w", context.Canceled)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, again := tryAgain(tc.err)
			if again != tc.again || wait != tc.wait {
				t.Errorf("tryAgain = %s, %v; want %s, %v", wait, again, tc.wait, tc.again)
			}
		})
	}
}

func TestUntilReachable(t *testing.T) {
	refused := fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
	t.Run("waits out an unreachable server", func(t *testing.T) {
		calls := 0
		got, err := untilReachable(context.Background(), func() (int, error) {
			calls++
			if calls < 3 {
				return 0, refused
			}
			return 42, nil
		})
		if got != 42 || err != nil || calls != 3 {
			t.Errorf("got %d, %v after %d calls; want 42 after 3", got, err, calls)
		}
	})
	t.Run("hands answers back at once", func(t *testing.T) {
		calls := 0
		_, err := untilReachable(context.Background(), func() (int, error) {
			calls++
			return 0, apierrors.NewResourceExpired("too old")
		})
		if !apierrors.IsResourceExpired(err) || calls != 1 {
			t.Errorf("err %v after %d calls; want the 410 after 1", err, calls)
		}
	})
	t.Run("waits longer for each failure, up to a second", func(t *testing.T) {
		var at []time.Time
		_, _ = untilReachable(context.Background(), func() (int, error) {
			at = append(at, time.Now())
			if len(at) < 5 {
				return 0, refused
			}
			return 1, nil
		})
		want := []time.Duration{reconnectEvery, 2 * reconnectEvery, reconnectAtMost, reconnectAtMost}
		for i, w := range want {
			if got := at[i+1].Sub(at[i]); got < w || got > w+500*time.Millisecond {
				t.Errorf("wait %d: %s, want about %s", i, got, w)
			}
		}
	})
	t.Run("stops when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*reconnectEvery)
		defer cancel()
		_, err := untilReachable(ctx, func() (int, error) { return 0, refused })
		if !errors.Is(err, syscall.ECONNREFUSED) || ctx.Err() == nil {
			t.Errorf("err %v, ctx %v: want the last failure once ctx ended", err, ctx.Err())
		}
	})
}
