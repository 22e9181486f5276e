// Package e2e runs the berth binary as a real process against the test control plane and checks
// what an operator sees: exit codes, the secure endpoint's authentication and authorization, and
// pods being scheduled.
package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

var (
	cp        *testenv.ControlPlane
	berthPath string
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBerth(m, &cp, &berthPath)) }

// daemon is a started scheduler process with its secure address.
type daemon struct {
	*testenv.Process
	addr string
}

// startBerth starts berth with the scheduler identity and delegated auth through the same
// kubeconfig, plus extra flags, and waits until /healthz answers.
func startBerth(t *testing.T, extra ...string) *daemon {
	t.Helper()
	return startScheduler(t, berthPath, extra...)
}

func startScheduler(t *testing.T, bin string, extra ...string) *daemon {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--kubeconfig", cp.SchedulerKubeconfig,
		"--authentication-kubeconfig", cp.SchedulerKubeconfig,
		"--authorization-kubeconfig", cp.SchedulerKubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
	}
	p, err := testenv.StartProcess(bin, append(args, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{Process: p, addr: "127.0.0.1:" + strconv.Itoa(port)}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, p.Output())
		}
	})
	if err := p.WaitHealthy(d.addr, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return d
}
