package devicecel

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
)

// Program is a compiled selector. It holds no per-evaluation state: Match may be called from
// many goroutines at once.
type Program struct {
	expr   string
	eval   evalFn
	slots  int
	result *typ // bool or dyn
}

// evalFn evaluates one node of the expression. Errors are values (kError), so that && and ||
// can absorb them as CEL requires.
type evalFn func(e *evalEnv) value

// Compile parses and checks expr as a DRA device selector.
func Compile(expr string) (*Program, error) {
	x, err := parse(expr)
	if err != nil {
		return nil, err
	}
	c := &checker{}
	t, err := c.check(x)
	if err != nil {
		return nil, err
	}
	if t.k != tBool && t.k != tDyn {
		return nil, fmt.Errorf("must evaluate to bool or the unknown type, not %s", t)
	}
	b := &builder{}
	n, err := b.build(x)
	if err != nil {
		return nil, err
	}
	return &Program{expr: expr, eval: n.fn, slots: c.slots, result: t}, nil
}

// String returns the expression the program was compiled from.
func (p *Program) String() string { return p.expr }

// Match evaluates the program for device d of driver `driver` (the ResourceSlice's
// spec.driver). It returns an error where upstream's evaluation fails: a runtime error of the
// expression, the cost limit, a result that is not a bool, or a device attribute without a
// valid value.
func (p *Program) Match(driver string, d *resourceapi.Device) (bool, error) {
	if d == nil {
		return false, errors.New("no device")
	}
	if err := checkDevice(d); err != nil {
		return false, err
	}
	e := envPool.Get().(*evalEnv)
	e.driver, e.dev, e.cost = driver, d, 0
	if cap(e.vars) < p.slots {
		e.vars = make([]value, p.slots)
	}
	e.vars = e.vars[:p.slots]
	v := p.eval(e)
	cost := e.cost
	clear(e.vars)
	e.dev = nil
	envPool.Put(e)
	if cost > CostLimit {
		return false, errCost
	}
	switch v.k {
	case kBool:
		return v.b(), nil
	case kError:
		return false, v.err()
	}
	return false, fmt.Errorf("CEL result of type %s could not be converted to bool", v.typeName())
}

// node is a built closure. A constant node also carries its value so that its users can fold;
// a view node (the device and its maps) carries a value known at compile time that still
// depends on the device, so that selections from it can be specialized but not folded.
type node struct {
	fn      evalFn
	isConst bool
	view    bool
	c       value
	// lit marks what upstream's planner treats as a constant: literals, lists and maps of them,
	// and type conversions of them. Its folding differs from ours in two observable ways: a
	// conversion of such a constant that fails is a compile error, and x in a constant list
	// becomes a set lookup.
	lit bool
}

func viewNode(v value) node {
	return node{fn: func(*evalEnv) value { return v }, view: true, c: v}
}

func constNode(v value) node {
	return node{fn: func(*evalEnv) value { return v }, isConst: true, c: v}
}

type builder struct{}

// conversions are CEL's type conversion functions: like upstream, a conversion of a constant
// that fails is a compile error rather than a runtime error.
var conversions = map[string]bool{"int": true, "uint": true, "double": true, "string": true, "bool": true, "bytes": true, "dyn": true}

func (b *builder) build(x *expr) (node, error) {
	switch x.kind {
	case xLit:
		n := constNode(x.lit)
		n.lit = true
		return n, nil
	case xIdent:
		if x.slot < 0 {
			return viewNode(value{k: kDevice}), nil
		}
		slot := x.slot
		return node{fn: func(e *evalEnv) value { return e.vars[slot] }}, nil
	case xSelect:
		return b.buildSelect(x)
	case xList:
		return b.buildList(x)
	case xMap:
		return b.buildMap(x)
	case xComp:
		return b.buildComp(x)
	case xBind:
		init, err := b.build(x.args[0])
		if err != nil {
			return node{}, err
		}
		body, err := b.build(x.args[1])
		if err != nil {
			return node{}, err
		}
		slot, initFn, bodyFn := x.slot, init.fn, body.fn
		return node{fn: func(e *evalEnv) value {
			e.vars[slot] = initFn(e)
			return bodyFn(e)
		}}, nil
	case xCall:
		return b.buildCall(x)
	}
	return node{}, fmt.Errorf("unexpected expression at offset %d", x.pos)
}

// fold evaluates a node whose operands are constants.
func fold(fn evalFn) value {
	e := &evalEnv{dev: &resourceapi.Device{}}
	v := fn(e)
	if e.cost > CostLimit {
		return valCost
	}
	return v
}

