package flags

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file holds the Kubernetes-specific value kinds: addresses, TLS names, feature
// gates, version flags and log settings.

// ipValue parses --bind-address. An empty value leaves the default in place, as upstream.
func ipValue(p *netip.Addr) *scalar[netip.Addr] {
	parse := func(s string) (netip.Addr, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return *p, nil
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Addr{}, errors.New("must be an IP address such as 0.0.0.0, 127.0.0.1 or ::")
		}
		return a.Unmap(), nil
	}
	return &scalar[netip.Addr]{p: p, parse: parse, show: netip.Addr.String}
}

// tlsVersions maps --tls-min-version names to crypto/tls constants.
var tlsVersions = map[string]uint16{
	"VersionTLS10": tls.VersionTLS10,
	"VersionTLS11": tls.VersionTLS11,
	"VersionTLS12": tls.VersionTLS12,
	"VersionTLS13": tls.VersionTLS13,
}

func tlsVersionNames() []string { return sortedKeys(tlsVersions) }

func tlsVersionValue(p *uint16) *scalar[uint16] {
	parse := func(s string) (uint16, error) {
		if s == "" {
			return 0, nil
		}
		v, ok := tlsVersions[s]
		if !ok {
			return 0, fmt.Errorf("must be one of %s", strings.Join(tlsVersionNames(), ", "))
		}
		return v, nil
	}
	show := func(v uint16) string {
		for name, id := range tlsVersions {
			if id == v {
				return name
			}
		}
		return ""
	}
	return &scalar[uint16]{p: p, parse: parse, show: show}
}

// cipherIDs maps every cipher suite name crypto/tls implements, secure or not, to its ID,
// plus the two pre-Go-1.16 ChaCha20 names kube-scheduler still accepts.
var cipherIDs = func() map[string]uint16 {
	m := map[string]uint16{
		"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[c.Name] = c.ID
	}
	return m
}()

func isInsecureCipher(id uint16) bool {
	for _, c := range tls.InsecureCipherSuites() {
		if c.ID == id {
			return true
		}
	}
	return false
}

func cipherList(p *[]uint16) *list[uint16] {
	item := func(s string) (uint16, error) {
		id, ok := cipherIDs[s]
		if !ok {
			return 0, fmt.Errorf("unknown cipher suite %q (see --help for the names)", s)
		}
		return id, nil
	}
	return &list[uint16]{p: p, item: item, show: tls.CipherSuiteName}
}

// curveList parses --tls-curve-preferences: numeric crypto/tls CurveIDs this Go knows.
func curveList(p *[]tls.CurveID) *list[tls.CurveID] {
	item := func(s string) (tls.CurveID, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 32)
		if err != nil || n <= 0 || n > 0xffff {
			return 0, fmt.Errorf("curve %q must be a number between 1 and 65535", s)
		}
		c := tls.CurveID(n)
		if strings.HasPrefix(c.String(), "CurveID(") {
			return 0, fmt.Errorf("curve %d is not implemented by this Go version", n)
		}
		return c, nil
	}
	show := func(c tls.CurveID) string { return strconv.Itoa(int(c)) }
	return &list[tls.CurveID]{p: p, item: item, show: show}
}

// featureGateValue parses --feature-gates: comma-separated [component:]Name=bool entries,
// repeatable; later entries win. Only the "kube" component (the default) exists, and only its
// gates (kubeGates), with their locks, are accepted; dependencies are checked once all flags are
// parsed (validateGates).
type featureGateValue struct{ p *map[string]bool }

func (v featureGateValue) Set(s string) error {
	if *v.p == nil {
		*v.p = map[string]bool{}
	}
	for _, entry := range strings.Split(s, ",") {
		if entry == "" {
			continue
		}
		if comp, rest, ok := strings.Cut(entry, ":"); ok {
			if c := strings.TrimSpace(comp); c != "kube" && c != "" {
				return unsupported("component %q has no feature gates (only \"kube\")", c)
			}
			entry = rest
		}
		name, val, ok := strings.Cut(entry, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return fmt.Errorf("%q has no =true or =false", name)
		}
		if name == "" {
			return fmt.Errorf("entry %q has no gate name", entry)
		}
		b, err := strconv.ParseBool(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%s=%s: value must be true or false", name, strings.TrimSpace(val))
		}
		if err := checkGate(name, b); err != nil {
			return err
		}
		(*v.p)[name] = b
	}
	return nil
}

