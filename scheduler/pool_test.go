package scheduler

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolBoundsConcurrencyAndRunsEveryTask(t *testing.T) {
	for _, tc := range []struct {
		name        string
		workers, n  int
		wantRunning int32
		wantStarted int
	}{
		{name: "fewer tasks than workers", workers: 8, n: 3, wantRunning: 3, wantStarted: 3},
		{name: "more tasks than workers", workers: 4, n: 50, wantRunning: 4, wantStarted: 4},
		{name: "one worker", workers: 1, n: 10, wantRunning: 1, wantStarted: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(tc.workers)
			var running, peak, done atomic.Int32
			release := make(chan struct{})
			var once sync.Once
			ctx := context.Background()
			go func() {
				// Let the first wave block until as many as may run are running.
				deadline := time.Now().Add(5 * time.Second)
				for running.Load() < tc.wantRunning && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				once.Do(func() { close(release) })
			}()
			for range tc.n {
				p.submit(ctx, func(context.Context) {
					r := running.Add(1)
					for {
						m := peak.Load()
						if r <= m || peak.CompareAndSwap(m, r) {
							break
						}
					}
					<-release
					running.Add(-1)
					done.Add(1)
				})
			}
			p.wait()
			if got := done.Load(); got != int32(tc.n) {
				t.Errorf("%d tasks ran, want %d", got, tc.n)
			}
			if got := peak.Load(); got != tc.wantRunning {
				t.Errorf("at most %d tasks ran at once, want %d", got, tc.wantRunning)
			}
			if p.started != tc.wantStarted {
				t.Errorf("%d workers started, want %d", p.started, tc.wantStarted)
			}
		})
	}
}

func TestPoolRunsTaskOnCallerWhenContextEnds(t *testing.T) {
	p := newPool(1)
	block := make(chan struct{})
	p.submit(context.Background(), func(context.Context) { <-block })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var gotErr error
	p.submit(ctx, func(ctx context.Context) { gotErr = ctx.Err() }) // the only worker is busy
	if gotErr != context.Canceled {
		t.Errorf("task saw context error %v, want it run at once with the ended context", gotErr)
	}
	close(block)
	p.wait()
}
