package sdnotify

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFromEnvParsing(t *testing.T) {
	const pid = 4242
	cases := []struct {
		name         string
		env          map[string]string
		wantNil      bool
		wantErr      string // substring; empty means no error
		wantInterval time.Duration
	}{
		{name: "not under systemd", env: nil, wantNil: true},
		{name: "empty socket is unset", env: map[string]string{EnvSocket: ""}, wantNil: true},
		{name: "watchdog without socket is ignored", env: map[string]string{EnvWatchdogUSec: "1000000"}, wantNil: true},
		{name: "path socket, no watchdog", env: map[string]string{EnvSocket: "/run/systemd/notify"}},
		{name: "abstract socket", env: map[string]string{EnvSocket: "@/org/freedesktop/systemd1/notify/1"}},
		{name: "relative path refused", env: map[string]string{EnvSocket: "run/notify"}, wantErr: EnvSocket},
		{name: "vsock refused", env: map[string]string{EnvSocket: "vsock:2:1234"}, wantErr: "vsock"},
		{name: "lone @ refused", env: map[string]string{EnvSocket: "@"}, wantErr: EnvSocket},
		{name: "watchdog for us by pid", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "30000000", EnvWatchdogPID: strconv.Itoa(pid)}, wantInterval: 15 * time.Second},
		{name: "watchdog without pid applies to us", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "3"}, wantInterval: 1500 * time.Nanosecond},
		{name: "watchdog for another process", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "30000000", EnvWatchdogPID: strconv.Itoa(pid + 1)}, wantInterval: 0},
		{name: "watchdog usec not a number", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "30s"}, wantErr: EnvWatchdogUSec},
		{name: "watchdog usec zero", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "0"}, wantErr: EnvWatchdogUSec},
		{name: "watchdog usec negative", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "-5"}, wantErr: EnvWatchdogUSec},
		{name: "watchdog usec overflows a duration", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "18446744073709551615"}, wantErr: "out of range"},
		{name: "watchdog pid not a number", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "1000", EnvWatchdogPID: "self"}, wantErr: EnvWatchdogPID},
		{name: "watchdog pid zero", env: map[string]string{EnvSocket: "/n", EnvWatchdogUSec: "1000", EnvWatchdogPID: "0"}, wantErr: EnvWatchdogPID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := fromEnv(func(k string) string { return tc.env[k] }, pid)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				if n != nil {
					t.Errorf("got a Notifier along with the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if (n == nil) != tc.wantNil {
				t.Fatalf("Notifier = %v, want nil: %v", n, tc.wantNil)
			}
			if got := n.WatchdogInterval(); got != tc.wantInterval {
				t.Errorf("WatchdogInterval = %v, want %v", got, tc.wantInterval)
			}
		})
	}
}

// TestFromEnvReadsProcessEnvironment checks the exported constructor reads the real variables,
// including a WATCHDOG_PID equal to this process's pid.
func TestFromEnvReadsProcessEnvironment(t *testing.T) {
	sock := listenAbstract(t)
	t.Setenv(EnvSocket, sock.addr)
	t.Setenv(EnvWatchdogUSec, "8000000")
	t.Setenv(EnvWatchdogPID, strconv.Itoa(os.Getpid()))
	n, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := n.WatchdogInterval(); got != 4*time.Second {
		t.Errorf("WatchdogInterval = %v, want 4s", got)
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := sock.recv(); got != "READY=1" {
		t.Errorf("got %q, want READY=1", got)
	}

	t.Setenv(EnvSocket, "")
	if n, err := FromEnv(); n != nil || err != nil {
		t.Errorf("with NOTIFY_SOCKET empty: FromEnv = %v, %v; want nil, nil", n, err)
	}
}

func TestMessages(t *testing.T) {
	sockets := map[string]func(*testing.T) *systemdSocket{
		"path socket":     listenPath,
		"abstract socket": listenAbstract,
	}
	cases := []struct {
		name string
		send func(*Notifier) error
		want string
	}{
		{"ready", (*Notifier).Ready, "READY=1"},
		{"stopping", (*Notifier).Stopping, "STOPPING=1"},
		{"status", func(n *Notifier) error { return n.Status("leader: scheduling") }, "STATUS=leader: scheduling"},
		{"status with line breaks flattened", func(n *Notifier) error { return n.Status("standby\nwaiting\r\nfor lease") }, "STATUS=standby waiting for lease"},
		{"several assignments in one datagram", func(n *Notifier) error { return n.Notify("READY=1", "STATUS=up") }, "READY=1\nSTATUS=up"},
		{"empty value allowed", func(n *Notifier) error { return n.Notify("STATUS=") }, "STATUS="},
	}
	for sockName, listenFn := range sockets {
		t.Run(sockName, func(t *testing.T) {
			sock := listenFn(t)
			n := sock.notifier(nil)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if err := tc.send(n); err != nil {
						t.Fatalf("send: %v", err)
					}
					if got := sock.recv(); got != tc.want {
						t.Errorf("received %q, want %q", got, tc.want)
					}
				})
			}
		})
	}
}

func TestNotifyRefusesBadAssignments(t *testing.T) {
	sock := listenPath(t)
	n := sock.notifier(nil)
	cases := []struct {
		name        string
		assignments []string
	}{
		{"nothing", nil},
		{"no equals sign", []string{"READY"}},
		{"empty name", []string{"=1"}},
		{"line break in value", []string{"STATUS=a\nREADY=1"}},
		{"one bad among good", []string{"READY=1", "bogus"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := n.Notify(tc.assignments...); err == nil {
				t.Fatal("Notify accepted it")
			}
			if msg, ok := sock.recvWithin(10 * time.Millisecond); ok {
				t.Errorf("sent %q despite the error", msg)
			}
		})
	}
}

func TestNilNotifierDoesNothing(t *testing.T) {
	var n *Notifier
	for name, send := range map[string]func() error{
		"Ready": n.Ready, "Stopping": n.Stopping,
		"Status": func() error { return n.Status("x") },
		"Notify": func() error { return n.Notify("bogus") },
	} {
		if err := send(); err != nil {
			t.Errorf("%s on nil: %v", name, err)
		}
	}
	if got := n.WatchdogInterval(); got != 0 {
		t.Errorf("WatchdogInterval on nil = %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Watchdog(ctx, nil); err != nil {
		t.Errorf("Watchdog on nil: %v", err)
	}
}

func TestSendFailureIsReported(t *testing.T) {
	sock := listenPath(t)
	n := sock.notifier(nil)
	sock.conn.Close()
	if err := os.Remove(sock.addr); err != nil {
		t.Fatal(err)
	}
	err := n.Ready()
	if err == nil || !strings.Contains(err.Error(), sock.addr) {
		t.Fatalf("Ready to a vanished socket: err = %v, want one naming %s", err, sock.addr)
	}
}
