package devicecel

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
)

// fn declares one function (global or member style) with its overloads for the checker and its
// implementation for each arity (the receiver of a member function is the first argument).
// Implementations dispatch on the runtime kinds, so they also serve dyn arguments.
type fn struct {
	name   string
	member bool
	sigs   []sig
	f1     func(e *evalEnv, a value) value
	f2     func(e *evalEnv, a, b value) value
	f3     func(e *evalEnv, a, b, c value) value
	f4     func(e *evalEnv, a, b, c, d value) value
}

type sig struct {
	args []*typ
	res  *typ
}

// sigs parses overloads written like "string, int -> bool".
func sigs(decls ...string) []sig {
	out := make([]sig, len(decls))
	for i, d := range decls {
		args, res, _ := strings.Cut(d, "->")
		var ts []*typ
		depth, start := 0, 0
		for j := 0; j < len(args); j++ {
			switch args[j] {
			case '(':
				depth++
			case ')':
				depth--
			case ',':
				if depth == 0 {
					ts = append(ts, parseType(args[start:j]))
					start = j + 1
				}
			}
		}
		if strings.TrimSpace(args[start:]) != "" {
			ts = append(ts, parseType(args[start:]))
		}
		out[i] = sig{args: ts, res: parseType(res)}
	}
	return out
}

// functions indexes the declarations by name; each name may have a global and a member form.
var functions = map[string][]*fn{}

func declare(f *fn) {
	functions[f.name] = append(functions[f.name], f)
}

func lookupFn(name string, member bool) *fn {
	for _, f := range functions[name] {
		if f.member == member {
			return f
		}
	}
	return nil
}

// maxStringSize bounds the strings an evaluation builds (a string this long costs more than the
// limit to traverse once, so no selector can use it).
const maxStringSize = 64 << 20

// strCost is what a string operation costs: a tenth of the bytes it traverses, as CEL charges.
func strCost(n int) uint64 { return uint64(n)/10 + 1 }

