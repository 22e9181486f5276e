// Package systemd_test runs berth as systemd would run it under deploy/systemd/berth.service
// (Type=notify, WatchdogSec=): against the real test control plane, with $NOTIFY_SOCKET pointing
// at a datagram socket the test reads in systemd's place, and checks the sd_notify messages and
// their order.
package systemd_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.Main(m, &cp) }

// fakeSystemd is the receiving end of $NOTIFY_SOCKET. It records every assignment received, in
// order, with the time it arrived.
type fakeSystemd struct {
	addr string
	conn *net.UnixConn
	wg   sync.WaitGroup

	mu       sync.Mutex
	received []notice
	arrived  chan struct{} // signalled (without blocking) on each datagram
}

type notice struct {
	assignment string
	at         time.Time
}

func startFakeSystemd(t *testing.T) *fakeSystemd {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	addr := "@berth-e2e-notify-" + hex.EncodeToString(b) // abstract, as systemd's own socket often is
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSystemd{addr: addr, conn: conn, arrived: make(chan struct{}, 1)}
	s.wg.Go(s.read)
	t.Cleanup(func() {
		conn.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeSystemd) read() {
	buf := make([]byte, 4096)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			return // closed by cleanup
		}
		now := time.Now()
		s.mu.Lock()
		for _, a := range strings.Split(string(buf[:n]), "\n") {
			s.received = append(s.received, notice{a, now})
		}
		s.mu.Unlock()
		select {
		case s.arrived <- struct{}{}:
		default:
		}
	}
}

func (s *fakeSystemd) all() []notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// waitFor waits until some received assignment satisfies match, and returns its index.
func (s *fakeSystemd) waitFor(t *testing.T, p *testenv.Process, what string, timeout time.Duration, match func(string) bool) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		for i, n := range s.all() {
			if match(n.assignment) {
				return i
			}
		}
		select {
		case <-s.arrived:
		case <-p.Done():
			t.Fatalf("berth exited before sending %s; received %q\n%s", what, assignments(s.all()), p.Output())
		case <-deadline:
			t.Fatalf("no %s within %s; received %q\n%s", what, timeout, assignments(s.all()), p.Output())
		}
	}
}

func assignments(ns []notice) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.assignment
	}
	return out
}

func TestSDNotifyAgainstControlPlane(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := testenv.BuildBerth(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		// watchdogPID is $WATCHDOG_PID: "" (unset: the watchdog is ours) or another process's pid.
		watchdogPID  string
		wantWatchdog bool
	}{
		{name: "watchdog addressed to berth", wantWatchdog: true},
		{name: "watchdog addressed to another process", watchdogPID: strconv.Itoa(os.Getpid())},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runUnderFakeSystemd(t, bin, "berth-sdnotify-e2e-"+strconv.Itoa(i), tc.watchdogPID, tc.wantWatchdog)
		})
	}
}

// watchdogUSec is the $WATCHDOG_USEC the test passes: a ping due every 500ms.
const watchdogUSec = 1_000_000

