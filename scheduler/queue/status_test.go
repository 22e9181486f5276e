package queue

import (
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	q, clock := newTestQueue(t, Config{})
	q.Add(makePod("gated", withGates("g")))
	q.Add(makePod("failed"))
	q.Add(makePod("waiting"))
	clock.Step(time.Second)
	qp := popName(t, q, "failed")
	popped := clock.Now()
	qp.Message = "0/3 nodes are available: 3 Insufficient cpu."
	qp.RejectedBy = []string{"NodeResourcesFit"}
	q.Unschedulable(qp, AllEvents)

	tests := []struct {
		name, key    string
		wantOK       bool
		wantState    string
		wantAttempts int
		wantMessage  string
		wantLast     time.Time
	}{
		{name: "gated", key: "default/gated", wantOK: true, wantState: StateGated},
		{name: "active", key: "default/waiting", wantOK: true, wantState: StateActive},
		{name: "unschedulable with its last attempt", key: "default/failed", wantOK: true, wantState: StateUnschedulable,
			wantAttempts: 1, wantMessage: "0/3 nodes are available: 3 Insufficient cpu.", wantLast: popped},
		{name: "unknown", key: "default/nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := q.Status(tc.key)
			if ok != tc.wantOK {
				t.Fatalf("Status(%s) found = %v, want %v", tc.key, ok, tc.wantOK)
			}
			if !ok {
				return
			}
			if s.State != tc.wantState || s.Attempts != tc.wantAttempts || s.Message != tc.wantMessage || !s.LastAttempt.Equal(tc.wantLast) {
				t.Errorf("Status(%s) = %s, %d attempts, last %v, %q; want %s, %d, %v, %q", tc.key, s.State, s.Attempts, s.LastAttempt, s.Message,
					tc.wantState, tc.wantAttempts, tc.wantLast, tc.wantMessage)
			}
		})
	}
	if all := q.Statuses(); len(all) != 3 {
		t.Errorf("Statuses() has %d pods, want 3", len(all))
	}
}