func init() {
	declare(&fn{name: "size", sigs: sigs("string -> int", "bytes -> int", "list(A) -> int", "map(A, B) -> int"), f1: size})
	declare(&fn{name: "size", member: true, sigs: sigs("string -> int", "bytes -> int", "list(A) -> int", "map(A, B) -> int"), f1: size})

	// Type conversions.
	declare(&fn{name: "int", sigs: sigs("int -> int", "uint -> int", "double -> int", "string -> int"), f1: toInt})
	declare(&fn{name: "uint", sigs: sigs("uint -> uint", "int -> uint", "double -> uint", "string -> uint"), f1: toUint})
	declare(&fn{name: "double", sigs: sigs("double -> double", "int -> double", "uint -> double", "string -> double"), f1: toDouble})
	declare(&fn{name: "string", sigs: sigs("string -> string", "bool -> string", "int -> string", "uint -> string", "double -> string", "bytes -> string"), f1: toString})
	declare(&fn{name: "bool", sigs: sigs("bool -> bool", "string -> bool"), f1: toBool})
	declare(&fn{name: "bytes", sigs: sigs("bytes -> bytes", "string -> bytes"), f1: toBytes})
	declare(&fn{name: "dyn", sigs: sigs("A -> dyn"), f1: func(_ *evalEnv, a value) value { return a }})

	// Strings: CEL's standard functions and the extended strings library (version 2).
	declare(&fn{name: "contains", member: true, sigs: sigs("string, string -> bool"), f2: strPred(strings.Contains)})
	declare(&fn{name: "startsWith", member: true, sigs: sigs("string, string -> bool"), f2: strPred(strings.HasPrefix)})
	declare(&fn{name: "endsWith", member: true, sigs: sigs("string, string -> bool"), f2: strPred(strings.HasSuffix)})
	declare(&fn{name: "matches", sigs: sigs("string, string -> bool"), f2: matches})
	declare(&fn{name: "matches", member: true, sigs: sigs("string, string -> bool"), f2: matches})
	declare(&fn{name: "charAt", member: true, sigs: sigs("string, int -> string"), f2: charAt})
	declare(&fn{name: "indexOf", member: true, sigs: sigs("string, string -> int", "string, string, int -> int", "list(A), A -> int"), f2: indexOf, f3: indexOfOffset})
	declare(&fn{name: "lastIndexOf", member: true, sigs: sigs("string, string -> int", "string, string, int -> int", "list(A), A -> int"), f2: lastIndexOf, f3: lastIndexOfOffset})
	declare(&fn{name: "lowerAscii", member: true, sigs: sigs("string -> string"), f1: strMap(asciiMapper('A', 'Z', 'a'-'A'))})
	declare(&fn{name: "upperAscii", member: true, sigs: sigs("string -> string"), f1: strMap(asciiMapper('a', 'z', 'A'-'a'))})
	declare(&fn{name: "trim", member: true, sigs: sigs("string -> string"), f1: strMap(strings.TrimSpace)})
	declare(&fn{name: "replace", member: true, sigs: sigs("string, string, string -> string", "string, string, string, int -> string"), f3: replace, f4: replaceN})
	declare(&fn{name: "split", member: true, sigs: sigs("string, string -> list(string)", "string, string, int -> list(string)"), f2: split, f3: splitN})
	declare(&fn{name: "substring", member: true, sigs: sigs("string, int -> string", "string, int, int -> string"), f2: substring, f3: substringRange})
	declare(&fn{name: "join", member: true, sigs: sigs("list(string) -> string", "list(string), string -> string"), f1: join, f2: joinSep})

	// Kubernetes' regex library.
	declare(&fn{name: "find", member: true, sigs: sigs("string, string -> string"), f2: find})
	declare(&fn{name: "findAll", member: true, sigs: sigs("string, string -> list(string)", "string, string, int -> list(string)"), f2: findAll, f3: findAllN})

	// Kubernetes' lists library (version 1) and includes.
	declare(&fn{name: "sum", member: true, sigs: sigs("list(int) -> int", "list(uint) -> uint", "list(double) -> double"), f1: sum})
	declare(&fn{name: "min", member: true, sigs: sigs("list(bool) -> bool", "list(int) -> int", "list(uint) -> uint", "list(double) -> double", "list(string) -> string", "list(bytes) -> bytes"), f1: extreme("min", 1)})
	declare(&fn{name: "max", member: true, sigs: sigs("list(bool) -> bool", "list(int) -> int", "list(uint) -> uint", "list(double) -> double", "list(string) -> string", "list(bytes) -> bytes"), f1: extreme("max", -1)})
	declare(&fn{name: "isSorted", member: true, sigs: sigs("list(bool) -> bool", "list(int) -> bool", "list(uint) -> bool", "list(double) -> bool", "list(string) -> bool", "list(bytes) -> bool"), f1: isSorted})
	declare(&fn{name: "includes", member: true, sigs: sigs("dyn, dyn -> bool"), f2: includes})

	// Kubernetes' quantity library.
	declare(&fn{name: "quantity", sigs: sigs("string -> quantity"), f1: toQuantity})
	declare(&fn{name: "isQuantity", sigs: sigs("string -> bool"), f1: isQuantity})
	declare(&fn{name: "sign", sigs: sigs("quantity -> int"), f1: quantityUnary(func(q resource.Quantity) value { return intVal(int64(q.Sign())) })})
	declare(&fn{name: "isInteger", member: true, sigs: sigs("quantity -> bool"), f1: quantityUnary(func(q resource.Quantity) value {
		_, ok := q.AsInt64()
		return boolVal(ok)
	})})
	declare(&fn{name: "asInteger", member: true, sigs: sigs("quantity -> int"), f1: quantityUnary(func(q resource.Quantity) value {
		i, ok := q.AsInt64()
		if !ok {
			return errVal(errors.New("cannot convert value to integer"))
		}
		return intVal(i)
	})})
	declare(&fn{name: "asApproximateFloat", member: true, sigs: sigs("quantity -> double"), f1: quantityUnary(func(q resource.Quantity) value { return doubleVal(q.AsApproximateFloat64()) })})
	declare(&fn{name: "add", member: true, sigs: sigs("quantity, quantity -> quantity", "quantity, int -> quantity"), f2: quantityArith(false)})
	declare(&fn{name: "sub", member: true, sigs: sigs("quantity, quantity -> quantity", "quantity, int -> quantity"), f2: quantityArith(true)})

	// Shared by quantity and semver.
	declare(&fn{name: "compareTo", member: true, sigs: sigs("quantity, quantity -> int", "semver, semver -> int"), f2: compareTo})
	declare(&fn{name: "isGreaterThan", member: true, sigs: sigs("quantity, quantity -> bool", "semver, semver -> bool"), f2: func(e *evalEnv, a, b value) value { return cmpIs(compareTo(e, a, b), 1) }})
	declare(&fn{name: "isLessThan", member: true, sigs: sigs("quantity, quantity -> bool", "semver, semver -> bool"), f2: func(e *evalEnv, a, b value) value { return cmpIs(compareTo(e, a, b), -1) }})

	// Kubernetes' semver library (version 1).
	declare(&fn{name: "semver", sigs: sigs("string -> semver", "string, bool -> semver"), f1: func(e *evalEnv, a value) value { return toSemver(e, a, valFalse) }, f2: toSemver})
	declare(&fn{name: "isSemver", sigs: sigs("string -> bool", "string, bool -> bool"), f1: func(e *evalEnv, a value) value { return isSemver(e, a, valFalse) }, f2: isSemver})
	declare(&fn{name: "major", member: true, sigs: sigs("semver -> int"), f1: semverPart(func(v semver) uint64 { return v.major })})
	declare(&fn{name: "minor", member: true, sigs: sigs("semver -> int"), f1: semverPart(func(v semver) uint64 { return v.minor })})
	declare(&fn{name: "patch", member: true, sigs: sigs("semver -> int"), f1: semverPart(func(v semver) uint64 { return v.patch })})
}

