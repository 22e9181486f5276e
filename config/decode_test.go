package config

import (
	"testing"
	"time"
)

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"empty document", "", []string{"the document is empty"}},
		{"not an object", "- a\n- b\n", []string{"must be a KubeSchedulerConfiguration object"}},
		{"syntax error", header + "parallelism: [1\n", []string{"not valid YAML or JSON"}},
		{"missing apiVersion", "kind: KubeSchedulerConfiguration\n", []string{`apiVersion: Required value`}},
		{"missing kind", "apiVersion: kubescheduler.config.k8s.io/v1\n", []string{`kind: Required value`}},
		{"old apiVersion", "apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n",
			[]string{`apiVersion: Unsupported value: "kubescheduler.config.k8s.io/v1beta3"`}},
		{"wrong kind", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeProxyConfiguration\n",
			[]string{`kind: Unsupported value: "KubeProxyConfiguration"`}},
		{"unknown top-level field", header + "parallelisms: 3\n", []string{"parallelisms: unknown field (line 3)"}},
		{"field names are case-sensitive", header + "Parallelism: 3\n", []string{"Parallelism: unknown field"}},
		{"unknown nested field", header + "profiles:\n- schedulerName: a\n  plugin: {}\n",
			[]string{"profiles[0].plugin: unknown field (line 5)"}},
		{"unknown key holding a newline", header + "\"a\\nb\": 1\n", []string{`"a\nb": unknown field (line 3)`}},
		{"duplicate key holding a newline", header + "\"a\\nb\": 1\n\"a\\nb\": 2\n", []string{`"a\nb": duplicate field (line 4)`}},
		{"duplicate field", header + "parallelism: 3\nparallelism: 4\n", []string{"parallelism: duplicate field (line 4)"}},
		{"duplicate nested field", header + "profiles:\n- schedulerName: a\n  schedulerName: b\n",
			[]string{"profiles[0].schedulerName: duplicate field (line 5)"}},
		{"merge key overridden, as upstream refuses it", header + "profiles:\n- &p {schedulerName: a}\n- <<: *p\n  schedulerName: b\n",
			[]string{`key "schedulerName" already set`}},
		{"duplicate field in JSON", `{"apiVersion":"kubescheduler.config.k8s.io/v1","kind":"KubeSchedulerConfiguration","parallelism":1,"parallelism":2}`,
			[]string{"parallelism: duplicate field"}},
		{"wrong type", header + "parallelism: many\n", []string{"parallelism: Invalid value: string: must be a 32-bit integer"}},
		{"out of range", header + "parallelism: 9999999999\n", []string{"parallelism: Invalid value: number 9999999999: must be a 32-bit integer"}},
		{"bad duration", header + "leaderElection:\n  leaseDuration: soon\n",
			[]string{`leaderElection.leaseDuration: Invalid value: "soon": must be a duration`}},
		{"duration not a string", header + "leaderElection:\n  retryPeriod: 2\n",
			[]string{`leaderElection.retryPeriod: Invalid value: "2"`}},
		{"unknown args field", header + "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      ignoredResource: [a]\n",
			[]string{"profiles[0].pluginConfig[0].args.ignoredResource: unknown field (line 7)"}},
		{"both unknown fields reported", header + "foo: 1\nprofiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args: {bar: 2}\n",
			[]string{"foo: unknown field", "profiles[0].pluginConfig[0].args.bar: unknown field"}},
		{"args of the wrong kind", header + "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {kind: InterPodAffinityArgs}\n",
			[]string{`profiles[0].pluginConfig[0].args.kind: Invalid value: "InterPodAffinityArgs"`, "must be of kind NodeResourcesFitArgs"}},
		{"args of another apiVersion", header + "profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args: {apiVersion: kubescheduler.config.k8s.io/v1beta3}\n",
			[]string{`profiles[0].pluginConfig[0].args.apiVersion: Unsupported value: "kubescheduler.config.k8s.io/v1beta3"`}},
		{"args not an object", header + "profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args: 5\n",
			[]string{"profiles[0].pluginConfig[0].args: must be an object holding InterPodAffinityArgs"}},
		{"args of the wrong type", header + "profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args: {hardPodAffinityWeight: heavy}\n",
			[]string{"profiles[0].pluginConfig[0].args.hardPodAffinityWeight: Invalid value: string: must be a 32-bit integer"}},
		{"bad args duration", header + "profiles:\n- pluginConfig:\n  - name: DynamicResources\n    args: {filterTimeout: 1 minute}\n",
			[]string{`profiles[0].pluginConfig[0].args.filterTimeout: Invalid value: "1 minute"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Decode([]byte(tc.doc))
			if cfg != nil {
				t.Errorf("Decode returned a configuration with the error")
			}
			checkError(t, err, tc.want...)
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, c *KubeSchedulerConfiguration)
	}{
		{"JSON", `{"apiVersion":"kubescheduler.config.k8s.io/v1","kind":"KubeSchedulerConfiguration","parallelism":4}`,
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				if deref(c.Parallelism) != 4 {
					t.Errorf("parallelism = %v, want 4", c.Parallelism)
				}
			}},
		{"durations", header + "leaderElection: {leaseDuration: 1m, renewDeadline: 30s}\n",
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				if c.LeaderElection.LeaseDuration.Duration != time.Minute || c.LeaderElection.RenewDeadline.Duration != 30*time.Second {
					t.Errorf("durations = %+v", c.LeaderElection)
				}
			}},
		{"typed args", header + "profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args: {kind: InterPodAffinityArgs, hardPodAffinityWeight: 7}\n",
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				a, ok := c.Profiles[0].PluginConfig[0].Args.Object.(*InterPodAffinityArgs)
				if !ok || deref(a.HardPodAffinityWeight) != 7 {
					t.Errorf("args = %#v, want InterPodAffinityArgs with weight 7", c.Profiles[0].PluginConfig[0].Args.Object)
				}
			}},
		{"missing args of a typed plugin", header + "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n",
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				if _, ok := c.Profiles[0].PluginConfig[0].Args.Object.(*NodeResourcesFitArgs); !ok {
					t.Errorf("args = %#v, want empty NodeResourcesFitArgs", c.Profiles[0].PluginConfig[0].Args)
				}
			}},
		{"raw args of an argument-less plugin", header + "profiles:\n- pluginConfig:\n  - name: NodeName\n    args: {anything: [1]}\n",
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				a := c.Profiles[0].PluginConfig[0].Args
				if a.Object != nil || string(a.Raw) != `{"anything":[1]}` {
					t.Errorf("args = %#v, want the raw JSON kept", a)
				}
			}},
		{"anchors and merge keys", header + "profiles:\n- &p {schedulerName: a}\n- <<: *p\n",
			func(t *testing.T, c *KubeSchedulerConfiguration) {
				if len(c.Profiles) != 2 || c.Profiles[1].Name() != "a" {
					t.Errorf("profiles = %+v", c.Profiles)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
