package decide_test

import (
	"math"
	"strconv"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The vocabularies FuzzDecide's records index into (see decode). They are part of the corpus
// format: changing one changes what the stored inputs in testdata/fuzz/FuzzDecide mean.

// Vocabularies.
var (
	zones     = []string{"", "a", "b", "c", "-"} // "" no zone label, "-" an empty value
	labelKeys = []string{labelZone, labelHostname, labelRegion, "disk", "gen", "rack", "app", "role"}
	values    = []string{"a", "b", "c", "ssd", "hdd", "1", "3", "10", "007", "x", "", "web", "db", "r0"}
	// intValues are Gt and Lt operands; "-1" is no valid label value, so selectors refuse it.
	intValues = []string{"0", "2", "5", "-1", "10", "99999999999"}
	topoKeys  = []string{labelZone, labelHostname, labelRegion, "rack", "missing"}
	taintKeys = []string{"k1", "k2", v1.TaintNodeUnschedulable, "dedicated"}
	// tolerationKeys: "" (any key) needs the Exists operator.
	tolerationKeys = append([]string{""}, taintKeys...)
	taintValues    = []string{"", "v", "w"}
	effects        = []v1.TaintEffect{v1.TaintEffectNoSchedule, v1.TaintEffectPreferNoSchedule, v1.TaintEffectNoExecute, ""}
	podKeys        = []string{"app", "role", "tier"}
	podValues      = []string{"web", "db", "x", "y", ""}
	// namespaces: ns-c has no Namespace object, so no labels.
	namespaces = []string{"ns-a", "ns-b", "ns-c", "default"}
	nsLabels   = map[string]map[string]string{"ns-a": {"team": "a"}, "ns-b": {"team": "b"}, "default": {"team": "a", "kubernetes.io/metadata.name": "default"}}
	resources  = []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage, resGPU, "hugepages-2Mi", "example.com/none"}
	// allocResources are what a node can have: pods too.
	allocResources = append(resources[:len(resources):len(resources)], v1.ResourcePods)
	// quantities include zero, fractions below the unit, and amounts beyond 2^60 and 2^63.
	quantities = []string{"0", "1", "2", "100m", "1m", "1.5m", "0.5", "250m", "3", "1Gi", "512Mi", "1G", "100Ki", "2Mi",
		"4Mi", "999999999", "1E", "2E", "3E", "7Ei", "8Ei", "9223372036854775807", "1e30", "110", "1k", "0.001"}
	allocQuantities = append([]string{"-1", "-100m"}, quantities...)
	images          = []string{"nginx", "nginx:latest", "nginx:1.25", "registry.k8s.io/pause:3.10", "repo/app@sha256:0123", ""}
	imageSizes      = []int64{0, 1, 23 << 20, 500 << 20, 3000 << 20, math.MaxInt64, -1}
	ports           = []int32{80, 443, 8080, 53}
	protocols       = []v1.Protocol{"", v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP}
	hostIPs         = []string{"", "0.0.0.0", "10.0.0.1", "10.0.0.2", "::"}
)

const (
	labelZone     = "topology.kubernetes.io/zone"
	labelRegion   = "topology.kubernetes.io/region"
	labelHostname = "kubernetes.io/hostname"

	resGPU v1.ResourceName = "example.com/gpu"
)

// allocPresets are a node's allocatable before opNodeAlloc edits it.
var allocPresets = []map[v1.ResourceName]string{
	{v1.ResourceCPU: "4", v1.ResourceMemory: "8Gi", v1.ResourcePods: "110", v1.ResourceEphemeralStorage: "10Gi"},
	{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi", v1.ResourcePods: "2"},
	{v1.ResourceCPU: "100m", v1.ResourceMemory: "128Mi", v1.ResourcePods: "1", resGPU: "2"},
	{}, // nothing at all: not even one pod fits
	{v1.ResourceCPU: "8E", v1.ResourceMemory: "1e30", v1.ResourcePods: "1000", resGPU: "1E", "hugepages-2Mi": "2E"},
	{v1.ResourceCPU: "1.5m", v1.ResourceMemory: "0.5", v1.ResourcePods: "3", "hugepages-2Mi": "4Mi"},
}

// Label selectors, by index (see selector).
const (
	selNil           = iota // selects nothing
	selEmpty                // {}: selects everything
	selAppWeb               // app=web
	selAppIn                // app in (web, db)
	selAppNotIn             // app notin (web)
	selAppExists            // app
	selNoApp                // !app
	selContradiction        // app=web and app in (db)
	selHuge                 // app notin (300 values) and 40 more requirements
	selRoleX                // role=x
	selWebAndX              // app=web, role=x
	selRepeatedKey          // role in (x, y), role notin (y), !app
	selTier                 // tier
	selWebNotX              // app in (web), role notin (x)
	selNoValues             // invalid: app in ()
	selBadKey               // invalid: a key with a space
	numSelectors            // 16: a selector takes the low 4 bits of its argument
)

// selector returns label selector i%numSelectors and whether the API accepts it.
func selector(i byte) (sel *metav1.LabelSelector, valid bool) {
	req := func(key string, op metav1.LabelSelectorOperator, vals ...string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: vals}
	}
	switch i % numSelectors {
	case selNil:
		return nil, true
	case selEmpty:
		return &metav1.LabelSelector{}, true
	case selAppWeb:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, true
	case selAppIn:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("app", metav1.LabelSelectorOpIn, "web", "db")}}, true
	case selAppNotIn:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("app", metav1.LabelSelectorOpNotIn, "web")}}, true
	case selAppExists:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("app", metav1.LabelSelectorOpExists)}}, true
	case selNoApp:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("app", metav1.LabelSelectorOpDoesNotExist)}}, true
	case selContradiction:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
			MatchExpressions: []metav1.LabelSelectorRequirement{req("app", metav1.LabelSelectorOpIn, "db")}}, true
	case selHuge:
		var vals []string
		for v := range 300 {
			vals = append(vals, "v"+strconv.Itoa(v))
		}
		s := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("app", metav1.LabelSelectorOpNotIn, vals...)}}
		for k := range 40 {
			s.MatchExpressions = append(s.MatchExpressions, req("k"+strconv.Itoa(k), metav1.LabelSelectorOpDoesNotExist))
		}
		return s, true
	case selRoleX:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"role": "x"}}, true
	case selWebAndX:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "role": "x"}}, true
	case selRepeatedKey:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			req("role", metav1.LabelSelectorOpIn, "x", "y"), req("role", metav1.LabelSelectorOpNotIn, "y"), req("app", metav1.LabelSelectorOpDoesNotExist)}}, true
	case selTier:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("tier", metav1.LabelSelectorOpExists)}}, true
	case selWebNotX:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			req("app", metav1.LabelSelectorOpIn, "web"), req("role", metav1.LabelSelectorOpNotIn, "x")}}, true
	case selNoValues:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("app", metav1.LabelSelectorOpIn)}}, false
	default: // selBadKey
		return &metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "x"}}, false
	}
}
