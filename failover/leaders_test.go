package failover

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fleet is the set of replicas a test has started, in start order. Safe for concurrent use.
type fleet struct {
	mu       sync.Mutex
	replicas []*replica
}

func (f *fleet) add(rs ...*replica) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replicas = append(f.replicas, rs...)
}

// all returns every replica started, dead or alive.
func (f *fleet) all() []*replica {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*replica(nil), f.replicas...)
}

// live returns the replicas still running.
func (f *fleet) live() []*replica {
	var out []*replica
	for _, r := range f.all() {
		if r.Alive() {
			out = append(out, r)
		}
	}
	return out
}

// byIdentity returns the replica holding Lease identity id, or nil.
func (f *fleet) byIdentity(id string) *replica {
	for _, r := range f.all() {
		if id != "" && r.identity() == id {
			return r
		}
	}
	return nil
}

// leaderFlags reads every replica's leader_election_master_status. A berth replica must export
// the gauge; upstream exports it only once it has led, so absence reads as "not leader" there.
func leaderFlags(ctx context.Context, rs []*replica) ([]bool, error) {
	out := make([]bool, len(rs))
	for i, r := range rs {
		v, found, err := r.metric(ctx, "leader_election_master_status", `name="kube-scheduler"`)
		switch {
		case err != nil:
			return nil, err
		case !found && r.kind == berth:
			return nil, fmt.Errorf("%s: no leader_election_master_status sample", r.name)
		}
		out[i] = v == 1
	}
	return out, nil
}

// waitOneLeader waits until the Lease names a holder and exactly one live replica reports itself
// leader while the others report not leading, and returns that replica. The leader's identity must
// be the Lease holder; an upstream replica's identity is learned here. Two replicas reporting
// leadership in two consecutive rounds fail the test at once.
func waitOneLeader(t *testing.T, ctx context.Context, rec *leaseRecorder, f *fleet, timeout time.Duration) *replica {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	doubled := 0
	for {
		before, ok := rec.last()
		live := f.live()
		flags, err := leaderFlags(ctx, live)
		after, _ := rec.last()
		var leaders []*replica
		for i, lead := range flags {
			if lead {
				leaders = append(leaders, live[i])
			}
		}
		switch {
		case err != nil:
			last = err.Error()
		case len(leaders) > 1:
			if doubled++; doubled >= 2 {
				t.Fatalf("two replicas report leading at once: %s", names(leaders))
			}
			last = "two leaders: " + names(leaders)
		case !ok || before.holder == "" || before.holder != after.holder:
			doubled = 0
			last = fmt.Sprintf("lease holder unsettled (%v)", after)
		case len(leaders) == 0:
			doubled = 0
			last = fmt.Sprintf("no replica reports leading; lease: %v", after)
		default:
			doubled = 0
			l := leaders[0]
			id := l.identity()
			if id == "" && f.byIdentity(after.holder) == nil {
				l.setIdentity(after.holder)
				id = after.holder
			}
			if id == after.holder {
				return l
			}
			last = fmt.Sprintf("%s reports leading but the lease names %q (its identity %q)", l.name, after.holder, id)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader within %s: %s", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func names(rs []*replica) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.name)
	}
	return strings.Join(s, ", ")
}

// leaderSampler reads every live replica's leader gauge in rounds until stopped, and records any
// two consecutive rounds in which the same two or more replicas both claim to lead (one round
// alone can straddle a clean handover, since replicas are read one after another).
type leaderSampler struct {
	mu         sync.Mutex
	rounds     int
	violations []string
}

// sampleLeaders starts a sampler over f; it stops when the test ends or stop is called.
func sampleLeaders(t *testing.T, f *fleet) (s *leaderSampler, stop func()) {
	s = &leaderSampler{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		prev := ""
		for ctx.Err() == nil {
			live := f.live()
			flags, err := leaderFlags(ctx, live)
			cur := ""
			if err == nil {
				var ls []*replica
				for i, lead := range flags {
					if lead {
						ls = append(ls, live[i])
					}
				}
				if len(ls) > 1 {
					cur = names(ls)
				}
			}
			s.mu.Lock()
			s.rounds++
			if cur != "" && cur == prev {
				s.violations = append(s.violations, time.Now().Format("15:04:05.000")+": "+cur)
			}
			s.mu.Unlock()
			prev = cur
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return s, stop
}

// result returns how many rounds ran and every violation seen.
func (s *leaderSampler) result() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rounds, append([]string(nil), s.violations...)
}
