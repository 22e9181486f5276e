package devicecel

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind classifies a token of CEL's lexical grammar.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokInt    // decimal or hex, without sign; text holds the digits
	tokUint   // same with the u suffix removed
	tokDouble // text holds the literal
	tokString // val holds the decoded string
	tokBytes  // val holds the decoded bytes
	tokPunct  // text holds the operator or punctuation
)

type token struct {
	kind tokKind
	pos  int
	text string
	val  string
}

// syntaxError is a parse error at a byte offset of the expression.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("Syntax error: %s (at offset %d)", e.msg, e.pos)
}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		// Whitespace and line comments.
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
				i++
				continue
			}
			if c == '/' && i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
				continue
			}
			break
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tokEOF, pos: i})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			word := src[i:j]
			// String and bytes prefixes: r, b, rb, br in any case.
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && len(word) <= 2 {
				raw, isBytes, ok := stringPrefix(word)
				if ok {
					s, n, err := lexString(src, j, raw, isBytes)
					if err != nil {
						return nil, err
					}
					k := tokString
					if isBytes {
						k = tokBytes
					}
					toks = append(toks, token{kind: k, pos: start, val: s})
					i = n
					continue
				}
			}
			toks = append(toks, token{kind: tokIdent, pos: start, text: word})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			t, n, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = n
		case c == '"' || c == '\'':
			s, n, err := lexString(src, i, false, false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, pos: start, val: s})
			i = n
		default:
			p := ""
			for _, op := range []string{"==", "!=", "<=", ">=", "&&", "||", ".?", "[?"} {
				if strings.HasPrefix(src[i:], op) {
					p = op
					break
				}
			}
			if p == "" {
				if strings.IndexByte("+-*/%!<>?:.,()[]{}", c) < 0 {
					r, _ := utf8.DecodeRuneInString(src[i:])
					return nil, &syntaxError{i, fmt.Sprintf("token recognition error at: '%c'", r)}
				}
				p = src[i : i+1]
			}
			toks = append(toks, token{kind: tokPunct, pos: start, text: p})
			i += len(p)
		}
	}
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

func stringPrefix(w string) (raw, isBytes, ok bool) {
	switch strings.ToLower(w) {
	case "r":
		return true, false, true
	case "b":
		return false, true, true
	case "rb", "br":
		return true, true, true
	}
	return false, false, false
}

func lexNumber(src string, i int) (token, int, error) {
	start := i
	if src[i] == '0' && i+1 < len(src) && (src[i+1] == 'x' || src[i+1] == 'X') {
		j := i + 2
		for j < len(src) && isHex(src[j]) {
			j++
		}
		if j == i+2 {
			return token{}, 0, &syntaxError{i, "invalid hex literal"}
		}
		k := tokInt
		text := src[i:j]
		if j < len(src) && (src[j] == 'u' || src[j] == 'U') {
			k = tokUint
			j++
		}
		return token{kind: k, pos: start, text: text}, j, nil
	}
	j := i
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	isFloat := false
	if j+1 < len(src) && src[j] == '.' && isDigit(src[j+1]) {
		isFloat = true
		j++
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			for k < len(src) && isDigit(src[k]) {
				k++
			}
			isFloat = true
			j = k
		}
	}
	if isFloat {
		return token{kind: tokDouble, pos: start, text: src[i:j]}, j, nil
	}
	if j < len(src) && (src[j] == 'u' || src[j] == 'U') {
		return token{kind: tokUint, pos: start, text: src[i:j]}, j + 1, nil
	}
	return token{kind: tokInt, pos: start, text: src[i:j]}, j, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// lexString decodes the quoted literal starting at src[i] and returns it with the offset after
// the closing quote.
func lexString(src string, i int, raw, isBytes bool) (string, int, error) {
	start := i
	q := src[i : i+1]
	if strings.HasPrefix(src[i:], q+q+q) {
		q = q + q + q
	}
	i += len(q)
	var b strings.Builder
	for {
		if i >= len(src) {
			return "", 0, &syntaxError{start, "unterminated string literal"}
		}
		if strings.HasPrefix(src[i:], q) {
			return b.String(), i + len(q), nil
		}
		c := src[i]
		if (c == '\n' || c == '\r') && len(q) == 1 {
			return "", 0, &syntaxError{start, "newline in string literal"}
		}
		if c != '\\' || raw {
			b.WriteByte(c)
			i++
			continue
		}
		n, err := unescape(src, i, isBytes, &b)
		if err != nil {
			return "", 0, err
		}
		i = n
	}
}

// unescape decodes the escape sequence at src[i] (a backslash) into b.
func unescape(src string, i int, isBytes bool, b *strings.Builder) (int, error) {
	if i+1 >= len(src) {
		return 0, &syntaxError{i, "invalid escape sequence"}
	}
	c := src[i+1]
	simple := map[byte]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v',
		'\\': '\\', '\'': '\'', '"': '"', '`': '`', '?': '?'}
	if r, ok := simple[c]; ok {
		b.WriteByte(r)
		return i + 2, nil
	}
	digits, base := 0, 0
	switch {
	case c == 'x' || c == 'X':
		digits, base = 2, 16
	case c == 'u':
		digits, base = 4, 16
	case c == 'U':
		digits, base = 8, 16
	case c >= '0' && c <= '3':
		digits, base = 3, 8
	default:
		return 0, &syntaxError{i, "invalid escape sequence"}
	}
	from := i + 2
	if base == 8 {
		from = i + 1
	}
	if from+digits > len(src) {
		return 0, &syntaxError{i, "invalid escape sequence"}
	}
	n, err := strconv.ParseUint(src[from:from+digits], base, 32)
	if err != nil {
		return 0, &syntaxError{i, "invalid escape sequence"}
	}
	end := from + digits
	if isBytes && (c == 'x' || c == 'X' || base == 8) {
		b.WriteByte(byte(n))
		return end, nil
	}
	if isBytes && (c == 'u' || c == 'U') {
		return 0, &syntaxError{i, "unicode escape in bytes literal"}
	}
	r := rune(n)
	if n > utf8.MaxRune || r >= 0xD800 && r < 0xE000 {
		return 0, &syntaxError{i, "invalid unicode code point"}
	}
	b.WriteRune(r)
	return end, nil
}
