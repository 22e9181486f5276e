package devicecel

import (
	"fmt"
	"strings"
)

// tkind is the kind of a static type.
type tkind uint8

const (
	tDyn tkind = iota
	tBool
	tInt
	tUint
	tDouble
	tString
	tBytes
	tNull
	tList
	tMap
	tQuantity
	tSemver
	tDevice
	tParam // a type parameter of a function overload, named by name
	tFree  // the unknown element type of an empty literal: it unifies with anything
)

// typ is a static type of the checker.
type typ struct {
	k    tkind
	elem *typ // list element, map value
	key  *typ // map key
	name string
}

var (
	dynType      = &typ{k: tDyn}
	boolType     = &typ{k: tBool}
	intType      = &typ{k: tInt}
	uintType     = &typ{k: tUint}
	doubleType   = &typ{k: tDouble}
	stringType   = &typ{k: tString}
	bytesType    = &typ{k: tBytes}
	nullType     = &typ{k: tNull}
	quantityType = &typ{k: tQuantity}
	semverType   = &typ{k: tSemver}
	deviceType   = &typ{k: tDevice}
	freeType     = &typ{k: tFree}

	// The device's fields, as upstream declares them for stored expressions (the environment
	// kube-scheduler compiles selectors in): attribute values are dyn, so that list-valued
	// attributes type-check too.
	attributesType = mapOf(stringType, mapOf(stringType, dynType))
	capacityType   = mapOf(stringType, mapOf(stringType, quantityType))
	deviceFields   = map[string]*typ{
		"driver":                   stringType,
		"attributes":               attributesType,
		"capacity":                 capacityType,
		"allowMultipleAllocations": boolType,
	}
)

func listOfT(e *typ) *typ  { return &typ{k: tList, elem: e} }
func mapOf(k, v *typ) *typ { return &typ{k: tMap, key: k, elem: v} }

func (t *typ) String() string {
	switch t.k {
	case tDyn, tFree:
		return "dyn"
	case tBool:
		return "bool"
	case tInt:
		return "int"
	case tUint:
		return "uint"
	case tDouble:
		return "double"
	case tString:
		return "string"
	case tBytes:
		return "bytes"
	case tNull:
		return "null_type"
	case tList:
		return fmt.Sprintf("list(%s)", t.elem)
	case tMap:
		return fmt.Sprintf("map(%s, %s)", t.key, t.elem)
	case tQuantity:
		return "kubernetes.Quantity"
	case tSemver:
		return "kubernetes.Semver"
	case tDevice:
		return "kubernetes.DRADevice"
	case tParam:
		return "<" + t.name + ">"
	}
	return "?"
}

func isDyn(t *typ) bool { return t.k == tDyn || t.k == tFree }

// sameType is the strict equality CEL's homogeneous aggregate literals require: dyn equals only
// dyn; the unknown element type of an empty literal equals anything.
func sameType(a, b *typ) bool {
	if a.k == tFree || b.k == tFree {
		return true
	}
	if a.k != b.k {
		return false
	}
	switch a.k {
	case tList:
		return sameType(a.elem, b.elem)
	case tMap:
		return sameType(a.key, b.key) && sameType(a.elem, b.elem)
	}
	return true
}

// bindings maps type parameter names to the types they stand for in one overload match.
type bindings map[string]*typ

// assignable reports whether a value of type arg can be passed for param, binding param's type
// parameters. Like CEL's checker, dyn is assignable to and from anything.
func assignable(param, arg *typ, b bindings) bool {
	if param.k == tParam {
		if bound, ok := b[param.name]; ok {
			if isDyn(bound) {
				return true
			}
			if isDyn(arg) {
				return true
			}
			if assignable(bound, arg, b) {
				return true
			}
			// A later argument may be more general (an int after a dyn-free null, say).
			return false
		}
		b[param.name] = arg
		return true
	}
	if isDyn(param) || isDyn(arg) {
		return true
	}
	if param.k != arg.k {
		return false
	}
	switch param.k {
	case tList:
		return assignable(param.elem, arg.elem, b)
	case tMap:
		return assignable(param.key, arg.key, b) && assignable(param.elem, arg.elem, b)
	}
	return true
}

// substitute replaces bound type parameters in t; unbound ones become dyn.
func substitute(t *typ, b bindings) *typ {
	switch t.k {
	case tParam:
		if bound, ok := b[t.name]; ok && bound.k != tParam {
			if bound.k == tFree {
				return dynType
			}
			return bound
		}
		return dynType
	case tList:
		return listOfT(substitute(t.elem, b))
	case tMap:
		return mapOf(substitute(t.key, b), substitute(t.elem, b))
	}
	return t
}

func equivalent(a, b *typ) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case tList:
		return equivalent(a.elem, b.elem)
	case tMap:
		return equivalent(a.key, b.key) && equivalent(a.elem, b.elem)
	case tParam:
		return a.name == b.name
	}
	return true
}

// parseType reads the small type notation of the declarations in funcs.go:
// int, list(A), map(A, B), dyn, and single upper-case letters for type parameters.
func parseType(s string) *typ {
	s = strings.TrimSpace(s)
	switch s {
	case "dyn":
		return dynType
	case "bool":
		return boolType
	case "int":
		return intType
	case "uint":
		return uintType
	case "double":
		return doubleType
	case "string":
		return stringType
	case "bytes":
		return bytesType
	case "null":
		return nullType
	case "quantity":
		return quantityType
	case "semver":
		return semverType
	}
	if strings.HasPrefix(s, "list(") {
		return listOfT(parseType(s[5 : len(s)-1]))
	}
	if strings.HasPrefix(s, "map(") {
		k, v, _ := strings.Cut(s[4:len(s)-1], ",")
		return mapOf(parseType(k), parseType(v))
	}
	if len(s) == 1 && s[0] >= 'A' && s[0] <= 'Z' {
		return &typ{k: tParam, name: s}
	}
	panic("devicecel: bad type in declaration: " + s)
}
