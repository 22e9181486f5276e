package flags

import (
	"reflect"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	var b strings.Builder
	Usage(&b, "berth-test")
	out := b.String()

	t.Run("usage line names the program", func(t *testing.T) {
		if !strings.Contains(out, "Usage:\n  berth-test [flags]\n") {
			t.Errorf("no usage line in:\n%s", out)
		}
	})

	// Each section header appears, in upstream's order, with one of its flags after it
	// and before the next header.
	sections := []struct{ header, flag string }{
		{"Misc flags:", "--config string"},
		{"Secure serving flags:", "--secure-port int"},
		{"Authentication flags:", "--authentication-tolerate-lookup-failure"},
		{"Authorization flags:", "--authorization-always-allow-paths strings"},
		{"Deprecated flags:", "--kube-api-qps float32"},
		{"Leader election flags:", "--leader-elect-lease-duration duration"},
		{"Feature gate flags:", "--feature-gates"},
		{"Metrics flags:", "--disabled-metrics strings"},
		{"Logs flags:", "-v, --v Level"},
		{"Global flags:", "-h, --help"},
	}
	prev := -1
	for i, s := range sections {
		t.Run(s.header, func(t *testing.T) {
			at := strings.Index(out, "\n"+s.header+"\n")
			if at < 0 {
				t.Fatalf("header %q missing", s.header)
			}
			if at < prev {
				t.Errorf("header %q is out of order", s.header)
			}
			prev = at
			end := len(out)
			if i+1 < len(sections) {
				if next := strings.Index(out, "\n"+sections[i+1].header+"\n"); next > at {
					end = next
				}
			}
			if !strings.Contains(out[at:end], s.flag) {
				t.Errorf("flag %q not listed under %q", s.flag, s.header)
			}
		})
	}

	for _, c := range []struct{ name, want string }{
		{"string default quoted", `(default "kube-scheduler")`},
		{"list default", `(default [/healthz,/readyz,/livez])`},
		{"duration default", `(default 15s)`},
		{"no-op flag says so", "Longest time between log flushes. Must be positive. Accepted for compatibility; has no effect in berth."},
		{"refused flag says so", "Not supported by berth"},
		{"cipher names listed", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(out, c.want) {
				t.Errorf("help lacks %q", c.want)
			}
		})
	}
}

// TestUsageListsEveryFlag guards against a flag registered without documentation or
// documented under two sections.
func TestUsageListsEveryFlag(t *testing.T) {
	r := newRegistry(defaults())
	seen := map[string]string{}
	for _, s := range r.sections {
		for _, d := range s.flags {
			if prev, dup := seen[d.name]; dup {
				t.Errorf("--%s is in both %q and %q", d.name, prev, s.title)
			}
			seen[d.name] = s.title
			if d.help == "" {
				t.Errorf("--%s has no help text", d.name)
			}
		}
	}
	// upstream is kube-scheduler v1.37's full flag list.
	upstream := []string{
		"allow-metric-labels", "allow-metric-labels-manifest", "authentication-kubeconfig",
		"authentication-skip-lookup", "authentication-token-webhook-cache-ttl",
		"authentication-tolerate-lookup-failure", "authorization-always-allow-paths",
		"authorization-kubeconfig", "authorization-webhook-cache-authorized-ttl",
		"authorization-webhook-cache-unauthorized-ttl", "bind-address", "cert-dir", "client-ca-file",
		"config", "contention-profiling", "disable-http2-serving", "disabled-metrics",
		"emulated-version", "feature-gates", "help", "http2-max-streams-per-connection",
		"kube-api-burst", "kube-api-content-type", "kube-api-qps", "kubeconfig", "leader-elect",
		"leader-elect-lease-duration", "leader-elect-renew-deadline", "leader-elect-resource-lock",
		"leader-elect-resource-name", "leader-elect-resource-namespace", "leader-elect-retry-period",
		"log-flush-frequency", "log-json-info-buffer-size", "log-json-split-stream",
		"log-text-info-buffer-size", "log-text-split-stream", "logging-format", "master",
		"min-compatibility-version", "permit-address-sharing", "permit-port-sharing",
		"pod-max-in-unschedulable-pods-duration", "profiling", "requestheader-allowed-names",
		"requestheader-client-ca-file", "requestheader-extra-headers-prefix",
		"requestheader-group-headers", "requestheader-uid-headers", "requestheader-username-headers",
		"secure-port", "show-hidden-metrics-for-version", "tls-cert-file", "tls-cipher-suites",
		"tls-curve-preferences", "tls-min-version", "tls-private-key-file", "tls-sni-cert-key", "v",
		"version", "vmodule", "write-config-to",
	}
	got := sortedKeys(seen)
	if !reflect.DeepEqual(got, upstream) {
		t.Errorf("documented flags differ from upstream's list:\n got %q\nwant %q", got, upstream)
	}
}
