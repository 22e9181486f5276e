package devicecel

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const driver = "dra.example.com"

type attrs = map[resourceapi.QualifiedName]resourceapi.DeviceAttribute
type caps = map[resourceapi.QualifiedName]resourceapi.DeviceCapacity

func qty(s string) resourceapi.DeviceCapacity {
	return resourceapi.DeviceCapacity{Value: resource.MustParse(s)}
}

// testDevice is the device most cases run on.
func testDevice() *resourceapi.Device {
	return &resourceapi.Device{
		Name:                     "dev",
		AllowMultipleAllocations: ptr(true),
		Attributes: attrs{
			"model":             {StringValue: ptr("a100")},
			"cores":             {IntValue: ptr(int64(7))},
			"ver":               {VersionValue: ptr("1.2.3-rc.1")},
			"ok":                {BoolValue: ptr(true)},
			"uni":               {StringValue: ptr("héllo wörld")},
			"ints":              {IntValues: []int64{1, 2, 3}},
			"other.com/x":       {IntValue: ptr(int64(-3))},
			"dra.example.com/q": {StringValue: ptr("qualified")},
		},
		Capacity: caps{
			"memory":          qty("10Gi"),
			"milli":           qty("1500m"),
			"other.com/slots": qty("4"),
		},
	}
}

// want is the expected outcome of a case: a match result, or an error containing the text.
type want struct {
	match      bool
	compileErr string // non-empty: Compile fails with this text
	matchErr   string // non-empty: Match fails with this text
}

var (
	yes = want{match: true}
	no  = want{}
)

func compileErrWith(s string) want { return want{compileErr: s} }
func matchErrWith(s string) want   { return want{matchErr: s} }

type testCase struct {
	name string
	expr string
	want want
	dev  *resourceapi.Device // nil: testDevice()
	drv  *string             // nil: driver
}

func runCases(t *testing.T, cases []testCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.expr)
			if tc.want.compileErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.compileErr) {
					t.Fatalf("Compile(%q) = %v, want an error containing %q", tc.expr, err, tc.want.compileErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.expr, err)
			}
			dev, drv := tc.dev, driver
			if dev == nil {
				dev = testDevice()
			}
			if tc.drv != nil {
				drv = *tc.drv
			}
			got, err := p.Match(drv, dev)
			if tc.want.matchErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.matchErr) {
					t.Fatalf("Match(%q) = %v, %v, want an error containing %q", tc.expr, got, err, tc.want.matchErr)
				}
				return
			}
			if err != nil || got != tc.want.match {
				t.Fatalf("Match(%q) = %v, %v, want %v", tc.expr, got, err, tc.want.match)
			}
		})
	}
}

