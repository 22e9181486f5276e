// Package celoracle checks berth's device selector evaluator against upstream's CEL.
package celoracle

import (
	"context"
	"errors"
	"fmt"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	dracel "k8s.io/dynamic-resource-allocation/cel"

	"github.com/berth-scheduler/berth/scheduler/plugins/dynamicresources/devicecel"
)

// device is one device of the corpus with the driver of its slice.
type device struct {
	name   string
	driver string
	dev    resourceapi.Device
}

func ptr[T any](v T) *T { return &v }

func devices() []device {
	q := func(s string) resourceapi.DeviceCapacity {
		return resourceapi.DeviceCapacity{Value: resource.MustParse(s)}
	}
	return []device{
		{name: "empty", driver: "dra.example.com"},
		{name: "no-driver", driver: "", dev: resourceapi.Device{Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
			"model": {StringValue: ptr("x")}}}},
		{name: "gpu", driver: "dra.example.com", dev: resourceapi.Device{
			AllowMultipleAllocations: ptr(true),
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				"model":               {StringValue: ptr("a100")},
				"cores":               {IntValue: ptr(int64(7))},
				"ver":                 {VersionValue: ptr("1.2.3-rc.1")},
				"driverVersion":       {VersionValue: ptr("2.10.0")},
				"ok":                  {BoolValue: ptr(true)},
				"off":                 {BoolValue: ptr(false)},
				"empty":               {StringValue: ptr("")},
				"uni":                 {StringValue: ptr("héllo wörld")},
				"other.com/x":         {IntValue: ptr(int64(-3))},
				"other.com/model":     {StringValue: ptr("h100")},
				"dra.example.com/pci": {StringValue: ptr("0000:3b:00.0")},
			},
			Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
				"memory":          q("10Gi"),
				"cores":           q("7"),
				"milli":           q("1500m"),
				"other.com/slots": q("4"),
			},
		}},
		{name: "gpu-small", driver: "dra.example.com", dev: resourceapi.Device{
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				"model":         {StringValue: ptr("t4")},
				"cores":         {IntValue: ptr(int64(9223372036854775807))},
				"ver":           {VersionValue: ptr("0.9.0")},
				"driverVersion": {VersionValue: ptr("2.9.10+build.5")},
				"ok":            {BoolValue: ptr(false)},
			},
			Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
				"memory": q("1Gi"),
				"milli":  q("-2"),
			},
		}},
		{name: "lists", driver: "gpu.vendor.io", dev: resourceapi.Device{
			AllowMultipleAllocations: ptr(false),
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				"ints":                  {IntValues: []int64{1, 2, 3}},
				"strs":                  {StringValues: []string{"a", "b"}},
				"bools":                 {BoolValues: []bool{true, false}},
				"vers":                  {VersionValues: []string{"1.0.0", "2.0.0-alpha"}},
				"noints":                {IntValues: []int64{}},
				"model":                 {StringValue: ptr("mi300")},
				"cores":                 {IntValue: ptr(int64(0))},
				"numa":                  {IntValue: ptr(int64(1))},
				"a.b/c":                 {StringValue: ptr("dotted")},
				"dra.example.com/model": {StringValue: ptr("foreign")},
			},
			Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
				"memory":                 q("80Gi"),
				"dra.example.com/memory": q("1k"),
			},
		}},
		{name: "bad-version", driver: "dra.example.com", dev: resourceapi.Device{
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				"ver": {VersionValue: ptr("1.2")},
			},
		}},
		{name: "no-value", driver: "dra.example.com", dev: resourceapi.Device{
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				"nothing": {},
			},
		}},
	}
}

// outcome is what one evaluator made of one (expression, device) pair.
type outcome struct {
	compileErr  error
	unsupported bool
	match       bool
	err         error
}

func (o outcome) String() string {
	switch {
	case o.unsupported:
		return "unsupported: " + o.compileErr.Error()
	case o.compileErr != nil:
		return "compile error: " + o.compileErr.Error()
	case o.err != nil:
		return "error: " + o.err.Error()
	}
	return fmt.Sprint(o.match)
}

func TestDifferential(t *testing.T) {
	compiler := dracel.GetCompiler(dracel.Features{EnableConsumableCapacity: true})
	devs := devices()
	var pairs, agree, unsupported, compileAgree int
	for _, expr := range corpus() {
		up := compiler.CompileCELExpression(expr, dracel.Options{DisableCostEstimation: true})
		prog, berr := devicecel.Compile(expr)
		var unsup *devicecel.UnsupportedError
		if errors.As(berr, &unsup) {
			unsupported++
			if up.Error != nil {
				t.Logf("unsupported by berth, invalid upstream: %q: %v", expr, up.Error)
			}
			continue
		}
		if (up.Error != nil) != (berr != nil) {
			t.Errorf("%q: compile: upstream %v, berth %v", expr, up.Error, berr)
			continue
		}
		if up.Error != nil {
			compileAgree++
			continue
		}
		for _, d := range devs {
			pairs++
			m, _, uerr := up.DeviceMatches(context.Background(), dracel.Device{
				Driver: d.driver, AllowMultipleAllocations: d.dev.AllowMultipleAllocations,
				Attributes: d.dev.Attributes, Capacity: d.dev.Capacity,
			})
			bm, bmerr := prog.Match(d.driver, &d.dev)
			switch {
			case (uerr != nil) != (bmerr != nil):
				t.Errorf("%q on %s: upstream %v (%v), berth %v (%v)", expr, d.name, m, uerr, bm, bmerr)
			case uerr == nil && m != bm:
				t.Errorf("%q on %s: upstream %v, berth %v", expr, d.name, m, bm)
			default:
				agree++
			}
		}
	}
	t.Logf("%d expressions: %d rejected by both at compile time, %d unsupported by berth; %d (expression, device) pairs evaluated, %d agree",
		len(corpus()), compileAgree, unsupported, pairs, agree)
}
