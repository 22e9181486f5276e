package dynamicresources

import (
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
)

// constraintState tracks one claim constraint while devices are picked. Constraints are
// monotonic: once a device violates one, adding more devices cannot help, so the search
// backtracks at once. Every successful add is undone by exactly one remove, in reverse order.
type constraintState struct {
	spec *constraintSpec
	// matchAttribute: the first device's value and how many devices share it;
	// distinctAttribute: the values taken so far.
	first  *resourcev1.DeviceAttribute
	n      int
	values []*resourcev1.DeviceAttribute
}

// add reports whether c may be picked for request base (subrequest sub) and records it.
func (s *constraintState) add(base, sub string, c *candidate) bool {
	if !s.spec.applies(base, sub) {
		return true
	}
	attr := lookupAttribute(c, s.spec.attribute)
	if attr == nil {
		return false
	}
	if s.spec.distinct {
		for _, v := range s.values {
			if !distinctValues(attr, v) {
				return false
			}
		}
		s.values = append(s.values, attr)
		return true
	}
	if s.n == 0 {
		s.first, s.n = attr, 1 // the first device is always accepted
		return true
	}
	if !sameValue(attr, s.first) {
		return false
	}
	s.n++
	return true
}

// remove forgets the device added last for request base (subrequest sub).
func (s *constraintState) remove(base, sub string) {
	if !s.spec.applies(base, sub) {
		return
	}
	if s.spec.distinct {
		s.values = s.values[:len(s.values)-1]
		return
	}
	s.n--
}

// sameValue is matchAttribute's comparison: a's single value equals b's of the same type. List
// values (DRAListTypeAttributes is off) never match.
func sameValue(a, b *resourcev1.DeviceAttribute) bool {
	switch {
	case a.StringValue != nil:
		return b.StringValue != nil && *a.StringValue == *b.StringValue
	case a.IntValue != nil:
		return b.IntValue != nil && *a.IntValue == *b.IntValue
	case a.BoolValue != nil:
		return b.BoolValue != nil && *a.BoolValue == *b.BoolValue
	case a.VersionValue != nil:
		// semver in minimal form: string equality is version equality.
		return b.VersionValue != nil && *a.VersionValue == *b.VersionValue
	}
	return false
}

// distinctValues is distinctAttribute's comparison: false when a and b hold the same value of
// a's type; an attribute of an unknown type is never distinct.
func distinctValues(a, b *resourcev1.DeviceAttribute) bool {
	switch {
	case a.StringValue != nil:
		return b.StringValue == nil || *a.StringValue != *b.StringValue
	case a.IntValue != nil:
		return b.IntValue == nil || *a.IntValue != *b.IntValue
	case a.BoolValue != nil:
		return b.BoolValue == nil || *a.BoolValue != *b.BoolValue
	case a.VersionValue != nil:
		return b.VersionValue == nil || *a.VersionValue != *b.VersionValue
	}
	return false
}

// lookupAttribute finds a fully qualified attribute on a device: under its full name, or, when
// its domain is the device's driver, under the bare name.
func lookupAttribute(c *candidate, name resourcev1.FullyQualifiedName) *resourcev1.DeviceAttribute {
	if attr, ok := c.dev.Attributes[resourcev1.QualifiedName(name)]; ok {
		return &attr
	}
	domain, id, ok := strings.Cut(string(name), "/")
	if !ok || domain != c.slice.Spec.Driver {
		return nil
	}
	if attr, ok := c.dev.Attributes[resourcev1.QualifiedName(id)]; ok {
		return &attr
	}
	return nil
}
