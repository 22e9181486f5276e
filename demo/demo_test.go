package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestMakeDemoCleansUp starts the demo as the README says (`make demo`, in a terminal: here a
// pseudo-terminal whose session make leads), interrupts it the ways a user or a supervisor does,
// and checks that it says what it stops and leaves no process and no file behind.
func TestMakeDemoCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	tests := []struct {
		name      string
		interrupt func(t *testing.T, term *os.File, job *exec.Cmd)
		readable  bool // the terminal stays open, so what the demo prints can be checked
	}{
		{"Ctrl-C", func(t *testing.T, term *os.File, _ *exec.Cmd) { write(t, term, "\x03") }, true},
		{"Ctrl-C twice", func(t *testing.T, term *os.File, _ *exec.Cmd) {
			write(t, term, "\x03")
			time.Sleep(200 * time.Millisecond)
			write(t, term, "\x03")
		}, true},
		{"SIGTERM to the job", func(t *testing.T, _ *os.File, job *exec.Cmd) {
			if err := syscall.Kill(-job.Process.Pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}, true},
		// A closed terminal window hangs up the shell, which sends SIGHUP to its jobs; the job
		// here leads its own session, so the test plays the shell.
		{"terminal closed", func(t *testing.T, term *os.File, job *exec.Cmd) {
			if err := syscall.Kill(-job.Process.Pid, syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			term.Close()
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			term, out, job := startInTerminal(t, "make", "demo")
			dirRE := regexp.MustCompile(`log: (\S+)/berth\.log`)
			text := out.waitFor(t, "Press Ctrl-C to stop everything.", 10*time.Minute)
			m := dirRE.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("no temp dir in the demo's output:\n%s", text)
			}
			dir := m[1]
			for _, want := range []string{"curl --cacert", "/healthz", "/metrics", "kubectl, if you have it"} {
				if !strings.Contains(text, want) {
					t.Errorf("the demo does not print %q:\n%s", want, text)
				}
			}
			checkCurlLines(t, text)
			mark := len(text)
			tc.interrupt(t, term, job)
			exited := make(chan error, 1)
			go func() { exited <- job.Wait() }()
			select {
			case <-exited:
			case <-time.After(60 * time.Second):
				_ = syscall.Kill(-job.Process.Pid, syscall.SIGKILL)
				t.Fatalf("make demo still running 60 s after the interrupt:\n%s", out.String())
			}
			// The demo may outlive make when the terminal closes: give it time to finish.
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && (exists(dir) || len(processesMentioning(dir)) > 0) {
				time.Sleep(200 * time.Millisecond)
			}
			if exists(dir) {
				t.Errorf("%s is still there", dir)
			}
			if ps := processesMentioning(dir); len(ps) > 0 {
				t.Errorf("processes left running: %v", ps)
				for _, pid := range ps {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			if !tc.readable {
				return
			}
			after := out.String()[mark:]
			for _, want := range []string{"demo: stopping berth", "demo: stopping kube-apiserver and etcd, removing " + dir, "demo: stopped after"} {
				if !strings.Contains(after, want) {
					t.Errorf("after the interrupt the demo did not print %q; it printed:\n%s", want, after)
				}
			}
		})
	}
}

// checkCurlLines does what the printed curl lines for berth do, and checks they answer 200.
func checkCurlLines(t *testing.T, text string) {
	t.Helper()
	metrics := regexp.MustCompile(`curl -k --cert (\S+) --key (\S+) (https://\S+/metrics)`).FindStringSubmatch(text)
	healthz := regexp.MustCompile(`curl -k (https://\S+/healthz)`).FindStringSubmatch(text)
	if metrics == nil || healthz == nil {
		t.Errorf("no curl lines for berth's /healthz and /metrics:\n%s", text)
		return
	}
	cert, err := tls.LoadX509KeyPair(metrics[1], metrics[2])
	if err != nil {
		t.Fatalf("the printed admin certificate: %v", err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}}}
	defer client.CloseIdleConnections()
	for _, url := range []string{healthz[1], metrics[3]} {
		resp, err := client.Get(url)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", url, resp.Status)
		}
	}
}

// startInTerminal runs name args from the repository root as the leader of a new session whose
// controlling terminal is a fresh pseudo-terminal, as a shell in a terminal window would. It
// returns the terminal's master side and what the command writes to it.
func startInTerminal(t *testing.T, name string, args ...string) (*os.File, *output, *exec.Cmd) {
	t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "BERTH_KEEP_TESTENV=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := &output{}
	go func() { _, _ = io.Copy(out, master) }() // ends with EIO once the session is gone
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		master.Close()
	})
	return master, out, cmd
}

// openPTY opens a new pseudo-terminal pair (Linux /dev/ptmx).
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("unlocking the pty: %w", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("getting the pty number: %w", errno)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("opening the pty's terminal side: %w", err)
	}
	return master, slave, nil
}

func write(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// output collects what the terminal shows.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor returns the output once it contains s.
func (o *output) waitFor(t *testing.T, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		text := o.String()
		if strings.Contains(text, s) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not printed within %s:\n%s", s, timeout, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// processesMentioning returns the pids of processes whose command line contains s.
func processesMentioning(s string) []int {
	var pids []int
	entries, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(e, "/proc/%d/cmdline", &pid); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}
