package devicecel

import (
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func ptr[T any](v T) *T { return &v }

// benchDevice is a typical GPU of a ResourceSlice.
var benchDevice = &resourceapi.Device{
	Name: "gpu-0",
	Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		"model":                 {StringValue: ptr("a100")},
		"uuid":                  {StringValue: ptr("GPU-5c9e1c2a-7a2b-4d5e-9f3a-0b1c2d3e4f50")},
		"index":                 {IntValue: ptr(int64(0))},
		"driverVersion":         {VersionValue: ptr("550.54.15")},
		"cudaComputeCapability": {VersionValue: ptr("8.0.0")},
		"productName":           {StringValue: ptr("NVIDIA A100-SXM4-40GB")},
		"mig":                   {BoolValue: ptr(false)},
		"numa.example.com/node": {IntValue: ptr(int64(1))},
	},
	Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
		"memory": {Value: resource.MustParse("40Gi")},
		"cores":  {Value: resource.MustParse("108")},
	},
}

var benchSelectors = []struct{ name, expr string }{
	{"driver", `device.driver == "gpu.example.com"`},
	{"attribute", `device.attributes["gpu.example.com"].model == "a100"`},
	{"capacity", `device.capacity["gpu.example.com"].memory.compareTo(quantity("10Gi")) >= 0`},
	{"version", `device.attributes["gpu.example.com"].driverVersion.isGreaterThan(semver("535.0.0"))`},
	{"guarded", `"numa.example.com" in device.attributes && device.attributes["numa.example.com"].node == 1`},
	{"combined", `device.driver == "gpu.example.com" && device.attributes["gpu.example.com"].model == "a100" && !device.attributes["gpu.example.com"].mig && device.capacity["gpu.example.com"].memory.isGreaterThan(quantity("16Gi"))`},
	{"macro", `device.attributes["gpu.example.com"].exists(k, k == "mig")`},
	{"regex", `device.attributes["gpu.example.com"].productName.matches("^NVIDIA A100")`},
}

func BenchmarkMatch(b *testing.B) {
	for _, s := range benchSelectors {
		p, err := Compile(s.expr)
		if err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		if ok, err := p.Match("gpu.example.com", benchDevice); err != nil || !ok {
			b.Fatalf("%s: got %v, %v; want true", s.name, ok, err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Match("gpu.example.com", benchDevice); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(benchSelectors[5].expr); err != nil {
			b.Fatal(err)
		}
	}
}