func (b *builder) buildSelect(x *expr) (node, error) {
	t, err := b.build(x.target)
	if err != nil {
		return node{}, err
	}
	name := x.name
	if t.view && t.c.k == kDevice {
		return deviceField(name, x.test), nil
	}
	if t.view && (t.c.n == viewAttrDomain || t.c.n == viewCapDomain) {
		return domainLookup(t.c, name, x.test), nil
	}
	if t.view && (t.c.n == viewAttributes || t.c.n == viewCapacity) && !x.test {
		return viewNode(domainView(t.c, name)), nil
	}
	if t.view && (t.c.n == viewAttributes || t.c.n == viewCapacity) && x.test {
		// Upstream's outer maps answer any domain: has() is always true.
		return constNode(valTrue), nil
	}
	key := stringVal(name)
	noKey := noSuchKey(key)
	target := t.fn
	if x.test {
		return node{fn: func(e *evalEnv) value {
			e.cost++
			m := target(e)
			switch m.k {
			case kError:
				return m
			case kMap:
				_, ok := e.mapGet(m, key)
				return boolVal(ok)
			case kDevice:
				return valTrue
			}
			return valFalse
		}}, nil
	}
	return node{fn: func(e *evalEnv) value {
		e.cost++
		m := target(e)
		switch m.k {
		case kError:
			return m
		case kMap:
			if v, ok := e.mapGet(m, key); ok {
				return v
			}
		case kDevice:
			return deviceField(name, false).fn(e)
		}
		return noKey
	}}, nil
}

func deviceField(name string, test bool) node {
	if test {
		return constNode(valTrue)
	}
	switch name {
	case "driver":
		return node{fn: func(e *evalEnv) value { return stringVal(e.driver) }}
	case "allowMultipleAllocations":
		return node{fn: func(e *evalEnv) value {
			return boolVal(e.dev.AllowMultipleAllocations != nil && *e.dev.AllowMultipleAllocations)
		}}
	case "attributes":
		return viewNode(value{k: kMap, n: viewAttributes})
	}
	return viewNode(value{k: kMap, n: viewCapacity})
}

// domainLookup reads device.attributes[domain][name] or device.capacity[domain][name] with
// both constant: the keys the device may store them under are computed once, here.
func domainLookup(view value, name string, test bool) node {
	domain := view.s
	plain := resourceapi.QualifiedName(name)
	qualified := resourceapi.QualifiedName(domain + "/" + name)
	plainOK := !strings.Contains(name, "/")
	if strings.Contains(domain, "/") {
		if test {
			return constNode(valFalse)
		}
		return constNode(noSuchKey(stringVal(name)))
	}
	noKey := noSuchKey(stringVal(name))
	if view.n == viewAttrDomain {
		return node{fn: func(e *evalEnv) value {
			e.cost++
			a, ok := e.dev.Attributes[qualified]
			if plainOK && domain == e.driver {
				if p, found := e.dev.Attributes[plain]; found {
					a, ok = p, true
				}
			}
			if test {
				return boolVal(ok)
			}
			if !ok {
				return noKey
			}
			return attrValue(&a)
		}}
	}
	return node{fn: func(e *evalEnv) value {
		e.cost++
		if plainOK && domain == e.driver {
			if _, ok := e.dev.Capacity[plain]; ok {
				if test {
					return valTrue
				}
				return value{k: kQuantity, s: name}
			}
		}
		if _, ok := e.dev.Capacity[qualified]; ok {
			if test {
				return valTrue
			}
			return value{k: kQuantity, s: string(qualified)}
		}
		if test {
			return valFalse
		}
		return noKey
	}}
}

func (b *builder) buildList(x *expr) (node, error) {
	elems, allConst, allLit, err := b.buildAll(x.args)
	if err != nil {
		return node{}, err
	}
	fn := func(e *evalEnv) value {
		e.cost++
		out := make(listOf, len(elems))
		for i, el := range elems {
			v := el(e)
			if v.k == kError {
				return v
			}
			out[i] = v
		}
		return listVal(out)
	}
	if allConst {
		n := constNode(fold(fn))
		n.lit = allLit
		return n, nil
	}
	return node{fn: fn}, nil
}

func (b *builder) buildMap(x *expr) (node, error) {
	parts, allConst, allLit, err := b.buildAll(x.args)
	if err != nil {
		return node{}, err
	}
	fn := func(e *evalEnv) value {
		e.cost++
		m := &mapValue{}
		for i := 0; i < len(parts); i += 2 {
			k := parts[i](e)
			if k.k == kError {
				return k
			}
			switch k.k {
			case kInt, kUint, kBool, kString:
			default:
				return errVal(fmt.Errorf("unsupported key type: %s", k.typeName()))
			}
			v := parts[i+1](e)
			if v.k == kError {
				return v
			}
			if i, dup := m.index(k); dup {
				m.vals[i] = v // the last entry for a key wins
				continue
			}
			m.keys = append(m.keys, k)
			m.vals = append(m.vals, v)
		}
		return value{k: kMap, r: m}
	}
	if allConst {
		n := constNode(fold(fn))
		n.lit = allLit
		return n, nil
	}
	return node{fn: fn}, nil
}

