package devicecel

import "fmt"

// UnsupportedError reports a selector that is valid CEL but uses a construct berth does not
// evaluate. Compile returns it instead of guessing a result; the caller treats it like a
// selector that cannot be evaluated.
type UnsupportedError struct {
	// Construct names what is not supported, e.g. `the function "url"` or `macro "transformList"`.
	Construct string
	// Pos is the byte offset of the construct in the expression.
	Pos int
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("selector uses %s, which berth does not evaluate", e.Construct)
}

func unsupported(pos int, format string, args ...any) *UnsupportedError {
	return &UnsupportedError{Construct: fmt.Sprintf(format, args...), Pos: pos}
}

// CompileError reports an expression that is not a valid device selector: a syntax error, a
// reference to something undeclared, a type error, or a result that is not a bool.
type CompileError struct {
	Pos int
	Msg string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("compilation failed: %s (at offset %d)", e.Msg, e.Pos)
}

func compileErr(pos int, format string, args ...any) *CompileError {
	return &CompileError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
