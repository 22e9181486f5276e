package election

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// record is the election state kept in a Lease's spec. It is read from and written to the spec field for
// field the way client-go's LeaseLock does, so that berth and kube-scheduler can share one Lease.
type record struct {
	holder      string // empty: nobody holds the lease, anyone may take it
	durationSec int32  // how long the holder claims the lease stays valid after each change
	acquired    time.Time
	renewed     time.Time
	transitions int32 // bumped each time the holder changes

	// Written only by coordinated leader election. Kept so that a change to them counts as a change to
	// the record; never written by us.
	strategy  string
	preferred string
}

// recordOf reads the record from a Lease spec; absent fields read as zero values.
func recordOf(spec coordinationv1.LeaseSpec) record {
	var r record
	if spec.HolderIdentity != nil {
		r.holder = *spec.HolderIdentity
	}
	if spec.LeaseDurationSeconds != nil {
		r.durationSec = *spec.LeaseDurationSeconds
	}
	if spec.AcquireTime != nil {
		r.acquired = spec.AcquireTime.Time
	}
	if spec.RenewTime != nil {
		r.renewed = spec.RenewTime.Time
	}
	if spec.LeaseTransitions != nil {
		r.transitions = *spec.LeaseTransitions
	}
	if spec.Strategy != nil {
		r.strategy = string(*spec.Strategy)
	}
	if spec.PreferredHolder != nil {
		r.preferred = *spec.PreferredHolder
	}
	return r
}

// spec returns the Lease spec that stores r. Like LeaseLock it always sets the five election fields
// (an empty holder is written as a pointer to "") and never sets strategy or preferredHolder.
func (r record) spec() coordinationv1.LeaseSpec {
	holder, dur, transitions := r.holder, r.durationSec, r.transitions
	return coordinationv1.LeaseSpec{
		HolderIdentity:       &holder,
		LeaseDurationSeconds: &dur,
		AcquireTime:          &metav1.MicroTime{Time: r.acquired},
		RenewTime:            &metav1.MicroTime{Time: r.renewed},
		LeaseTransitions:     &transitions,
	}
}

// equal reports whether two records are the same election state. Only a change in the record, never
// the passage of remote time, restarts a candidate's wait.
func (r record) equal(o record) bool {
	return r.holder == o.holder && r.durationSec == o.durationSec &&
		r.acquired.Equal(o.acquired) && r.renewed.Equal(o.renewed) &&
		r.transitions == o.transitions && r.strategy == o.strategy && r.preferred == o.preferred
}

// claimed returns the record to write when me takes or keeps the lease at local time now.
// Keeping our own lease preserves its acquire time and transition count; taking it from anyone else
// (including from nobody, after a release) starts a new term and counts a transition.
func (r record) claimed(me string, durationSec int32, now time.Time) record {
	next := record{holder: me, durationSec: durationSec, acquired: now, renewed: now, transitions: r.transitions + 1}
	if r.holder == me {
		next.acquired, next.transitions = r.acquired, r.transitions
	}
	return next
}

// released returns what a holder writes when it steps down, as client-go does on ReleaseOnCancel:
// no holder, a one-second duration, both times set to now, the transition count unchanged.
func (r record) released(now time.Time) record {
	return record{durationSec: 1, acquired: now, renewed: now, transitions: r.transitions}
}

// observation is what a candidate knows of the Lease: its record and the LOCAL time at which that record
// was first seen. Remote timestamps inside the record are never compared with the local clock.
type observation struct {
	found bool // the Lease exists
	rec   record
	at    time.Time // local time the current rec was first seen; moves only when rec changes
}

// seen returns the observation after reading rec (found=false: the Lease does not exist) at local time now.
func (o observation) seen(found bool, rec record, now time.Time) observation {
	if found && o.found && rec.equal(o.rec) {
		return o
	}
	return observation{found: found, rec: rec, at: now}
}

// verdict is what a candidate should do about the Lease.
type verdict int

const (
	verdictCreate verdict = iota // no Lease exists: create it holding it
	verdictRenew                 // we hold it: write a fresh renew time
	verdictTake                  // free (released) or expired: write ourselves as holder
	verdictWait                  // another holder's lease is live: wait until it expires
)

func (v verdict) String() string {
	switch v {
	case verdictCreate:
		return "create"
	case verdictRenew:
		return "renew"
	case verdictTake:
		return "take"
	case verdictWait:
		return "wait"
	}
	return "unknown"
}

// decision is the outcome of decide. until is set only for verdictWait: the local time at which the
// other holder's lease expires unless its record changes first.
type decision struct {
	verdict verdict
	until   time.Time
}

// decide judges the observed Lease for candidate me at local time now. Another holder's lease expires
// at obs.at plus the duration the holder itself wrote (as client-go judges it, so both honour a
// released lease's one second alike); the holder's own acquire and renew times play no part.
func decide(obs observation, now time.Time, me string) decision {
	switch {
	case !obs.found:
		return decision{verdict: verdictCreate}
	case obs.rec.holder == me:
		return decision{verdict: verdictRenew}
	case obs.rec.holder == "":
		return decision{verdict: verdictTake}
	}
	expiry := obs.at.Add(time.Duration(obs.rec.durationSec) * time.Second)
	if now.Before(expiry) {
		return decision{verdict: verdictWait, until: expiry}
	}
	return decision{verdict: verdictTake}
}

// leaseSeconds is the leaseDurationSeconds we write for d, rounded up so that other candidates never
// wait less than we believe our lease lasts.
func leaseSeconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}
