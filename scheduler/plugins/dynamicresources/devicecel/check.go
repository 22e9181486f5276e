package devicecel

import (
	"strings"
)

// upstreamOnly lists the functions of upstream's selector environment that berth does not
// implement: calling one is an UnsupportedError, not an undeclared reference.
var upstreamOnly = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`allowed check cidr containsCIDR containsIP distinct duration error errored
		family fieldSelector first flatten format format.byte format.date format.datetime format.dns1035Label
		format.dns1035LabelPrefix format.dns1123Label format.dns1123LabelPrefix format.dns1123Subdomain
		format.dns1123SubdomainPrefix format.labelValue format.named format.qualifiedName format.uri format.uuid
		getDate getDayOfMonth getDayOfWeek getDayOfYear getEscapedPath getFullYear getHost getHostname getHours
		getMilliseconds getMinutes getMonth getPort getQuery getScheme getSeconds group hasValue ip ip.isCanonical
		isCIDR isGlobalUnicast isIP isLinkLocalMulticast isLinkLocalUnicast isLoopback isURL isUnspecified
		labelSelector last lists.range masked name namespace optional.none optional.of optional.ofNonZeroValue
		optional.unwrap or orValue path prefixLength reason resource reverse serviceAccount sets.contains
		sets.equivalent sets.intersects slice sort strings.quote subresource timestamp type unwrapOpt url
		validate value`) {
		m[n] = true
	}
	return m
}()

// typeNames are identifiers upstream resolves to type values (as in type(x) == int).
var typeNames = map[string]bool{
	"int": true, "uint": true, "double": true, "bool": true, "string": true, "bytes": true, "list": true,
	"map": true, "null_type": true, "type": true,
}

// Operator overloads, for the checker; compile.go implements them.
var operators = map[string][]sig{
	"_==_":  sigs("A, A -> bool"),
	"_!=_":  sigs("A, A -> bool"),
	"_&&_":  sigs("bool, bool -> bool"),
	"_||_":  sigs("bool, bool -> bool"),
	"!_":    sigs("bool -> bool"),
	"-_":    sigs("int -> int", "double -> double"),
	"_?_:_": sigs("bool, A, A -> A"),
	"_[_]":  sigs("list(A), int -> A", "map(A, B), A -> B"),
	"@in":   sigs("A, list(A) -> bool", "A, map(A, B) -> bool"),
	"_+_":   sigs("int, int -> int", "uint, uint -> uint", "double, double -> double", "string, string -> string", "bytes, bytes -> bytes", "list(A), list(A) -> list(A)"),
	"_-_":   sigs("int, int -> int", "uint, uint -> uint", "double, double -> double"),
	"_*_":   sigs("int, int -> int", "uint, uint -> uint", "double, double -> double"),
	"_/_":   sigs("int, int -> int", "uint, uint -> uint", "double, double -> double"),
	"_%_":   sigs("int, int -> int", "uint, uint -> uint"),
}

func init() {
	ordering := sigs("bool, bool -> bool", "int, int -> bool", "uint, uint -> bool", "double, double -> bool",
		"string, string -> bool", "bytes, bytes -> bool", "int, uint -> bool", "int, double -> bool",
		"uint, int -> bool", "uint, double -> bool", "double, int -> bool", "double, uint -> bool")
	for _, op := range []string{"_<_", "_<=_", "_>_", "_>=_"} {
		operators[op] = ordering
	}
}

// scopeVar is a variable of a macro or binding in scope.
type scopeVar struct {
	name string
	slot int
	t    *typ
}

type checker struct {
	scope []scopeVar
	slots int
}

// check type-checks e and everything below it, recording types and variable slots.
func (c *checker) check(e *expr) (*typ, error) {
	t, err := c.checkNode(e)
	if err != nil {
		return nil, err
	}
	e.t = t
	return t, nil
}

func (c *checker) lookupVar(name string) (scopeVar, bool) {
	for i := len(c.scope) - 1; i >= 0; i-- {
		if c.scope[i].name == name {
			return c.scope[i], true
		}
	}
	return scopeVar{}, false
}

func (c *checker) checkNode(e *expr) (*typ, error) {
	switch e.kind {
	case xLit:
		return litType(e.lit), nil
	case xIdent:
		if v, ok := c.lookupVar(e.name); ok {
			e.slot = v.slot
			return v.t, nil
		}
		if e.name == "device" {
			e.slot = -1
			return deviceType, nil
		}
		if typeNames[e.name] {
			return nil, unsupported(e.pos, "the type identifier %q", e.name)
		}
		return nil, compileErr(e.pos, "undeclared reference to '%s' (in container '')", e.name)
	case xSelect:
		return c.checkSelect(e)
	case xList:
		return c.checkList(e)
	case xMap:
		return c.checkMap(e)
	case xComp:
		return c.checkComp(e)
	case xBind:
		init, err := c.check(e.args[0])
		if err != nil {
			return nil, err
		}
		e.slot = c.newVar(e.iter, init)
		defer c.popVar()
		return c.check(e.args[1])
	case xCall:
		return c.checkCall(e)
	}
	return nil, compileErr(e.pos, "unexpected expression")
}

func (c *checker) newVar(name string, t *typ) int {
	slot := c.slots
	c.slots++
	c.scope = append(c.scope, scopeVar{name: name, slot: slot, t: t})
	return slot
}

func (c *checker) popVar() { c.scope = c.scope[:len(c.scope)-1] }

func litType(v value) *typ {
	switch v.k {
	case kBool:
		return boolType
	case kInt:
		return intType
	case kUint:
		return uintType
	case kDouble:
		return doubleType
	case kString:
		return stringType
	case kBytes:
		return bytesType
	}
	return nullType
}

