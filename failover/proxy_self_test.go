package failover

import (
	"bufio"
	"net"
	"sync"
	"testing"
	"time"
)

// TestCutProxy checks the test's own proxy: lines echo through it, a cut holds them (on old and
// new connections alike) without closing anything, and restoring delivers what was held.
func TestCutProxy(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { echo.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			})
		}
	})
	p := startProxy(t, echo.Addr().String())

	type client struct {
		conn net.Conn
		r    *bufio.Reader
	}
	dial := func() client {
		c, err := net.Dial("tcp", p.addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return client{c, bufio.NewReader(c)}
	}
	send := func(c client, line string) {
		if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	// recv returns the next line, or "" if none arrives within d.
	recv := func(c client, d time.Duration) string {
		c.conn.SetReadDeadline(time.Now().Add(d))
		line, err := c.r.ReadString('\n')
		if err != nil {
			return ""
		}
		return line[:len(line)-1]
	}

	old := dial()
	send(old, "before")
	if got := recv(old, 5*time.Second); got != "before" {
		t.Fatalf("before the cut: got %q, want %q", got, "before")
	}

	p.cut()
	send(old, "during")
	fresh := dial()
	send(fresh, "fresh")
	if got := recv(old, 300*time.Millisecond); got != "" {
		t.Errorf("while cut, the old connection delivered %q", got)
	}
	if got := recv(fresh, 100*time.Millisecond); got != "" {
		t.Errorf("while cut, a new connection delivered %q", got)
	}

	p.restore()
	if got := recv(old, 5*time.Second); got != "during" {
		t.Errorf("after restoring, old connection: got %q, want the held %q", got, "during")
	}
	if got := recv(fresh, 5*time.Second); got != "fresh" {
		t.Errorf("after restoring, new connection: got %q, want the held %q", got, "fresh")
	}
}
