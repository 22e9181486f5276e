package placementcheck

import (
	"math"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestAmount(t *testing.T) {
	tests := []struct {
		name     string
		resource v1.ResourceName
		quantity string
		want     int64
	}{
		{"cpu in millicores", v1.ResourceCPU, "1.5", 1500},
		{"a fraction of a millicore rounds up", v1.ResourceCPU, "1.5m", 2},
		{"a fraction of a byte rounds up", v1.ResourceMemory, "0.5", 1},
		{"binary units", v1.ResourceMemory, "1Gi", 1 << 30},
		{"exabytes are exact", v1.ResourceMemory, "3E", 3e18},
		{"cpu beyond int64 millicores saturates", v1.ResourceCPU, "8E", math.MaxInt64},
		{"8Ei is 2^63: saturates", "example.com/gpu", "8Ei", math.MaxInt64},
		{"beyond int64 saturates", v1.ResourceMemory, "1e30", math.MaxInt64},
		{"far below saturates", v1.ResourceMemory, "-1e30", math.MinInt64},
		{"negative", v1.ResourcePods, "-1", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Amount(tc.resource, resource.MustParse(tc.quantity)); got != tc.want {
				t.Errorf("Amount(%s, %s) = %d, want %d", tc.resource, tc.quantity, got, tc.want)
			}
		})
	}
}

func TestAmountsAddSaturates(t *testing.T) {
	a := Amounts{v1.ResourceMemory: math.MaxInt64 - 1, v1.ResourceCPU: math.MinInt64 + 1}
	a.Add(Amounts{v1.ResourceMemory: 5, v1.ResourceCPU: -5})
	if a[v1.ResourceMemory] != math.MaxInt64 || a[v1.ResourceCPU] != math.MinInt64 {
		t.Errorf("sums = %v, want saturated at the int64 bounds", a)
	}
}