func (c *checker) checkSelect(e *expr) (*typ, error) {
	t, err := c.check(e.target)
	if err != nil {
		return nil, err
	}
	var result *typ
	switch {
	case t.k == tDevice:
		ft, ok := deviceFields[e.name]
		if !ok {
			return nil, compileErr(e.pos, "undefined field '%s'", e.name)
		}
		result = ft
	case t.k == tMap:
		result = t.elem
	case isDyn(t):
		result = dynType
	default:
		return nil, compileErr(e.pos, "type '%s' does not support field selection", t)
	}
	if e.test {
		return boolType, nil
	}
	return result, nil
}

func (c *checker) checkList(e *expr) (*typ, error) {
	elem := freeType
	for i, a := range e.args {
		t, err := c.check(a)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			elem = t
			continue
		}
		if !sameType(elem, t) {
			return nil, compileErr(a.pos, "expected type '%s' but found '%s'", elem, t)
		}
		if hasFree(elem) {
			elem = t
		}
	}
	return listOfT(elem), nil
}

func (c *checker) checkMap(e *expr) (*typ, error) {
	key, val := freeType, freeType
	for i := 0; i < len(e.args); i += 2 {
		kt, err := c.check(e.args[i])
		if err != nil {
			return nil, err
		}
		vt, err := c.check(e.args[i+1])
		if err != nil {
			return nil, err
		}
		if i == 0 {
			key, val = kt, vt
			continue
		}
		if !sameType(key, kt) {
			return nil, compileErr(e.args[i].pos, "expected type '%s' but found '%s'", key, kt)
		}
		if !sameType(val, vt) {
			return nil, compileErr(e.args[i+1].pos, "expected type '%s' but found '%s'", val, vt)
		}
	}
	return mapOf(key, val), nil
}

func hasFree(t *typ) bool {
	switch t.k {
	case tFree:
		return true
	case tList:
		return hasFree(t.elem)
	case tMap:
		return hasFree(t.key) || hasFree(t.elem)
	}
	return false
}

func (c *checker) checkComp(e *expr) (*typ, error) {
	rt, err := c.check(e.target)
	if err != nil {
		return nil, err
	}
	var iter *typ
	switch {
	case rt.k == tList:
		iter = rt.elem
	case rt.k == tMap:
		iter = rt.key
	case isDyn(rt):
		iter = dynType
	default:
		return nil, compileErr(e.target.pos, "expression of type '%s' cannot be range of a comprehension (must be list, map, or dynamic)", rt)
	}
	if iter.k == tFree {
		iter = dynType
	}
	e.slot = c.newVar(e.iter, iter)
	defer c.popVar()
	var last *typ
	for i, a := range e.args {
		t, err := c.check(a)
		if err != nil {
			return nil, err
		}
		last = t
		isPredicate := i == 0 && (e.name != "map" || len(e.args) == 2)
		if isPredicate && !assignable(boolType, t, bindings{}) {
			op := "_&&_"
			if e.name == "exists" {
				op = "_||_"
			} else if e.name != "all" {
				op = "_?_:_"
			}
			return nil, compileErr(a.pos, "found no matching overload for '%s' applied to '(bool, %s)'", op, t)
		}
	}
	switch e.name {
	case "map":
		return listOfT(last), nil
	case "filter":
		return listOfT(iter), nil
	}
	return boolType, nil
}

func (c *checker) checkCall(e *expr) (*typ, error) {
	// A namespaced global function (sets.contains(...)) parses as a member call on an
	// identifier that is not a variable.
	if e.target != nil && e.target.kind == xIdent && e.target.name != "device" {
		if _, ok := c.lookupVar(e.target.name); !ok {
			qualified := e.target.name + "." + e.name
			if upstreamOnly[qualified] {
				return nil, unsupported(e.pos, "the function %q", qualified)
			}
		}
	}
	var argTypes []*typ
	if e.target != nil {
		t, err := c.check(e.target)
		if err != nil {
			return nil, err
		}
		argTypes = append(argTypes, t)
	}
	for _, a := range e.args {
		t, err := c.check(a)
		if err != nil {
			return nil, err
		}
		argTypes = append(argTypes, t)
	}
	overloads, ok := operators[e.name]
	if !ok {
		f := lookupFn(e.name, e.target != nil)
		if f == nil {
			if upstreamOnly[e.name] || lookupFn(e.name, e.target == nil) != nil {
				if upstreamOnly[e.name] {
					return nil, unsupported(e.pos, "the function %q", e.name)
				}
				return nil, noMatch(e, argTypes)
			}
			return nil, compileErr(e.pos, "undeclared reference to '%s' (in container '')", e.name)
		}
		overloads = f.sigs
	}
	var result *typ
	for _, s := range overloads {
		if len(s.args) != len(argTypes) {
			continue
		}
		b := bindings{}
		match := true
		for i, p := range s.args {
			if !assignable(p, argTypes[i], b) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		r := substitute(s.res, b)
		if result == nil {
			result = r
		} else if !equivalent(result, r) {
			result = dynType
		}
	}
	if result == nil {
		if upstreamOnly[e.name] {
			// A name berth implements for some types only (none today), or an upstream overload.
			return nil, unsupported(e.pos, "the function %q", e.name)
		}
		return nil, noMatch(e, argTypes)
	}
	return result, nil
}

func noMatch(e *expr, args []*typ) error {
	names := make([]string, len(args))
	for i, t := range args {
		names[i] = t.String()
	}
	if e.target != nil {
		return compileErr(e.pos, "found no matching overload for '%s' applied to '%s.(%s)'", e.name, names[0], strings.Join(names[1:], ", "))
	}
	return compileErr(e.pos, "found no matching overload for '%s' applied to '(%s)'", e.name, strings.Join(names, ", "))
}
