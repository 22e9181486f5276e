package dynamicresources

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	resourcev1 "k8s.io/api/resource/v1"

	"github.com/berth-scheduler/berth/scheduler/snapshot"
)

// lateFailure is a claim whose search backtracks through every choice before it fails: k requests
// for one device each, and a matchAttribute constraint between the first and the last request
// only, on node n0's n devices, each with a numa value of its own. The last request never finds a
// device matching the first one's, so the middle requests try about n^(k-2) combinations for each
// device of the first. With twin, one more device shares the last device's numa value, so the
// search fits once the first request reaches that device.
func lateFailure(n, k int, twin bool) *snapshot.Snapshot {
	var devs []resourcev1.Device
	for i := range n {
		devs = append(devs, dev(fmt.Sprintf("gpu-%02d", i), "numa", fmt.Sprint(i)))
	}
	if twin {
		devs = append(devs, dev("twin", "numa", fmt.Sprint(n-1)))
	}
	var reqs []resourcev1.DeviceRequest
	for i := range k {
		reqs = append(reqs, exact(fmt.Sprintf("r%d", i), "gpu", 1))
	}
	c := claim("c", reqs...)
	attr := resourcev1.FullyQualifiedName(driver + "/numa")
	c.Spec.Devices.Constraints = []resourcev1.DeviceConstraint{{Requests: []string{"r0", fmt.Sprintf("r%d", k-1)}, MatchAttribute: &attr}}
	return snap([]*snapshot.NodeInfo{node("n0")}, class("gpu"), c, slice("s", "n0", "pool", devs...))
}

// tickingClock is a fake clock that moves on by step at every read, and counts the reads.
type tickingClock struct {
	t     time.Time
	step  time.Duration
	reads atomic.Int32
}

func (c *tickingClock) now() time.Time {
	n := c.reads.Add(1)
	return c.t.Add(time.Duration(n-1) * c.step)
}

// TestFilterTimeout checks filterTimeout: no clock without it or for a short search, and a long
// search that gives up on the node with upstream's error once its deadline passes (with a
// fake clock, then with the real one and a tiny timeout on a search that would otherwise take
// hours).
func TestFilterTimeout(t *testing.T) {
	small := snap([]*snapshot.NodeInfo{node("n0")}, class("gpu"), claim("c", exact("r", "gpu", 1)),
		slice("s", "n0", "pool", dev("gpu-0")))
	const timedOut = "node n0: timed out trying to allocate devices"
	tests := []struct {
		name    string
		snap    *snapshot.Snapshot
		timeout time.Duration
		real    bool // the real clock, else one moving a second per read
		// want: "" fits, else the error's message
		want string
		// reads is how many times the fake clock must have been read (-1: at least twice)
		reads int32
	}{
		{name: "no timeout: the clock is never read", snap: small, timeout: 0, reads: 0},
		{name: "no timeout: a long search is not cut short", snap: lateFailure(8, 4, true), timeout: 0, reads: 0},
		{name: "a short search never reads the clock", snap: small, timeout: 10 * time.Second, reads: 0},
		{name: "a long search within its deadline fits", snap: lateFailure(8, 4, true), timeout: time.Hour, reads: -1},
		{name: "a long search past its deadline fails on the node", snap: lateFailure(12, 6, false), timeout: 3 * time.Second,
			want: timedOut, reads: 4},
		{name: "an exponential search, the real clock, a tiny timeout", snap: lateFailure(30, 8, false), timeout: 20 * time.Millisecond,
			real: true, want: timedOut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := New(Args{FilterTimeout: tc.timeout, BindingTimeout: time.Minute}, fakeCompile)
			if err != nil {
				t.Fatal(err)
			}
			clock := &tickingClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), step: time.Second}
			if !tc.real {
				pl.now = clock.now
			}
			nf, v := pl.PreFilter(snapshot.NewPodInfo(podWithClaims("c")), tc.snap)
			if !v.Fits() {
				t.Fatalf("PreFilter: %v", v)
			}
			start := time.Now()
			v = nf.Filter(tc.snap.Get("n0"))
			took := time.Since(start)
			switch {
			case tc.want == "" && !v.Fits():
				t.Fatalf("Filter = %v, want a fit", v)
			case tc.want != "" && (!v.Failed || !strings.Contains(v.Err().Error(), tc.want)):
				t.Fatalf("Filter = %+v, want the error %q", v, tc.want)
			}
			if tc.real && took > 5*time.Second {
				t.Errorf("Filter took %s with a timeout of %s", took, tc.timeout)
			}
			if tc.real {
				return
			}
			got := clock.reads.Load()
			if (tc.reads >= 0 && got != tc.reads) || (tc.reads < 0 && got < 2) {
				t.Errorf("the clock was read %d times, want %d (-1: at least twice)", got, tc.reads)
			}
		})
	}
}
