package election

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// campaign tries to acquire the lease: at once, then every RetryPeriod, whenever the watch reports a
// change to the Lease, and at the moment another holder's lease expires. It returns the state after
// the winning write and the local time that write was sent, or ok=false once ctx is done.
func (e *Elector) campaign(ctx context.Context, st state, kicks <-chan struct{}) (_ state, won time.Time, ok bool) {
	// upstream's line, plus the identity: the one place a replica says which Lease holder it is
	e.log.Info("Attempting to acquire leader lease...", "lock", e.lock(), "identity", e.cfg.Identity)
	select { // a change seen while we led is stale; the first attempt reads afresh anyway
	case <-kicks:
	default:
	}
	poll := e.clock.NewTimer(0)
	var expiry Timer
	defer func() {
		poll.Stop()
		if expiry != nil {
			expiry.Stop()
		}
	}()
	for {
		var expired <-chan time.Time
		if expiry != nil {
			expired = expiry.C()
		}
		select {
		case <-ctx.Done():
			return st, time.Time{}, false
		case <-poll.C():
		case <-expired:
		case <-kicks:
		}

		a := e.step(ctx, st, false)
		st = a.st
		if a.won() {
			e.log.Info("Successfully acquired lease", "lock", e.lock()) // upstream's line, keys and all
			e.log.Debug("lease acquired", "lock", e.lock(), "identity", e.cfg.Identity, "verdict", a.d.verdict, "transitions", a.st.obs.rec.transitions)
			return st, a.sent, true
		}
		switch {
		case ctx.Err() != nil:
			return st, time.Time{}, false
		case apierrors.IsConflict(a.err) || apierrors.IsAlreadyExists(a.err):
			e.log.Debug("lost a race for the lease; will retry", "lock", e.lock(), "err", a.err)
		case a.err != nil:
			e.log.Error("Failed to update lease", "lock", e.lock(), "err", a.err)
		default:
			e.log.Debug("Lease is held and has not yet expired", "lock", e.lock(), "holder", st.obs.rec.holder, "expiresIn", a.d.until.Sub(e.clock.Now()))
		}

		poll.Stop()
		poll = e.clock.NewTimer(e.cfg.RetryPeriod)
		if expiry != nil {
			expiry.Stop()
			expiry = nil
		}
		if a.d.verdict == verdictWait {
			expiry = e.clock.NewTimer(a.d.until.Sub(e.clock.Now()))
		}
	}
}

// termEnd is how a term finished.
type termEnd struct {
	st   state
	held bool  // we still hold the lease and must release it
	over bool  // Run must return err (otherwise leadership was lost: campaign again)
	err  error // lead's failure, if any
}

// term leads after the write sent at local time won: it runs lead on its own goroutine, renews every
// RetryPeriod and gives up leadership the moment RenewDeadline has passed since the last successful
// renewal, whether or not a call is still hanging. It returns once lead and every call it started have
// returned. After ctx is done it keeps renewing until lead returns, so the lease stays ours meanwhile.
func (e *Elector) term(ctx context.Context, st state, won time.Time, lead func(context.Context) error) termEnd {
	var wg sync.WaitGroup
	defer wg.Wait()
	leadCtx, stopLead := context.WithCancel(ctx)
	defer stopLead()
	// Renewals outlive ctx (see above); they end when the term does.
	callCtx, stopCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCalls()

	e.setLeading(true, won)
	e.emit(st.lease, "became leader")
	leadDone := make(chan error, 1)
	wg.Go(func() { leadDone <- lead(leadCtx) })

	results := make(chan attempt, 1)
	inFlight, holding := false, true
	retry := e.clock.NewTimer(e.cfg.RetryPeriod)
	deadline := e.clock.NewTimer(won.Add(e.cfg.RenewDeadline).Sub(e.clock.Now()))
	defer func() { retry.Stop(); deadline.Stop() }()
	lose := func(reason error) {
		// kube-scheduler's two lines, keys and all: client-go's, then its own.
		e.log.Info("Failed to renew lease", "lock", e.lock(), "err", reason)
		e.log.Error("Leaderelection lost")
		holding = false
		e.setLeading(false, time.Time{})
		stopLead()
		stopCalls()
		deadline.Stop()
	}

	done := ctx.Done()
	var leadErr error
	var leadReturned, cancelledFirst bool
	for !leadReturned || inFlight {
		select {
		case <-done:
			done = nil
			stopLead()

		case leadErr = <-leadDone:
			leadReturned, cancelledFirst = true, leadCtx.Err() != nil
			stopLead()
			stopCalls() // release re-reads if a cancelled renewal landed after all

		case <-retry.C():
			retry = e.clock.NewTimer(e.cfg.RetryPeriod)
			if holding && !inFlight && !leadReturned {
				inFlight = true
				current := st
				wg.Go(func() { results <- e.step(callCtx, current, true) })
			}

		case r := <-results:
			inFlight = false
			if !holding {
				break // lost meanwhile; a late success must not revive the term
			}
			st = r.st
			switch {
			case r.won():
				e.setLeading(true, r.sent)
				deadline.Stop()
				deadline = e.clock.NewTimer(r.sent.Add(e.cfg.RenewDeadline).Sub(e.clock.Now()))
			case errors.Is(r.err, errLost):
				lose(r.err)
			case leadReturned && callCtx.Err() != nil:
				// cancelled because lead returned; nothing to report
			default:
				e.log.Error("Failed to update lease", "lock", e.lock(), "err", r.err)
			}

		case <-deadline.C():
			if holding {
				lose(fmt.Errorf("not renewed within the renew deadline of %s", e.cfg.RenewDeadline))
			}
		}
	}

	e.setLeading(false, time.Time{})
	e.emit(st.lease, "stopped leading")
	if cancelledFirst && (errors.Is(leadErr, context.Canceled) || errors.Is(leadErr, context.DeadlineExceeded)) {
		leadErr = nil
	}
	over := ctx.Err() != nil || !cancelledFirst || leadErr != nil
	return termEnd{st: st, held: holding, over: over, err: leadErr}
}

// emit tells the event sink, if any, about a change of leadership on lease (nil: nothing to attach to).
func (e *Elector) emit(lease *coordinationv1.Lease, what string) {
	if e.cfg.Events == nil || lease == nil {
		return
	}
	subject := lease.DeepCopy()
	subject.Kind = "Lease"
	subject.APIVersion = coordinationv1.SchemeGroupVersion.String()
	e.cfg.Events.LeaderElection(subject, e.cfg.Identity+" "+what)
}
