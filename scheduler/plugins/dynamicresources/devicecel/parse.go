package devicecel

import (
	"fmt"
	"strconv"
	"strings"
)

// exprKind is the kind of a node of the parsed expression.
type exprKind uint8

const (
	xLit    exprKind = iota // lit
	xIdent                  // name
	xSelect                 // target.name; has() sets test
	xCall                   // name(args) or target.name(args); operators are calls named like _+_
	xList                   // [args]
	xMap                    // {args[0]: args[1], ...}
	xComp                   // a macro over target: name is all, exists, exists_one, map, filter
	xBind                   // cel.bind(iterVar, args[0], args[1])
)

// expr is a node of the parsed expression. The checker fills in t and slot.
type expr struct {
	kind   exprKind
	pos    int
	lit    value
	name   string
	target *expr
	args   []*expr
	test   bool   // xSelect: has(target.name)
	iter   string // xComp, xBind: the variable

	t    *typ
	slot int // xIdent of a variable, xComp, xBind: the variable's slot
}

// maxDepth bounds the nesting of the expression, like CEL's parser recursion limit.
const maxDepth = 250

var reserved = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "else": true, "for": true,
	"function": true, "if": true, "import": true, "let": true, "loop": true, "package": true,
	"namespace": true, "return": true, "var": true, "void": true, "while": true,
}

type parser struct {
	toks  []token
	p     int
	depth int
}

func parse(src string) (*expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.p] }
func (p *parser) next() token {
	t := p.toks[p.p]
	if t.kind != tokEOF {
		p.p++
	}
	return t
}
func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}
func (p *parser) accept(s string) bool {
	if p.isPunct(s) {
		p.p++
		return true
	}
	return false
}
func (p *parser) expect(s string) error {
	if !p.accept(s) {
		return p.unexpected(p.peek())
	}
	return nil
}
func (p *parser) unexpected(t token) error {
	if t.kind == tokEOF {
		return &syntaxError{t.pos, "unexpected end of input"}
	}
	text := t.text
	if text == "" {
		text = t.val
	}
	return &syntaxError{t.pos, fmt.Sprintf("mismatched input '%s'", text)}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return &syntaxError{p.peek().pos, "expression recursion limit exceeded"}
	}
	return nil
}

func call(pos int, name string, args ...*expr) *expr {
	return &expr{kind: xCall, pos: pos, name: name, args: args}
}

// expr = or ["?" or ":" expr]
func (p *parser) expr() (*expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	cond, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if !p.isPunct("?") {
		return cond, nil
	}
	pos := p.next().pos
	yes, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	no, err := p.expr()
	if err != nil {
		return nil, err
	}
	return call(pos, "_?_:_", cond, yes, no), nil
}

// Binary operators by precedence level, loosest first.
var binaryLevels = [][]string{
	{"||"},
	{"&&"},
	{"<", "<=", ">", ">=", "==", "!=", "in"},
	{"+", "-"},
	{"*", "/", "%"},
}

func (p *parser) binary(level int) (*expr, error) {
	if level == len(binaryLevels) {
		return p.unary()
	}
	left, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		op := ""
		for _, o := range binaryLevels[level] {
			if t.kind == tokPunct && t.text == o || o == "in" && t.kind == tokIdent && t.text == "in" {
				op = o
			}
		}
		if op == "" {
			return left, nil
		}
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		right, err := p.binary(level + 1)
		p.depth--
		if err != nil {
			return nil, err
		}
		name := "_" + op + "_"
		if op == "in" {
			name = "@in"
		}
		left = call(t.pos, name, left, right)
	}
}

