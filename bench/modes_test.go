package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"math"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	const page = `# HELP scheduler_pod_scheduling_sli_duration_seconds x
# TYPE scheduler_pod_scheduling_sli_duration_seconds histogram
scheduler_pod_scheduling_sli_duration_seconds_bucket{attempts="1",le="0.01"} 50
scheduler_pod_scheduling_sli_duration_seconds_bucket{attempts="1",le="0.02"} 90
scheduler_pod_scheduling_sli_duration_seconds_bucket{attempts="1",le="+Inf"} 90
scheduler_pod_scheduling_sli_duration_seconds_bucket{attempts="2",le="0.01"} 0
scheduler_pod_scheduling_sli_duration_seconds_bucket{attempts="2",le="0.02"} 0
scheduler_pod_scheduling_sli_duration_seconds_bucket{attempts="2",le="+Inf"} 10
scheduler_pod_scheduling_sli_duration_seconds_sum 1.5
scheduler_pod_scheduling_sli_duration_seconds_count 100
other_bucket{le="1"} 7
`
	tests := []struct {
		name      string
		q, want   float64
		wantCount float64
	}{
		{"first bucket interpolates from 0", 0.25, 0.005, 100},
		{"second bucket", 0.7, 0.015, 100},
		{"+Inf bucket gives the highest finite bound", 0.99, 0.02, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, count, err := histogramQuantile(page, sliMetric, tc.q)
			if err != nil || math.Abs(got-tc.want) > 1e-9 || count != tc.wantCount {
				t.Errorf("got %g (count %g, err %v), want %g (count %g)", got, count, err, tc.want, tc.wantCount)
			}
		})
	}
	if _, _, err := histogramQuantile("other_bucket{le=\"1\"} 7\n", sliMetric, 0.99); err == nil {
		t.Error("no error for a missing histogram")
	}
	if _, _, err := histogramQuantile(sliMetric+"_bucket{le=\"+Inf\"} 0\n", sliMetric, 0.99); err == nil {
		t.Error("no error for an empty histogram")
	}
}

func TestModePresets(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		nodes, pods      int
		workloads        []string
		limits           string
		timebox          time.Duration
		rounds           int
		wantErrSubstring string
	}{
		{"throughput keeps the defaults", nil, defaultNodes, defaultPods, nil, "", 0, 3, ""},
		{"latency", []string{"-mode", "latency"}, 5000, 6000, []string{"basic", "mixed"}, "[5000]", 0, 1, ""},
		{"latency, reduced", []string{"-mode", "latency", "-nodes", "1000", "-rate", "50", "-arrival", "30s"}, 1000, 1500, []string{"basic", "mixed"}, "[5000]", 0, 1, ""},
		{"xl", []string{"-mode", "xl"}, 15000, 30000, []string{"basic", "spread"}, "[5000]", 20 * time.Minute, 1, ""},
		{"xl with explicit flags", []string{"-mode", "xl", "-pairs", "2", "-timebox", "1m", "-workloads", "basic"}, 15000, 30000, []string{"basic"}, "[5000]", time.Minute, 2, ""},
		{"startup", []string{"-mode", "startup"}, 5000, defaultPods, []string{"basic"}, "[5000]", 0, 1, ""},
		{"unknown mode", []string{"-mode", "fast"}, 0, 0, nil, "", 0, 0, "-mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(tc.args, io.Discard)
			if tc.wantErrSubstring != "" {
				if err == nil {
					t.Fatalf("no error, want one about %s", tc.wantErrSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := o.cfg
			if c.size.Nodes != tc.nodes || c.size.Pods != tc.pods || c.timebox != tc.timebox || c.rounds != tc.rounds {
				t.Errorf("size %+v, timebox %s, rounds %d; want %d nodes, %d pods, %s, %d", c.size, c.timebox, c.rounds, tc.nodes, tc.pods, tc.timebox, tc.rounds)
			}
			if tc.workloads != nil {
				var names []string
				for _, w := range c.workloads {
					names = append(names, w.Name)
				}
				if len(names) != len(tc.workloads) || names[0] != tc.workloads[0] {
					t.Errorf("workloads %v, want %v", names, tc.workloads)
				}
			}
			if tc.limits != "" && len(c.limits) != 1 {
				t.Errorf("limits %v, want %s", c.limits, tc.limits)
			}
		})
	}
	if _, err := parseArgs([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestTimeBoxed(t *testing.T) {
	ctx, unbox := timeBoxed(context.Background(), 10*time.Millisecond)
	<-ctx.Done()
	err := unbox(ctx.Err(), tally{bound: 3, bindable: 10})
	if !errors.Is(err, errIncomplete) || err.Error() != "incomplete: time box of 10ms reached: 3 of 10 bound" {
		t.Errorf("time box reached: %v", err)
	}
	ctx, unbox = timeBoxed(context.Background(), time.Hour)
	if err := unbox(nil, tally{}); err != nil || ctx.Err() == nil {
		t.Errorf("unbox(nil) = %v; context still live: %v", err, ctx.Err() == nil)
	}
	_, unbox = timeBoxed(context.Background(), 0)
	if err := unbox(io.EOF, tally{}); err != io.EOF {
		t.Errorf("no time box: %v", err)
	}
}
