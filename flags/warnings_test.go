package flags

import (
	"reflect"
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