func (b *builder) buildAll(xs []*expr) (fns []evalFn, allConst, allLit bool, err error) {
	fns = make([]evalFn, len(xs))
	allConst, allLit = true, true
	for i, a := range xs {
		n, err := b.build(a)
		if err != nil {
			return nil, false, false, err
		}
		fns[i] = n.fn
		allConst = allConst && n.isConst
		allLit = allLit && n.lit
	}
	return fns, allConst, allLit, nil
}

// rangeOf returns the elements a macro iterates: a list's elements or a map's keys.
func rangeOf(e *evalEnv, v value) (list, value) {
	switch v.k {
	case kError:
		return nil, v
	case kList:
		return v.list(), value{}
	case kMap:
		return listOf(e.mapKeys(v)), value{}
	}
	return nil, errVal(fmt.Errorf("got '%s', expected iterable type", v.typeName()))
}

func (b *builder) buildComp(x *expr) (node, error) {
	rng, err := b.build(x.target)
	if err != nil {
		return node{}, err
	}
	args, _, _, err := b.buildAll(x.args)
	if err != nil {
		return node{}, err
	}
	slot, rangeFn, body := x.slot, rng.fn, args[0]
	step := func(e *evalEnv, item value) bool {
		e.vars[slot] = item
		return e.charge(3) // like cel-go: the loop condition, the step and the variable
	}
	switch x.name {
	case "all", "exists":
		stop := x.name == "exists" // exists stops at true, all at false
		return node{fn: func(e *evalEnv) value {
			items, ev := rangeOf(e, rangeFn(e))
			if items == nil {
				return ev
			}
			var firstErr value
			for i := 0; i < items.size(); i++ {
				if !step(e, items.at(i)) {
					return valCost
				}
				v := body(e)
				switch {
				case v.k == kBool && v.b() == stop:
					return v
				case v.k == kBool:
				case v.k == kError:
					if firstErr.k != kError {
						firstErr = v
					}
				default:
					if firstErr.k != kError {
						firstErr = valNoOverload
					}
				}
			}
			if firstErr.k == kError {
				return firstErr
			}
			return boolVal(!stop)
		}}, nil
	case "exists_one":
		return node{fn: func(e *evalEnv) value {
			items, ev := rangeOf(e, rangeFn(e))
			if items == nil {
				return ev
			}
			n := 0
			for i := 0; i < items.size(); i++ {
				if !step(e, items.at(i)) {
					return valCost
				}
				v := body(e)
				switch {
				case v.k == kError:
					return v
				case v.k != kBool:
					return valNoOverload
				case v.b():
					n++
				}
			}
			return boolVal(n == 1)
		}}, nil
	}
	// map and filter build a list.
	var pred, transform evalFn
	switch {
	case x.name == "filter":
		pred = body
	case len(args) == 2:
		pred, transform = args[0], args[1]
	default:
		transform = body
	}
	return node{fn: func(e *evalEnv) value {
		items, ev := rangeOf(e, rangeFn(e))
		if items == nil {
			return ev
		}
		out := listOf{}
		for i := 0; i < items.size(); i++ {
			item := items.at(i)
			if !step(e, item) {
				return valCost
			}
			if pred != nil {
				v := pred(e)
				if v.k == kError {
					return v
				}
				if v.k != kBool {
					return valNoOverload
				}
				if !v.b() {
					continue
				}
			}
			if transform != nil {
				item = transform(e)
				if item.k == kError {
					return item
				}
			}
			if !e.charge(uint64(len(out)) / 10) {
				return valCost
			}
			out = append(out, item)
		}
		return listVal(out)
	}}, nil
}

