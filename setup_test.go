package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berth-scheduler/berth/config"
	"github.com/berth-scheduler/berth/flags"
	"github.com/berth-scheduler/berth/httpserve"
	"github.com/berth-scheduler/berth/metrics"
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

// TestBuildInfo checks kubernetes_build_info: kube-scheduler's labels, and a git_version whose
// major.minor is the Kubernetes version berth stands in for (what the KubeVersionMismatch alert
// compares) while naming berth.
func TestBuildInfo(t *testing.T) {
	reg := metrics.NewRegistry()
	if err := registerBuildInfo(reg); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	// Labels in name order, as Prometheus' client writes them.
	want := regexp.MustCompile(`(?m)^kubernetes_build_info\{build_date="",compiler="gc",git_commit="[^"]+",git_tree_state="clean",git_version="v1\.37\.0\+berth\.[^"]+",go_version="go[^"]+",major="1",minor="37",platform="[a-z0-9]+/[a-z0-9]+"\} 1$`)
	if !want.MatchString(b.String()) {
		t.Errorf("exposition lacks the build info series:\n%s", b.String())
	}
}

// TestVersionMetrics checks version_info and kubernetes_feature_enabled as registered at start.
func TestVersionMetrics(t *testing.T) {
	opts, err := flags.Parse([]string{"--feature-gates=ComponentFlagz=false"})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	if err := registerVersionInfo(reg); err != nil {
		t.Fatal(err)
	}
	if err := registerFeatureGates(reg, opts); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := reg.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`version_info{binary="1.37",component="kube",emulation="1.37",min_compat="1.36"} 1`,
		`kubernetes_feature_enabled{name="ComponentFlagz",stage="BETA"} 0`,
		`kubernetes_feature_enabled{name="ComponentStatusz",stage="BETA"} 1`,
		`kubernetes_feature_enabled{name="AllowServiceExternalIPs",stage=""} 1`,
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("exposition lacks %s", want)
		}
	}
}

// TestMetricLabelAllowLists checks --allow-metric-labels-manifest: a YAML map read into the same
// allow-lists as the flag, and errors naming the flag.
func TestMetricLabelAllowLists(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(`"scheduler_schedule_attempts_total,result": "scheduled,error"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`"no-label": "x"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := metricLabelAllowLists(flags.Metrics{AllowMetricLabelsManifest: good})
	if err != nil {
		t.Fatal(err)
	}
	if v := got["scheduler_schedule_attempts_total"]["result"]; !slices.Equal(v, []string{"scheduled", "error"}) {
		t.Errorf("allow-list %v, want [scheduled error]", v)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.yaml")} {
		if _, err := metricLabelAllowLists(flags.Metrics{AllowMetricLabelsManifest: path}); err == nil || !strings.Contains(err.Error(), "--allow-metric-labels-manifest") {
			t.Errorf("%s: err = %v, want one naming --allow-metric-labels-manifest", path, err)
		}
	}
}

// TestZPagesFollowFeatureGates checks /flagz and /statusz are configured only while their
// feature gates (ComponentFlagz, ComponentStatusz) are on, as kube-scheduler installs them.
func TestZPagesFollowFeatureGates(t *testing.T) {
	cases := []struct {
		name                 string
		gates                string
		wantFlagz, wantStats bool
	}{
		{"defaults", "", true, true},
		{"flagz off", "ComponentFlagz=false", false, true},
		{"statusz off", "ComponentStatusz=false", true, false},
		{"all beta off", "AllBeta=false", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"--v=2"}
			if c.gates != "" {
				args = append(args, "--feature-gates="+c.gates)
			}
			opts, err := flags.Parse(args)
			if err != nil {
				t.Fatal(err)
			}
			var cfg httpserve.Config
			if err := addZPages(&cfg, opts, func(int) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if got := cfg.Flags != nil; got != c.wantFlagz {
				t.Errorf("/flagz configured = %t, want %t", got, c.wantFlagz)
			} else if got && cfg.Flags()["v"] != "2" {
				t.Errorf("/flagz v = %q, want 2", cfg.Flags()["v"])
			}
			if got := !cfg.Status.StartTime.IsZero(); got != c.wantStats {
				t.Errorf("/statusz configured = %t, want %t", got, c.wantStats)
			}
		})
	}
}
