package devicecel

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// kind is the runtime type of a value.
type kind uint8

const (
	kNone  kind = iota // the zero value: no value (an unset result)
	kError             // r holds the error
	kNull
	kBool // n is 0 or 1
	kInt  // n holds the int64 bits
	kUint
	kDouble // n holds the float64 bits
	kString // s
	kBytes  // s holds the bytes
	kList   // r holds a list
	kMap    // r holds a mapValue, or s/n name a view of the device (see mapView)
	kQuantity
	kSemver // s holds a version that parses (see parseSemver)
	kDevice // the device variable itself
)

var kindNames = [...]string{
	kNone: "none", kError: "error", kNull: "null_type", kBool: "bool", kInt: "int", kUint: "uint", kDouble: "double",
	kString: "string", kBytes: "bytes", kList: "list", kMap: "map", kQuantity: "kubernetes.Quantity",
	kSemver: "kubernetes.Semver", kDevice: "kubernetes.DRADevice",
}

func (k kind) String() string { return kindNames[k] }

// value is one CEL value. It is passed by value and built without allocation for the scalar
// kinds, strings taken from the device, and the views of the device's attribute and capacity maps.
type value struct {
	k kind
	n uint64 // bool, int, uint, double bits; for a device view the view's kind (mapView)
	s string // string, bytes, semver text; for a device view the domain; for a capacity value its key
	r any    // error, list, mapValue, *resource.Quantity
}

var (
	valTrue  = value{k: kBool, n: 1}
	valFalse = value{k: kBool}
	valNull  = value{k: kNull}
)

func boolVal(b bool) value {
	if b {
		return valTrue
	}
	return valFalse
}
func intVal(i int64) value      { return value{k: kInt, n: uint64(i)} }
func uintVal(u uint64) value    { return value{k: kUint, n: u} }
func doubleVal(f float64) value { return value{k: kDouble, n: math.Float64bits(f)} }
func stringVal(s string) value  { return value{k: kString, s: s} }
func bytesVal(s string) value   { return value{k: kBytes, s: s} }
func listVal(l list) value      { return value{k: kList, r: l} }
func errVal(err error) value    { return value{k: kError, r: err} }

func (v value) b() bool          { return v.n != 0 }
func (v value) i() int64         { return int64(v.n) }
func (v value) f() float64       { return math.Float64frombits(v.n) }
func (v value) err() error       { return v.r.(error) }
func (v value) list() list       { return v.r.(list) }
func (v value) isErr() bool      { return v.k == kError }
func (v value) isBool() bool     { return v.k == kBool }
func (v value) isTrue() bool     { return v.k == kBool && v.n != 0 }
func (v value) isFalse() bool    { return v.k == kBool && v.n == 0 }
func (v value) typeName() string { return v.k.String() }

// Runtime errors. Their texts are CEL's.
var (
	errDivZero      = errors.New("division by zero")
	errModZero      = errors.New("modulus by zero")
	errOverflow     = errors.New("integer overflow")
	errUintOverflow = errors.New("unsigned integer overflow")
	errCost         = errors.New("operation cancelled: actual cost limit exceeded")
	errNoOverload   = errors.New("no such overload")
)

var (
	valDivZero      = errVal(errDivZero)
	valModZero      = errVal(errModZero)
	valOverflow     = errVal(errOverflow)
	valUintOverflow = errVal(errUintOverflow)
	valCost         = errVal(errCost)
	valNoOverload   = errVal(errNoOverload)
)

func noSuchKey(key value) value {
	return errVal(fmt.Errorf("no such key: %s", key.display()))
}

func noOverload(fn string, args ...value) value {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.typeName()
	}
	return errVal(fmt.Errorf("no such overload: %s(%s)", fn, strings.Join(names, ", ")))
}

// display renders a value the way CEL prints it in error messages.
func (v value) display() string {
	switch v.k {
	case kString:
		return v.s
	case kInt:
		return fmt.Sprint(v.i())
	case kUint:
		return fmt.Sprint(v.n)
	case kDouble:
		return fmt.Sprint(v.f())
	case kBool:
		return fmt.Sprint(v.b())
	case kBytes:
		return fmt.Sprintf("%q", v.s)
	}
	return v.typeName()
}

// list is a CEL list. Implementations: listOf (values built by the expression) and the
// attribute lists of a device.
type list interface {
	size() int
	at(i int) value
}

type listOf []value

func (l listOf) size() int      { return len(l) }
func (l listOf) at(i int) value { return l[i] }

type intList []int64

func (l intList) size() int      { return len(l) }
func (l intList) at(i int) value { return intVal(l[i]) }

type boolList []bool

func (l boolList) size() int      { return len(l) }
func (l boolList) at(i int) value { return boolVal(l[i]) }

type stringList []string

func (l stringList) size() int      { return len(l) }
func (l stringList) at(i int) value { return stringVal(l[i]) }

type semverList []string

func (l semverList) size() int      { return len(l) }
func (l semverList) at(i int) value { return value{k: kSemver, s: l[i]} }

// mapValue is a map built by the expression (a literal, or a device map materialized to be
// iterated). Maps in selectors are small: lookups scan the keys.
type mapValue struct {
	keys []value
	vals []value
}

func (m *mapValue) index(key value) (int, bool) {
	for i, k := range m.keys {
		if eq, _ := keyEqual(k, key); eq {
			return i, true
		}
	}
	return 0, false
}

func (m *mapValue) find(key value) (value, bool) {
	for i, k := range m.keys {
		if eq, ok := keyEqual(k, key); ok && eq {
			return m.vals[i], true
		}
	}
	return value{}, false
}

// keyEqual compares map keys: like CEL, numbers are equal across int, uint and double.
func keyEqual(a, b value) (bool, bool) {
	if isNumber(a.k) && isNumber(b.k) {
		if a.k == kDouble && math.IsNaN(a.f()) || b.k == kDouble && math.IsNaN(b.f()) {
			return false, true
		}
		return compareNumbers(a, b) == 0, true
	}
	return a.k == b.k && a.n == b.n && a.s == b.s, true
}

// quantity returns the quantity held by v. A capacity read from the device is looked up again
// here instead of being copied into the value (which would allocate).
func (e *evalEnv) quantity(v value) resource.Quantity {
	if q, ok := v.r.(*resource.Quantity); ok {
		return *q
	}
	return e.dev.Capacity[resourceQualifiedName(v.s)].Value
}