// TestUpstreamCases are the cases of upstream's compile_test.go that apply to the environment
// kube-scheduler uses (stored expressions), in our form.
func TestUpstreamCases(t *testing.T) {
	one := func(name string, a resourceapi.DeviceAttribute) *resourceapi.Device {
		return &resourceapi.Device{Attributes: attrs{resourceapi.QualifiedName(name): a}}
	}
	many := &resourceapi.Device{Attributes: attrs{}}
	for i := 0; i < resourceapi.ResourceSliceMaxAttributesAndCapacitiesPerDevice; i++ {
		suffix := fmt.Sprintf("-%d", i)
		many.Attributes[resourceapi.QualifiedName("dra.example.com/"+strings.Repeat("x", resourceapi.DeviceMaxIDLength-len(suffix))+suffix)] = resourceapi.DeviceAttribute{StringValue: ptr("abc")}
	}
	all := &resourceapi.Device{
		Attributes: attrs{"bool": {BoolValue: ptr(true)}, "int": {IntValue: ptr(int64(1))}, "string": {StringValue: ptr("fish")}, "version": {VersionValue: ptr("1.0.0")}},
		Capacity:   caps{"quantity": qty("1Mi")},
	}
	empty := &resourceapi.Device{}
	runCases(t, []testCase{
		{"true", `true`, yes, nil, nil},
		{"false", `false`, no, nil, nil},
		{"syntax-error", `?!`, compileErrWith("Syntax error"), nil, nil},
		{"type-error", `1`, compileErrWith("must evaluate to bool or the unknown type, not int"), nil, nil},
		{"runtime-error-lookup-identifier", `device.attributes["no-such-domain"].noSuchAttr.isGreaterThan(quantity("0"))`, matchErrWith("no such key: noSuchAttr"), nil, nil},
		{"runtime-error-lookup-map", `device.attributes["no-such-domain"]["noSuchAttr"].isGreaterThan(quantity("0"))`, matchErrWith("no such key: noSuchAttr"), nil, nil},
		{"domain-check-negative", `"no-such-domain" in device.attributes`, no, nil, nil},
		{"domain-check-positive", `"dra.example.com" in device.attributes`, yes, one("dra.example.com/something", resourceapi.DeviceAttribute{BoolValue: ptr(true)}), ptr("")},
		{"empty-driver-name", `device.driver == ""`, yes, empty, ptr("")},
		{"real-driver-name", `device.driver == "dra.example.com"`, yes, empty, nil},
		{"driver-name-qualifier", `device.attributes["dra.example.com"].name`, yes, one("name", resourceapi.DeviceAttribute{BoolValue: ptr(true)}), nil},
		{"driver-name-qualifier-map-lookup", `device.attributes["dra.example.com"]["name"]`, yes, one("name", resourceapi.DeviceAttribute{BoolValue: ptr(true)}), nil},
		{"bind", `cel.bind(dra, device.attributes["dra.example.com"], dra.name)`, yes, one("name", resourceapi.DeviceAttribute{BoolValue: ptr(true)}), nil},
		{"qualified-attribute-name", `device.attributes["other.example.com"].name`, yes, one("other.example.com/name", resourceapi.DeviceAttribute{BoolValue: ptr(true)}), nil},
		{"int", `device.attributes["dra.example.com"].name > 0`, yes, one("name", resourceapi.DeviceAttribute{IntValue: ptr(int64(1))}), nil},
		{"string", `device.attributes["dra.example.com"].name == "fish"`, yes, one("name", resourceapi.DeviceAttribute{StringValue: ptr("fish")}), nil},
		{"macro-exists-on-int", `device.attributes["dra.example.com"].name.exists(x, x > 0)`, matchErrWith("expected iterable type"), one("name", resourceapi.DeviceAttribute{IntValue: ptr(int64(1))}), nil},
		{"list-result-type-causes-match-error", `device.attributes["dra.example.com"].names`, matchErrWith("CEL result of type list could not be converted to bool"), one("names", resourceapi.DeviceAttribute{StringValues: []string{"fish", "bird"}}), nil},
		{"includes-on-list", `device.attributes["dra.example.com"].name.includes("fish")`, yes, one("name", resourceapi.DeviceAttribute{StringValues: []string{"fish", "bird"}}), nil},
		{"includes-on-scalar", `device.attributes["dra.example.com"].name.includes(true)`, yes, one("name", resourceapi.DeviceAttribute{BoolValue: ptr(true)}), nil},
		{"includes-on-scalar-negative", `device.attributes["dra.example.com"].name.includes(1)`, no, one("name", resourceapi.DeviceAttribute{IntValue: ptr(int64(2))}), nil},
		{"includes-on-semver-list", `device.attributes["dra.example.com"].name.includes(semver("1.0.0"))`, yes, one("name", resourceapi.DeviceAttribute{VersionValues: []string{"1.0.0", "2.0.0"}}), nil},
		{"list-of-bool", `device.attributes["dra.example.com"].names.size() == 2`, yes, one("names", resourceapi.DeviceAttribute{BoolValues: []bool{true, false}}), nil},
		{"list-of-semver", `device.attributes["dra.example.com"].names.size() == 2`, yes, one("names", resourceapi.DeviceAttribute{VersionValues: []string{"1.0.0", "2.0.0"}}), nil},
		{"macro-on-list-of-int", `device.attributes["dra.example.com"].names.exists(x, x > 0)`, yes, one("names", resourceapi.DeviceAttribute{IntValues: []int64{1, 2}}), nil},
		{"macro-on-list-of-semver", `device.attributes["dra.example.com"].names.all(x, x.isGreaterThan(semver("0.0.1")))`, yes, one("names", resourceapi.DeviceAttribute{VersionValues: []string{"1.0.0", "2.0.0"}}), nil},
		{"in-operator-on-list", `1 in device.attributes["dra.example.com"].names`, yes, one("names", resourceapi.DeviceAttribute{IntValues: []int64{1, 2, 3}}), nil},
		{"version", `device.attributes["dra.example.com"].name.isGreaterThan(semver("0.0.1"))`, yes, one("name", resourceapi.DeviceAttribute{VersionValue: ptr("1.0.0")}), nil},
		{"version_v", `device.attributes["dra.example.com"].name.isGreaterThan(semver("v0.0.1", true)) && isSemver("v1.0.0", true)`, yes, one("name", resourceapi.DeviceAttribute{VersionValue: ptr("1.0.0")}), nil},
		{"quantity", `device.capacity["dra.example.com"].name.isGreaterThan(quantity("1Ki"))`, yes, &resourceapi.Device{Capacity: caps{"name": qty("1Mi")}}, nil},
		{"check-positive", `"name" in device.capacity["dra.example.com"] && device.capacity["dra.example.com"].name.isGreaterThan(quantity("1Ki"))`, yes, &resourceapi.Device{Capacity: caps{"name": qty("1Mi")}}, nil},
		{"check-negative", `!("name" in device.capacity["dra.example.com"]) || device.capacity["dra.example.com"].name.isGreaterThan(quantity("1Ki"))`, yes, empty, nil},
		{"all", `device.capacity["dra.example.com"].quantity.isGreaterThan(quantity("1Ki")) &&
			device.attributes["dra.example.com"].bool && device.attributes["dra.example.com"].int > 0 &&
			device.attributes["dra.example.com"].string == "fish" && device.attributes["dra.example.com"].version.isGreaterThan(semver("0.0.1")) &&
			device.capacity["dra.example.com"]["quantity"].isGreaterThan(quantity("1Ki")) && device.attributes["dra.example.com"]["bool"] &&
			device.attributes["dra.example.com"]["int"] > 0 && device.attributes["dra.example.com"]["string"] == "fish" &&
			device.attributes["dra.example.com"]["version"].isGreaterThan(semver("0.0.1"))`, yes, all, nil},
		{"check_attribute_domains", `device.attributes.exists_one(x, x == "dra.example.com")`, yes, one("services", resourceapi.DeviceAttribute{StringValue: ptr("x")}), nil},
		{"check_attribute_ids", `device.attributes["dra.example.com"].exists_one(x, x == "services")`, yes, one("services", resourceapi.DeviceAttribute{StringValue: ptr("x")}), nil},
		{"split_attribute", `device.attributes["dra.example.com"].services.split("example").size() >= 2`, yes, one("services", resourceapi.DeviceAttribute{StringValue: ptr("some_example_value")}), nil},
		{"regexp_attribute", `device.attributes["dra.example.com"].services.matches("[^a]?sym")`, yes, one("services", resourceapi.DeviceAttribute{StringValue: ptr("asymetric")}), nil},
		{"check_capacity_domains", `device.capacity.exists_one(x, x == "dra.example.com")`, yes, &resourceapi.Device{Capacity: caps{"memory": qty("1Mi")}}, nil},
		{"expensive", `[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(x, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(y, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(z, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(z2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(z3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(z4, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(z5, int('1'.find('[0-9]*')) < 100)))))))`, matchErrWith("actual cost limit exceeded"), many, nil},
		{"allow_multiple_allocations", `device.allowMultipleAllocations == true`, yes, &resourceapi.Device{AllowMultipleAllocations: ptr(true)}, nil},
		{"allow_multiple_allocations_default", `device.allowMultipleAllocations == false`, yes, empty, nil},
		{"interrupt-expression", `device.attributes["dra.example.com"].map(key, device.attributes["dra.example.com"][key] * 20).filter(e, e > 50).exists(e, e == 60)`, yes, &resourceapi.Device{Attributes: attrs{"a": {IntValue: ptr(int64(3))}}}, nil},
	})
}

