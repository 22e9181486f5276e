package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/flags"
)

// TestClientsHaveTheirOwnRateLimiters checks berth spends its --kube-api-qps budget as
// kube-scheduler does: the work, events and Lease clients each have a token bucket of their own.
func TestClientsHaveTheirOwnRateLimiters(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := flags.Parse([]string{"--kubeconfig", kubeconfig, "--authentication-skip-lookup"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromFlags(opts)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := newClients(opts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	work, events, lease := cs.main.RateLimiter(), cs.events.RateLimiter(), cs.election.RateLimiter()
	if work == nil || events == nil || lease == nil {
		t.Fatalf("limiters work %v events %v lease %v: want all three", work, events, lease)
	}
	if work == events || work == lease || events == lease {
		t.Error("two clients share a rate limiter")
	}
	if got := work.QPS(); got != 50 {
		t.Errorf("work client QPS %v, want kube-scheduler's default 50", got)
	}
}
