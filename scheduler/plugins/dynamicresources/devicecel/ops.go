package devicecel

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

var errNaN = errors.New("NaN values cannot be ordered")

// equal implements ==: an error operand is the result; otherwise see valuesEqual.
func (e *evalEnv) equal(a, b value) value {
	if a.k == kError {
		return a
	}
	if b.k == kError {
		return b
	}
	return e.valuesEqual(a, b)
}

// valuesEqual is CEL's heterogeneous equality as upstream implements it: null equals only null,
// numbers compare by value across int, uint and double, values of other different types are
// unequal, except that a semver or quantity compared with another type is an error. Lists and
// maps are equal unless some element is unequal (an element comparison that fails is skipped).
func (e *evalEnv) valuesEqual(a, b value) value {
	if a.k == kNull || b.k == kNull {
		return boolVal(a.k == b.k)
	}
	if isNumber(a.k) {
		if !isNumber(b.k) {
			return valFalse
		}
		if a.k == kDouble && math.IsNaN(a.f()) || b.k == kDouble && math.IsNaN(b.f()) {
			return valFalse
		}
		return boolVal(compareNumbers(a, b) == 0)
	}
	if a.k != b.k {
		if a.k == kSemver || a.k == kQuantity {
			return valNoOverload
		}
		return valFalse
	}
	switch a.k {
	case kBool:
		return boolVal(a.n == b.n)
	case kString, kBytes:
		return boolVal(a.s == b.s)
	case kSemver:
		x, _ := parseSemver(a.s)
		y, _ := parseSemver(b.s)
		return boolVal(x.compare(y) == 0)
	case kQuantity:
		x, y := e.quantity(a), e.quantity(b)
		return boolVal(x.Equal(y))
	case kDevice:
		return valTrue
	case kList:
		l, m := a.list(), b.list()
		if l.size() != m.size() {
			return valFalse
		}
		for i := 0; i < l.size(); i++ {
			if r := e.valuesEqual(l.at(i), m.at(i)); r.isFalse() {
				return valFalse
			}
		}
		return valTrue
	case kMap:
		x, y := e.materialize(a), e.materialize(b)
		if len(x.keys) != len(y.keys) {
			return valFalse
		}
		for i, k := range x.keys {
			v, ok := y.find(k)
			if !ok {
				return valFalse
			}
			if r := e.valuesEqual(x.vals[i], v); r.isFalse() {
				return valFalse
			}
		}
		return valTrue
	}
	return valFalse
}

func isNumber(k kind) bool { return k == kInt || k == kUint || k == kDouble }

// compareNumbers orders two numbers of any numeric kinds exactly (without rounding an int64
// through a float64 where that would lose the answer). NaN operands must be handled by the caller.
func compareNumbers(a, b value) int {
	switch {
	case a.k == kInt && b.k == kInt:
		return cmp3(a.i() < b.i(), a.i() > b.i())
	case a.k == kUint && b.k == kUint:
		return cmp3(a.n < b.n, a.n > b.n)
	case a.k == kDouble && b.k == kDouble:
		return cmp3(a.f() < b.f(), a.f() > b.f())
	case a.k == kInt && b.k == kUint:
		if a.i() < 0 || b.n > math.MaxInt64 {
			return -1
		}
		return cmp3(a.i() < int64(b.n), a.i() > int64(b.n))
	case a.k == kUint && b.k == kInt:
		return -compareNumbers(b, a)
	case a.k == kDouble && b.k == kInt:
		d := a.f()
		if d < math.MinInt64 {
			return -1
		}
		if d > math.MaxInt64 {
			return 1
		}
		return cmp3(d < float64(b.i()), d > float64(b.i()))
	case a.k == kInt && b.k == kDouble:
		return -compareNumbers(b, a)
	case a.k == kDouble && b.k == kUint:
		d := a.f()
		if d < 0 {
			return -1
		}
		if d > math.MaxUint64 {
			return 1
		}
		return cmp3(d < float64(b.n), d > float64(b.n))
	default: // uint, double
		return -compareNumbers(b, a)
	}
}

func cmp3(less, greater bool) int {
	if less {
		return -1
	}
	if greater {
		return 1
	}
	return 0
}

// compare orders a and b for <, <=, >, >=: -1, 0 or 1, or an error value.
func compare(a, b value) (int, value) {
	if a.k == kError {
		return 0, a
	}
	if b.k == kError {
		return 0, b
	}
	if isNumber(a.k) && isNumber(b.k) {
		if a.k == kDouble && math.IsNaN(a.f()) || b.k == kDouble && math.IsNaN(b.f()) {
			return 0, errVal(errNaN)
		}
		return compareNumbers(a, b), value{}
	}
	if a.k != b.k {
		return 0, valNoOverload
	}
	switch a.k {
	case kString, kBytes:
		return strings.Compare(a.s, b.s), value{}
	case kBool:
		return cmp3(a.n < b.n, a.n > b.n), value{}
	}
	return 0, valNoOverload
}