func size(e *evalEnv, a value) value {
	switch a.k {
	case kString:
		return intVal(int64(utf8.RuneCountInString(a.s)))
	case kBytes:
		return intVal(int64(len(a.s)))
	case kList:
		return intVal(int64(a.list().size()))
	case kMap:
		return intVal(int64(e.mapSize(a)))
	}
	return noOverload("size", a)
}

func toInt(_ *evalEnv, a value) value {
	switch a.k {
	case kInt:
		return a
	case kUint:
		if a.n > math.MaxInt64 {
			return valOverflow
		}
		return intVal(int64(a.n))
	case kDouble:
		f := a.f()
		// Like CEL: the range check excludes the bounds, which do not round-trip.
		if math.IsNaN(f) || f <= math.MinInt64 || f >= math.MaxInt64 {
			return valOverflow
		}
		return intVal(int64(f))
	case kString:
		i, err := strconv.ParseInt(a.s, 10, 64)
		if err != nil {
			return errVal(errors.New("type conversion error from 'string' to 'int'"))
		}
		return intVal(i)
	}
	return noOverload("int", a)
}

func toUint(_ *evalEnv, a value) value {
	switch a.k {
	case kUint:
		return a
	case kInt:
		if a.i() < 0 {
			return valUintOverflow
		}
		return uintVal(uint64(a.i()))
	case kDouble:
		f := a.f()
		if math.IsNaN(f) || f < 0 || f >= math.MaxUint64 {
			return valUintOverflow
		}
		return uintVal(uint64(f))
	case kString:
		u, err := strconv.ParseUint(a.s, 10, 64)
		if err != nil {
			return errVal(errors.New("type conversion error from 'string' to 'uint'"))
		}
		return uintVal(u)
	}
	return noOverload("uint", a)
}

