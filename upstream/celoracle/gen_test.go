package celoracle

import (
	"fmt"
	"math/rand"
)

// gen writes random expressions from a small typed grammar over the corpus devices: mostly
// well-typed, sometimes not (dyn attributes of the wrong type, missing keys, overflow), so that
// both evaluators meet the same errors. The seed is fixed: the corpus is the same every run.
type gen struct {
	r     *rand.Rand
	depth int
	vars  []string // comprehension variables in scope (all of type int)
}

func generated(n int) []string {
	g := &gen{r: rand.New(rand.NewSource(1))}
	out := make([]string, 0, n)
	for len(out) < n {
		g.depth = 0
		out = append(out, g.boolean())
	}
	return out
}

func (g *gen) pick(options ...string) string { return options[g.r.Intn(len(options))] }

func (g *gen) deeper() bool { return g.depth < 4 && g.r.Intn(3) > 0 }

func (g *gen) nest(f func() string) string {
	g.depth++
	defer func() { g.depth-- }()
	return f()
}

func (g *gen) attr(names ...string) string {
	domain := g.pick(`"dra.example.com"`, `"dra.example.com"`, `"other.com"`, `"gpu.vendor.io"`, `device.driver`)
	name := g.pick(names...)
	if g.r.Intn(2) == 0 {
		return fmt.Sprintf(`device.attributes[%s].%s`, domain, name)
	}
	return fmt.Sprintf(`device.attributes[%s][%q]`, domain, name)
}

func (g *gen) boolean() string {
	if !g.deeper() {
		return g.pick(`true`, `false`, g.attr("ok", "off"), `device.allowMultipleAllocations`,
			fmt.Sprintf(`has(%s)`, g.attr("model", "cores", "nope", "ints")),
			fmt.Sprintf(`%q in device.attributes`, g.pick("dra.example.com", "other.com", "x")),
			fmt.Sprintf(`%q in device.attributes[%q]`, g.pick("model", "cores", "x"), g.pick("dra.example.com", "gpu.vendor.io")))
	}
	return g.nest(func() string {
		switch g.r.Intn(12) {
		case 0:
			return fmt.Sprintf(`%s && %s`, g.boolean(), g.boolean())
		case 1:
			return fmt.Sprintf(`(%s || %s)`, g.boolean(), g.boolean())
		case 2:
			return fmt.Sprintf(`!(%s)`, g.boolean())
		case 3:
			return fmt.Sprintf(`%s %s %s`, g.integer(), g.pick("==", "!=", "<", "<=", ">", ">="), g.integer())
		case 4:
			return fmt.Sprintf(`%s %s %s`, g.str(), g.pick("==", "!=", "<", ">="), g.str())
		case 5:
			return fmt.Sprintf(`%s.%s(%s)`, g.str(), g.pick("startsWith", "endsWith", "contains", "matches"), g.str())
		case 6:
			return fmt.Sprintf(`%s in %s`, g.integer(), g.list())
		case 7:
			v := g.newVar()
			defer g.popVar()
			return fmt.Sprintf(`%s.%s(%s, %s)`, g.list(), g.pick("all", "exists", "exists_one"), v, g.boolean())
		case 8:
			return fmt.Sprintf(`(%s ? %s : %s)`, g.boolean(), g.boolean(), g.boolean())
		case 9:
			return fmt.Sprintf(`%s.compareTo(%s) %s 0`, g.quantity(), g.quantity(), g.pick("==", "<", ">="))
		case 10:
			return fmt.Sprintf(`%s.%s(%s)`, g.version(), g.pick("isGreaterThan", "isLessThan"), g.version())
		default:
			return fmt.Sprintf(`%s == %s`, g.list(), g.list())
		}
	})
}

func (g *gen) newVar() string {
	v := fmt.Sprintf("v%d", len(g.vars))
	g.vars = append(g.vars, v)
	return v
}

func (g *gen) popVar() { g.vars = g.vars[:len(g.vars)-1] }