func TestDevice(t *testing.T) {
	runCases(t, []testCase{
		{"plain name in driver domain", `device.attributes["dra.example.com"].model == "a100"`, yes, nil, nil},
		{"qualified name in driver domain", `device.attributes["dra.example.com"].q == "qualified"`, yes, nil, nil},
		{"other domain", `device.attributes["other.com"].x == -3`, yes, nil, nil},
		{"dynamic domain", `device.attributes[device.driver]["cores"] == 7`, yes, nil, nil},
		{"domain as field", `cel.bind(d, device.attributes, d["other.com"].x < 0)`, yes, nil, nil},
		{"missing attribute", `device.attributes["dra.example.com"].nope == 1`, matchErrWith("no such key: nope"), nil, nil},
		{"missing domain is an empty map", `device.attributes["nope.com"].size() == 0`, yes, nil, nil},
		{"has on missing domain", `has(device.attributes.nope)`, yes, nil, nil},
		{"in on missing domain", `"nope.com" in device.attributes`, no, nil, nil},
		{"has attribute", `has(device.attributes["dra.example.com"].model) && !has(device.attributes["dra.example.com"].nope)`, yes, nil, nil},
		{"domains", `device.attributes.size() == 2 && device.attributes.all(d, d in ["dra.example.com", "other.com"])`, yes, nil, nil},
		{"names", `device.attributes["dra.example.com"].filter(n, n.startsWith("c")) == ["cores"]`, yes, nil, nil},
		{"list attribute", `device.attributes["dra.example.com"].ints.sum() == 6`, yes, nil, nil},
		{"capacity", `device.capacity["dra.example.com"].memory.compareTo(quantity("10Gi")) == 0`, yes, nil, nil},
		{"capacity of other domain", `device.capacity["other.com"].slots == quantity("4")`, yes, nil, nil},
		{"capacity dynamic", `device.capacity[device.driver]["milli"].isInteger()`, no, nil, nil},
		{"driver", `device.driver.endsWith(".com")`, yes, nil, nil},
		{"multiple allocations", `device.allowMultipleAllocations`, yes, nil, nil},
		{"attribute typed dyn", `device.attributes["dra.example.com"].model > 1`, matchErrWith("no such overload"), nil, nil},
		{"result not bool", `device.attributes["dra.example.com"].model`, matchErrWith("could not be converted to bool"), nil, nil},
		{"undefined field", `device.name == ""`, compileErrWith("undefined field 'name'"), nil, nil},
		{"invalid version fails every selector", `true`, matchErrWith("parse semantic version"), &resourceapi.Device{Attributes: attrs{"v": {VersionValue: ptr("1.2")}}}, nil},
		{"attribute without value fails every selector", `true`, matchErrWith("unsupported attribute value"), &resourceapi.Device{Attributes: attrs{"v": {}}}, nil},
	})
}