func toDouble(_ *evalEnv, a value) value {
	switch a.k {
	case kDouble:
		return a
	case kInt:
		return doubleVal(float64(a.i()))
	case kUint:
		return doubleVal(float64(a.n))
	case kString:
		f, err := strconv.ParseFloat(a.s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return errVal(errors.New("type conversion error from 'string' to 'double'"))
		}
		return doubleVal(f)
	}
	return noOverload("double", a)
}

func toString(_ *evalEnv, a value) value {
	switch a.k {
	case kString:
		return a
	case kBool:
		return stringVal(strconv.FormatBool(a.b()))
	case kInt:
		return stringVal(strconv.FormatInt(a.i(), 10))
	case kUint:
		return stringVal(strconv.FormatUint(a.n, 10))
	case kDouble:
		return stringVal(strconv.FormatFloat(a.f(), 'g', -1, 64))
	case kBytes:
		if !utf8.ValidString(a.s) {
			return errVal(errors.New("invalid UTF-8 in bytes, cannot convert to string"))
		}
		return stringVal(a.s)
	}
	return noOverload("string", a)
}

func toBool(_ *evalEnv, a value) value {
	switch a.k {
	case kBool:
		return a
	case kString:
		switch a.s {
		case "1", "t", "T", "true", "TRUE", "True":
			return valTrue
		case "0", "f", "F", "false", "FALSE", "False":
			return valFalse
		}
		return errVal(errors.New("type conversion error from 'string' to 'bool'"))
	}
	return noOverload("bool", a)
}

func toBytes(_ *evalEnv, a value) value {
	switch a.k {
	case kBytes:
		return a
	case kString:
		return bytesVal(a.s)
	}
	return noOverload("bytes", a)
}

func strPred(f func(string, string) bool) func(*evalEnv, value, value) value {
	return func(e *evalEnv, a, b value) value {
		if a.k != kString || b.k != kString {
			return valNoOverload
		}
		if !e.charge(strCost(len(a.s))) {
			return valCost
		}
		return boolVal(f(a.s, b.s))
	}
}

func strMap(f func(string) string) func(*evalEnv, value) value {
	return func(e *evalEnv, a value) value {
		if a.k != kString {
			return valNoOverload
		}
		if !e.charge(strCost(len(a.s))) {
			return valCost
		}
		return stringVal(f(a.s))
	}
}

func asciiMapper(from, to byte, delta int) func(string) string {
	return func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if c >= from && c <= to {
				b[i] = byte(int(c) + delta)
			}
		}
		return string(b)
	}
}

// regexCache holds the patterns compiled at Compile time; others are compiled per call.
func compileRegex(p string) (*regexp.Regexp, value) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, errVal(fmt.Errorf("error parsing regexp: %w", err))
	}
	return re, value{}
}

func matches(e *evalEnv, a, b value) value {
	if a.k != kString || b.k != kString {
		return valNoOverload
	}
	if !e.charge(strCost(len(a.s)) * strCost(len(b.s))) {
		return valCost
	}
	re, ev := compileRegex(b.s)
	if re == nil {
		return ev
	}
	return boolVal(re.MatchString(a.s))
}

func find(e *evalEnv, a, b value) value {
	if a.k != kString || b.k != kString {
		return valNoOverload
	}
	if !e.charge(strCost(len(a.s)) * strCost(len(b.s))) {
		return valCost
	}
	re, ev := compileRegex(b.s)
	if re == nil {
		return ev
	}
	return stringVal(re.FindString(a.s))
}

func findAll(e *evalEnv, a, b value) value { return findAllN(e, a, b, intVal(-1)) }

func findAllN(e *evalEnv, a, b, n value) value {
	if a.k != kString || b.k != kString || n.k != kInt {
		return valNoOverload
	}
	if !e.charge(strCost(len(a.s)) * strCost(len(b.s))) {
		return valCost
	}
	re, ev := compileRegex(b.s)
	if re == nil {
		return ev
	}
	limit := n.i()
	if limit > math.MaxInt32 || limit < math.MinInt32 {
		limit = -1
	}
	found := re.FindAllString(a.s, int(limit))
	if found == nil {
		found = []string{}
	}
	return listVal(stringList(found))
}

