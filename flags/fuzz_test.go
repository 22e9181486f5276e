package flags

import (
	"errors"
	"flag"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FuzzParse feeds Parse command lines built from the real flag names (see decodeArgs) and checks
// that it never panics, that it returns options or an error but not both, that an error other
// than ErrHelp names the offending flag or argument (see mentions) on one line, and that every
// flag of a command line that parsed reports Changed.
//
//	go test -run '^$' -fuzz FuzzParse -parallel 1 ./flags/
func FuzzParse(f *testing.F) {
	names := flagNames()
	for _, s := range parseSeeds(names) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		args := decodeArgs(names, data)
		o, err := Parse(args)
		if (o == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v: want options or an error", args, o, err)
		}
		if err == nil {
			checkChanged(t, args, o)
			_ = o.Warnings()
			return
		}
		if errors.Is(err, ErrHelp) {
			return
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q): error spans several lines: %q", args, msg)
		}
		for _, m := range mentions(args) {
			escaped := strconv.Quote(m) // an argument that does not print is quoted
			if strings.Contains(msg, m) || strings.Contains(msg, escaped[1:len(escaped)-1]) {
				return
			}
		}
		t.Errorf("Parse(%q): error %q names none of the flags or arguments given", args, msg)
	})
}

// known looks flags up as Parse knows them. It is only read: Lookup and the flags' names.
var known = sync.OnceValue(func() *registry { return newRegistry(defaults()) })

// flagNames are the names of every flag Parse knows, short aliases included, sorted.
func flagNames() []string {
	var names []string
	known().fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	return names
}

// junkNames are flag names Parse does not know, or barely.
var junkNames = []string{"no-such-flag", "", "-", "=", "v=1", "Help", "leader-elect-", "kubeconfig\n", "é"}

// junkValues are values decodeArgs picks from; a value byte beyond them takes raw bytes from
// the input instead.
var junkValues = []string{
	"", "true", "false", "0", "1", "-1", "1.5", "10s", "-5s", "1h2m", "15", "abc", "1e309", "NaN", "Inf", "0x10",
	"99999999999999999999", "a,b", `"a,b",c`, `"unterminated`, ",", "=", "==", "A=true", "kube:A=1,B=false",
	"wardle:A=true", "1.36", "1.37", "kube=1.36", "raw", "::", "0.0.0.0", "127.0.0.1", "fe80::1%eth0", "localhost",
	"VersionTLS13", "TLS_AES_128_GCM_SHA256,NOPE", "29,23", "29,29", "x=1", "foo*=3", "text", "json",
	"application/json", "application/vnd.kubernetes.protobuf", "leases", "endpoints", "1Ki", "0Mi", "/healthz,",
	"X-Remote-Uid", " ", "\n", "a\nb", "\x00", "\xff", "--", "-", "--v=3", "-h",
}

// Argument forms (see decodeArgs).
const (
	formEquals     = iota // --name=value
	formSpace             // --name value
	formDashEquals        // -name=value
	formDashSpace         // -name value
	formAlone             // --name
	formPositional        // value
	formTerminator        // --
	formTripleDash        // ---name=value
	numForms
)

// decodeArgs turns data into a command line, three bytes per argument: the form, the name
// (index into the flag names then junkNames, modulo; with the high bit set, '-' becomes '_'),
// and the value (index into junkValues; beyond them, the next value-len(junkValues) input
// bytes, raw). The names are indexed in sorted order, so adding a flag shifts what the stored
// inputs in testdata/fuzz/FuzzParse name: they stay valid inputs, but may test other flags.
func decodeArgs(names []string, data []byte) []string {
	all := append(names[:len(names):len(names)], junkNames...)
	var args []string
	for i := 0; i+3 <= len(data) && len(args) < 64; {
		form, nb, vb := data[i]%numForms, data[i+1], data[i+2]
		i += 3
		name := all[int(nb&0x7f)%len(all)]
		if nb&0x80 != 0 {
			name = strings.ReplaceAll(name, "-", "_")
		}
		var value string
		if int(vb) < len(junkValues) {
			value = junkValues[vb]
		} else {
			n := min(int(vb)-len(junkValues), len(data)-i)
			value, i = string(data[i:i+n]), i+n
		}
		switch form {
		case formEquals:
			args = append(args, "--"+name+"="+value)
		case formSpace:
			args = append(args, "--"+name, value)
		case formDashEquals:
			args = append(args, "-"+name+"="+value)
		case formDashSpace:
			args = append(args, "-"+name, value)
		case formAlone:
			args = append(args, "--"+name)
		case formPositional:
			args = append(args, value)
		case formTerminator:
			args = append(args, "--")
		case formTripleDash:
			args = append(args, "---"+name+"="+value)
		}
	}
	return args
}

