package sdnotify

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// systemdSocket is a stand-in for systemd's notify socket: a unix datagram socket the test reads.
type systemdSocket struct {
	t    *testing.T
	addr string // as it would appear in $NOTIFY_SOCKET
	conn *net.UnixConn
}

// listenPath listens on a socket file in a fresh temp dir (short enough for sun_path).
func listenPath(t *testing.T) *systemdSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return listen(t, filepath.Join(dir, "notify"))
}

// listenAbstract listens on a random abstract socket name, written "@name" as systemd does.
func listenAbstract(t *testing.T) *systemdSocket {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return listen(t, "@berth-sdnotify-test-"+hex.EncodeToString(b))
}

func listen(t *testing.T, addr string) *systemdSocket {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &systemdSocket{t: t, addr: addr, conn: conn}
}

// notifier returns a Notifier for this socket with the given environment on top of
// NOTIFY_SOCKET, as if this process had pid 1000.
func (s *systemdSocket) notifier(env map[string]string) *Notifier {
	s.t.Helper()
	n, err := fromEnv(func(k string) string {
		if k == EnvSocket {
			return s.addr
		}
		return env[k]
	}, 1000)
	if err != nil {
		s.t.Fatalf("fromEnv: %v", err)
	}
	return n
}

// recv returns the next datagram, failing the test if none arrives within a few seconds.
func (s *systemdSocket) recv() string {
	s.t.Helper()
	msg, ok := s.recvWithin(5 * time.Second)
	if !ok {
		s.t.Fatal("no datagram received within 5s")
	}
	return msg
}

// recvWithin returns the next datagram, or false if none arrives within d.
func (s *systemdSocket) recvWithin(d time.Duration) (string, bool) {
	s.t.Helper()
	if err := s.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		s.t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := s.conn.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "", false
	}
	if err != nil {
		s.t.Fatalf("reading the notify socket: %v", err)
	}
	return string(buf[:n]), true
}
