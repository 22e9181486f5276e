package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BerthBinEnv names the environment variable that points tests at a prebuilt berth binary
// instead of building the tree (with -race) once per package.
const BerthBinEnv = "BERTH_BIN"

// Harness is what one test package shares: a control plane and, when asked for, a berth binary.
type Harness struct {
	CP    *ControlPlane
	Berth string // path of the berth binary; empty unless RunPackage was asked to build it
	// Failed is set once the tests ran and one failed, before the teardown runs.
	Failed bool
}

// RunWithBerth is RunPackage for a package that needs only the control plane and the berth
// binary, which it stores in *cp and *berth before the tests run:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunWithBerth(m, &cp, &berthPath)) }
func RunWithBerth(m *testing.M, cp **ControlPlane, berth *string) int {
	return RunPackage(m, true, func(h *Harness) (func(), error) {
		*cp, *berth = h.CP, h.Berth
		return nil, nil
	})
}

// RunPackage is a test package's TestMain body: it builds berth (when withBerth, unless
// $BERTH_BIN names a binary), starts one control plane, calls setup (may be nil), runs the tests,
// then calls the teardown setup returned, stops the control plane and removes what it built. A
// control plane that cannot start fails the package (it never skips). It returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunPackage(m, true, setup)) }
func RunPackage(m *testing.M, withBerth bool, setup func(h *Harness) (teardown func(), err error)) int {
	h := &Harness{}
	if withBerth {
		h.Berth = os.Getenv(BerthBinEnv)
		if h.Berth == "" {
			dir, err := os.MkdirTemp("", "berth-bin-")
			if err != nil {
				fmt.Fprintln(os.Stderr, "testenv:", err)
				return 1
			}
			defer os.RemoveAll(dir)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			h.Berth, err = BuildBerth(ctx, dir)
			cancel()
			if err != nil {
				fmt.Fprintln(os.Stderr, "testenv:", err)
				return 1
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	cp, err := Start(ctx, Options{})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: starting the control plane: %v\n", err)
		return 1
	}
	defer cp.Stop()
	h.CP = cp
	if setup != nil {
		teardown, err := setup(h)
		if teardown != nil {
			defer teardown()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "testenv: package setup: %v\n", err)
			return 1
		}
	}
	code := m.Run()
	h.Failed = code != 0
	if h.Failed {
		fmt.Fprintln(os.Stderr, cp.Logs())
	}
	return code
}

// Main starts one control plane for a whole test package, stores it in *cp, runs the tests, stops
// it and exits. Tests then isolate themselves by namespace and node names.
func Main(m *testing.M, cp **ControlPlane) {
	os.Exit(RunPackage(m, false, func(h *Harness) (func(), error) {
		*cp = h.CP
		return nil, nil
	}))
}
