// Command upstream-binaries builds (once, into the cache) the upstream etcd, kube-apiserver,
// kube-scheduler and kube-controller-manager that berth's tests, demo and benchmarks run, printing
// progress, and then prints their paths. `make test` runs it first so that a cold build shows its
// progress.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/berth-scheduler/berth/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := testenv.EnsureBinaries(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream-binaries:", err)
		os.Exit(1)
	}
	fmt.Printf("etcd                    %s\nkube-apiserver          %s\nkube-scheduler          %s\nkube-controller-manager %s\n",
		b.Etcd, b.APIServer, b.Scheduler, b.ControllerManager)
}