func charAt(e *evalEnv, a, b value) value {
	if a.k != kString || b.k != kInt {
		return valNoOverload
	}
	e.charge(strCost(len(a.s)))
	runes := []rune(a.s)
	i := b.i()
	if i < 0 || i > int64(len(runes)) {
		return errVal(fmt.Errorf("index out of range: %d", i))
	}
	if i == int64(len(runes)) {
		return stringVal("")
	}
	return stringVal(string(runes[i]))
}

func indexOf(e *evalEnv, a, b value) value {
	if a.k == kList {
		l := a.list()
		e.charge(uint64(l.size()))
		for i := 0; i < l.size(); i++ {
			if e.equal(l.at(i), b).isTrue() {
				return intVal(int64(i))
			}
		}
		return intVal(-1)
	}
	return indexOfOffset(e, a, b, intVal(0))
}

func indexOfOffset(e *evalEnv, a, b, off value) value {
	if a.k != kString || b.k != kString || off.k != kInt {
		return valNoOverload
	}
	if !e.charge(strCost(len(a.s))) {
		return valCost
	}
	o := off.i()
	if o < 0 {
		return errVal(fmt.Errorf("index out of range: %d", o))
	}
	runes, sub := []rune(a.s), []rune(b.s)
	if len(sub) == 0 {
		return intVal(min(o, int64(len(runes))))
	}
	if o >= int64(len(runes)) {
		return intVal(-1)
	}
	for i := int(o); i < len(runes)-(len(sub)-1); i++ {
		if runesAt(runes, sub, i) {
			return intVal(int64(i))
		}
	}
	return intVal(-1)
}

func runesAt(runes, sub []rune, i int) bool {
	for j := range sub {
		if runes[i+j] != sub[j] {
			return false
		}
	}
	return true
}

func lastIndexOf(e *evalEnv, a, b value) value {
	if a.k == kList {
		l := a.list()
		e.charge(uint64(l.size()))
		for i := l.size() - 1; i >= 0; i-- {
			if e.equal(l.at(i), b).isTrue() {
				return intVal(int64(i))
			}
		}
		return intVal(-1)
	}
	if a.k != kString {
		return valNoOverload
	}
	if b.k != kString {
		return valNoOverload
	}
	if !e.charge(strCost(len(a.s))) {
		return valCost
	}
	runes, sub := []rune(a.s), []rune(b.s)
	if len(sub) == 0 {
		return intVal(int64(len(runes)))
	}
	for i := len(runes) - len(sub); i >= 0; i-- {
		if runesAt(runes, sub, i) {
			return intVal(int64(i))
		}
	}
	return intVal(-1)
}

func lastIndexOfOffset(e *evalEnv, a, b, off value) value {
	if a.k != kString || b.k != kString || off.k != kInt {
		return valNoOverload
	}
	if !e.charge(strCost(len(a.s))) {
		return valCost
	}
	o := off.i()
	if o < 0 {
		return errVal(fmt.Errorf("index out of range: %d", o))
	}
	runes, sub := []rune(a.s), []rune(b.s)
	if len(sub) == 0 {
		return intVal(min(o, int64(len(runes))))
	}
	if o >= int64(len(runes)) {
		return intVal(-1)
	}
	i := int(o)
	if i > len(runes)-len(sub) {
		i = len(runes) - len(sub)
	}
	for ; i >= 0; i-- {
		if runesAt(runes, sub, i) {
			return intVal(int64(i))
		}
	}
	return intVal(-1)
}

func replace(e *evalEnv, a, old, repl value) value {
	return replaceN(e, a, old, repl, intVal(-1))
}

func replaceN(e *evalEnv, a, old, repl, n value) value {
	if a.k != kString || old.k != kString || repl.k != kString || n.k != kInt {
		return valNoOverload
	}
	count := strings.Count(a.s, old.s)
	if k := n.i(); k >= 0 && int64(count) > k {
		count = int(k)
	}
	// Like cel-go, the cost is the input's; the result's size is bounded separately.
	if out := len(a.s) + count*(len(repl.s)-len(old.s)); out > maxStringSize || !e.charge(strCost(len(a.s))) {
		return valCost
	}
	limit := n.i()
	if limit > math.MaxInt32 || limit < 0 {
		limit = -1
	}
	return stringVal(strings.Replace(a.s, old.s, repl.s, int(limit)))
}

