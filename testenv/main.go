package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// Main starts one control plane for a whole test package, stores it in *cp, runs the tests, stops
// it and exits. Use it from TestMain; tests then isolate themselves by namespace and node names.
// A control plane that cannot start fails the package (it never skips).
func Main(m *testing.M, cp **ControlPlane) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	started, err := Start(ctx, Options{})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: starting the control plane: %v\n", err)
		os.Exit(1)
	}
	*cp = started
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, started.Logs())
	}
	started.Stop()
	os.Exit(code)
}
