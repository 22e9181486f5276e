package metrics

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrAlreadyRegistered is wrapped by the error a registration returns when
// the name, or one of the sample names it would expose, is already taken.
var ErrAlreadyRegistered = errors.New("metric already registered")

// kind is the Prometheus metric type of a family.
type kind uint8

const (
	kindCounter kind = iota
	kindGauge
	kindHistogram
	kindSummary
)

func (k kind) String() string {
	switch k {
	case kindCounter:
		return "counter"
	case kindGauge:
		return "gauge"
	case kindHistogram:
		return "histogram"
	case kindSummary:
		return "summary"
	}
	return "untyped"
}

// suffixes are the sample names a family of this kind writes, appended to
// the family name.
func (k kind) suffixes() []string {
	switch k {
	case kindHistogram:
		return []string{"_bucket", "_sum", "_count"}
	case kindSummary:
		return []string{"", "_sum", "_count"}
	}
	return []string{""}
}

// family is one registered metric name: its metadata and how to read its
// series at scrape time.
type family struct {
	name   string
	help   string
	kind   kind
	labels labelSet
	// collect appends the family's current series to out. It is called
	// without any registry lock held, once per scrape.
	collect func(s *scrape, out []series) ([]series, error)
}

// Registry holds registered metrics and writes them in the Prometheus text
// format. All methods are safe for concurrent use. The zero value is not
// usable; call NewRegistry.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family // by family name
	samples  map[string]string  // exposed sample name -> family name

	// disabled are the families --disabled-metrics hides; allowed the label values
	// --allow-metric-labels admits, by family and label name (see Configure).
	disabled map[string]bool
	allowed  map[string]map[string]map[string]bool
	// unexpected counts label values replaced by UnexpectedLabelValue.
	unexpected atomic.Uint64

	// readMemStats is runtime.ReadMemStats; tests count calls through it.
	readMemStats func(*runtime.MemStats)
	// procRoot is where process metrics are read from ("/proc").
	procRoot string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		families:     map[string]*family{},
		samples:      map[string]string{},
		readMemStats: runtime.ReadMemStats,
		procRoot:     "/proc",
	}
}

// register adds fams atomically: either all are registered or, on error,
// none is.
func (r *Registry) register(fams ...*family) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	pending := map[string]string{}
	for _, f := range fams {
		if !validMetricName(f.name) {
			return fmt.Errorf("registering metric %q: name must match [a-zA-Z_:][a-zA-Z0-9_:]*", f.name)
		}
		if _, ok := r.families[f.name]; ok {
			return fmt.Errorf("registering metric %q: %w", f.name, ErrAlreadyRegistered)
		}
		for _, suffix := range f.kind.suffixes() {
			sample := f.name + suffix
			owner, ok := r.samples[sample]
			if !ok {
				owner, ok = pending[sample]
			}
			if ok {
				return fmt.Errorf("registering metric %q: sample name %q is exposed by %q: %w",
					f.name, sample, owner, ErrAlreadyRegistered)
			}
			pending[sample] = f.name
		}
	}
	for sample, owner := range pending {
		r.samples[sample] = owner
	}
	for _, f := range fams {
		r.families[f.name] = f
	}
	return nil
}

// UnexpectedLabelValue replaces a label value that --allow-metric-labels does not admit, as
// Kubernetes' metrics do.
const UnexpectedLabelValue = "unexpected"

// Configure applies kube-scheduler's metric options: the families named in disabled are neither
// registered nor counted (--disabled-metrics; see off), and allowed (family name -> label name -> admitted values,
// from --allow-metric-labels) replaces any other value of such a label with
// UnexpectedLabelValue. Call it before the metrics are registered: the label allow-lists apply
// to families registered afterwards.
func (r *Registry) Configure(disabled []string, allowed map[string]map[string][]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.disabled = map[string]bool{}
	for _, name := range disabled {
		r.disabled[name] = true
	}
	r.allowed = map[string]map[string]map[string]bool{}
	for metric, labels := range allowed {
		r.allowed[metric] = map[string]map[string]bool{}
		for label, values := range labels {
			set := map[string]bool{}
			for _, v := range values {
				set[v] = true
			}
			r.allowed[metric][label] = set
		}
	}
}

// newLabelSet is newLabelSet with the family's label allow-lists attached.
func (r *Registry) newLabelSet(metric string, names []string, reserved string) (labelSet, error) {
	ls, err := newLabelSet(metric, names, reserved)
	if err != nil {
		return ls, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if lists := r.allowed[metric]; lists != nil {
		ls.unexpected = &r.unexpected
		ls.allowed = make([]map[string]bool, len(names))
		for i, n := range names {
			ls.allowed[i] = lists[n]
		}
	}
	return ls, nil
}

// off reports whether --disabled-metrics names the family. A disabled family is not registered:
// its constructor returns a nil vector, whose metrics discard, so it costs nothing to count, as
// kube-scheduler's disabled metrics do.
func (r *Registry) off(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.disabled[name]
}

// sortedFamilies returns the registered families ordered by name, without the disabled ones.
func (r *Registry) sortedFamilies() []*family {
	r.mu.Lock()
	fams := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		if !r.disabled[f.name] {
			fams = append(fams, f)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	return fams
}

// labelSet is the label names of a family in declaration order (the order
// label values are passed in) plus the order they are written in.
type labelSet struct {
	names []string
	// allowed, when not nil, holds per label (in names order) the values admitted; a nil
	// entry admits any value (see Registry.Configure). unexpected, then, counts the values
	// replaced (the registry's cardinality_enforcement_unexpected_categorizations_total).
	allowed    []map[string]bool
	unexpected *atomic.Uint64
	// order indexes names sorted by name: series are written and sorted
	// in this order, as Prometheus' own client does.
	order []int
}

// admit returns values with each value its label's allow-list does not admit replaced by
// UnexpectedLabelValue; values itself when all are admitted (or there are no allow-lists).
func (ls labelSet) admit(values []string) []string {
	if ls.allowed == nil {
		return values
	}
	var out []string
	for i, v := range values {
		if i >= len(ls.allowed) || ls.allowed[i] == nil || ls.allowed[i][v] {
			continue
		}
		if out == nil {
			out = slices.Clone(values)
		}
		out[i] = UnexpectedLabelValue
		if ls.unexpected != nil {
			ls.unexpected.Add(1)
		}
	}
	if out == nil {
		return values
	}
	return out
}

// newLabelSet validates names for a family called metric. reserved is a
// label name the family's kind writes itself ("le", "quantile") or "".
func newLabelSet(metric string, names []string, reserved string) (labelSet, error) {
	for i, n := range names {
		switch {
		case !validLabelName(n):
			return labelSet{}, fmt.Errorf("registering metric %q: label name %q must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __", metric, n)
		case n == reserved:
			return labelSet{}, fmt.Errorf("registering metric %q: label name %q is reserved for this metric type", metric, n)
		case slices.Contains(names[:i], n):
			return labelSet{}, fmt.Errorf("registering metric %q: label name %q is repeated", metric, n)
		}
	}
	ls := labelSet{names: slices.Clone(names), order: make([]int, len(names))}
	for i := range ls.order {
		ls.order[i] = i
	}
	slices.SortFunc(ls.order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	return ls, nil
}

// validMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isNameStart(c) && c != ':' && (i == 0 || !isDigit(c)) {
			return false
		}
	}
	return true
}

// validLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]* and is not
// reserved for Prometheus' internal use (leading "__").
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isNameStart(c) && (i == 0 || !isDigit(c)) {
			return false
		}
	}
	return true
}

func isNameStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