// mentions are the ways an error may name an argument of args: the argument itself, quoted
// (as in the list of positional arguments), and for a flag its name as typed with its dashes
// and its canonical name ("--name", for an alias the flag's own name).
func mentions(args []string) []string {
	r := known()
	var out []string
	for _, a := range args {
		out = append(out, a, strconv.Quote(a))
		if !strings.HasPrefix(a, "-") {
			continue
		}
		typed, _, _ := strings.Cut(a, "=")
		out = append(out, typed)
		name := strings.ReplaceAll(strings.TrimLeft(typed, "-"), "_", "-")
		if f := r.fs.Lookup(name); f != nil {
			out = append(out, "--"+name, "--"+f.Value.(*tracked).name)
		}
	}
	return out
}

// checkChanged checks that every flag of a command line that parsed reports Changed under its
// name as typed ('_' read as '-'). It walks args by the package's syntax: "--" ends the flags,
// and a flag other than a boolean given without "=" takes the next argument as its value.
func checkChanged(t *testing.T, args []string, o *Options) {
	t.Helper()
	r := known()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		typed, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		name := strings.ReplaceAll(typed, "_", "-")
		f := r.fs.Lookup(name)
		if f == nil || !o.Changed(name) {
			t.Errorf("Parse(%q) succeeded but Changed(%q) = false", args, name)
			return
		}
		if !hasValue && !isBool(f.Value) {
			i++
		}
	}
}

// parseSeeds is the seed corpus: each flag in each form with a plausible value, and the odd
// shapes: positional arguments, "--", three dashes, underscores, junk names and raw values.
func parseSeeds(names []string) [][]byte {
	all := append(names[:len(names):len(names)], junkNames...)
	at := func(list []string, v string) byte {
		for i, x := range list {
			if x == v {
				return byte(i)
			}
		}
		panic("seed uses " + strconv.Quote(v) + ", which is not in the vocabulary")
	}
	arg := func(form byte, name, value string) []byte {
		return []byte{form, at(all, name), at(junkValues, value)}
	}
	underscored := func(b []byte) []byte { b[1] |= 0x80; return b }
	raw := func(form byte, name, value string) []byte {
		return append([]byte{form, at(all, name), byte(len(junkValues) + len(value))}, value...)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	seeds := [][]byte{
		nil,
		cat(arg(formEquals, "secure-port", "0"), arg(formSpace, "kube-api-qps", "-1"), arg(formEquals, "leader-elect", "false")),
		cat(underscored(arg(formEquals, "leader-elect-lease-duration", "10s")), arg(formDashSpace, "leader-elect-renew-deadline", "15")),
		cat(arg(formAlone, "help", ""), arg(formPositional, "", "abc")),
		cat(arg(formAlone, "h", ""), arg(formEquals, "secure-port", "99999999999999999999")),
		cat(arg(formEquals, "v", "-1"), arg(formTerminator, "", ""), arg(formPositional, "", "--v=3")),
		cat(arg(formEquals, "feature-gates", "kube:A=1,B=false"), arg(formEquals, "feature-gates", "wardle:A=true")),
		cat(arg(formEquals, "tls-cipher-suites", "TLS_AES_128_GCM_SHA256,NOPE"), arg(formEquals, "tls-curve-preferences", "29,29")),
		cat(arg(formEquals, "bind-address", "fe80::1%eth0"), arg(formEquals, "version", "raw")),
		cat(arg(formTripleDash, "v", "1"), arg(formEquals, "no-such-flag", "1")),
		cat(arg(formSpace, "kubeconfig", "--v=3"), arg(formAlone, "permit-port-sharing", "")),
		cat(arg(formEquals, "requestheader-uid-headers", "/healthz,"), arg(formEquals, "log-flush-frequency", "-5s")),
		cat(arg(formEquals, "vmodule", "foo*=3"), arg(formEquals, "logging-format", "json")),
		cat(arg(formEquals, "tls-sni-cert-key", "a,b"), arg(formEquals, "emulated-version", "1.36")),
		cat(raw(formEquals, "master", "http://a_b:8080"), raw(formPositional, "", "\xff\x00x")),
		cat(arg(formDashEquals, "kubeconfig\n", "1"), arg(formSpace, "", "")),
	}
	for _, name := range names { // every flag once with a plausible value, in the = form
		seeds = append(seeds, arg(formEquals, name, "1"))
	}
	return seeds
}
