package dynamicresources

import (
	"sync"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"

	"github.com/berth-scheduler/berth/scheduler/plugins/nodeaffinity"
)

// Selector is a compiled device selector (a CEL expression of a DeviceClass or a request). Match
// reports whether the device of driver satisfies it; an error is a runtime failure of the
// expression on that device. Match must be safe for concurrent use.
type Selector interface {
	Match(driver string, d *resourcev1.Device) (bool, error)
}

// Compiler compiles a selector's CEL expression. An expression berth cannot evaluate is an error
// (for example "selector uses X, which berth does not evaluate").
type Compiler func(expr string) (Selector, error)

// maxCached bounds the caches below: expressions and selectors repeat across pods, so a cache
// that outgrows this holds stale entries (of deleted classes, claims or slices) and is emptied.
const maxCached = 4096

// selectorCache compiles each expression once for all pods. Safe for concurrent use.
type selectorCache struct {
	compile Compiler
	mu      sync.Mutex
	m       map[string]compiledSelector
}

type compiledSelector struct {
	sel Selector
	err error
}

func newSelectorCache(compile Compiler) *selectorCache {
	return &selectorCache{compile: compile, m: map[string]compiledSelector{}}
}

// get returns expr compiled, or the compile error.
func (c *selectorCache) get(expr string) (Selector, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[expr]; ok {
		return e.sel, e.err
	}
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	sel, err := c.compile(expr)
	c.m[expr] = compiledSelector{sel, err}
	return sel, err
}

// nodeSelectorCache compiles the node selectors of ResourceSlices and devices once, keyed by
// the selector object (slices are immutable once in the snapshot). Safe for concurrent use.
type nodeSelectorCache struct {
	mu sync.Mutex
	m  map[*v1.NodeSelector]*nodeaffinity.Selector
}

// matches reports whether ns selects node.
func (c *nodeSelectorCache) matches(ns *v1.NodeSelector, node *v1.Node) bool {
	c.mu.Lock()
	sel, ok := c.m[ns]
	if !ok {
		if c.m == nil || len(c.m) >= maxCached {
			c.m = map[*v1.NodeSelector]*nodeaffinity.Selector{}
		}
		sel = nodeaffinity.CompileSelector(ns)
		c.m[ns] = sel
	}
	c.mu.Unlock()
	return sel.Matches(node)
}

// nodeMatches is upstream's node selection of a slice or device: a node name, all nodes, or a
// node selector; nothing set selects no node.
func (c *nodeSelectorCache) nodeMatches(node *v1.Node, name *string, all *bool, ns *v1.NodeSelector) bool {
	switch {
	case name != nil && *name != "":
		return node.Name == *name
	case all != nil && *all:
		return true
	case ns != nil:
		return c.matches(ns, node)
	}
	return false
}

// ClassMatcher tells whether a device satisfies a DeviceClass's selectors, compiling each
// expression once (NodeResourcesFit's scoring of extended resources backed by DRA counts the
// devices of a class). Safe for concurrent use.
type ClassMatcher struct{ sels *selectorCache }

// NewClassMatcher returns a ClassMatcher compiling with compile.
func NewClassMatcher(compile Compiler) *ClassMatcher {
	return &ClassMatcher{sels: newSelectorCache(compile)}
}

// Matches reports whether device d of driver satisfies every CEL selector of class (a class
// without selectors matches every device); an expression that does not compile, or fails on the
// device, is an error.
func (m *ClassMatcher) Matches(class *resourcev1.DeviceClass, driver string, d *resourcev1.Device) (bool, error) {
	for _, s := range class.Spec.Selectors {
		if s.CEL == nil {
			continue
		}
		sel, err := m.sels.get(s.CEL.Expression)
		if err != nil {
			return false, err
		}
		if ok, err := sel.Match(driver, d); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}