func split(e *evalEnv, a, sep value) value { return splitN(e, a, sep, intVal(-1)) }

func splitN(e *evalEnv, a, sep, n value) value {
	if a.k != kString || sep.k != kString || n.k != kInt {
		return valNoOverload
	}
	if !e.charge(strCost(len(a.s)) + uint64(len(a.s))) {
		return valCost
	}
	limit := n.i()
	if limit > math.MaxInt32 || limit < math.MinInt32 {
		limit = -1
	}
	parts := strings.SplitN(a.s, sep.s, int(limit))
	if parts == nil {
		parts = []string{}
	}
	return listVal(stringList(parts))
}

func substring(e *evalEnv, a, start value) value {
	if a.k != kString || start.k != kInt {
		return valNoOverload
	}
	e.charge(strCost(len(a.s)))
	runes := []rune(a.s)
	s := start.i()
	if s < 0 || s > int64(len(runes)) {
		return errVal(fmt.Errorf("index out of range: %d", s))
	}
	return stringVal(string(runes[s:]))
}

func substringRange(e *evalEnv, a, start, end value) value {
	if a.k != kString || start.k != kInt || end.k != kInt {
		return valNoOverload
	}
	e.charge(strCost(len(a.s)))
	runes := []rune(a.s)
	s, t := start.i(), end.i()
	if s > t {
		return errVal(fmt.Errorf("invalid substring range. start: %d, end: %d", s, t))
	}
	if s < 0 || s > int64(len(runes)) {
		return errVal(fmt.Errorf("index out of range: %d", s))
	}
	if t < 0 || t > int64(len(runes)) {
		return errVal(fmt.Errorf("index out of range: %d", t))
	}
	return stringVal(string(runes[s:t]))
}

func join(e *evalEnv, a value) value { return joinSep(e, a, stringVal("")) }

func joinSep(e *evalEnv, a, sep value) value {
	if a.k != kList || sep.k != kString {
		return valNoOverload
	}
	l := a.list()
	parts := make([]string, l.size())
	n := 0
	for i := range parts {
		v := l.at(i)
		if v.k != kString {
			return valNoOverload
		}
		parts[i] = v.s
		n += len(v.s) + len(sep.s)
	}
	if !e.charge(strCost(n) + uint64(len(parts))) {
		return valCost
	}
	return stringVal(strings.Join(parts, sep.s))
}

func sum(e *evalEnv, a value) value {
	if a.k != kList {
		return valNoOverload
	}
	l := a.list()
	e.charge(uint64(l.size()))
	if l.size() == 0 {
		return intVal(0)
	}
	acc := l.at(0)
	if !isNumber(acc.k) {
		return valNoOverload
	}
	for i := 1; i < l.size(); i++ {
		acc = add(e, acc, l.at(i))
		if acc.isErr() {
			return acc
		}
	}
	return acc
}

func extreme(name string, prefer int) func(*evalEnv, value) value {
	return func(e *evalEnv, a value) value {
		if a.k != kList {
			return valNoOverload
		}
		l := a.list()
		e.charge(uint64(l.size()))
		if l.size() == 0 {
			return errVal(fmt.Errorf("%s called on empty list", name))
		}
		best := l.at(0)
		if !comparable(best) {
			return valNoOverload
		}
		for i := 1; i < l.size(); i++ {
			next := l.at(i)
			if !comparable(next) {
				return valNoOverload
			}
			// Like upstream, a comparison that fails (mixed types, NaN) keeps the current one.
			if c, ev := compare(best, next); ev.k != kError && c == prefer {
				best = next
			}
		}
		return best
	}
}

