package scheduler

import (
	"context"
	"sync"
)

// pool runs API writes on at most n goroutines. The scheduling loop owns it: submit blocks when
// all workers are busy (back-pressure on the loop), and wait returns when every task has ended.
type pool struct {
	slots chan struct{}
	wg    sync.WaitGroup
}

func newPool(n int) *pool { return &pool{slots: make(chan struct{}, n)} }

// submit runs task on a free worker, waiting for one; if ctx ends first the task still runs, on
// the caller's goroutine, with the ended context (so that its failure path requeues the pod).
func (p *pool) submit(ctx context.Context, task func(context.Context)) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		task(ctx)
		return
	}
	p.wg.Add(1)
	go func() {
		defer func() { <-p.slots; p.wg.Done() }()
		task(ctx)
	}()
}

func (p *pool) wait() { p.wg.Wait() }
