package flags

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseValidation(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // exact message; "" means Parse must succeed
	}{
		{"port too high", []string{"--secure-port=65536"}, "--secure-port (65536) must be between 0 and 65535; 0 turns HTTPS off"},
		{"port negative", []string{"--secure-port=-1"}, "--secure-port (-1) must be between 0 and 65535; 0 turns HTTPS off"},
		{"port max", []string{"--secure-port=65535"}, ""},
		{"cert without key", []string{"--tls-cert-file=c.pem"}, "--tls-cert-file and --tls-private-key-file must be given together or not at all"},
		{"key without cert", []string{"--tls-private-key-file=k.pem"}, "--tls-cert-file and --tls-private-key-file must be given together or not at all"},
		{"http2 streams negative", []string{"--http2-max-streams-per-connection=-1"}, "--http2-max-streams-per-connection (-1) must be between 0 and 4294967295"},
		{"curve twice", []string{"--tls-curve-preferences=29", "--tls-curve-preferences=29"}, "--tls-curve-preferences lists curve 29 (X25519) twice"},
		{"negative authn ttl", []string{"--authentication-token-webhook-cache-ttl=-1s"}, "--authentication-token-webhook-cache-ttl (-1s) must not be negative"},
		{"negative authz ttl", []string{"--authorization-webhook-cache-unauthorized-ttl=-2s"}, "--authorization-webhook-cache-unauthorized-ttl (-2s) must not be negative"},
		{"zero ttl allowed", []string{"--authorization-webhook-cache-authorized-ttl=0"}, ""},
		{"blank header", []string{"--requestheader-group-headers=X-Remote-Group, "}, "--requestheader-group-headers has an empty entry"},
		{"uid headers without standard", []string{"--requestheader-uid-headers=X-Uid"}, "--requestheader-uid-headers must include the standard X-Remote-Uid header, or API aggregation breaks"},
		{"uid headers standard any case", []string{"--requestheader-uid-headers=x-remote-uid"}, ""},
		{"negative burst", []string{"--kube-api-burst=-1"}, "--kube-api-burst (-1) must not be negative"},
		{"negative qps allowed", []string{"--kube-api-qps=-1"}, ""},
		{"zero qps allowed", []string{"--kube-api-qps=0"}, ""},
		{"negative pod max", []string{"--pod-max-in-unschedulable-pods-duration=-5m"}, "--pod-max-in-unschedulable-pods-duration (-5m0s) must not be negative"},
		{"renew equals lease", []string{"--leader-elect-renew-deadline=15s"}, "--leader-elect-renew-deadline (15s) must be less than --leader-elect-lease-duration (15s)"},
		{"renew within jitter", []string{"--leader-elect-retry-period=9s"}, "--leader-elect-renew-deadline (10s) must be greater than 1.2 times --leader-elect-retry-period (9s), i.e. 10.8s"},
		{"zero lease", []string{"--leader-elect-lease-duration=0s"}, "--leader-elect-lease-duration (0s) must be greater than zero"},
		{"negative retry even without election", []string{"--leader-elect=false", "--leader-elect-retry-period=-1s"}, "--leader-elect-retry-period (-1s) must not be negative"},
		{"negative lease with config", []string{"--config=c.yaml", "--leader-elect-lease-duration=-1s"}, "--leader-elect-lease-duration (-1s) must not be negative"},
		{"empty lock name", []string{"--leader-elect-resource-name="}, "--leader-elect-resource-name must not be empty"},
		{"empty lock namespace", []string{"--leader-elect-resource-namespace="}, "--leader-elect-resource-namespace must not be empty"},
		{"metric labels and manifest", []string{"--allow-metric-labels=m,l='a'", "--allow-metric-labels-manifest=f.yaml"}, "--allow-metric-labels and --allow-metric-labels-manifest cannot both be given"},
		{"flush frequency zero", []string{"--log-flush-frequency=0s"}, "--log-flush-frequency (0s) must be greater than zero"},
		{"vmodule with json", []string{"--logging-format=json", "--vmodule=a=1"}, `--vmodule only works with --logging-format=text, not "json"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.args)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Parse(%q): %v", c.args, err)
			case c.want != "" && err == nil:
				t.Fatalf("Parse(%q) succeeded, want %q", c.args, c.want)
			case c.want != "" && err.Error() != c.want:
				t.Errorf("Parse(%q) error =\n  %q\nwant\n  %q", c.args, err, c.want)
			}
		})
	}
}

func TestLeaderElectionValidate(t *testing.T) {
	good := LeaderElection{
		LeaderElect: true, LeaseDuration: 60 * time.Second, RenewDeadline: 40 * time.Second,
		RetryPeriod: 5 * time.Second, ResourceLock: "leases", ResourceName: "s", ResourceNamespace: "ns",
	}
	cases := []struct {
		name        string
		edit        func(*LeaderElection)
		want        string // substring; "" means valid
		unsupported bool
	}{
		{"valid", func(*LeaderElection) {}, "", false},
		{"disabled skips everything", func(le *LeaderElection) { le.LeaderElect = false; le.LeaseDuration = 0; le.ResourceLock = "" }, "", false},
		{"renew just above jitter", func(le *LeaderElection) { le.RetryPeriod = 10 * time.Second; le.RenewDeadline = 12*time.Second + 1 }, "", false},
		{"renew at jitter", func(le *LeaderElection) { le.RetryPeriod = 10 * time.Second; le.RenewDeadline = 12 * time.Second }, "must be greater than 1.2 times", false},
		{"lease below renew", func(le *LeaderElection) { le.LeaseDuration = 30 * time.Second }, "must be less than --leader-elect-lease-duration (30s)", false},
		{"zero retry", func(le *LeaderElection) { le.RetryPeriod = 0 }, "--leader-elect-retry-period (0s) must be greater than zero", false},
		{"zero renew", func(le *LeaderElection) { le.RenewDeadline = 0 }, "--leader-elect-renew-deadline (0s) must be greater than zero", false},
		{"other lock from a config file", func(le *LeaderElection) { le.ResourceLock = "configmapsleases" }, "not supported by berth", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			le := good
			c.edit(&le)
			err := le.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate(%+v): %v", le, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate(%+v) = %v, want error containing %q", le, err, c.want)
			}
			if errors.Is(err, ErrNotSupported) != c.unsupported {
				t.Errorf("errors.Is(%v, ErrNotSupported) = %v, want %v", err, !c.unsupported, c.unsupported)
			}
		})
	}
}
