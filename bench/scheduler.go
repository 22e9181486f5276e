package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

// Kinds of run: a scheduler under test, or none at all (the harness does the API writes).
const (
	kindBerth    = "berth"
	kindUpstream = "upstream"
	kindCeiling  = "ceiling"
)

// schedulerProc is a running scheduler under test.
type schedulerProc struct {
	kind string
	proc *testenv.Process
	addr string // host:port of its secure server
}

// startScheduler starts the scheduler of kind against the control plane behind kubeconfig at the
// client limit, writing any config file into dir, and waits until its /readyz answers 200
// (informers synced). With open its /debug/pprof/ handlers and /metrics are open to anonymous
// requests.
//
// With explain, /debug/explain is open to anonymous requests too (the load's requests do not
// authenticate; in production a SubjectAccessReview answer is cached for 10 s per user and path,
// so authorization adds little to a steady load).
//
// started, when not nil, is called with the process right after exec, before it is ready (to
// profile its start).
func startScheduler(ctx context.Context, kind, bin, kubeconfig, dir string, limit clientLimit, open, explain bool, extra []string, started func(*schedulerProc)) (*schedulerProc, error) {
	port, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	common := []string{"--leader-elect=false", "--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1"}
	if open || explain {
		paths := "/healthz,/readyz,/livez"
		if open {
			paths = openPaths
		}
		if explain {
			paths += ",/debug/explain/*"
		}
		common = append(common, "--authorization-always-allow-paths="+paths)
	}
	var args []string
	switch kind {
	case kindBerth:
		args = append([]string{"--kubeconfig", kubeconfig, "--authentication-skip-lookup"}, limit.berthArgs()...)
		args = append(args, common...)
		args = append(args, extra...)
	case kindUpstream:
		cfg := filepath.Join(dir, "kube-scheduler-config.yaml")
		if err := os.WriteFile(cfg, []byte(upstreamConfig(kubeconfig, limit)), 0o600); err != nil {
			return nil, fmt.Errorf("writing kube-scheduler config: %w", err)
		}
		args = append([]string{"--config", cfg}, common...)
	default:
		return nil, fmt.Errorf("starting a scheduler: unknown kind %q", kind)
	}
	p, err := testenv.StartProcess(bin, args...)
	if err != nil {
		return nil, err
	}
	s := &schedulerProc{kind: kind, proc: p, addr: "127.0.0.1:" + strconv.Itoa(port)}
	if started != nil {
		started(s)
	}
	if err := s.waitReady(ctx, 90*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// openPaths are the paths a scheduler started open serves to anonymous requests.
const openPaths = "/healthz,/readyz,/livez,/metrics,/debug/pprof/*"

// upstreamConfig is kube-scheduler's configuration: the client limit berth gets by flag (no
// qps or burst line for defaultFlags), and no leader election.
func upstreamConfig(kubeconfig string, limit clientLimit) string {
	return fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
%sleaderElection:
  leaderElect: false
`, kubeconfig, limit.upstreamLines())
}

// insecureClient talks to a scheduler's secure port, whose serving certificate is self-signed.
func insecureClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
}

// cpuProfile records the scheduler's CPU profile for the given duration into path.
func (s *schedulerProc) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	return s.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), d+30*time.Second, path)
}

// fetch writes what the scheduler serves at urlPath (a pprof endpoint) into path.
func (s *schedulerProc) fetch(ctx context.Context, urlPath string, timeout time.Duration, path string) error {
	c := insecureClient(timeout)
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://%s%s", s.addr, urlPath), nil)
	if err != nil {
		return fmt.Errorf("building the request for %s: %w", urlPath, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("profiling %s: %w", s.kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiling %s: %s: %s", s.kind, urlPath, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("writing the profile %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the profile %s: %w", path, err)
	}
	return nil
}

// waitReady polls /readyz until it answers 200, the process exits, ctx ends or timeout passes.
func (s *schedulerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	c := insecureClient(2 * time.Second)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.addr+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("building readyz request: %w", err)
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-s.proc.Done():
			return fmt.Errorf("%s exited before ready:\n%s", s.kind, testenv.Tail(s.proc.Output(), 3000))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be ready: %w", s.kind, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last: %s):\n%s", s.kind, timeout, last, testenv.Tail(s.proc.Output(), 3000))
		}
	}
}

func (s *schedulerProc) pid() int { return s.proc.Cmd.Process.Pid }

// exited reports whether the scheduler has died.
func (s *schedulerProc) exited() bool {
	select {
	case <-s.proc.Done():
		return true
	default:
		return false
	}
}

// stop asks the scheduler to exit, kills it after a grace period, and waits.
func (s *schedulerProc) stop() {
	if s == nil || s.exited() {
		return
	}
	_ = s.proc.Signal(syscall.SIGTERM)
	if _, err := s.proc.ExitCode(5 * time.Second); err != nil {
		s.proc.Kill()
	}
}
