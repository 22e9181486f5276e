package config

import "testing"

func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"percentage out of range", "percentageOfNodesToScore: 120\n",
			[]string{"percentageOfNodesToScore: Invalid value: 120: not in valid range [0-100]"}},
		{"profile percentage out of range", "profiles:\n- percentageOfNodesToScore: -1\n",
			[]string{"profiles[0].percentageOfNodesToScore: Invalid value: -1: not in valid range [0-100]"}},
		{"parallelism zero", "parallelism: 0\n", []string{"parallelism: Invalid value: 0: should be an integer value greater than zero"}},
		{"negative burst", "clientConnection: {burst: -1}\n", []string{"clientConnection.burst: Invalid value: -1: must be non-negative"}},
		{"lease shorter than renew deadline", "leaderElection: {leaseDuration: 5s}\n",
			[]string{`leaderElection.leaseDuration: Invalid value: "5s": must be greater than renewDeadline (10s)`}},
		{"negative retry period", "leaderElection: {retryPeriod: -1s}\n", []string{`leaderElection.retryPeriod: Invalid value: "-1s": must be greater than zero`}},
		{"other resource lock", "leaderElection: {resourceLock: endpointsleases}\n", []string{`leaderElection.resourceLock: Invalid value: "endpointsleases"`}},
		{"initial backoff zero", "podInitialBackoffSeconds: 0\npodMaxBackoffSeconds: 1\n",
			[]string{"podInitialBackoffSeconds: Invalid value: 0: must be greater than 0"}},
		{"max backoff below initial", "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n",
			[]string{"podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to PodInitialBackoffSeconds"}},
		{"extenders", "extenders:\n- urlPrefix: http://extender\n  filterVerb: filter\n",
			[]string{"extenders: Forbidden: berth does not support scheduler extenders"}},
		{"second profile without a name", "profiles:\n- schedulerName: a\n- {}\n", []string{"profiles[1].schedulerName: Required value"}},
		{"duplicate scheduler names", "profiles:\n- schedulerName: a\n- schedulerName: a\n",
			[]string{`profiles[1].schedulerName: Duplicate value: "a (as profiles[0])"`}},
		{"unknown plugin enabled", "profiles:\n- plugins:\n    filter:\n      enabled: [{name: MyFilter}]\n",
			[]string{`profiles[0].plugins.filter.enabled[0].name: Invalid value: "MyFilter": not a kube-scheduler v1.37 in-tree plugin: berth does not support other plugins`}},
		{"unknown plugin through multiPoint", "profiles:\n- plugins:\n    multiPoint:\n      enabled: [{name: Coscheduling}]\n",
			[]string{`profiles[0].plugins.multiPoint.enabled[0].name: Invalid value: "Coscheduling"`}},
		{"unknown plugin disabled", "profiles:\n- plugins:\n    score:\n      disabled: [{name: NodeResourceFit}]\n",
			[]string{`profiles[0].plugins.score.disabled[0].name: Invalid value: "NodeResourceFit"`}},
		{"star is not a plugin to enable", "profiles:\n- plugins:\n    filter:\n      enabled: [{name: '*'}]\n",
			[]string{`profiles[0].plugins.filter.enabled[0].name: Invalid value: "*"`}},
		{"unknown plugin configured", "profiles:\n- pluginConfig:\n  - name: Coscheduling\n    args: {}\n",
			[]string{`profiles[0].pluginConfig[0].name: Invalid value: "Coscheduling"`}},
		{"plugin configured twice", "profiles:\n- pluginConfig:\n  - name: NodeAffinity\n  - name: NodeAffinity\n",
			[]string{`profiles[0].pluginConfig[1]: Duplicate value: "NodeAffinity"`}},
		{"bad scoring strategy in a later profile", "profiles:\n- schedulerName: a\n- schedulerName: b\n  pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy: {type: Packed}\n",
			[]string{`profiles[1].pluginConfig[0].args.scoringStrategy.type: Unsupported value: "Packed": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"`}},
		{"RequestedToCapacityRatio without a shape", "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy: {type: RequestedToCapacityRatio}\n",
			[]string{"profiles[0].pluginConfig[0].args.scoringStrategy.requestedToCapacityRatio: Required value"}},
		{"resource weight out of range", "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy: {type: MostAllocated, resources: [{name: cpu, weight: 101}]}\n",
			[]string{"profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight: Invalid value: 101"}},
		{"ignored resource group with a slash", "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {ignoredResourceGroups: [example.com/gpu]}\n",
			[]string{`profiles[0].pluginConfig[0].args.ignoredResourceGroups[0]: Invalid value: "example.com/gpu": resource group name can't contain '/'`}},
		{"balanced allocation weight", "profiles:\n- pluginConfig:\n  - name: NodeResourcesBalancedAllocation\n    args: {resources: [{name: cpu, weight: 2}]}\n",
			[]string{"profiles[0].pluginConfig[0].args.resources[0].weight: Invalid value: 2: must be 1"}},
		{"system defaulting with constraints", "profiles:\n- pluginConfig:\n  - name: PodTopologySpread\n    args:\n      defaultConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]\n",
			[]string{`profiles[0].pluginConfig[0].args.defaultingType: Invalid value: "System": when .defaultConstraints are not empty`}},
		{"bad default constraint", "profiles:\n- pluginConfig:\n  - name: PodTopologySpread\n    args:\n      defaultingType: List\n      defaultConstraints: [{maxSkew: 0, topologyKey: zone, whenUnsatisfiable: Sometimes}]\n",
			[]string{"profiles[0].pluginConfig[0].args.defaultConstraints[0].maxSkew: Invalid value: 0", `profiles[0].pluginConfig[0].args.defaultConstraints[0].whenUnsatisfiable: Unsupported value: "Sometimes"`}},
		{"hard pod affinity weight", "profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args: {hardPodAffinityWeight: 101}\n",
			[]string{"profiles[0].pluginConfig[0].args.hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]"}},
		{"added affinity operator", "profiles:\n- pluginConfig:\n  - name: NodeAffinity\n    args:\n      addedAffinity:\n        requiredDuringSchedulingIgnoredDuringExecution:\n          nodeSelectorTerms: [{matchExpressions: [{key: a, operator: Near}]}]\n",
			[]string{`profiles[0].pluginConfig[0].args.addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: "Near"`}},
		{"preemption both zero", "profiles:\n- pluginConfig:\n  - name: DefaultPreemption\n    args: {minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 0}\n",
			[]string{"profiles[0].pluginConfig[0].args.minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute"}},
		{"volume binding timeout", "profiles:\n- pluginConfig:\n  - name: VolumeBinding\n    args: {bindTimeoutSeconds: -1}\n",
			[]string{"profiles[0].pluginConfig[0].args.bindTimeoutSeconds: Invalid value: -1"}},
		{"volume binding shape", "profiles:\n- pluginConfig:\n  - name: VolumeBinding\n    args: {shape: [{utilization: 50, score: 11}]}\n",
			[]string{"profiles[0].pluginConfig[0].args.shape[0].score: Invalid value: 11: not in valid range [0, 10]"}},
		{"DRA binding timeout", "profiles:\n- pluginConfig:\n  - name: DynamicResources\n    args: {bindingTimeout: 500ms}\n",
			[]string{`profiles[0].pluginConfig[0].args.bindingTimeout: Invalid value: "500ms": must be at least 1 second`}},
		{"plugin at a point it does not implement", "profiles:\n- plugins:\n    filter:\n      enabled: [{name: ImageLocality}]\n",
			[]string{`profiles[0].plugins.filter: Invalid value: plugin "ImageLocality" does not implement the filter extension point`}},
		{"plugin enabled twice at a point", "profiles:\n- plugins:\n    filter:\n      enabled: [{name: NodeName}, {name: NodeName}]\n",
			[]string{`profiles[0].plugins.filter: Invalid value: plugin "NodeName" is enabled twice at filter`}},
		{"plugin enabled twice through multiPoint", "profiles:\n- plugins:\n    multiPoint:\n      enabled: [{name: NodePorts}, {name: NodePorts}]\n",
			[]string{`plugin "NodePorts" is enabled twice through multiPoint`}},
		{"no queue sort", "profiles:\n- plugins:\n    queueSort:\n      disabled: [{name: '*'}]\n",
			[]string{"profiles[0].plugins.queueSort: Invalid value: 0: exactly one queue sort plugin must be enabled"}},
		{"no binder", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: DefaultBinder}]\n",
			[]string{"profiles[0].plugins.bind: Required value: at least one bind plugin must be enabled"}},
		{"negative score weight", "profiles:\n- plugins:\n    score:\n      enabled: [{name: ImageLocality, weight: -2}]\n",
			[]string{"profiles[0].plugins.score: Invalid value: -2: weight of plugin ImageLocality: berth does not support negative weights"}},
		{"different queue sort", "profiles:\n- schedulerName: a\n- schedulerName: b\n  plugins:\n    queueSort:\n      enabled: [{name: PrioritySort}]\n",
			[]string{"profiles[1].plugins.queueSort: Invalid value:", "must be the same for all profiles"}},
		{"several problems at once", "parallelism: -1\npercentageOfNodesToScore: 101\n",
			[]string{"parallelism: Invalid value: -1", "percentageOfNodesToScore: Invalid value: 101"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadYAML(t, header+tc.body)
			if cfg != nil {
				t.Errorf("Load returned a configuration with the error")
			}
			checkError(t, err, append(tc.want, "config.yaml")...)
		})
	}
}

