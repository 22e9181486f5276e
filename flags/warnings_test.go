package flags

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestWarnings(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"defaults", nil, nil},
		{"supported flags are silent", []string{"--v=4", "--leader-elect=false", "--kube-api-qps=10", "--emulated-version=1.37"}, nil},
		{"feature gates sorted", []string{"--feature-gates=SchedulerAsyncAPICalls=false,GenericWorkload=true"}, []string{
			"--feature-gates: GenericWorkload=true has no effect: berth implements kube-scheduler v1.37's default behaviour only",
			"--feature-gates: SchedulerAsyncAPICalls=false has no effect: berth implements kube-scheduler v1.37's default behaviour only",
		}},
		{"honoured gates are silent", []string{"--feature-gates=ComponentFlagz=false,ComponentStatusz=false"}, nil},
		{"no-op flags", []string{"--vmodule=a=1", "--log-flush-frequency=1s", "--disabled-metrics=x", "--min-compatibility-version=1.37"}, []string{
			"--log-flush-frequency is accepted for compatibility but has no effect in berth",
			"--min-compatibility-version is accepted for compatibility but has no effect in berth",
		}},
		{"deprecated flag without config applies", []string{"--kubeconfig=k"}, nil},
		{"deprecated flags with config", []string{"--config=c.yaml", "--kubeconfig=k", "--kube-api-qps=5", "--pod-max-in-unschedulable-pods-duration=1m"}, []string{
			"--kube-api-qps is ignored because --config is given; set it in the configuration file",
			"--kubeconfig is ignored because --config is given; set it in the configuration file",
		}},
		{"non-standard request headers", []string{"--requestheader-username-headers=X-User", "--requestheader-extra-headers-prefix=X-Remote-Extra-,X-Extra-"}, []string{
			"--requestheader-username-headers does not include the standard X-Remote-User; API aggregation will not work",
		}},
		{"emptied request headers are silent", []string{"--requestheader-group-headers="}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mustParse(t, c.args...).Warnings()
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Warnings() for %q =\n  %q\nwant\n  %q", c.args, got, c.want)
			}
		})
	}
}

func TestGateEnabled(t *testing.T) {
	cases := []struct {
		name string
		args []string
		gate string
		want bool
	}{
		{"default on", nil, "ComponentFlagz", true},
		{"default off", nil, "SchedulerAsyncAPICalls", false},
		{"set off", []string{"--feature-gates=ComponentFlagz=false"}, "ComponentFlagz", false},
		{"other gate set", []string{"--feature-gates=ComponentStatusz=false"}, "ComponentFlagz", true},
		{"AllBeta=false turns beta gates off", []string{"--feature-gates=AllBeta=false"}, "ComponentStatusz", false},
		{"explicit beats AllBeta", []string{"--feature-gates=AllBeta=false,ComponentStatusz=true"}, "ComponentStatusz", true},
		{"AllAlpha leaves beta gates", []string{"--feature-gates=AllAlpha=false"}, "ComponentFlagz", true},
		{"unknown name is off", nil, "NoSuchGate", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mustParse(t, c.args...).GateEnabled(c.gate); got != c.want {
				t.Errorf("GateEnabled(%q) with %q = %t, want %t", c.gate, c.args, got, c.want)
			}
		})
	}
}

// TestGates: every v1.37 gate is listed, sorted, with kubernetes_feature_enabled's stage (empty for
// GA); the gates berth honours follow --feature-gates, the others stay at the default berth runs.
func TestGates(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		gate  string
		stage string
		want  bool
	}{
		{"honoured, default", nil, "ComponentFlagz", "BETA", true},
		{"honoured, set off", []string{"--feature-gates=ComponentFlagz=false"}, "ComponentFlagz", "BETA", false},
		{"honoured, off by AllBeta", []string{"--feature-gates=AllBeta=false"}, "ComponentStatusz", "BETA", false},
		{"not honoured stays at its default", []string{"--feature-gates=SchedulerAsyncAPICalls=true"}, "SchedulerAsyncAPICalls", "BETA", false},
		{"GA has no stage", nil, "AllowServiceExternalIPs", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gates := mustParse(t, c.args...).Gates()
			if len(gates) != len(kubeGates) || !slices.IsSortedFunc(gates, func(a, b GateState) int { return strings.Compare(a.Name, b.Name) }) {
				t.Fatalf("%d gates (want %d), sorted: %v", len(gates), len(kubeGates), slices.IsSortedFunc(gates, func(a, b GateState) int { return strings.Compare(a.Name, b.Name) }))
			}
			i := slices.IndexFunc(gates, func(g GateState) bool { return g.Name == c.gate })
			if i < 0 || gates[i].Stage != c.stage || gates[i].Enabled != c.want {
				t.Errorf("gate %s = %+v, want stage %q enabled %t", c.gate, gates[max(i, 0)], c.stage, c.want)
			}
		})
	}
}
