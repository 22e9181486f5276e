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
	"os"
	"testing"

	"github.com/berth-scheduler/berth/testenv"
)

var (
	cp        *testenv.ControlPlane
	berthPath string
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithBerth(m, &cp, &berthPath)) }