func (g *gen) integer() string {
	if !g.deeper() {
		opts := []string{`0`, `1`, `-1`, `7`, `9223372036854775807`, `-9223372036854775808`, g.attr("cores", "x", "numa", "model")}
		opts = append(opts, g.vars...)
		return g.pick(opts...)
	}
	return g.nest(func() string {
		switch g.r.Intn(7) {
		case 0:
			return fmt.Sprintf(`(%s %s %s)`, g.integer(), g.pick("+", "-", "*", "/", "%"), g.integer())
		case 1:
			return fmt.Sprintf(`size(%s)`, g.str())
		case 2:
			return fmt.Sprintf(`%s.size()`, g.list())
		case 3:
			return fmt.Sprintf(`int(%s)`, g.pick(`"12"`, `1.5`, `2u`, g.str()))
		case 4:
			return fmt.Sprintf(`%s.%s(%s)`, g.str(), g.pick("indexOf", "lastIndexOf"), g.str())
		case 5:
			return fmt.Sprintf(`%s[%s]`, g.list(), g.integer())
		default:
			return fmt.Sprintf(`%s.%s()`, g.version(), g.pick("major", "minor", "patch"))
		}
	})
}

func (g *gen) str() string {
	if !g.deeper() {
		return g.pick(`""`, `"a"`, `"a100"`, `"é"`, `"dra"`, `device.driver`, g.attr("model", "uni", "pci", "empty", "cores"))
	}
	return g.nest(func() string {
		switch g.r.Intn(6) {
		case 0:
			return fmt.Sprintf(`(%s + %s)`, g.str(), g.str())
		case 1:
			return fmt.Sprintf(`%s.%s()`, g.str(), g.pick("lowerAscii", "upperAscii", "trim"))
		case 2:
			return fmt.Sprintf(`%s.substring(%s)`, g.str(), g.pick("0", "1", "3"))
		case 3:
			return fmt.Sprintf(`string(%s)`, g.integer())
		case 4:
			return fmt.Sprintf(`%s.replace(%s, %s)`, g.str(), g.str(), g.str())
		default:
			return fmt.Sprintf(`%s.join(%q)`, g.strList(), g.pick("", ","))
		}
	})
}

func (g *gen) strList() string {
	return g.pick(`["a", "b"]`, `[]`, `device.attributes["gpu.vendor.io"].strs`, `device.driver.split(".")`,
		fmt.Sprintf(`%s.split(%q)`, g.attr("uni", "pci"), g.pick(" ", ":", "")))
}

func (g *gen) list() string {
	if !g.deeper() {
		return g.pick(`[1, 2, 3]`, `[]`, `[0]`, `device.attributes["gpu.vendor.io"].ints`, `device.attributes["gpu.vendor.io"].noints`, g.attr("ints", "cores"))
	}
	return g.nest(func() string {
		v := g.newVar()
		defer g.popVar()
		switch g.r.Intn(3) {
		case 0:
			return fmt.Sprintf(`%s.map(%s, %s)`, g.list(), v, g.integer())
		case 1:
			return fmt.Sprintf(`%s.filter(%s, %s)`, g.list(), v, g.boolean())
		default:
			return fmt.Sprintf(`(%s + %s)`, g.list(), g.list())
		}
	})
}

func (g *gen) quantity() string {
	return g.pick(`quantity("1Gi")`, `quantity("1500m")`, `device.capacity["dra.example.com"].memory`,
		`device.capacity[device.driver]["milli"]`, `device.capacity["other.com"].slots`,
		fmt.Sprintf(`quantity(%q).add(%s)`, g.pick("1", "2k", "-1"), g.pick("1", `quantity("1Mi")`)))
}

func (g *gen) version() string {
	return g.pick(`semver("1.0.0")`, `semver("1.2.3-rc.1")`, `semver("v2", true)`, g.attr("ver", "driverVersion", "model"),
		`device.attributes["gpu.vendor.io"].vers[0]`)
}
