package scheduler

import (
	"context"
	"sync"
)

// pool runs API writes on at most n goroutines. The scheduling loop owns it and is its only
// caller: submit blocks when all workers are busy (back-pressure on the loop), and wait returns
// when every task has ended.
//
// Workers are started on demand and then live until wait: a goroutine per task would grow a
// fresh stack through the HTTP/2 client on every binding, which showed up as several percent of
// berth's CPU in the benchmarks.
type pool struct {
	tasks   chan poolTask // unbuffered: a send succeeds only when a worker takes the task
	max     int
	started int
	wg      sync.WaitGroup
}

type poolTask struct {
	ctx context.Context
	run func(context.Context)
}

func newPool(n int) *pool { return &pool{tasks: make(chan poolTask), max: n} }

// submit runs task on a free worker, starting one if fewer than n run, else waiting for one; if
// ctx ends first the task still runs, on the caller's goroutine, with the ended context (so that
// its failure path requeues the pod).
func (p *pool) submit(ctx context.Context, task func(context.Context)) {
	t := poolTask{ctx: ctx, run: task}
	select {
	case p.tasks <- t:
		return
	default:
	}
	if p.started < p.max {
		p.started++
		p.wg.Add(1)
		go p.work(t)
		return
	}
	select {
	case p.tasks <- t:
	case <-ctx.Done():
		task(ctx)
	}
}

func (p *pool) work(first poolTask) {
	defer p.wg.Done()
	first.run(first.ctx)
	for t := range p.tasks {
		t.run(t.ctx)
	}
}

// wait stops the workers once their tasks have ended and returns then; submit must not be
// called after it.
func (p *pool) wait() {
	close(p.tasks)
	p.wg.Wait()
}
