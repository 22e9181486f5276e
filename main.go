// Command berth is a drop-in replacement for kube-scheduler. This first slice only lays the
// foundation (see README.md); the daemon's wiring lands with the flags and HTTP server.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "berth: the scheduling daemon is not wired yet")
	os.Exit(1)
}