// unary = member | "!"+ member | "-"+ member. Like CEL's parser, an even number of repeated
// operators cancels out, and "-" directly before a number literal is part of the literal.
func (p *parser) unary() (*expr, error) {
	t := p.peek()
	if t.kind == tokPunct && (t.text == "!" || t.text == "-") {
		n := 0
		for p.isPunct(t.text) {
			p.next()
			n++
		}
		if t.text == "-" && n%2 == 1 && (p.peek().kind == tokInt || p.peek().kind == tokDouble) {
			// -1 is the literal -1 (so that the smallest int can be written).
			return p.member(true)
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		operand, err := p.member(false)
		if err != nil {
			return nil, err
		}
		if n%2 == 0 {
			return operand, nil
		}
		return call(t.pos, t.text+"_", operand), nil
	}
	return p.member(false)
}

func (p *parser) member(negate bool) (*expr, error) {
	e, err := p.primary(negate)
	if err != nil {
		return nil, err
	}
	depth := p.depth
	defer func() { p.depth = depth }()
	for {
		t := p.peek()
		switch {
		case t.kind == tokPunct && t.text == ".":
			p.next()
			id := p.next()
			if id.kind != tokIdent {
				return nil, p.unexpected(id)
			}
			if p.isPunct("(") {
				p.next()
				args, err := p.exprList(")")
				if err != nil {
					return nil, err
				}
				if e, err = p.memberCall(id, e, args); err != nil {
					return nil, err
				}
				continue
			}
			e = &expr{kind: xSelect, pos: id.pos, target: e, name: id.text}
		case t.kind == tokPunct && t.text == "[":
			p.next()
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			e = call(t.pos, "_[_]", e, idx)
		case t.kind == tokPunct && (t.text == ".?" || t.text == "[?"):
			return nil, unsupported(t.pos, "optional field selection (%s)", t.text)
		case t.kind == tokPunct && t.text == "{" && (e.kind == xSelect || e.kind == xIdent):
			return nil, unsupported(t.pos, "message construction")
		default:
			return e, nil
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
	}
}

func (p *parser) primary(negate bool) (*expr, error) {
	t := p.next()
	switch t.kind {
	case tokInt, tokUint, tokDouble:
		return p.number(t, negate)
	case tokString:
		return &expr{kind: xLit, pos: t.pos, lit: stringVal(t.val)}, nil
	case tokBytes:
		return &expr{kind: xLit, pos: t.pos, lit: bytesVal(t.val)}, nil
	case tokIdent:
		switch t.text {
		case "true":
			return &expr{kind: xLit, pos: t.pos, lit: valTrue}, nil
		case "false":
			return &expr{kind: xLit, pos: t.pos, lit: valFalse}, nil
		case "null":
			return &expr{kind: xLit, pos: t.pos, lit: valNull}, nil
		case "in":
			return nil, p.unexpected(t)
		}
		if reserved[t.text] {
			return nil, &syntaxError{t.pos, fmt.Sprintf("reserved identifier: %s", t.text)}
		}
		if p.isPunct("(") {
			p.next()
			args, err := p.exprList(")")
			if err != nil {
				return nil, err
			}
			return p.globalCall(t, args)
		}
		if p.isPunct("{") {
			return nil, unsupported(t.pos, "message construction (%s{...})", t.text)
		}
		return &expr{kind: xIdent, pos: t.pos, name: t.text}, nil
	case tokPunct:
		switch t.text {
		case ".":
			return nil, unsupported(t.pos, "a leading-dot identifier")
		case "(":
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			return e, p.expect(")")
		case "[":
			args, err := p.exprList("]")
			if err != nil {
				return nil, err
			}
			return &expr{kind: xList, pos: t.pos, args: args}, nil
		case "{":
			return p.mapLiteral(t.pos)
		}
	}
	return nil, p.unexpected(t)
}

// exprList parses a comma-separated list closed by end (a trailing comma is allowed).
func (p *parser) exprList(end string) ([]*expr, error) {
	var args []*expr
	for !p.accept(end) {
		if p.isPunct("?") {
			return nil, unsupported(p.peek().pos, "optional list elements")
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		if !p.accept(",") {
			if err := p.expect(end); err != nil {
				return nil, err
			}
			break
		}
		if end == ")" && p.isPunct(")") {
			return nil, p.unexpected(p.peek())
		}
	}
	return args, nil
}

func (p *parser) mapLiteral(pos int) (*expr, error) {
	m := &expr{kind: xMap, pos: pos}
	for !p.accept("}") {
		if p.isPunct("?") {
			return nil, unsupported(p.peek().pos, "optional map entries")
		}
		k, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		m.args = append(m.args, k, v)
		if !p.accept(",") {
			if err := p.expect("}"); err != nil {
				return nil, err
			}
			break
		}
	}
	return m, nil
}

func (p *parser) number(t token, negate bool) (*expr, error) {
	text := t.text
	sign := ""
	if negate {
		sign = "-"
	}
	switch t.kind {
	case tokInt:
		base := 10
		if strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X") {
			base, text = 16, text[2:]
		}
		i, err := strconv.ParseInt(sign+text, base, 64)
		if err != nil {
			return nil, &syntaxError{t.pos, "invalid int literal"}
		}
		return &expr{kind: xLit, pos: t.pos, lit: intVal(i)}, nil
	case tokUint:
		if negate {
			return nil, &syntaxError{t.pos, "invalid uint literal"}
		}
		base := 10
		if strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X") {
			base, text = 16, text[2:]
		}
		u, err := strconv.ParseUint(text, base, 64)
		if err != nil {
			return nil, &syntaxError{t.pos, "invalid uint literal"}
		}
		return &expr{kind: xLit, pos: t.pos, lit: uintVal(u)}, nil
	default:
		f, err := strconv.ParseFloat(sign+text, 64)
		if err != nil {
			return nil, &syntaxError{t.pos, "invalid double literal"}
		}
		return &expr{kind: xLit, pos: t.pos, lit: doubleVal(f)}, nil
	}
}

// globalCall builds a call of a global function, expanding the has() macro.
func (p *parser) globalCall(id token, args []*expr) (*expr, error) {
	if id.text == "has" && len(args) == 1 {
		sel := args[0]
		if sel.kind != xSelect || sel.test {
			return nil, &syntaxError{id.pos, "invalid argument to has() macro"}
		}
		sel.test = true
		return sel, nil
	}
	return call(id.pos, id.text, args...), nil
}

// memberCall builds target.name(args), expanding CEL's receiver-style macros.
func (p *parser) memberCall(id token, target *expr, args []*expr) (*expr, error) {
	simpleName := func(e *expr) (string, error) {
		if e.kind != xIdent {
			return "", &syntaxError{e.pos, "argument must be a simple name"}
		}
		return e.name, nil
	}
	switch id.text {
	case "all", "exists", "exists_one", "map", "filter":
		switch {
		case len(args) == 2 || len(args) == 3 && id.text == "map":
			v, err := simpleName(args[0])
			if err != nil {
				return nil, err
			}
			return &expr{kind: xComp, pos: id.pos, name: id.text, target: target, iter: v, args: args[1:]}, nil
		case len(args) == 3 && id.text != "filter":
			v, err := simpleName(args[0])
			if err != nil {
				return nil, err
			}
			w, err := simpleName(args[1])
			if err != nil {
				return nil, err
			}
			if v == w {
				return nil, &syntaxError{args[1].pos, "duplicate variable name: " + w}
			}
			return nil, unsupported(id.pos, "macro %q with two variables", id.text)
		}
	case "existsOne", "transformList", "transformMap", "transformMapEntry", "sortBy", "optMap", "optFlatMap":
		return nil, unsupported(id.pos, "macro %q", id.text)
	case "bind":
		if target.kind == xIdent && target.name == "cel" && len(args) == 3 {
			v, err := simpleName(args[0])
			if err != nil {
				return nil, err
			}
			return &expr{kind: xBind, pos: id.pos, iter: v, args: args[1:]}, nil
		}
	}
	return &expr{kind: xCall, pos: id.pos, name: id.text, target: target, args: args}, nil
}