func TestLiterals(t *testing.T) {
	runCases(t, []testCase{
		{"ints", `0x10 == 16 && -9223372036854775808 < 0 && 9223372036854775807 > 0`, yes, nil, nil},
		{"uints", `0xFFu == 255u && 18446744073709551615u > 0u`, yes, nil, nil},
		{"int out of range", `9223372036854775808 > 0`, compileErrWith("invalid int literal"), nil, nil},
		{"doubles", `1e3 == 1000.0 && .5 == 0.5 && 1.5e-1 == 0.15`, yes, nil, nil},
		{"double out of range", `1e309 > 0.0`, compileErrWith("invalid double literal"), nil, nil},
		{"escapes", `"\x41" == "A" && "\101" == "A" && "\u0041" == "A" && "\U00000041" == "A" && "\t" != "t"`, yes, nil, nil},
		{"raw", `r"\n" == "\\n" && R'\d' == "\\d"`, yes, nil, nil},
		{"triple quoted", "'''a\nb''' == \"a\\nb\" && \"\"\"q\"\"\" == 'q'", yes, nil, nil},
		{"bytes", `b"\xff".size() == 1 && "\xff".size() == 1 && b"ä" == bytes("ä")`, yes, nil, nil},
		{"bad escape", `"\q" == "q"`, compileErrWith("invalid escape"), nil, nil},
		{"null", `null == null && dyn(null) != 1`, yes, nil, nil},
		{"lists and maps", `[1, 2][1] == 2 && {"a": 1}["a"] == 1 && {"a": {"b": 1}}.a.b == 1`, yes, nil, nil},
		{"duplicate map key: last wins", `{"a": 1, "a": 2}["a"] == 2`, yes, nil, nil},
		{"heterogeneous list", `[1, "a"].size() == 2`, compileErrWith("expected type 'int' but found 'string'"), nil, nil},
		{"dyn in list is not exempt", `[1, dyn(2)].size() == 2`, compileErrWith("expected type 'int' but found 'dyn'"), nil, nil},
		{"empty lists unify", `[[], [1]].size() == 2`, yes, nil, nil},
		{"comment", "1 == 1 // comment", yes, nil, nil},
		{"reserved word", `if == 1`, compileErrWith("reserved identifier"), nil, nil},
	})
}

