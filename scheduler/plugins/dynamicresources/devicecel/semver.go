package devicecel

import (
	"math"
	"strconv"
	"strings"
)

// semver is a parsed semantic version (semver.org 2.0.0, parsed as strictly as the
// kubernetes.Semver type upstream uses). pre is the dot-separated pre-release text; build
// metadata is validated and ignored, as in comparisons.
type semver struct {
	major, minor, patch uint64
	pre                 string
}

// parseSemver parses s without allocating.
func parseSemver(s string) (semver, bool) {
	var v semver
	major, rest, ok := strings.Cut(s, ".")
	if !ok {
		return v, false
	}
	minor, rest, ok := strings.Cut(rest, ".")
	if !ok {
		return v, false
	}
	patch := rest
	build := ""
	if i := strings.IndexByte(patch, '+'); i >= 0 {
		patch, build = patch[:i], patch[i+1:]
		if !dotted(build, func(p string) bool { return p != "" && alnum(p) }) {
			return v, false
		}
	}
	if i := strings.IndexByte(patch, '-'); i >= 0 {
		patch, v.pre = patch[:i], patch[i+1:]
		if !dotted(v.pre, validPre) {
			return v, false
		}
	}
	if v.major, ok = versionNumber(major); !ok {
		return v, false
	}
	if v.minor, ok = versionNumber(minor); !ok {
		return v, false
	}
	if v.patch, ok = versionNumber(patch); !ok {
		return v, false
	}
	return v, true
}

// versionNumber parses a numeric part: digits without a leading zero that fit a uint64.
func versionNumber(s string) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func validPre(p string) bool {
	if p == "" {
		return false
	}
	if digits(p) {
		_, ok := versionNumber(p)
		return ok
	}
	return alnum(p)
}

// dotted applies ok to each dot-separated part of s.
func dotted(s string, ok func(string) bool) bool {
	for {
		part, rest, more := strings.Cut(s, ".")
		if !ok(part) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// compare orders versions by precedence: numbers, then pre-release (a version without one is
// greater), identifier by identifier.
func (v semver) compare(o semver) int {
	if c := cmp3(v.major < o.major, v.major > o.major); c != 0 {
		return c
	}
	if c := cmp3(v.minor < o.minor, v.minor > o.minor); c != 0 {
		return c
	}
	if c := cmp3(v.patch < o.patch, v.patch > o.patch); c != 0 {
		return c
	}
	switch {
	case v.pre == "" && o.pre == "":
		return 0
	case v.pre == "":
		return 1
	case o.pre == "":
		return -1
	}
	a, b := v.pre, o.pre
	for {
		x, restA, moreA := strings.Cut(a, ".")
		y, restB, moreB := strings.Cut(b, ".")
		if c := comparePre(x, y); c != 0 {
			return c
		}
		switch {
		case !moreA && !moreB:
			return 0
		case !moreA:
			return -1
		case !moreB:
			return 1
		}
		a, b = restA, restB
	}
}

func comparePre(x, y string) int {
	nx, ny := digits(x), digits(y)
	switch {
	case nx && ny:
		a, _ := strconv.ParseUint(x, 10, 64)
		b, _ := strconv.ParseUint(y, 10, 64)
		return cmp3(a < b, a > b)
	case nx:
		return -1
	case ny:
		return 1
	}
	return strings.Compare(x, y)
}

// normalizeSemver implements semver(s, true): an optional "v" prefix, leading zeros and missing
// minor or patch numbers are accepted. It returns the strict form.
func normalizeSemver(s string) (string, bool) {
	s = strings.TrimPrefix(s, "v")
	parts := strings.SplitN(s, ".", 3)
	for i, p := range parts {
		if len(p) > 1 {
			p = strings.TrimLeft(p, "0")
			if p == "" || p[0] < '0' || p[0] > '9' {
				p = "0" + p
			}
			parts[i] = p
		}
	}
	if len(parts) < 3 {
		if strings.ContainsAny(parts[len(parts)-1], "+-") {
			return "", false
		}
		for len(parts) < 3 {
			parts = append(parts, "0")
		}
	}
	out := strings.Join(parts, ".")
	if _, ok := parseSemver(out); !ok {
		return "", false
	}
	return out, true
}