func (b *builder) buildCall(x *expr) (node, error) {
	var argExprs []*expr
	if x.target != nil {
		argExprs = append(argExprs, x.target)
	}
	argExprs = append(argExprs, x.args...)
	args := make([]node, len(argExprs))
	allConst := true
	for i, a := range argExprs {
		n, err := b.build(a)
		if err != nil {
			return node{}, err
		}
		args[i] = n
		allConst = allConst && n.isConst
	}
	if x.name == "@in" && args[1].lit && args[1].c.k == kList {
		if fn, ok := setMembership(args[0].fn, args[1].c.list()); ok {
			return node{fn: fn}, nil
		}
	}
	if x.name == "_[_]" && args[0].view && args[1].isConst && args[1].c.k == kString {
		// device.attributes["domain"], device.capacity["domain"]["name"] and the like.
		switch args[0].c.n {
		case viewAttributes, viewCapacity:
			return viewNode(domainView(args[0].c, args[1].c.s)), nil
		case viewAttrDomain, viewCapDomain:
			return domainLookup(args[0].c, args[1].c.s, false), nil
		}
	}
	fn, err := b.callFn(x, args)
	if err != nil {
		return node{}, err
	}
	if allConst {
		n := constNode(fold(fn))
		if conversions[x.name] && x.target == nil && args[0].lit {
			if n.c.k == kError {
				return node{}, fmt.Errorf("program instantiation failed: %v", n.c.err())
			}
			n.lit = true
		}
		return n, nil
	}
	return node{fn: fn}, nil
}

// callFn builds a call of an operator or function over its built arguments.
func (b *builder) callFn(x *expr, args []node) (evalFn, error) {
	if fn := b.operator(x.name, args); fn != nil {
		return fn, nil
	}
	f := lookupFn(x.name, x.target != nil)
	if f == nil {
		return nil, compileErr(x.pos, "undeclared reference to '%s'", x.name)
	}
	// A regular expression given as a constant is compiled once, and must compile.
	switch x.name {
	case "matches", "find", "findAll":
		if p := args[1]; p.isConst && p.c.k == kString {
			re, err := regexp.Compile(p.c.s)
			if err != nil {
				return nil, compileErr(x.argPos(1), "invalid matches argument: %v", err)
			}
			return regexCall(x.name, re, args), nil
		}
	}
	a := make([]evalFn, len(args))
	for i, n := range args {
		a[i] = n.fn
	}
	switch {
	case len(a) == 1 && f.f1 != nil:
		f1, a0 := f.f1, a[0]
		return func(e *evalEnv) value {
			e.cost++
			v := a0(e)
			if v.k == kError {
				return v
			}
			return f1(e, v)
		}, nil
	case len(a) == 2 && f.f2 != nil:
		f2, a0, a1 := f.f2, a[0], a[1]
		return func(e *evalEnv) value {
			e.cost++
			v, w := a0(e), a1(e)
			if v.k == kError {
				return v
			}
			if w.k == kError {
				return w
			}
			return f2(e, v, w)
		}, nil
	case len(a) == 3 && f.f3 != nil:
		f3 := f.f3
		return func(e *evalEnv) value {
			e.cost++
			v, w, u := a[0](e), a[1](e), a[2](e)
			for _, r := range [...]value{v, w, u} {
				if r.k == kError {
					return r
				}
			}
			return f3(e, v, w, u)
		}, nil
	case len(a) == 4 && f.f4 != nil:
		f4 := f.f4
		return func(e *evalEnv) value {
			e.cost++
			v, w, u, t := a[0](e), a[1](e), a[2](e), a[3](e)
			for _, r := range [...]value{v, w, u, t} {
				if r.k == kError {
					return r
				}
			}
			return f4(e, v, w, u, t)
		}, nil
	}
	return nil, compileErr(x.pos, "no implementation of '%s' with %d arguments", x.name, len(a))
}

func (x *expr) argPos(i int) int {
	if x.target != nil {
		i--
	}
	if i >= 0 && i < len(x.args) {
		return x.args[i].pos
	}
	return x.pos
}

func regexCall(name string, re *regexp.Regexp, args []node) evalFn {
	subject := args[0].fn
	var limit evalFn
	if len(args) == 3 {
		limit = args[2].fn
	}
	return func(e *evalEnv) value {
		e.cost++
		s := subject(e)
		if s.k == kError {
			return s
		}
		if s.k != kString {
			return valNoOverload
		}
		if !e.charge(strCost(len(s.s))) {
			return valCost
		}
		switch name {
		case "matches":
			return boolVal(re.MatchString(s.s))
		case "find":
			return stringVal(re.FindString(s.s))
		}
		n := int64(-1)
		if limit != nil {
			l := limit(e)
			if l.k == kError {
				return l
			}
			if l.k != kInt {
				return valNoOverload
			}
			n = l.i()
		}
		if n > 1<<31 || n < -(1<<31) {
			n = -1
		}
		found := re.FindAllString(s.s, int(n))
		if found == nil {
			found = []string{}
		}
		return listVal(stringList(found))
	}
}

// domainView is device.attributes[domain] or device.capacity[domain].
func domainView(outer value, domain string) value {
	if outer.n == viewAttributes {
		return value{k: kMap, n: viewAttrDomain, s: domain}
	}
	return value{k: kMap, n: viewCapDomain, s: domain}
}
