package celoracle

import (
	"context"
	"os"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/dynamic-resource-allocation/cel"
)

// TestProbe shows what upstream makes of expressions, for exploring its semantics by hand:
//
//	PROBE='device.attributes["dra.example.com"].cores > 1' go test -run Probe -v .
//
// Separate several expressions with a line holding ";;". It is skipped without PROBE.
func TestProbe(t *testing.T) {
	exprs := os.Getenv("PROBE")
	if exprs == "" {
		t.Skip()
	}
	c := cel.NewCache(10, cel.Features{EnableConsumableCapacity: true})
	i := int64(7)
	s := "a100"
	v := "1.2.3-rc.1"
	b := true
	dev := cel.Device{Driver: "dra.example.com", Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		"model": {StringValue: &s}, "cores": {IntValue: &i}, "ver": {VersionValue: &v}, "ok": {BoolValue: &b},
		"ints": {IntValues: []int64{1, 2, 3}}, "other.com/x": {IntValue: &i},
	}, Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{"memory": {Value: resource.MustParse("10Gi")}}}
	for _, e := range strings.Split(exprs, "\n;;\n") {
		r := c.GetOrCompile(e)
		if r.Error != nil {
			t.Logf("%s\n   => COMPILE ERROR: %v", e, r.Error)
			continue
		}
		m, d, err := r.DeviceMatches(context.Background(), dev)
		cost := uint64(0)
		if d != nil && d.ActualCost() != nil {
			cost = *d.ActualCost()
		}
		t.Logf("%s\n   => %v err=%v cost=%d type=%v", e, m, err, cost, r.OutputType)
	}
}