func (v featureGateValue) String() string {
	if v.p == nil {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(*v.p) {
		parts = append(parts, fmt.Sprintf("%s=%t", k, (*v.p)[k]))
	}
	return strings.Join(parts, ",")
}

// compatVersionValue parses --emulated-version and --min-compatibility-version:
// comma-separated [component=]major.minor entries. Berth behaves as KubeVersion only, so
// only the listed versions (the ones that change nothing) are accepted.
type compatVersionValue struct{ allowed []string }

var majorMinor = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

func (v compatVersionValue) Set(s string) error {
	for _, entry := range strings.Split(s, ",") {
		if entry == "" {
			continue
		}
		ver := entry
		if comp, rest, ok := strings.Cut(entry, "="); ok {
			if c := strings.TrimSpace(comp); c != "kube" {
				return unsupported("component %q is not registered (only \"kube\")", c)
			}
			ver = rest
		}
		ver = strings.TrimSpace(ver)
		if !majorMinor.MatchString(ver) {
			return fmt.Errorf("version %q must have the form major.minor", ver)
		}
		if !slices.Contains(v.allowed, ver) {
			return unsupported("berth behaves as v%s only; accepted: %s", KubeVersion, strings.Join(v.allowed, ", "))
		}
	}
	return nil
}

func (v compatVersionValue) String() string { return "[]" } // as kube-scheduler prints it unset

// versionValue parses --version: a bool that also accepts "raw". "vX.Y.Z" (overriding the
// reported version) is refused.
type versionValue struct{ p *VersionRequest }

func (v versionValue) IsBoolFlag() bool { return true }

func (v versionValue) Set(s string) error {
	if s == string(VersionRaw) {
		*v.p = VersionRaw
		return nil
	}
	if strings.HasPrefix(s, "v") {
		return unsupported("overriding the reported version")
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true, false or raw")
	}
	*v.p = VersionNone
	if b {
		*v.p = VersionText
	}
	return nil
}

func (v versionValue) String() string {
	if v.p == nil || *v.p == VersionNone {
		return "false"
	}
	return string(*v.p)
}

// vmoduleList parses --vmodule items: pattern=N with N a non-negative int32.
func vmoduleList(p *[]string) *list[string] {
	item := func(s string) (string, error) {
		pat, lvl, ok := strings.Cut(s, "=")
		if !ok || pat == "" || strings.Contains(lvl, "=") {
			return "", fmt.Errorf("%q does not have the form pattern=N", s)
		}
		if _, err := strconv.ParseUint(lvl, 10, 31); err != nil {
			return "", fmt.Errorf("%q: N must be an integer between 0 and 2147483647", s)
		}
		return s, nil
	}
	l := &list[string]{p: p, item: item, show: identity, bare: true}
	l.changed = true // repeated --vmodule values accumulate from the start, as klog's do
	return l
}

// zeroQuantityValue accepts only quantities equal to zero, such as "0" or "0Mi": the
// defaults of flags berth does not implement.
type zeroQuantityValue struct{ what string }

var quantity = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$`)

func (v zeroQuantityValue) Set(s string) error {
	s = strings.TrimSpace(s)
	m := quantity.FindStringSubmatch(s)
	if m == nil {
		return errors.New("must be a quantity such as 0, 512, 1K or 2Mi")
	}
	if strings.Trim(m[1], "0.") != "" {
		return unsupported("%s; only 0 is accepted", v.what)
	}
	return nil
}

func (v zeroQuantityValue) String() string { return "0" }

// refusedValue refuses every value.
// shown is what String returns: the flag's unset value as kube-scheduler prints it.
type refusedValue struct{ why, shown string }

func (v refusedValue) Set(string) error { return unsupported("%s", v.why) }
func (v refusedValue) String() string   { return v.shown }

// metricLabelsValue keeps each --allow-metric-labels value after a syntax check: the
// value must hold at least one metric,label=values mapping.
type metricLabelsValue struct{ p *[]string }

func (v metricLabelsValue) Set(s string) error {
	if s != "" && !strings.Contains(s, "=") {
		return errors.New("must have the form metricName,labelName='v1,v2,...'")
	}
	*v.p = append(*v.p, s)
	return nil
}

func (v metricLabelsValue) String() string {
	if v.p == nil {
		return "[]"
	}
	return "[" + strings.Join(*v.p, ",") + "]"
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
