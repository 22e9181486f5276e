package devicecel

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
)

// The device's maps are views: value{k: kMap, n: view, s: domain}. Reading them looks the
// names up in the device's own maps, so that evaluating a selector copies nothing.
const (
	viewNone       = iota
	viewAttributes // device.attributes: domain -> (name -> value)
	viewAttrDomain // device.attributes[s]: name -> value
	viewCapacity   // device.capacity: domain -> (name -> quantity)
	viewCapDomain  // device.capacity[s]: name -> quantity
)

func resourceQualifiedName(s string) resourceapi.QualifiedName { return resourceapi.QualifiedName(s) }

// splitQualified splits an attribute or capacity name into domain and name as upstream does: a
// name without a domain belongs to the driver's domain.
func splitQualified(name, driver string) (string, string) {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return driver, name
}

// qualifiedKeys returns the keys under which (domain, name) may be stored in a device's map:
// "domain/name" and, in the driver's domain, the bare "name". buf is scratch space so that the
// lookup does not allocate.
func lookupKey[V any](m map[resourceapi.QualifiedName]V, driver, domain, name string) (V, string, bool) {
	var zero V
	if strings.IndexByte(domain, '/') >= 0 {
		return zero, "", false
	}
	if domain == driver && strings.IndexByte(name, '/') < 0 {
		if v, ok := m[resourceapi.QualifiedName(name)]; ok {
			return v, name, true
		}
	}
	var buf [128]byte
	k := append(append(append(buf[:0], domain...), '/'), name...)
	if v, ok := m[resourceapi.QualifiedName(k)]; ok {
		return v, "", true
	}
	return zero, "", false
}

// attrValue converts an attribute to a CEL value, in upstream's order of precedence. The
// attributes were checked by checkAttributes, so a version parses.
func attrValue(a *resourceapi.DeviceAttribute) value {
	switch {
	case a.IntValues != nil:
		return listVal(intList(a.IntValues))
	case a.BoolValues != nil:
		return listVal(boolList(a.BoolValues))
	case a.StringValues != nil:
		return listVal(stringList(a.StringValues))
	case a.VersionValues != nil:
		return listVal(semverList(a.VersionValues))
	case a.IntValue != nil:
		return intVal(*a.IntValue)
	case a.BoolValue != nil:
		return boolVal(*a.BoolValue)
	case a.StringValue != nil:
		return stringVal(*a.StringValue)
	case a.VersionValue != nil:
		return value{k: kSemver, s: *a.VersionValue}
	}
	return errVal(errors.New("unsupported attribute value"))
}

// checkAttributes fails like upstream does before evaluating anything: every attribute must
// hold a value, and every version must be a semantic version.
func checkAttributes(d *resourceapi.Device) error {
	for name, a := range d.Attributes {
		switch {
		case a.IntValues != nil, a.BoolValues != nil, a.StringValues != nil:
		case a.VersionValues != nil:
			for _, v := range a.VersionValues {
				if _, ok := parseSemver(v); !ok {
					return fmt.Errorf("attribute %s: parse semantic version: invalid version %q", name, v)
				}
			}
		case a.IntValue != nil, a.BoolValue != nil, a.StringValue != nil:
		case a.VersionValue != nil:
			if _, ok := parseSemver(*a.VersionValue); !ok {
				return fmt.Errorf("attribute %s: parse semantic version: invalid version %q", name, *a.VersionValue)
			}
		default:
			return fmt.Errorf("attribute %s: unsupported attribute value", name)
		}
	}
	return nil
}

// attribute returns device.attributes[domain][name].
func (e *evalEnv) attribute(domain, name string) (value, bool) {
	a, _, ok := lookupKey(e.dev.Attributes, e.driver, domain, name)
	if !ok {
		return value{}, false
	}
	return attrValue(&a), true
}

// capacity returns device.capacity[domain][name].
func (e *evalEnv) capacity(domain, name string) (value, bool) {
	c, key, ok := lookupKey(e.dev.Capacity, e.driver, domain, name)
	if !ok {
		return value{}, false
	}
	if key != "" {
		// The bare name is a string the device holds: keep it instead of copying the quantity.
		return value{k: kQuantity, s: key}, true
	}
	q := c.Value
	return value{k: kQuantity, r: &q}, true
}

// domains returns the sorted domains of the attribute or capacity names.
func domains[V any](m map[resourceapi.QualifiedName]V, driver string) []string {
	seen := map[string]bool{}
	for name := range m {
		d, _ := splitQualified(string(name), driver)
		seen[d] = true
	}
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// names returns the sorted names within one domain.
func names[V any](m map[resourceapi.QualifiedName]V, driver, domain string) []string {
	var out []string
	for name := range m {
		d, n := splitQualified(string(name), driver)
		if d == domain {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	// A name present both bare and qualified counts once.
	j := 0
	for i, n := range out {
		if i == 0 || n != out[j-1] {
			out[j] = n
			j++
		}
	}
	return out[:j]
}

func hasDomain[V any](m map[resourceapi.QualifiedName]V, driver, domain string) bool {
	for name := range m {
		if d, _ := splitQualified(string(name), driver); d == domain {
			return true
		}
	}
	return false
}
