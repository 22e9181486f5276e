// Package devicecel evaluates the CEL selectors of Dynamic Resource Allocation (a DeviceClass's
// spec.selectors, a request's selectors, a firstAvailable subrequest's selectors) without
// cel-go, with the results kube-scheduler gets from k8s.io/dynamic-resource-allocation/cel.
//
// Use it in two steps: Compile once per expression (cache the *Program: compiling costs tens of
// microseconds), then Match per device. A Program holds no evaluation state, so Match may be
// called from many goroutines at once; a Match of a typical selector takes tens to hundreds of
// nanoseconds and allocates nothing.
//
//	p, err := devicecel.Compile(`device.attributes["gpu.example.com"].model == "a100"`)
//	...
//	ok, err := p.Match(slice.Spec.Driver, &slice.Spec.Devices[i])
//
// # The environment
//
// It is upstream's environment for stored expressions, which is the one kube-scheduler compiles
// selectors in. The variable device has the fields driver (string), allowMultipleAllocations
// (bool), attributes (map of domain to map of name to value) and capacity (map of domain to map
// of name to quantity). An attribute or capacity named without a domain belongs to the driver's
// domain: "model" of driver gpu.example.com is device.attributes["gpu.example.com"].model.
// Attribute values are int, bool, string or semver, or lists of those (list-valued attributes
// are evaluated as upstream does, whatever its feature gate). They are typed dyn, so that
// device.attributes["d"].x > 1 compiles and fails at run time if x is a string.
//
// Supported: all CEL literals (raw, triple-quoted and bytes strings, escapes, hex and unsigned
// ints), the operators (arithmetic with CEL's overflow errors, comparisons with CEL's
// cross-type numeric ordering, ==, in, !, &&, ||, ?:, indexing, field selection), the macros
// has, all, exists, exists_one, map (two and three arguments), filter and cel.bind, and the
// functions size, int, uint, double, string, bool, bytes, dyn, contains, startsWith, endsWith,
// matches (RE2), find, findAll, charAt, indexOf, lastIndexOf, lowerAscii, upperAscii, replace,
// split, substring, trim, join, includes, the lists functions sum, min, max, isSorted, indexOf
// and lastIndexOf, quantity, isQuantity, sign and the quantity methods (compareTo,
// isGreaterThan, isLessThan, add, sub, asInteger, asApproximateFloat, isInteger), semver,
// isSemver and the semver methods (major, minor, patch, compareTo, isGreaterThan, isLessThan).
//
// Refused with an *UnsupportedError at Compile: optional values (.?, [?], optional.*),
// type values (type(x), int as an identifier), timestamps and durations, two-variable
// comprehensions and the transform macros, format, strings.quote, the sets functions and the
// ext lists functions (lists.range, distinct, flatten, first, last, reverse, slice, sort,
// sortBy), and the IP, CIDR, URL, authorizer and format libraries. A selector using them is
// valid upstream; berth tells the caller so instead of guessing.
//
// # Errors
//
// Compile returns an *UnsupportedError for the constructs above, and an ordinary error for an
// expression upstream rejects too: a syntax error, an undeclared reference, a type error, a
// result type other than bool (or dyn), and, as upstream's program planner does, a type
// conversion of a constant that fails (int("x")) or a constant regular expression that does
// not compile.
//
// Match returns an error where upstream's evaluation fails: a missing key ("no such key"; an
// unknown domain of device.attributes or device.capacity reads as an empty map, as upstream's
// do), an overflow, a division by zero, an operation on a dyn value of the wrong type ("no such
// overload"), a result that is not a bool, the cost limit, or a device with an attribute
// without a value or with a version that is not a semantic version. Errors follow CEL's rules:
// false && error is false, true || error is true, and otherwise an operand's error is the
// result.
//
// # Cost
//
// Like upstream, an evaluation may spend at most CostLimit (1,000,000) cost units, and fails
// with "actual cost limit exceeded" when it spends more. A unit is charged for each call,
// operator, field selection and index, and for each iteration of a macro; string functions
// are charged a tenth of a unit per byte they traverse, list functions a unit per element.
// The units approximate cel-go's without matching them exactly, but the limit stops any
// runaway expression (nested macros over lists, strings grown by replace) within milliseconds.
// Upstream does not estimate the cost of a selector when kube-scheduler compiles it (only the
// API server does, when the object is written), so neither does Compile.
package devicecel
