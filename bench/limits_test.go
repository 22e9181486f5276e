package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseClientLimits(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []clientLimit
		wantErr string
	}{
		{name: "the default", in: defaultClientLimits, want: []clientLimit{5000, defaultFlags}},
		{name: "default flags alone", in: "default", want: []clientLimit{defaultFlags}},
		{name: "numbers and spaces", in: " 100 , default,5000", want: []clientLimit{100, defaultFlags, 5000}},
		{name: "empty", in: "", wantErr: `entry "": want a positive integer or default`},
		{name: "trailing comma", in: "5000,", wantErr: `entry ""`},
		{name: "zero", in: "0", wantErr: `entry "0": want a positive integer`},
		{name: "negative", in: "-50", wantErr: `entry "-50"`},
		{name: "not a number", in: "5000,fast", wantErr: `entry "fast"`},
		{name: "wrong case", in: "Default", wantErr: `entry "Default"`},
		{name: "number twice", in: "50,default, 50", wantErr: `entry "50": listed twice`},
		{name: "default twice", in: "default,default", wantErr: "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseClientLimits(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("limits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClientLimitSettings(t *testing.T) {
	tests := []struct {
		name      string
		limit     clientLimit
		berthArgs string
		qpsLines  []string // the upstream config's qps and burst lines; none at the defaults
		label     string
	}{
		{name: "tuned", limit: tunedLimit, berthArgs: "--kube-api-qps 5000 --kube-api-burst 5000",
			qpsLines: []string{"  qps: 5000\n", "  burst: 5000\n"}, label: "basic"},
		{name: "other number", limit: 300, berthArgs: "--kube-api-qps 300 --kube-api-burst 300",
			qpsLines: []string{"  qps: 300\n", "  burst: 300\n"}, label: "basic (QPS/burst 300)"},
		{name: "default flags", limit: defaultFlags, label: "basic (default flags)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(tc.limit.berthArgs(), " "); got != tc.berthArgs {
				t.Errorf("berth args %q, want %q", got, tc.berthArgs)
			}
			cfg := upstreamConfig("/k/config", tc.limit)
			if got := strings.Count(cfg, "qps:") + strings.Count(cfg, "burst:"); got != len(tc.qpsLines) {
				t.Errorf("upstream config has %d qps/burst lines, want %d:\n%s", got, len(tc.qpsLines), cfg)
			}
			for _, line := range tc.qpsLines {
				if !strings.Contains(cfg, "clientConnection:\n  kubeconfig: \"/k/config\"\n") || !strings.Contains(cfg, line) {
					t.Errorf("upstream config lacks %q under clientConnection:\n%s", line, cfg)
				}
			}
			if !strings.HasSuffix(cfg, "leaderElection:\n  leaderElect: false\n") {
				t.Errorf("upstream config does not end with leader election off:\n%s", cfg)
			}
			if got := limitLabel("basic", tc.limit.String()); got != tc.label {
				t.Errorf("label %q, want %q", got, tc.label)
			}
		})
	}
}
