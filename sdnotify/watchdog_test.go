package sdnotify

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// fakeTicker hands Watchdog a tick channel the test drives, and records the interval and Stop.
type fakeTicker struct {
	ticks    chan time.Time
	interval time.Duration
	stopped  chan struct{}
}

func installFakeTicker(n *Notifier) *fakeTicker {
	f := &fakeTicker{ticks: make(chan time.Time), stopped: make(chan struct{})}
	n.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
		f.interval = d
		return f.ticks, func() { close(f.stopped) }
	}
	return f
}

func TestWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	unhealthy := errors.New("lease not renewed")
	cases := []struct {
		name   string
		health []error // what healthy returns on each call: the first at once, then one per tick
	}{
		{"always healthy", []error{nil, nil, nil}},
		{"never healthy", []error{unhealthy, unhealthy, unhealthy}},
		{"wedged then recovered", []error{nil, unhealthy, unhealthy, nil, unhealthy, nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sock := listenAbstract(t)
			n := sock.notifier(map[string]string{EnvWatchdogUSec: "20000000", EnvWatchdogPID: "1000"})
			ticker := installFakeTicker(n)

			calls := make(chan int)
			call := 0
			healthy := func() error {
				i := call
				call++
				calls <- i
				if i < len(tc.health) {
					return tc.health[i]
				}
				return unhealthy
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- n.Watchdog(ctx, healthy) }()

			for i, h := range tc.health {
				if i > 0 {
					ticker.ticks <- time.Now()
				}
				if got := <-calls; got != i {
					t.Fatalf("healthy call %d, want %d", got, i)
				}
				if h == nil {
					if got := sock.recv(); got != "WATCHDOG=1" {
						t.Fatalf("after healthy call %d: received %q, want WATCHDOG=1", i, got)
					}
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Watchdog returned %v, want nil", err)
			}
			<-ticker.stopped
			if msg, ok := sock.recvWithin(10 * time.Millisecond); ok {
				t.Errorf("unexpected extra datagram %q (pings are only due after healthy calls)", msg)
			}
			if ticker.interval != 10*time.Second {
				t.Errorf("ticker interval = %v, want half of WATCHDOG_USEC (10s)", ticker.interval)
			}
		})
	}
}

func TestWatchdogNilHealthyCountsAsHealthy(t *testing.T) {
	sock := listenPath(t)
	n := sock.notifier(map[string]string{EnvWatchdogUSec: "1000000"})
	ticker := installFakeTicker(n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Watchdog(ctx, nil) }()
	if got := sock.recv(); got != "WATCHDOG=1" {
		t.Fatalf("received %q, want WATCHDOG=1", got)
	}
	ticker.ticks <- time.Now()
	if got := sock.recv(); got != "WATCHDOG=1" {
		t.Fatalf("after a tick: received %q, want WATCHDOG=1", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWatchdogOff covers the cases where Watchdog must only wait: no WATCHDOG_USEC, or a
// WATCHDOG_PID naming another process (systemd set it for our parent, say).
func TestWatchdogOff(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
	}{
		{"no WATCHDOG_USEC", nil},
		{"WATCHDOG_PID of another process", map[string]string{EnvWatchdogUSec: "2000", EnvWatchdogPID: strconv.Itoa(1001)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sock := listenPath(t)
			n := sock.notifier(tc.env)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			called := make(chan struct{}, 1)
			go func() {
				done <- n.Watchdog(ctx, func() error {
					called <- struct{}{}
					return nil
				})
			}()
			if msg, ok := sock.recvWithin(20 * time.Millisecond); ok {
				t.Errorf("sent %q with the watchdog off", msg)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			select {
			case <-called:
				t.Error("healthy was called with the watchdog off")
			default:
			}
		})
	}
}

// TestWatchdogRealTicker runs the real ticker with a tiny WATCHDOG_USEC (2ms: a ping every 1ms).
func TestWatchdogRealTicker(t *testing.T) {
	sock := listenAbstract(t)
	n := sock.notifier(map[string]string{EnvWatchdogUSec: "2000", EnvWatchdogPID: "1000"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Watchdog(ctx, func() error { return nil }) }()
	for i := range 3 {
		if got := sock.recv(); got != "WATCHDOG=1" {
			t.Fatalf("ping %d: received %q", i, got)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
