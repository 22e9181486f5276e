package failover

import (
	"net"
	"sync"
	"testing"
)

// cutProxy forwards TCP connections from a loopback port to a target address and can cut the
// path: while cut, no byte moves in either direction on any connection, old or new, and nothing
// is closed, so both ends see a silent, hanging network, as in a partition. Restoring resumes every
// connection where it stopped (bytes held during the cut are delivered late, as TCP would after a
// partition heals). Methods are safe for concurrent use.
type cutProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	held   chan struct{} // non-nil while cut; closed by restore
	conns  []net.Conn
	closed chan struct{}
	wg     sync.WaitGroup
}

// startProxy listens on 127.0.0.1:0 and forwards to target until the test ends.
func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, closed: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// addr is the proxy's listening address.
func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// cut stops all forwarding.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
}

// restore resumes forwarding.
func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
}

// close stops listening, closes every connection and waits for the forwarding goroutines.
func (p *cutProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	select {
	case <-p.closed:
	default:
		close(p.closed)
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *cutProxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		if !p.track(in, out) {
			return
		}
		p.wg.Go(func() { p.pipe(out, in) })
		p.wg.Go(func() { p.pipe(in, out) })
	}
}

// track remembers conns for close; it reports false (and closes them) once the proxy is closed.
func (p *cutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		for _, c := range conns {
			c.Close()
		}
		return false
	default:
	}
	p.conns = append(p.conns, conns...)
	return true
}

// pipe copies src to dst, holding each chunk while the proxy is cut. When either side ends, both
// are closed so the peer pipe ends too.
func (p *cutProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait blocks while the proxy is cut; it reports false if the proxy was closed meanwhile.
func (p *cutProxy) wait() bool {
	p.mu.Lock()
	held := p.held
	p.mu.Unlock()
	if held == nil {
		return true
	}
	select {
	case <-held:
		return true
	case <-p.closed:
		return false
	}
}
