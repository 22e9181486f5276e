package testenv

import (
	"testing"
	"time"
)

func TestMetricSum(t *testing.T) {
	const text = `# HELP leader_election_master_status x
# TYPE leader_election_master_status gauge
leader_election_master_status{name="kube-scheduler"} 1
berth_bindings_total{result="error"} 2
berth_bindings_total{result="ok"} 7
berth_bindings_total_extra{result="ok"} 9
`
	tests := []struct {
		name      string
		metric    string
		labels    []string
		want      float64
		wantFound bool
	}{
		{"gauge", "leader_election_master_status", []string{`name="kube-scheduler"`}, 1, true},
		{"second label value", "berth_bindings_total", []string{`result="ok"`}, 7, true},
		{"first label value", "berth_bindings_total", []string{`result="error"`}, 2, true},
		{"every series of the metric", "berth_bindings_total", nil, 9, true},
		{"name prefix of another metric is not a match", "berth_bindings", nil, 0, false},
		{"absent label value", "berth_bindings_total", []string{`result="nope"`}, 0, false},
		{"absent metric", "scheduler_pending_pods", nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := MetricSum(text, tc.metric, tc.labels...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || found != tc.wantFound {
				t.Errorf("MetricSum(%s %v) = %v, %v; want %v, %v", tc.metric, tc.labels, got, found, tc.want, tc.wantFound)
			}
		})
	}
	if _, _, err := MetricSum("m 1x\n", "m"); err == nil {
		t.Error("a bad value was accepted")
	}
}

func TestMedianDuration(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"odd", []time.Duration{3 * time.Second, time.Second, 2 * time.Second}, 2 * time.Second},
		{"even", []time.Duration{time.Second, 2 * time.Second}, 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MedianDuration(tc.in); got != tc.want {
				t.Errorf("MedianDuration = %s, want %s", got, tc.want)
			}
		})
	}
	if got := FormatDurations([]time.Duration{1234567 * time.Microsecond, 850 * time.Millisecond}); got != "[1.235s 850ms]" {
		t.Errorf("FormatDurations = %s", got)
	}
}

func TestKlogTime(t *testing.T) {
	tests := []struct {
		line string
		want time.Time
		ok   bool
	}{
		{`I1203 09:52:18.123456   12345 scheduler.go:12] "msg"`, time.Date(time.Now().Year(), 12, 3, 9, 52, 18, 123456000, time.Local), true},
		{`E0101 00:00:00.000001 1 x.go:1] "e"`, time.Date(time.Now().Year(), 1, 1, 0, 0, 0, 1000, time.Local), true},
		{`time=2026-12-03T09:52:18Z level=INFO msg=x`, time.Time{}, false},
		{`I12`, time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := KlogTime(tc.line)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("KlogTime(%q) = %v, %v; want %v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