func isSorted(e *evalEnv, a value) value {
	if a.k != kList {
		return valNoOverload
	}
	l := a.list()
	e.charge(uint64(l.size()))
	for i := 0; i < l.size(); i++ {
		if !comparable(l.at(i)) {
			return valNoOverload
		}
		// Like upstream, a comparison that fails (mixed types, NaN) does not unsort the list.
		if c, ev := compare(l.at(max(i-1, 0)), l.at(i)); i > 0 && ev.k != kError && c == 1 {
			return valFalse
		}
	}
	return valTrue
}

func includes(e *evalEnv, a, b value) value {
	if a.k == kList {
		l := a.list()
		e.charge(uint64(l.size()))
		for i := 0; i < l.size(); i++ {
			if e.equal(l.at(i), b).isTrue() {
				return valTrue
			}
		}
		return valFalse
	}
	return boolVal(e.equal(a, b).isTrue())
}

func toQuantity(_ *evalEnv, a value) value {
	if a.k != kString {
		return valNoOverload
	}
	q, err := resource.ParseQuantity(a.s)
	if err != nil {
		return errVal(err)
	}
	return value{k: kQuantity, r: &q}
}

func isQuantity(_ *evalEnv, a value) value {
	if a.k != kString {
		return valNoOverload
	}
	_, err := resource.ParseQuantity(a.s)
	return boolVal(err == nil)
}

func quantityUnary(f func(resource.Quantity) value) func(*evalEnv, value) value {
	return func(e *evalEnv, a value) value {
		if a.k != kQuantity {
			return valNoOverload
		}
		return f(e.quantity(a))
	}
}

func quantityArith(subtract bool) func(*evalEnv, value, value) value {
	return func(e *evalEnv, a, b value) value {
		if a.k != kQuantity {
			return valNoOverload
		}
		var other resource.Quantity
		switch b.k {
		case kQuantity:
			other = e.quantity(b)
		case kInt:
			other = *resource.NewQuantity(b.i(), resource.DecimalExponent)
		default:
			return valNoOverload
		}
		q := e.quantity(a)
		q = q.DeepCopy()
		if subtract {
			q.Sub(other)
		} else {
			q.Add(other)
		}
		return value{k: kQuantity, r: &q}
	}
}

func compareTo(e *evalEnv, a, b value) value {
	switch {
	case a.k == kQuantity && b.k == kQuantity:
		x, y := e.quantity(a), e.quantity(b)
		return intVal(int64(x.Cmp(y)))
	case a.k == kSemver && b.k == kSemver:
		x, _ := parseSemver(a.s)
		y, _ := parseSemver(b.s)
		return intVal(int64(x.compare(y)))
	}
	return valNoOverload
}

func cmpIs(c value, want int64) value {
	if c.k != kInt {
		return c
	}
	return boolVal(c.i() == want)
}

func toSemver(_ *evalEnv, a, normalize value) value {
	if a.k != kString || normalize.k != kBool {
		return valNoOverload
	}
	s := a.s
	if normalize.b() {
		n, ok := normalizeSemver(s)
		if !ok {
			return errVal(fmt.Errorf("invalid semantic version %q", s))
		}
		s = n
	} else if _, ok := parseSemver(s); !ok {
		return errVal(fmt.Errorf("invalid semantic version %q", s))
	}
	return value{k: kSemver, s: s}
}

func isSemver(e *evalEnv, a, normalize value) value {
	v := toSemver(e, a, normalize)
	if v.isErr() && v.r != errNoOverload {
		return valFalse
	}
	if v.isErr() {
		return v
	}
	return valTrue
}

func semverPart(f func(semver) uint64) func(*evalEnv, value) value {
	return func(_ *evalEnv, a value) value {
		if a.k != kSemver {
			return valNoOverload
		}
		v, _ := parseSemver(a.s)
		return intVal(int64(f(v)))
	}
}

// comparable reports whether v has an ordering (for the lists library).
func comparable(v value) bool {
	return v.k == kBool || v.k == kBytes || v.k == kString || isNumber(v.k)
}
