package nodeaffinity

import (
	"strconv"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file compiles v1.NodeSelectorTerms into matchers that judge a node without allocating.
// Validation reuses apimachinery's label requirement checks so that error messages read like
// kube-scheduler's; matching is our own, with Gt/Lt bounds parsed once.

var (
	labelOperators = []v1.NodeSelectorOperator{
		v1.NodeSelectorOpIn, v1.NodeSelectorOpNotIn, v1.NodeSelectorOpExists,
		v1.NodeSelectorOpDoesNotExist, v1.NodeSelectorOpGt, v1.NodeSelectorOpLt,
	}
	fieldOperators = []v1.NodeSelectorOperator{v1.NodeSelectorOpIn, v1.NodeSelectorOpNotIn}
)

// labelReq is one compiled matchExpressions requirement.
type labelReq struct {
	key    string
	op     v1.NodeSelectorOperator
	values []string
	bound  int64 // the Gt/Lt operand
}

func (r *labelReq) matches(nodeLabels map[string]string) bool {
	v, ok := nodeLabels[r.key]
	switch r.op {
	case v1.NodeSelectorOpIn:
		return ok && contains(r.values, v)
	case v1.NodeSelectorOpNotIn:
		return !ok || !contains(r.values, v)
	case v1.NodeSelectorOpExists:
		return ok
	case v1.NodeSelectorOpDoesNotExist:
		return !ok
	case v1.NodeSelectorOpGt, v1.NodeSelectorOpLt:
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		if r.op == v1.NodeSelectorOpGt {
			return n > r.bound
		}
		return n < r.bound
	}
	return false
}

func contains(values []string, v string) bool {
	for _, s := range values {
		if s == v {
			return true
		}
	}
	return false
}

// fieldReq is one compiled matchFields requirement. Nodes expose only metadata.name as a field;
// any other key reads as the empty string, as with kube-scheduler's field selectors.
type fieldReq struct {
	key, value string
	in         bool
}

// matchesLabels reports whether the term's label requirements hold for nodeLabels.
func (t *term) matchesLabels(nodeLabels map[string]string) bool {
	for i := range t.exprs {
		if !t.exprs[i].matches(nodeLabels) {
			return false
		}
	}
	return true
}

// term is a compiled, valid, non-empty v1.NodeSelectorTerm: all requirements must hold.
type term struct {
	exprs  []labelReq
	fields []fieldReq
}

func (t *term) matches(node *v1.Node) bool {
	if !t.matchesLabels(node.Labels) {
		return false
	}
	// A node without a name has no fields, and field requirements are then not checked.
	if node.Name == "" {
		return true
	}
	for _, f := range t.fields {
		got := ""
		if f.key == metav1.ObjectNameField {
			got = node.Name
		}
		if (got == f.value) != f.in {
			return false
		}
	}
	return true
}

func isEmptyTerm(t *v1.NodeSelectorTerm) bool {
	return len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0
}

// compileTerm compiles t, reporting every invalid requirement under path.
func compileTerm(t *v1.NodeSelectorTerm, path *field.Path) (term, []error) {
	var out term
	var errs []error
	exprPath := path.Child("matchExpressions")
	for i, e := range t.MatchExpressions {
		r, err := compileLabelReq(e, exprPath.Index(i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.exprs = append(out.exprs, r)
	}
	fieldPath := path.Child("matchFields")
	for i, e := range t.MatchFields {
		p := fieldPath.Index(i)
		switch {
		case e.Operator != v1.NodeSelectorOpIn && e.Operator != v1.NodeSelectorOpNotIn:
			errs = append(errs, field.NotSupported(p.Child("operator"), e.Operator, fieldOperators))
		case len(e.Values) != 1:
			errs = append(errs, field.Invalid(p.Child("values"), e.Values, "must have one element"))
		default:
			out.fields = append(out.fields, fieldReq{key: e.Key, value: e.Values[0], in: e.Operator == v1.NodeSelectorOpIn})
		}
	}
	return out, errs
}

func compileLabelReq(e v1.NodeSelectorRequirement, path *field.Path) (labelReq, error) {
	var op selection.Operator
	switch e.Operator {
	case v1.NodeSelectorOpIn:
		op = selection.In
	case v1.NodeSelectorOpNotIn:
		op = selection.NotIn
	case v1.NodeSelectorOpExists:
		op = selection.Exists
	case v1.NodeSelectorOpDoesNotExist:
		op = selection.DoesNotExist
	case v1.NodeSelectorOpGt:
		op = selection.GreaterThan
	case v1.NodeSelectorOpLt:
		op = selection.LessThan
	default:
		return labelReq{}, field.NotSupported(path.Child("operator"), e.Operator, labelOperators)
	}
	// NewRequirement validates the key, the number of values and the values themselves
	// (integers for Gt and Lt).
	if _, err := labels.NewRequirement(e.Key, op, e.Values, field.WithPath(path)); err != nil {
		return labelReq{}, err
	}
	r := labelReq{key: e.Key, op: e.Operator, values: e.Values}
	if op == selection.GreaterThan || op == selection.LessThan {
		r.bound, _ = strconv.ParseInt(e.Values[0], 10, 64) // validated above
	}
	return r, nil
}

// nodeSelector is a compiled v1.NodeSelector: its valid, non-empty terms, ORed.
// With no terms it matches no node.
type nodeSelector struct {
	terms []term
	// invalid counts the non-empty terms dropped because they could not be parsed.
	invalid int
}

// compileNodeSelector compiles ns. Empty terms are dropped (they select nothing); invalid terms
// are dropped and their errors returned, so the result is the lenient selector kube-scheduler
// uses for pods, and a strict caller rejects ns when errs is not empty.
func compileNodeSelector(ns *v1.NodeSelector, path *field.Path) (nodeSelector, []error) {
	var out nodeSelector
	var errs []error
	termsPath := path.Child("nodeSelectorTerms")
	for i := range ns.NodeSelectorTerms {
		t := &ns.NodeSelectorTerms[i]
		if isEmptyTerm(t) {
			continue
		}
		ct, termErrs := compileTerm(t, termsPath.Index(i))
		if len(termErrs) > 0 {
			errs = append(errs, termErrs...)
			out.invalid++
			continue
		}
		out.terms = append(out.terms, ct)
	}
	return out, errs
}

func (s *nodeSelector) matches(node *v1.Node) bool {
	for i := range s.terms {
		if s.terms[i].matches(node) {
			return true
		}
	}
	return false
}

// weightedTerm is a compiled v1.PreferredSchedulingTerm.
type weightedTerm struct {
	term
	weight int64
}

// compilePreferred compiles preferred terms, skipping those with weight 0 or no requirements
// (before validating them, as kube-scheduler does). Any invalid remaining term is an error.
func compilePreferred(terms []v1.PreferredSchedulingTerm, path *field.Path) ([]weightedTerm, []error) {
	var out []weightedTerm
	var errs []error
	for i := range terms {
		t := &terms[i]
		if t.Weight == 0 || isEmptyTerm(&t.Preference) {
			continue
		}
		// kube-scheduler reports these paths without ".preference"; keep its wording.
		ct, termErrs := compileTerm(&t.Preference, path.Index(i))
		if len(termErrs) > 0 {
			errs = append(errs, termErrs...)
			continue
		}
		out = append(out, weightedTerm{term: ct, weight: int64(t.Weight)})
	}
	return out, errs
}

// scorePreferred returns the sum of the weights of the terms node matches.
func scorePreferred(terms []weightedTerm, node *v1.Node) int64 {
	var sum int64
	for i := range terms {
		if terms[i].matches(node) {
			sum += terms[i].weight
		}
	}
	return sum
}

// Selector is a compiled v1.NodeSelector for other objects' node affinity (a PersistentVolume's
// spec.nodeAffinity.required). Terms that cannot be parsed are left out and never match, so an
// invalid selector matches only through its valid terms, as kube-scheduler's volume checks do.
type Selector struct{ s nodeSelector }

// CompileSelector compiles ns (nil matches every node, as a PV without node affinity does).
func CompileSelector(ns *v1.NodeSelector) *Selector {
	if ns == nil {
		return nil
	}
	s, _ := compileNodeSelector(ns, field.NewPath("nodeSelector"))
	return &Selector{s: s}
}

// MatchesLabels reports whether a node with nodeLabels is selected. The node has no name, as in
// kube-scheduler's volume checks: its field requirements are not checked (see term.matches).
func (s *Selector) MatchesLabels(nodeLabels map[string]string) bool {
	if s == nil {
		return true
	}
	for i := range s.s.terms {
		if s.s.terms[i].matchesLabels(nodeLabels) {
			return true
		}
	}
	return false
}

// Matches reports whether node is selected, judging its labels and its metadata.name field (as
// a ResourceSlice's or a device allocation's node selector is judged).
func (s *Selector) Matches(node *v1.Node) bool {
	return s == nil || s.s.matches(node)
}

// InValues returns, when the selector has exactly one term and that term requires key In some
// values, the first such key and its values: only nodes with one of those values can match,
// which lets a caller index many selectors by node label. ok is false otherwise.
func (s *Selector) InValues() (key string, values []string, ok bool) {
	if s == nil || len(s.s.terms) != 1 {
		return "", nil, false
	}
	for _, r := range s.s.terms[0].exprs {
		if r.op == v1.NodeSelectorOpIn {
			return r.key, r.values, true
		}
	}
	return "", nil, false
}