func TestOperators(t *testing.T) {
	runCases(t, []testCase{
		{"precedence", `1 + 2 * 3 - 4 / 2 % 3 == 5 && (1 + 2) * 3 == 9`, yes, nil, nil},
		{"int overflow", `9223372036854775807 + 1 > 0`, matchErrWith("integer overflow"), nil, nil},
		{"int negate overflow", `-(-9223372036854775808) > 0`, matchErrWith("integer overflow"), nil, nil},
		{"uint underflow", `1u - 2u > 0u`, matchErrWith("unsigned integer overflow"), nil, nil},
		{"mul overflow", `-1 * -9223372036854775808 == 0`, matchErrWith("integer overflow"), nil, nil},
		{"division by zero", `1 / 0 == 0`, matchErrWith("division by zero"), nil, nil},
		{"modulus by zero", `1 % 0 == 0`, matchErrWith("modulus by zero"), nil, nil},
		{"truncating division", `-5 / 2 == -2 && -5 % 2 == -1`, yes, nil, nil},
		{"double division by zero", `1.0 / 0.0 > 1e308`, yes, nil, nil},
		{"cross-type ordering", `1 < 1.5 && 2u > 1 && 1.0 <= 1u && -1 < 0u`, yes, nil, nil},
		{"cross-type equality needs dyn", `1 == 1.0`, compileErrWith("found no matching overload for '_==_' applied to '(int, double)'"), nil, nil},
		{"dyn cross-type equality", `dyn(1) == 1.0 && dyn(1u) == 1 && dyn(1) != "1"`, yes, nil, nil},
		{"dyn ordering of wrong types", `dyn(1) < "a"`, matchErrWith("no such overload"), nil, nil},
		{"NaN", `double("NaN") != double("NaN")`, yes, nil, nil},
		{"NaN ordering", `double("NaN") < 1.0`, matchErrWith("NaN values cannot be ordered"), nil, nil},
		{"strings, bytes, bools", `"a" < "b" && b"a" < b"b" && false < true`, yes, nil, nil},
		{"in list", `2 in [1, 2] && !(3 in [1, 2])`, yes, nil, nil},
		{"in map", `"a" in {"a": 1}`, yes, nil, nil},
		{"ternary", `(1 > 2 ? "a" : "b") == "b"`, yes, nil, nil},
		{"ternary types", `true ? 1 : "a"`, compileErrWith("no matching overload for '_?_:_'"), nil, nil},
		{"list concatenation", `[1] + [2] == [1, 2]`, yes, nil, nil},
		{"index out of bounds", `[1][1] == 1`, matchErrWith("index out of bounds: 1"), nil, nil},
		{"double negation", `!!true && --1 == 1`, yes, nil, nil},
		{"no such key", `{"a": 1}["b"] == 1`, matchErrWith("no such key: b"), nil, nil},
		{"uint negation", `-(1u) == 1u`, compileErrWith("no matching overload for '-_'"), nil, nil},
	})
}

