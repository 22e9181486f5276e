package flags

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file holds the flag.Value kinds. Each Set returns a short reason without the flag
// name; the registry's wrapper adds the name and the offending value.

// scalar is a single value parsed by a function.
type scalar[T any] struct {
	p     *T
	parse func(string) (T, error)
	show  func(T) string
}

func (v *scalar[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

func (v *scalar[T]) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return v.show(*v.p)
}

func stringValue(p *string) *scalar[string] {
	return &scalar[string]{p: p, parse: func(s string) (string, error) { return s, nil }, show: identity}
}

// oneOfValue accepts only the listed strings.
func oneOfValue(p *string, allowed ...string) *scalar[string] {
	parse := func(s string) (string, error) {
		for _, a := range allowed {
			if s == a {
				return s, nil
			}
		}
		return "", fmt.Errorf("must be one of %s", quoteAll(allowed))
	}
	return &scalar[string]{p: p, parse: parse, show: identity}
}

func intValue(p *int) *scalar[int] {
	parse := func(s string) (int, error) {
		n, err := strconv.ParseInt(s, 0, strconv.IntSize)
		return int(n), numErr(err, "an integer")
	}
	return &scalar[int]{p: p, parse: parse, show: strconv.Itoa}
}

func int32Value(p *int32) *scalar[int32] {
	parse := func(s string) (int32, error) {
		n, err := strconv.ParseInt(s, 0, 32)
		return int32(n), numErr(err, "a 32-bit integer")
	}
	show := func(n int32) string { return strconv.FormatInt(int64(n), 10) }
	return &scalar[int32]{p: p, parse: parse, show: show}
}

func float32Value(p *float32) *scalar[float32] {
	parse := func(s string) (float32, error) {
		f, err := strconv.ParseFloat(s, 32)
		if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return 0, errors.New("must be a finite number")
		}
		return float32(f), numErr(err, "a number")
	}
	show := func(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }
	return &scalar[float32]{p: p, parse: parse, show: show}
}

// verbosityValue parses -v: a non-negative integer that fits in an int32, as klog requires.
func verbosityValue(p *uint32) *scalar[uint32] {
	parse := func(s string) (uint32, error) {
		n, err := strconv.ParseUint(s, 10, 31)
		return uint32(n), numErr(err, "an integer between 0 and 2147483647")
	}
	show := func(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
	return &scalar[uint32]{p: p, parse: parse, show: show}
}

func durationValue(p *time.Duration) *scalar[time.Duration] {
	parse := func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, errors.New("must be a duration such as 90s, 5m or 1h30m")
		}
		return d, nil
	}
	return &scalar[time.Duration]{p: p, parse: parse, show: time.Duration.String}
}

// numErr turns a strconv error into a reason naming what was expected.
func numErr(err error, want string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("out of range: must be %s", want)
	}
	return fmt.Errorf("must be %s", want)
}

// boolValue is a flag that may be given without a value. check, if non-nil, may refuse a
// syntactically valid value.
type boolValue struct {
	p     *bool
	check func(bool) error
}

func (v *boolValue) IsBoolFlag() bool { return true }

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true or false")
	}
	if v.check != nil {
		if err := v.check(b); err != nil {
			return err
		}
	}
	*v.p = b
	return nil
}

func (v *boolValue) String() string {
	if v == nil || v.p == nil {
		return "false"
	}
	return strconv.FormatBool(*v.p)
}

// list is a comma-separated list flag. The first Set replaces the default and later ones
// append, so "--x=a --x=b" and "--x=a,b" agree. An empty value gives an empty list.
// Items are split as CSV, so a double-quoted item may contain a comma.
type list[T any] struct {
	p       *[]T
	item    func(string) (T, error)
	show    func(T) string
	changed bool
	bare    bool // String without the brackets (klog's --vmodule prints "a=1,b=2")
}

func (v *list[T]) Set(s string) error {
	items, err := splitList(s)
	if err != nil {
		return err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		x, err := v.item(it)
		if err != nil {
			return err
		}
		out = append(out, x)
	}
	if !v.changed {
		*v.p = out
		v.changed = true
		return nil
	}
	*v.p = append(*v.p, out...)
	return nil
}

func (v *list[T]) String() string {
	if v == nil || v.p == nil {
		return "[]"
	}
	parts := make([]string, len(*v.p))
	for i, x := range *v.p {
		parts[i] = v.show(x)
	}
	if v.bare {
		return strings.Join(parts, ",")
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func stringList(p *[]string) *list[string] {
	return &list[string]{p: p, item: func(s string) (string, error) { return s, nil }, show: identity}
}

func splitList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	r := csv.NewReader(strings.NewReader(s))
	items, err := r.Read()
	if err != nil {
		return nil, errors.New("must be a comma-separated list (check the quoting)")
	}
	return items, nil
}

func identity(s string) string { return s }

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// unsupported returns an error wrapping ErrNotSupported with the reason appended.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotSupported, fmt.Sprintf(format, args...))
}
