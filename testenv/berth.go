package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// BuildBerth builds the berth binary from the source tree into dir and returns its path.
func BuildBerth(ctx context.Context, dir string) (string, error) {
	root, err := sourceRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "berth")
	cmd := exec.CommandContext(ctx, "go", "build", "-race", "-o", out, ".")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building berth: %w\n%s", err, b)
	}
	return out, nil
}

// Process is a program started by a test (berth or upstream kube-scheduler), its output kept.
type Process struct {
	Cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartProcess starts bin with args; its output is kept for Output.
func StartProcess(bin string, args ...string) (*Process, error) {
	p := &Process{out: &syncBuffer{}, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	// A -race binary otherwise sleeps 1 s at exit, which hides how fast berth stops.
	p.Cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	p.Cmd.Stdout, p.Cmd.Stderr = p.out, p.out
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Output returns everything the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// ExitCode waits up to timeout for the exit and returns the exit code (-1 if killed by a signal
// or still running).
func (p *Process) ExitCode(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
		return p.Cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return -1, fmt.Errorf("still running after %s", timeout)
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Kill kills the process and waits for it.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// WaitHealthy polls https://addr/healthz (certificate not verified) until 200, the process exits
// or timeout passes.
func (p *Process) WaitHealthy(addr string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get("https://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before healthy: %v\n%s", p.err, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %s (last: %v)\n%s", timeout, err, p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