func TestShortCircuit(t *testing.T) {
	runCases(t, []testCase{
		{"false && error", `false && 1 / 0 == 1`, no, nil, nil},
		{"error && false", `1 / 0 == 1 && false`, no, nil, nil},
		{"error && true", `1 / 0 == 1 && true`, matchErrWith("division by zero"), nil, nil},
		{"true || error", `true || 1 / 0 == 1`, yes, nil, nil},
		{"error || true", `1 / 0 == 1 || true`, yes, nil, nil},
		{"error || false", `1 / 0 == 1 || false`, matchErrWith("division by zero"), nil, nil},
		{"guarded missing attribute", `has(device.attributes["dra.example.com"].nope) && device.attributes["dra.example.com"].nope == 1`, no, nil, nil},
		{"ternary skips", `true ? true : 1 / 0 == 1`, yes, nil, nil},
		{"exists absorbs error", `[0, 1].exists(x, 1 / x > 0)`, yes, nil, nil},
		{"all keeps error", `[1, 0].all(x, 1 / x > 0)`, matchErrWith("division by zero"), nil, nil},
		{"all absorbs error with false", `[0, 2].all(x, 1 / x > 0 && x < 1)`, no, nil, nil},
		{"dyn non-bool operand", `dyn(1) || false`, matchErrWith("no such overload"), nil, nil},
		{"bind error unused", `cel.bind(x, 1 / 0, true)`, yes, nil, nil},
		{"bind error used", `cel.bind(x, 1 / 0, x == 1)`, matchErrWith("division by zero"), nil, nil},
	})
}

func TestMacros(t *testing.T) {
	runCases(t, []testCase{
		{"all", `[1, 2, 3].all(x, x > 0)`, yes, nil, nil},
		{"exists", `[1, 2, 3].exists(x, x == 2)`, yes, nil, nil},
		{"exists_one", `[1, 2, 3].exists_one(x, x > 2) && ![1, 2, 3].exists_one(x, x > 1)`, yes, nil, nil},
		{"map", `[1, 2, 3].map(x, x * 2) == [2, 4, 6]`, yes, nil, nil},
		{"map with filter", `[1, 2, 3].map(x, x > 1, x * 2) == [4, 6]`, yes, nil, nil},
		{"filter", `[1, 2, 3].filter(x, x > 1) == [2, 3]`, yes, nil, nil},
		{"over map keys", `{"a": 1, "b": 2}.filter(k, k == "a") == ["a"]`, yes, nil, nil},
		{"nested shadowing", `[1, 2].all(x, [3].all(x, x == 3))`, yes, nil, nil},
		{"empty range", `[].all(x, x) && ![].exists(x, x)`, yes, nil, nil},
		{"non-bool predicate", `[1].all(x, x)`, compileErrWith("no matching overload"), nil, nil},
		{"bad range", `1.all(x, true)`, compileErrWith("cannot be range of a comprehension"), nil, nil},
		{"range not a name", `[1].all(1, true)`, compileErrWith("argument must be a simple name"), nil, nil},
		{"has needs a field", `has(device)`, compileErrWith("invalid argument to has() macro"), nil, nil},
		{"bind", `cel.bind(x, 2, cel.bind(y, x * 2, y == 4))`, yes, nil, nil},
	})
}

