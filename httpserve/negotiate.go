package httpserve

import (
	"strconv"
	"strings"
)

// The z-pages (/flagz, /statusz) negotiate their output as the API server's endpoints do. An
// empty Accept header, or one that only a plain media type satisfies (text/plain, text/*, */*),
// gets the text page. A structured answer must name its kind, group and version as media type
// parameters, e.g. "application/json;as=Statusz;v=v1beta1;g=config.k8s.io"; a structured media
// type without them, or naming something else, is not acceptable (406).
const (
	zpageGroup      = "config.k8s.io"
	zpageVersion    = "v1beta1"  // current
	zpageDeprecated = "v1alpha1" // still served, with a Warning header
)

// Media types the z-pages can write, in the order an Accept clause is matched against them
// (the API server's codec order: JSON, YAML, then the text serializer).
const (
	mediaJSON = "application/json"
	mediaYAML = "application/yaml"
	mediaText = "text/plain"
)

var zpageMediaTypes = []string{mediaJSON, mediaYAML, mediaText}

// zpageChoice is the outcome of negotiation: a media type and, for the structured ones, the
// API version of the object to write.
type zpageChoice struct {
	mediaType string
	version   string // zpageVersion or zpageDeprecated; empty for text
	pretty    bool   // the clause asked for pretty=1
}

// acceptClause is one element of an Accept header.
type acceptClause struct {
	typ, subtype string
	q            float64
	params       map[string]string
}

// parseAccept splits an Accept header into clauses, ordered by preference (see before), else in
// header order. Malformed clauses are skipped. Clauses with q=0 are kept, as the API server
// keeps them. This is the order its negotiation tries them in.
func parseAccept(header string) []acceptClause {
	var out []acceptClause
	for part := range strings.SplitSeq(header, ",") {
		part = strings.Trim(part, " ")
		if part == "" {
			continue
		}
		mediaRange, params, _ := strings.Cut(part, ";")
		typ, subtype, hasSlash := strings.Cut(mediaRange, "/")
		typ = strings.Trim(typ, " ")
		switch {
		case !hasSlash && typ == "*":
			subtype = "*"
		case !hasSlash || strings.Contains(subtype, "/"):
			continue
		}
		c := acceptClause{typ: typ, subtype: strings.Trim(subtype, " "), q: 1}
		if params != "" {
			c.params = map[string]string{}
		}
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || strings.Contains(v, "=") {
				continue
			}
			k = strings.Trim(k, " ")
			if k == "q" {
				q, _ := strconv.ParseFloat(v, 32)
				c.q = q
				continue
			}
			c.params[k] = strings.Trim(v, " ")
		}
		out = append(out, c)
	}
	// An insertion sort with the API server's comparison, which is not a strict order (a
	// concrete type with a lower q can come before a wildcard with a higher one): this sort
	// is what its negotiation does with headers of up to 12 clauses, so ties break alike.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].before(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// before is the API server's preference between two clauses: a higher q, else a concrete type
// or subtype against a wildcard.
func (a acceptClause) before(b acceptClause) bool {
	return a.q > b.q || (a.typ != "*" && b.typ == "*") || (a.subtype != "*" && b.subtype == "*")
}

// negotiateZPage picks what to write for a z-page of the given kind ("Flagz", "Statusz").
// structured=false restricts the choice to plain media types (no as/g/v), as the API server
// does for its error bodies. ok=false means nothing in the header is acceptable.
func negotiateZPage(accept, kind string, structured bool) (zpageChoice, bool) {
	if strings.TrimSpace(accept) == "" {
		return zpageChoice{mediaType: mediaText}, true
	}
	for _, c := range parseAccept(accept) {
		for _, m := range zpageMediaTypes {
			typ, subtype, _ := strings.Cut(m, "/")
			if !(c.typ == "*" && c.subtype == "*") && (c.typ != typ || (c.subtype != subtype && c.subtype != "*")) {
				continue
			}
			if choice, ok := c.accepts(m, kind, structured); ok {
				return choice, true
			}
		}
	}
	return zpageChoice{}, false
}

// accepts reports whether clause c's parameters allow writing media type m.
func (c acceptClause) accepts(m, kind string, structured bool) (zpageChoice, bool) {
	choice := zpageChoice{mediaType: m}
	var as, group, version string
	var converts bool
	for k, v := range c.params {
		switch k {
		case "as":
			as, converts = v, true
		case "g":
			group, converts = v, true
		case "v":
			version, converts = v, true
		case "stream", "sv":
			if v != "" { // neither watching nor server-side versions are offered here
				return zpageChoice{}, false
			}
		case "pretty":
			choice.pretty = v == "1"
		}
	}
	if m == mediaText || !structured {
		return choice, !converts
	}
	if !converts || as != kind || group != zpageGroup || (version != zpageVersion && version != zpageDeprecated) {
		return zpageChoice{}, false
	}
	choice.version = version
	return choice, true
}
