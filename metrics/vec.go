package metrics

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// errNilVec is returned by Lookup on a nil vector, which is what a failed
// registration leaves behind.
var errNilVec = errors.New("looking up series: metric is not registered")

// children maps label values to the metric that counts for them.
//
// Lookups of existing children are lock-free and do not allocate: the map
// is immutable once published and replaced as a whole (copy on write) when
// a new label combination appears. Inserts are serialized by mu. Label
// cardinality is expected to be small, so the copy is cheap.
type children[M any] struct {
	labels  labelSet
	newM    func() *M
	mu      sync.Mutex // held while inserting
	current atomic.Pointer[map[uint64][]child[M]]
}

type child[M any] struct {
	values []string
	metric *M
}

// newChildren returns an empty set; a family without labels gets its only
// child right away so it is exposed (at zero) before first use.
func newChildren[M any](labels labelSet, newM func() *M) *children[M] {
	c := &children[M]{labels: labels, newM: newM}
	m := map[uint64][]child[M]{}
	if len(labels.names) == 0 {
		m[hashValues(nil)] = []child[M]{{metric: newM()}}
	}
	c.current.Store(&m)
	return c
}

// get returns the metric for values, creating it on first use. It fails if
// the number of values does not match the label names or a value is not
// valid UTF-8.
func (c *children[M]) get(values []string) (*M, error) {
	if len(values) != len(c.labels.names) {
		return nil, fmt.Errorf("looking up series: got %d label values, want %d (%s)",
			len(values), len(c.labels.names), strings.Join(c.labels.names, ", "))
	}
	values = c.labels.admit(values)
	h := hashValues(values)
	for _, e := range (*c.current.Load())[h] {
		if slices.Equal(e.values, values) {
			return e.metric, nil
		}
	}
	return c.insert(h, values)
}

// insert is the slow path of get.
func (c *children[M]) insert(h uint64, values []string) (*M, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.current.Load()
	for _, e := range old[h] {
		if slices.Equal(e.values, values) {
			return e.metric, nil // inserted while we waited for mu
		}
	}
	for i, v := range values {
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("looking up series: value of label %q is not valid UTF-8", c.labels.names[i])
		}
	}
	e := child[M]{values: slices.Clone(values), metric: c.newM()}
	next := maps.Clone(old)
	next[h] = append(slices.Clip(old[h]), e)
	c.current.Store(&next)
	return e.metric, nil
}

// reset forgets every child of a labelled family; a family without labels
// gets a fresh zero child. Holders of a child from before keep counting into
// it, unexposed.
func (c *children[M]) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[uint64][]child[M]{}
	if len(c.labels.names) == 0 {
		m[hashValues(nil)] = []child[M]{{metric: c.newM()}}
	}
	c.current.Store(&m)
}

// each calls fn for every child, in no particular order.
func (c *children[M]) each(fn func(values []string, m *M)) {
	for _, bucket := range *c.current.Load() {
		for _, e := range bucket {
			fn(e.values, e.metric)
		}
	}
}

// hashValues is FNV-1a over the values, each followed by a byte that
// cannot occur in UTF-8 so ("ab", "") and ("a", "b") differ.
func hashValues(values []string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, v := range values {
		for i := 0; i < len(v); i++ {
			h ^= uint64(v[i])
			h *= prime
		}
		h ^= 0xff
		h *= prime
	}
	return h
}