func TestFunctions(t *testing.T) {
	runCases(t, []testCase{
		{"size", `size("héllo") == 5 && size(b"ab") == 2 && [1].size() == 1 && {"a": 1}.size() == 1`, yes, nil, nil},
		{"conversions", `int("12") == 12 && uint(3) == 3u && double(2) == 2.0 && string(1.5) == "1.5" && bool("true") && bytes("a") == b"a"`, yes, nil, nil},
		{"int truncates", `int(2.9) == 2 && int(-2.9) == -2`, yes, nil, nil},
		{"constant conversion error", `int("x") == 1`, compileErrWith("type conversion error"), nil, nil},
		{"constant overflow", `int(1e20) == 1`, compileErrWith("integer overflow"), nil, nil},
		{"runtime conversion error", `int(device.attributes["dra.example.com"].model) == 1`, matchErrWith("type conversion error"), nil, nil},
		{"string predicates", `"abc".contains("b") && "abc".startsWith("a") && "abc".endsWith("c")`, yes, nil, nil},
		{"matches", `"abc".matches("^a.c$") && matches("abc", "b")`, yes, nil, nil},
		{"invalid constant regex", `"a".matches("(")`, compileErrWith("invalid matches argument"), nil, nil},
		{"invalid dynamic regex", `"a".matches(device.driver + "(")`, matchErrWith("error parsing regexp"), nil, nil},
		{"find", `"abc123".find("[0-9]+") == "123" && "a1b2".findAll("[0-9]") == ["1", "2"] && "a1b2".findAll("[0-9]", 1) == ["1"]`, yes, nil, nil},
		{"ext strings", `"héllo".charAt(1) == "é" && "héllo".indexOf("l") == 2 && "héllo".lastIndexOf("l") == 3 && "ABC".lowerAscii() == "abc" && "abc".upperAscii() == "ABC"`, yes, nil, nil},
		{"replace split join", `"a-b-c".replace("-", "+") == "a+b+c" && "a-b-c".replace("-", "", 1) == "ab-c" && "a,b".split(",") == ["a", "b"] && ["a", "b"].join("-") == "a-b"`, yes, nil, nil},
		{"substring trim", `"hello".substring(1, 3) == "el" && "hello".substring(3) == "lo" && " x ".trim() == "x"`, yes, nil, nil},
		{"substring out of range", `"abc".substring(4) == ""`, matchErrWith("index out of range: 4"), nil, nil},
		{"lists", `[1, 2, 3].sum() == 6 && [3, 1].min() == 1 && [3, 1].max() == 3 && [1, 2].isSorted() && [1, 2, 1].lastIndexOf(1) == 2 && [1, 2].indexOf(2) == 1`, yes, nil, nil},
		{"min of empty list", `[].min() == 1`, matchErrWith("min called on empty list"), nil, nil},
		{"quantity", `quantity("1Ki").add(quantity("1")).asInteger() == 1025 && sign(quantity("1").sub(2)) == -1 && sign(quantity("-1")) == -1`, yes, nil, nil},
		{"quantity methods", `quantity("1.5").isInteger() == false && quantity("1e3").asApproximateFloat() == 1000.0 && quantity("1") == quantity("1000m")`, yes, nil, nil},
		{"asInteger of fraction", `quantity("1.5").asInteger() == 1`, matchErrWith("cannot convert value to integer"), nil, nil},
		{"invalid quantity", `quantity("bad").isInteger()`, matchErrWith("quantities must match"), nil, nil},
		{"isQuantity", `isQuantity("1Gi") && !isQuantity("1 Gi")`, yes, nil, nil},
		{"semver", `semver("1.2.3").major() == 1 && semver("1.2.3").minor() == 2 && semver("1.2.3").patch() == 3`, yes, nil, nil},
		{"semver precedence", `semver("1.0.0-alpha").isLessThan(semver("1.0.0-alpha.1")) && semver("1.0.0-2").isLessThan(semver("1.0.0-10")) && semver("1.0.0-rc.1").isLessThan(semver("1.0.0"))`, yes, nil, nil},
		{"semver build ignored", `semver("1.2.3+b") == semver("1.2.3")`, yes, nil, nil},
		{"semver normalize", `semver("v01.2", true) == semver("1.2.0") && isSemver("v1", true) && !isSemver("v1")`, yes, nil, nil},
		{"invalid semver", `semver("1.2").major() == 1`, matchErrWith("invalid semantic version"), nil, nil},
		{"semver compared with string", `device.attributes["dra.example.com"].ver == "1.2.3-rc.1"`, matchErrWith("no such overload"), nil, nil},
		{"includes", `[1, 2].includes(2) && "a".includes("a")`, yes, nil, nil},
		{"undeclared function", `foo()`, compileErrWith("undeclared reference to 'foo'"), nil, nil},
		{"wrong argument type", `"a".startsWith(1)`, compileErrWith("found no matching overload for 'startsWith'"), nil, nil},
		{"global form of member function", `startsWith("a", "b")`, compileErrWith("found no matching overload"), nil, nil},
	})
}

