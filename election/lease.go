package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// errLost reports that, while renewing, we found the Lease no longer ours.
var errLost = errors.New("lease no longer held by us")

// state is what the elector carries between attempts: the Lease as last read or written (nil when it
// does not exist or was never read) and the observation judged from it. The Lease is never modified.
type state struct {
	lease *coordinationv1.Lease
	obs   observation
}

// read returns st after reading lease (nil: not found) at local time now.
func (st state) read(lease *coordinationv1.Lease, now time.Time) state {
	if lease == nil {
		return state{obs: st.obs.seen(false, record{}, now)}
	}
	return state{lease: lease, obs: st.obs.seen(true, recordOf(lease.Spec), now)}
}

// attempt is the result of one step.
type attempt struct {
	st   state
	d    decision
	sent time.Time // when our successful write was sent; zero if nothing was written
	err  error
}

// won reports whether the step left us holding the lease.
func (a attempt) won() bool { return a.err == nil && !a.sent.IsZero() }

// step makes one attempt to acquire the lease (renewing=false) or keep it (renewing=true). It reads
// the Lease, decides, and writes our claim when the decision allows; a renewal first tries to write
// over the copy it last wrote, and reads only if that fails. A renewal that finds another holder, or
// no holder, returns errLost without writing. step reads e's configuration only, so it may run on
// any goroutine.
func (e *Elector) step(ctx context.Context, st state, renewing bool) attempt {
	if renewing && st.lease != nil && st.obs.rec.holder == e.cfg.Identity {
		sent := e.clock.Now()
		written, err := e.update(ctx, st.lease, st.obs.rec.claimed(e.cfg.Identity, e.durationSec, sent))
		if err == nil {
			return e.wrote(written, decision{verdict: verdictRenew}, sent)
		}
		// client-go's line at its level, V(2) (slog.Level(-2), as package logging maps klog's levels)
		e.log.Log(ctx, slog.Level(-2), "Failed to update lease optimistically, falling back to slow path", "lock", e.lock(), "err", err)
	}

	lease, err := e.get(ctx)
	if err != nil {
		return attempt{st: st, err: err}
	}
	now := e.clock.Now()
	st = st.read(lease, now)
	e.sawHolder(st.obs.rec.holder)
	d := decide(st.obs, now, e.cfg.Identity)
	switch {
	case renewing && d.verdict != verdictRenew:
		return attempt{st: st, d: d, err: fmt.Errorf("%w: holder is %q", errLost, st.obs.rec.holder)}
	case d.verdict == verdictWait:
		return attempt{st: st, d: d}
	}

	sent := e.clock.Now()
	var written *coordinationv1.Lease
	if d.verdict == verdictCreate {
		// A new Lease starts with no transitions, as client-go creates it.
		written, err = e.create(ctx, record{holder: e.cfg.Identity, durationSec: e.durationSec, acquired: sent, renewed: sent})
	} else {
		written, err = e.update(ctx, st.lease, st.obs.rec.claimed(e.cfg.Identity, e.durationSec, sent))
	}
	if err != nil {
		return attempt{st: st, d: d, err: err}
	}
	return e.wrote(written, d, sent)
}

// wrote is the attempt after a successful write of lease, sent at local time sent.
func (e *Elector) wrote(lease *coordinationv1.Lease, d decision, sent time.Time) attempt {
	st := state{lease: lease, obs: observation{found: true, rec: recordOf(lease.Spec), at: sent}}
	e.sawHolder(st.obs.rec.holder)
	return attempt{st: st, d: d, sent: sent}
}

// get reads the Lease; it returns nil, nil when the Lease does not exist.
func (e *Elector) get(ctx context.Context) (*coordinationv1.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, e.callTimeout)
	defer cancel()
	lease, err := e.leases.Get(ctx, e.cfg.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading lease %s/%s: %w", e.cfg.Namespace, e.cfg.Name, err)
	}
	return lease, nil
}

// create creates the Lease holding rec.
func (e *Elector) create(ctx context.Context, rec record) (*coordinationv1.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, e.callTimeout)
	defer cancel()
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.Name},
		Spec:       rec.spec(),
	}
	created, err := e.leases.Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating lease %s/%s: %w", e.cfg.Namespace, e.cfg.Name, err)
	}
	return created, nil
}

// update writes rec over lease, guarded by lease's resourceVersion: if anyone wrote the Lease since it
// was read, the API server refuses with a conflict.
func (e *Elector) update(ctx context.Context, lease *coordinationv1.Lease, rec record) (*coordinationv1.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, e.callTimeout)
	defer cancel()
	next := lease.DeepCopy()
	next.Spec = rec.spec()
	updated, err := e.leases.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating lease %s/%s: %w", e.cfg.Namespace, e.cfg.Name, err)
	}
	return updated, nil
}

// release gives the lease up if the Lease still names us, so that a candidate can take over at once.
// It runs after ctx is done, so it uses its own deadline of RenewDeadline.
func (e *Elector) release(ctx context.Context, st state) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.RenewDeadline)
	defer cancel()
	const attempts = 3
	lease := st.lease
	for range attempts {
		if lease == nil || recordOf(lease.Spec).holder != e.cfg.Identity {
			return nil // not ours to release
		}
		_, err := e.update(ctx, lease, recordOf(lease.Spec).released(e.clock.Now()))
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("releasing: %w", err)
		}
		// Probably our own renewal landed after we stopped waiting for it: re-read and try again.
		if lease, err = e.get(ctx); err != nil {
			return fmt.Errorf("releasing: %w", err)
		}
	}
	return fmt.Errorf("releasing lease %s/%s: still conflicting after %d attempts", e.cfg.Namespace, e.cfg.Name, attempts)
}
