package election

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

func TestDecide(t *testing.T) {
	const me = "me"
	held := func(holder string, seconds int32, remote time.Time) record {
		return record{holder: holder, durationSec: seconds, acquired: remote, renewed: remote, transitions: 4}
	}
	tests := []struct {
		name string
		obs  observation
		now  time.Time
		want decision
	}{
		{
			name: "no lease: create it",
			obs:  observation{},
			now:  t0,
			want: decision{verdict: verdictCreate},
		},
		{
			name: "our own lease: renew, however old",
			obs:  observation{found: true, rec: held(me, 15, t0.Add(-time.Hour)), at: t0.Add(-time.Hour)},
			now:  t0,
			want: decision{verdict: verdictRenew},
		},
		{
			name: "released (empty holder): take at once",
			obs:  observation{found: true, rec: held("", 1, t0), at: t0},
			now:  t0,
			want: decision{verdict: verdictTake},
		},
		{
			name: "other holder, remote renew time an hour in the past: live until seen + duration",
			obs:  observation{found: true, rec: held("other", 15, t0.Add(-time.Hour)), at: t0},
			now:  t0.Add(14 * time.Second),
			want: decision{verdict: verdictWait, until: t0.Add(15 * time.Second)},
		},
		{
			name: "other holder, remote renew time an hour in the future: expired after seen + duration",
			obs:  observation{found: true, rec: held("other", 15, t0.Add(time.Hour)), at: t0},
			now:  t0.Add(15 * time.Second),
			want: decision{verdict: verdictTake},
		},
		{
			name: "other holder, one nanosecond before expiry: wait",
			obs:  observation{found: true, rec: held("other", 15, t0), at: t0},
			now:  t0.Add(15*time.Second - 1),
			want: decision{verdict: verdictWait, until: t0.Add(15 * time.Second)},
		},
		{
			name: "the holder's own duration counts, not ours",
			obs:  observation{found: true, rec: held("other", 60, t0), at: t0},
			now:  t0.Add(59 * time.Second),
			want: decision{verdict: verdictWait, until: t0.Add(60 * time.Second)},
		},
		{
			name: "other holder with zero duration: expired at once",
			obs:  observation{found: true, rec: held("other", 0, t0), at: t0},
			now:  t0,
			want: decision{verdict: verdictTake},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.obs, tt.now, me)
			if got.verdict != tt.want.verdict || !got.until.Equal(tt.want.until) {
				t.Errorf("decide = %v until %v, want %v until %v", got.verdict, got.until, tt.want.verdict, tt.want.until)
			}
		})
	}
}

func TestObservationSeen(t *testing.T) {
	rec := record{holder: "other", durationSec: 15, acquired: t0, renewed: t0, transitions: 2}
	renewed := rec
	renewed.renewed = t0.Add(time.Second)
	first := observation{}.seen(true, rec, t0)
	tests := []struct {
		name   string
		found  bool
		rec    record
		wantAt time.Time
	}{
		{name: "same record later: time of first sight kept", found: true, rec: rec, wantAt: t0},
		{name: "renewed record: time moves", found: true, rec: renewed, wantAt: t0.Add(5 * time.Second)},
		{name: "lease deleted: time moves", found: false, wantAt: t0.Add(5 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := first.seen(tt.found, tt.rec, t0.Add(5*time.Second))
			if !got.at.Equal(tt.wantAt) || got.found != tt.found {
				t.Errorf("seen: found=%v at=%v, want found=%v at=%v", got.found, got.at, tt.found, tt.wantAt)
			}
		})
	}
}

func TestRecordTransitions(t *testing.T) {
	now := t0.Add(time.Minute)
	prev := record{holder: "other", durationSec: 30, acquired: t0, renewed: t0.Add(time.Second), transitions: 7}
	mine := record{holder: "me", durationSec: 15, acquired: t0, renewed: t0.Add(time.Second), transitions: 7}
	tests := []struct {
		name string
		got  record
		want record
	}{
		{
			name: "taking another's lease starts a term and counts a transition",
			got:  prev.claimed("me", 15, now),
			want: record{holder: "me", durationSec: 15, acquired: now, renewed: now, transitions: 8},
		},
		{
			name: "taking a released lease counts a transition",
			got:  prev.released(t0).claimed("me", 15, now),
			want: record{holder: "me", durationSec: 15, acquired: now, renewed: now, transitions: 8},
		},
		{
			name: "renewing our own keeps acquire time and transitions",
			got:  mine.claimed("me", 15, now),
			want: record{holder: "me", durationSec: 15, acquired: t0, renewed: now, transitions: 7},
		},
		{
			name: "release: no holder, one second, times now, transitions kept",
			got:  mine.released(now),
			want: record{holder: "", durationSec: 1, acquired: now, renewed: now, transitions: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.got.equal(tt.want) {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestRecordSpecRoundTrip(t *testing.T) {
	rec := record{holder: "me", durationSec: 15, acquired: t0, renewed: t0.Add(time.Second), transitions: 3}
	spec := rec.spec()
	if spec.Strategy != nil || spec.PreferredHolder != nil {
		t.Errorf("spec sets coordinated-election fields: strategy=%v preferredHolder=%v", spec.Strategy, spec.PreferredHolder)
	}
	if got := recordOf(spec); !got.equal(rec) {
		t.Errorf("round trip: got %+v, want %+v", got, rec)
	}
	released := rec.released(t0).spec()
	if released.HolderIdentity == nil || *released.HolderIdentity != "" {
		t.Errorf("released holderIdentity = %v, want pointer to empty string", released.HolderIdentity)
	}

	strategy := coordinationv1.OldestEmulationVersion
	withStrategy := rec.spec()
	withStrategy.Strategy = &strategy
	if recordOf(withStrategy).equal(rec) {
		t.Error("a change of strategy is not seen as a change of the record")
	}
	if got := recordOf(coordinationv1.LeaseSpec{}); !got.equal(record{}) {
		t.Errorf("empty spec reads as %+v, want the zero record", got)
	}
}

func TestLeaseSeconds(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want int32
	}{
		{name: "whole seconds", d: 15 * time.Second, want: 15},
		{name: "fraction rounds up", d: 1500 * time.Millisecond, want: 2},
		{name: "below a second", d: time.Millisecond, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := leaseSeconds(tt.d); got != tt.want {
				t.Errorf("leaseSeconds(%s) = %d, want %d", tt.d, got, tt.want)
			}
		})
	}
}