func runUnderFakeSystemd(t *testing.T, bin, lease, watchdogPID string, wantWatchdog bool) {
	sd := startFakeSystemd(t)
	// StartProcess passes this process's environment on, so set systemd's variables here.
	t.Setenv("NOTIFY_SOCKET", sd.addr)
	t.Setenv("WATCHDOG_USEC", strconv.Itoa(watchdogUSec))
	t.Setenv("WATCHDOG_PID", watchdogPID) // empty counts as unset, as in systemd's sd_watchdog_enabled
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	started := time.Now()
	p, err := testenv.StartProcess(bin,
		"--kubeconfig", cp.SchedulerKubeconfig,
		"--authentication-kubeconfig", cp.SchedulerKubeconfig,
		"--authorization-kubeconfig", cp.SchedulerKubeconfig,
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1",
		"--leader-elect-resource-name", lease,
	)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()

	ready := sd.waitFor(t, p, "READY=1", 2*time.Minute, func(a string) bool { return a == "READY=1" })
	t.Logf("READY=1 after %s", time.Since(started).Round(time.Millisecond))
	// READY=1 promises the port listens and the caches synced: /readyz (which includes the
	// informer-sync check) must already pass.
	if code, err := get(addr, "/readyz"); err != nil || code != http.StatusOK {
		t.Errorf("right after READY=1, /readyz = %d, %v; want 200", code, err)
	}
	leader := sd.waitFor(t, p, "STATUS=leader...", time.Minute, func(a string) bool { return strings.HasPrefix(a, "STATUS=leader") })

	if wantWatchdog {
		// At least three pings, no gap much longer than the interval (berth is healthy throughout).
		sd.waitFor(t, p, "three WATCHDOG=1", 10*time.Second, func(string) bool { return countOf(sd.all(), "WATCHDOG=1") >= 3 })
	} else {
		time.Sleep(2 * watchdogUSec * time.Microsecond) // time for four pings that must not come
	}

	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sd.waitFor(t, p, "STOPPING=1", 30*time.Second, func(a string) bool { return a == "STOPPING=1" })
	if code, err := p.ExitCode(30 * time.Second); err != nil || code != 0 {
		t.Errorf("exit code %d, %v after SIGTERM; want 0\n%s", code, err, p.Output())
	}

	got := sd.all()
	t.Logf("received %q", assignments(got))
	var states []string // everything but the pings, in order
	for _, n := range got {
		if n.assignment != "WATCHDOG=1" {
			states = append(states, n.assignment)
		}
	}
	t.Run("order", func(t *testing.T) {
		iReady := slices.Index(states, "READY=1")
		iStandby := slices.IndexFunc(states, func(a string) bool { return strings.HasPrefix(a, "STATUS=standby") })
		iLeader := slices.IndexFunc(states, func(a string) bool { return strings.HasPrefix(a, "STATUS=leader") })
		if n := countOf(got, "READY=1"); n != 1 {
			t.Errorf("READY=1 sent %d times, want once", n)
		}
		if ready > leader || iReady > iLeader {
			t.Errorf("STATUS=leader... before READY=1: %q", states)
		}
		if iStandby < iReady || iStandby > iLeader {
			t.Errorf("want STATUS=standby... between READY=1 and STATUS=leader...: %q", states)
		}
		if states[len(states)-1] != "STOPPING=1" {
			t.Errorf("STOPPING=1 is not the last state sent: %q", states)
		}
		for _, a := range got {
			if k, _, ok := strings.Cut(a.assignment, "="); !ok || k == "" {
				t.Errorf("malformed assignment %q", a.assignment)
			}
		}
	})
	t.Run("watchdog", func(t *testing.T) {
		pings := pingTimes(got)
		if !wantWatchdog {
			if len(pings) > 0 {
				t.Errorf("%d WATCHDOG=1 sent although $WATCHDOG_PID names another process", len(pings))
			}
			return
		}
		if len(pings) < 3 {
			t.Fatalf("%d WATCHDOG=1 pings, want at least 3", len(pings))
		}
		// Pings come every WATCHDOG_USEC/2; allow generous slack for the race detector, but a gap
		// of the full WATCHDOG_USEC would have had systemd kill berth.
		limit := watchdogUSec * time.Microsecond
		for i := 1; i < len(pings); i++ {
			if gap := pings[i].Sub(pings[i-1]); gap >= limit {
				t.Errorf("gap of %s between pings %d and %d: systemd would have killed berth (WATCHDOG_USEC=%s)", gap, i-1, i, limit)
			}
		}
	})
}

func countOf(ns []notice, a string) int {
	c := 0
	for _, n := range ns {
		if n.assignment == a {
			c++
		}
	}
	return c
}

func pingTimes(ns []notice) []time.Time {
	var out []time.Time
	for _, n := range ns {
		if n.assignment == "WATCHDOG=1" {
			out = append(out, n.at)
		}
	}
	return out
}

// get fetches https://addr/path without verifying berth's self-signed certificate.
func get(addr, path string) (int, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + addr + path)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
