package flags

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// registry is one flag.FlagSet plus what Usage needs to print it: sections in upstream's
// order, and per flag a type label and the default. Each Parse builds a fresh registry,
// so the package has no global flag state.
type registry struct {
	fs       *flag.FlagSet
	sections []*section
	// failed is the first value error, already formatted with the flag's name.
	failed error
}

// section is one --help group such as "Leader election".
type section struct {
	title string
	flags []flagDoc
	reg   *registry
}

// flagDoc describes one flag for Usage.
type flagDoc struct {
	name  string
	short string // one-letter alias, or ""
	typ   string // value label; "" for booleans
	def   string // default as printed; "" prints none
	help  string
}

func newRegistry(o *Options) *registry {
	r := &registry{fs: flag.NewFlagSet("kube-scheduler", flag.ContinueOnError)}
	r.fs.SetOutput(io.Discard)
	r.fs.Usage = func() {}
	registerMisc(r.section("Misc"), o)
	registerSecureServing(r.section("Secure serving"), &o.SecureServing)
	registerAuthentication(r.section("Authentication"), &o.Authentication)
	registerAuthorization(r.section("Authorization"), &o.Authorization)
	registerDeprecated(r.section("Deprecated"), &o.Deprecated)
	registerLeaderElection(r.section("Leader election"), &o.LeaderElection)
	registerFeatureGates(r.section("Feature gate"), o)
	registerMetrics(r.section("Metrics"), &o.Metrics)
	registerLogs(r.section("Logs"), &o.Logs)
	registerGlobal(r.section("Global"), o)
	return r
}

func (r *registry) section(title string) *section {
	s := &section{title: title, reg: r}
	r.sections = append(r.sections, s)
	return s
}

// add registers v under name. typ labels the value in --help ("" for booleans).
func (s *section) add(name, typ string, v flag.Value, help string) {
	s.addShort(name, "", typ, v, help)
}

// addShort is add with a one-letter alias such as -h.
func (s *section) addShort(name, short, typ string, v flag.Value, help string) {
	t := &tracked{name: name, v: v, reg: s.reg}
	s.reg.fs.Var(t, name, help)
	if short != "" && short != name {
		s.reg.fs.Var(t, short, help)
	}
	s.flags = append(s.flags, flagDoc{name: name, short: short, typ: typ, def: shownDefault(v), help: help})
}

// shownDefault is the default as --help prints it; zero values are not printed.
func shownDefault(v flag.Value) string {
	switch d := v.String(); d {
	case "", "0", "false", "[]", "0s":
		return ""
	default:
		return d
	}
}

// tracked wraps every flag.Value to name the flag in its errors and to keep the first one,
// so Parse does not depend on the flag package's message wording.
type tracked struct {
	name string
	v    flag.Value
	reg  *registry
}

func (t *tracked) Set(s string) error {
	err := t.v.Set(s)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotSupported) {
		err = fmt.Errorf("--%s=%s: %w", t.name, oneLine(s), err)
	} else {
		err = fmt.Errorf("invalid value %q for flag --%s: %w", s, t.name, err)
	}
	if t.reg.failed == nil {
		t.reg.failed = err
	}
	return err
}

func (t *tracked) String() string { return t.v.String() }

func (t *tracked) IsBoolFlag() bool { return isBool(t.v) }

func isBool(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// split checks the shape of args and rewrites it for flag.FlagSet.Parse: flag names are
// normalised ('_' becomes '-', always two dashes) and positional arguments are taken out,
// so flags may follow them as with kube-scheduler. It reports unknown flags and missing
// values itself, naming the flag as the user typed it. Empty positional arguments are
// dropped, as upstream ignores them; "--" ends the flags.
func (r *registry) split(args []string) (flagArgs, positional []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, nonEmpty(args[i+1:])...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, nonEmpty([]string{a})...)
			continue
		}
		dashes := "-"
		if strings.HasPrefix(a, "--") {
			dashes = "--"
		}
		body := a[len(dashes):]
		if body == "" || body[0] == '-' || body[0] == '=' {
			return nil, nil, fmt.Errorf("bad flag syntax: %s", oneLine(a))
		}
		typed, value, hasValue := strings.Cut(body, "=")
		name := strings.ReplaceAll(typed, "_", "-")
		f := r.fs.Lookup(name)
		if f == nil {
			return nil, nil, fmt.Errorf("unknown flag: %s", oneLine(dashes+typed))
		}
		switch {
		case hasValue:
			flagArgs = append(flagArgs, "--"+name+"="+value)
		case isBool(f.Value):
			flagArgs = append(flagArgs, "--"+name)
		case i+1 < len(args):
			flagArgs = append(flagArgs, "--"+name+"="+args[i+1])
			i++
		default:
			return nil, nil, fmt.Errorf("flag needs an argument: %s", oneLine(dashes+typed))
		}
	}
	return flagArgs, positional, nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// oneLine returns s as given when it prints on one line, else Go-quoted, so that an error about
// a strange argument stays one line on stderr.
func oneLine(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
