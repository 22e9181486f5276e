// Package failover runs several scheduler processes (berth, and upstream kube-scheduler where we
// compare) against one real control plane and checks leader election as an operator sees it:
// exactly one leader, how fast a standby takes over after SIGKILL and after SIGTERM, a leader cut
// off from the API server stepping down before its lease can be taken, berth and kube-scheduler
// sharing one Lease, and --leader-elect=false leaving the Lease alone.
//
// Every test uses its own Lease name, namespace and node names. Election timing is shortened to
// lease 4s / renew 3s / retry 1s so that the whole package runs in a few minutes. Measured figures
// are printed with t.Logf; run with -v to see them. BERTH_BIN selects a prebuilt berth binary
// (for example one built without -race, to measure what production runs); otherwise the tree is
// built with -race. BERTH_FAILOVER_RUNS sets how many SIGTERM and SIGKILL runs the figures test
// makes per scheduler (default 3).
package failover

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/berth-scheduler/berth/testenv"
)

var (
	cp        *testenv.ControlPlane
	berthPath string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run builds berth unless BERTH_BIN names one, starts the control plane, runs the tests and cleans
// up, returning the exit code. (testenv.Main exits by itself, which would skip our clean-up.)
func run(m *testing.M) int {
	berthPath = os.Getenv("BERTH_BIN")
	if berthPath == "" {
		dir, err := os.MkdirTemp("", "berth-failover-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		berthPath, err = testenv.BuildBerth(ctx, dir)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	started, err := testenv.Start(ctx, testenv.Options{})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: starting the control plane: %v\n", err)
		return 1
	}
	defer started.Stop()
	cp = started
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, started.Logs())
	}
	return code
}
