package devicecel

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzCompileMatch checks that no expression panics, that Compile accepts only bool (or dyn)
// results, and that Match ends quickly within the cost limit.
func FuzzCompileMatch(f *testing.F) {
	for _, s := range benchSelectors {
		f.Add(s.expr)
	}
	for _, s := range []string{
		`device.attributes["dra.example.com"].model == "a100"`,
		`device.capacity["dra.example.com"].memory.compareTo(quantity("10Gi")) >= 0`,
		`"other.com" in device.attributes && device.attributes["other.com"].x < 0`,
		`cel.bind(d, device.attributes["dra.example.com"], d.cores > 4 && d.model.matches("^a[0-9]+$"))`,
		`device.attributes["dra.example.com"].ints.map(x, x * x).filter(x, x > 1).exists_one(x, x == 4)`,
		`device.attributes.all(d, device.attributes[d].all(n, n.size() > 0))`,
		`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, true))))))`,
		`device.driver.replace("", device.driver).replace("", device.driver).replace("", device.driver).replace("", device.driver).replace("", device.driver).replace("", device.driver).size() > 0`,
		`cel.bind(s, device.driver + device.driver, cel.bind(s, s + s + s + s, cel.bind(s, s + s + s + s, s.size() > 0)))`,
		`9223372036854775807 + 1 > 0 || 1 / 0 == 0 && -9223372036854775808 % -1 == 0`,
		`dyn(1) == 1.0 && dyn(1u) < 2 && double("NaN") != double("NaN")`,
		`"\x41\u00e4\U0001F600" + r"\n" + '''x''' == b"\xff".string()`,
		`{"a": [1, {"b": null}]}["a"][1].b == null`,
		`has(device.attributes.x) ? device.attributes.x.y : !false`,
		`((((((((((true))))))))))`,
		strings.Repeat("!", 300) + "true",
		strings.Repeat("[", 300) + strings.Repeat("]", 300),
		`semver("v1.2", true).isLessThan(semver("1.10.0-rc.1+b")) && isQuantity("1e3")`,
		`"héllo".substring(1, 3).charAt(1).indexOf("l", 0) == 0`,
		`[].max() > 0 || [dyn(1), dyn("a")].isSorted()`,
		`device.attributes["dra.example.com"].?model.orValue("")`,
		`?!`, `1`, `"`, `'''`, `r"`, `0x`, `1e`, `.`, `a.`, `[1,`, `{1:`, `()`,
	} {
		f.Add(s)
	}
	dev := testDevice()
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Compile(expr)
		if err != nil {
			var u *UnsupportedError
			if errors.As(err, &u) && u.Construct == "" {
				t.Errorf("UnsupportedError without a construct for %q", expr)
			}
			return
		}
		if p.result.k != tBool && p.result.k != tDyn {
			t.Fatalf("Compile(%q) accepted a result of type %s", expr, p.result)
		}
		start := time.Now()
		e := &evalEnv{driver: driver, dev: dev, vars: make([]value, p.slots)}
		v := p.eval(e)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Match(%q) took %v", expr, d)
		}
		// A charge is checked before the work it pays for, so an evaluation that ends without
		// the cost error stayed within the limit.
		if e.cost > CostLimit && !(v.k == kError && errors.Is(v.err(), errCost)) {
			t.Errorf("Match(%q) spent %d > %d without failing", expr, e.cost, CostLimit)
		}
		if v.k == kNone {
			t.Errorf("Match(%q) produced no value", expr)
		}
		if _, err := p.Match(driver, dev); err == nil && v.k != kBool {
			t.Errorf("Match(%q) succeeded with a %s result", expr, v.typeName())
		}
	})
}