func TestUnsupported(t *testing.T) {
	for _, tc := range []struct{ expr, construct string }{
		{`device.attributes["dra.example.com"].?model.orValue("") == ""`, "optional field selection"},
		{`optional.of(1).hasValue()`, `the function "optional.of"`},
		{`type(1) == int`, `the function "type"`},
		{`int == int`, `the type identifier "int"`},
		{`[1].all(i, v, v > 0)`, `macro "all" with two variables`},
		{`[1].transformList(i, v, v) == [1]`, `macro "transformList"`},
		{`timestamp("2020-01-01T00:00:00Z") > timestamp("2019-01-01T00:00:00Z")`, `the function "timestamp"`},
		{`"%s".format(["a"]) == "a"`, `the function "format"`},
		{`sets.contains([1], [1])`, `the function "sets.contains"`},
		{`[2, 1].sort() == [1, 2]`, `the function "sort"`},
		{`isIP("1.2.3.4")`, `the function "isIP"`},
		{`url("https://a").getHost() == "a"`, `the function "url"`},
		{`google.protobuf.Int64Value{value: 1} == 1`, `message construction`},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Compile(tc.expr)
			var u *UnsupportedError
			if !errors.As(err, &u) {
				t.Fatalf("Compile(%q) = %v, want an UnsupportedError", tc.expr, err)
			}
			if !strings.Contains(u.Construct, tc.construct) {
				t.Errorf("construct %q, want %q", u.Construct, tc.construct)
			}
			if want := "selector uses " + u.Construct + ", which berth does not evaluate"; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestCostLimit(t *testing.T) {
	runCases(t, []testCase{
		{"nested macros", `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, true))))))`, matchErrWith("cost limit exceeded"), nil, nil},
		{"growing strings", `cel.bind(s, device.driver + device.driver, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, s.size() > 0))))))))))`, matchErrWith("cost limit exceeded"), nil, nil},
		{"growing replace", `device.driver.replace("", device.driver).replace("", device.driver).replace("", device.driver).replace("", device.driver).replace("", device.driver).replace("", device.driver).size() > 0`, matchErrWith("cost limit exceeded"), nil, nil},
		{"within the limit", `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, true)))`, yes, nil, nil},
	})
}

func TestResultType(t *testing.T) {
	runCases(t, []testCase{
		{"int", `1 + 1`, compileErrWith("not int"), nil, nil},
		{"string", `device.driver`, compileErrWith("not string"), nil, nil},
		{"list", `[true]`, compileErrWith("not list(bool)"), nil, nil},
		{"map", `device.attributes`, compileErrWith("not map(string, map(string, dyn))"), nil, nil},
		{"null", `null`, compileErrWith("not null_type"), nil, nil},
		{"dyn", `dyn(true)`, yes, nil, nil},
		{"dyn attribute", `device.attributes["dra.example.com"].ok`, yes, nil, nil},
	})
}

// TestConcurrentMatch runs one program from many goroutines (go test -race checks the sharing).
func TestConcurrentMatch(t *testing.T) {
	p, err := Compile(`device.attributes["dra.example.com"].ints.exists(x, x == 2) && cel.bind(m, device.attributes["dra.example.com"].model, m.startsWith("a"))`)
	if err != nil {
		t.Fatal(err)
	}
	dev := testDevice()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if ok, err := p.Match(driver, dev); err != nil || !ok {
					t.Errorf("Match = %v, %v", ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestMatchAllocations guards the promise of the package doc: common selectors allocate nothing.
func TestMatchAllocations(t *testing.T) {
	for _, s := range benchSelectors {
		if s.name == "macro" {
			continue // iterating a domain lists its names
		}
		p, err := Compile(s.expr)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = p.Match("gpu.example.com", benchDevice) }); n != 0 {
			t.Errorf("%s: %v allocations per Match, want 0", s.name, n)
		}
	}
}