// TestLoadAcceptsWhatUpstreamAccepts covers corners where upstream is lenient: berth must load
// these too.
func TestLoadAcceptsWhatUpstreamAccepts(t *testing.T) {
	tests := []struct{ name, body string }{
		{"NodeResourcesFit args are checked only when the plugin runs",
			"profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: NodeResourcesFit}]\n  pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: Packed}}\n"},
		{"lease timings are not checked without leader election", "leaderElection: {leaderElect: false, leaseDuration: 1s}\n"},
		{"arguments for an argument-less plugin", "profiles:\n- pluginConfig:\n  - name: NodeName\n    args: {anything: 1}\n"},
		{"zero weights count as one", "profiles:\n- plugins:\n    multiPoint:\n      enabled: [{name: ImageLocality, weight: 0}]\n"},
		{"a plugin both disabled and enabled is enabled", "profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: NodePorts}]\n      enabled: [{name: NodePorts}]\n"},
		{"same queue sort everywhere", "profiles:\n- schedulerName: a\n  plugins: {queueSort: {enabled: [{name: PrioritySort}]}}\n- schedulerName: b\n  plugins: {queueSort: {enabled: [{name: PrioritySort}]}}\n"},
		{"empty extenders", "extenders: []\n"},
		{"zero lease durations are defaulted", "leaderElection: {leaseDuration: 0s}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { mustLoad(t, tc.body) })
	}
}

// TestValidateNeverPanics hands Validate configurations that skipped defaulting.
func TestValidateNeverPanics(t *testing.T) {
	tests := map[string]*KubeSchedulerConfiguration{
		"zero":                    {},
		"profile without plugins": {Profiles: []Profile{{SchedulerName: ptr("a")}}},
		"two bare profiles":       {Profiles: []Profile{{}, {}}},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			if err := Validate(c); err == nil {
				t.Error("an undefaulted configuration passed validation")
			}
		})
	}
}
