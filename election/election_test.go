package election

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	api := newAPIServer()
	tests := []struct {
		name   string
		edit   func(*Config)
		fields []string // each must be named in the error; none: valid
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "no client", edit: func(c *Config) { c.Client = nil }, fields: []string{"Client"}},
		{name: "zero retry period", edit: func(c *Config) { c.RetryPeriod = 0 }, fields: []string{"RetryPeriod"}},
		{name: "negative retry period", edit: func(c *Config) { c.RetryPeriod = -time.Second }, fields: []string{"RetryPeriod"}},
		{
			name:   "renew deadline within 1.2 retry periods",
			edit:   func(c *Config) { c.RetryPeriod, c.RenewDeadline = 5*time.Second, 6*time.Second },
			fields: []string{"RenewDeadline"},
		},
		{name: "zero renew deadline", edit: func(c *Config) { c.RenewDeadline = 0 }, fields: []string{"RenewDeadline"}},
		{name: "lease not longer than renew deadline", edit: func(c *Config) { c.LeaseDuration = renew10 }, fields: []string{"LeaseDuration"}},
		{name: "zero lease duration", edit: func(c *Config) { c.LeaseDuration = 0 }, fields: []string{"LeaseDuration"}},
		{name: "absurd lease duration", edit: func(c *Config) { c.LeaseDuration = 1 << 62 }, fields: []string{"LeaseDuration"}},
		{name: "bad namespace", edit: func(c *Config) { c.Namespace = "Kube_System" }, fields: []string{"Namespace"}},
		{name: "bad name", edit: func(c *Config) { c.Name = "a/b" }, fields: []string{"Name"}},
		{
			name:   "several bad fields are all named",
			edit:   func(c *Config) { c.Client, c.RetryPeriod, c.Name = nil, 0, "UPPER" },
			fields: []string{"Client", "RetryPeriod", "Name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(api, newFakeClock(), "me")
			tt.edit(&cfg)
			e, err := New(cfg)
			if len(tt.fields) == 0 {
				if err != nil || e == nil {
					t.Fatalf("New = %v, %v; want an elector", e, err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded; want an error")
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), f+":") {
					t.Errorf("error %q does not name field %s", err, f)
				}
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	cfg := testConfig(newAPIServer(), nil, "")
	cfg.Namespace, cfg.Name, cfg.Logger = "", "", nil
	e := newTestElector(t, cfg)
	if e.cfg.Namespace != DefaultNamespace || e.cfg.Name != DefaultName {
		t.Errorf("lease = %s/%s, want %s/%s", e.cfg.Namespace, e.cfg.Name, DefaultNamespace, DefaultName)
	}
	if _, ok := e.clock.(RealClock); !ok {
		t.Errorf("clock = %T, want RealClock", e.clock)
	}
	host, _ := os.Hostname()
	if !strings.HasPrefix(e.Identity(), host+"_") || len(e.Identity()) != len(host)+1+36 {
		t.Errorf("identity = %q, want %q followed by a UUID", e.Identity(), host+"_")
	}
	other := newTestElector(t, cfg)
	if other.Identity() == e.Identity() {
		t.Errorf("two default identities are equal: %q", e.Identity())
	}
}

func TestRunRejects(t *testing.T) {
	e := newTestElector(t, testConfig(newAPIServer(), newFakeClock(), "me"))
	if err := e.Run(context.Background(), nil); err == nil {
		t.Error("Run with a nil lead succeeded")
	}
	p := newProbe()
	start(t, e, p.lead)
	p.nextTerm(t)
	if err := e.Run(context.Background(), p.lead); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second concurrent Run = %v, want an already-running error", err)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		leading bool
		since   time.Duration // since the last renewal
		wantErr bool
	}{
		{name: "candidate is always healthy", leading: false, since: time.Hour},
		{name: "leader renewed just now", leading: true, since: 0},
		{name: "leader late by exactly lease + 20s", leading: true, since: lease15 + 20*time.Second},
		{name: "leader later than lease + 20s", leading: true, since: lease15 + 20*time.Second + time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			e := newTestElector(t, testConfig(newAPIServer(), clock, "me"))
			e.setLeading(tt.leading, t0)
			clock.Advance(tt.since)
			if err := e.Check(nil); (err != nil) != tt.wantErr {
				t.Errorf("Check = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