func add(e *evalEnv, a, b value) value {
	if a.k != b.k {
		return valNoOverload
	}
	switch a.k {
	case kInt:
		x, y := a.i(), b.i()
		r := x + y
		if (r > x) != (y > 0) {
			return valOverflow
		}
		return intVal(r)
	case kUint:
		r := a.n + b.n
		if r < a.n {
			return valUintOverflow
		}
		return uintVal(r)
	case kDouble:
		return doubleVal(a.f() + b.f())
	case kString:
		if !e.charge(uint64(len(a.s)+len(b.s)) / 10) {
			return valCost
		}
		return stringVal(a.s + b.s)
	case kBytes:
		if !e.charge(uint64(len(a.s)+len(b.s)) / 10) {
			return valCost
		}
		return bytesVal(a.s + b.s)
	case kList:
		l, m := a.list(), b.list()
		if !e.charge(uint64(l.size() + m.size())) {
			return valCost
		}
		out := make(listOf, 0, l.size()+m.size())
		for i := 0; i < l.size(); i++ {
			out = append(out, l.at(i))
		}
		for i := 0; i < m.size(); i++ {
			out = append(out, m.at(i))
		}
		return listVal(out)
	}
	return valNoOverload
}

func sub(a, b value) value {
	if a.k != b.k {
		return valNoOverload
	}
	switch a.k {
	case kInt:
		x, y := a.i(), b.i()
		r := x - y
		if (r < x) != (y > 0) {
			return valOverflow
		}
		return intVal(r)
	case kUint:
		if b.n > a.n {
			return valUintOverflow
		}
		return uintVal(a.n - b.n)
	case kDouble:
		return doubleVal(a.f() - b.f())
	}
	return valNoOverload
}

func mul(a, b value) value {
	if a.k != b.k {
		return valNoOverload
	}
	switch a.k {
	case kInt:
		x, y := a.i(), b.i()
		if x == 0 || y == 0 {
			return intVal(0)
		}
		r := x * y
		if (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) || r/y != x {
			return valOverflow
		}
		return intVal(r)
	case kUint:
		x, y := a.n, b.n
		if x == 0 || y == 0 {
			return uintVal(0)
		}
		r := x * y
		if r/y != x {
			return valUintOverflow
		}
		return uintVal(r)
	case kDouble:
		return doubleVal(a.f() * b.f())
	}
	return valNoOverload
}

func div(a, b value) value {
	if a.k != b.k {
		return valNoOverload
	}
	switch a.k {
	case kInt:
		x, y := a.i(), b.i()
		if y == 0 {
			return valDivZero
		}
		if x == math.MinInt64 && y == -1 {
			return valOverflow
		}
		return intVal(x / y)
	case kUint:
		if b.n == 0 {
			return valDivZero
		}
		return uintVal(a.n / b.n)
	case kDouble:
		return doubleVal(a.f() / b.f())
	}
	return valNoOverload
}

func mod(a, b value) value {
	if a.k != b.k {
		return valNoOverload
	}
	switch a.k {
	case kInt:
		x, y := a.i(), b.i()
		if y == 0 {
			return valModZero
		}
		if x == math.MinInt64 && y == -1 {
			return valOverflow
		}
		return intVal(x % y)
	case kUint:
		if b.n == 0 {
			return valModZero
		}
		return uintVal(a.n % b.n)
	}
	return valNoOverload
}

func negate(a value) value {
	switch a.k {
	case kInt:
		if a.i() == math.MinInt64 {
			return valOverflow
		}
		return intVal(-a.i())
	case kDouble:
		return doubleVal(-a.f())
	}
	return valNoOverload
}

func listIndex(l list, i value) value {
	var n int64
	switch i.k {
	case kInt:
		n = i.i()
	case kUint:
		if i.n > math.MaxInt64 {
			return errVal(fmt.Errorf("index out of bounds: %d", i.n))
		}
		n = int64(i.n)
	case kDouble:
		f := i.f()
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return errVal(fmt.Errorf("unsupported index value %v in list", f))
		}
		n = int64(f)
	default:
		return errVal(fmt.Errorf("unsupported index type '%s' in list", i.typeName()))
	}
	if n < 0 || n >= int64(l.size()) {
		return errVal(fmt.Errorf("index out of bounds: %d", n))
	}
	return l.at(int(n))
}
