package flags

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

const description = `berth is a drop-in replacement for the Kubernetes scheduler (kube-scheduler v` + KubeVersion + `).
It watches for pods without a node, picks a node for each among those that fit,
and binds the pod to it. It reads the same flags and configuration file as
kube-scheduler; flags it cannot honour are refused or reported at startup.`

// Usage writes the --help text to w: a description, the usage line for program, then the
// flags grouped in kube-scheduler's sections (Misc, Secure serving, Authentication,
// Authorization, Deprecated, Leader election, Feature gate, Metrics, Logs, Global), sorted
// by name within each. Write errors are ignored, as for any help output.
func Usage(w io.Writer, program string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nUsage:\n  %s [flags]\n", description, program)
	r := newRegistry(defaults())
	for _, s := range r.sections {
		writeSection(&b, s)
	}
	io.WriteString(w, b.String())
}

func writeSection(b *strings.Builder, s *section) {
	docs := slices.Clone(s.flags)
	slices.SortFunc(docs, func(x, y flagDoc) int { return strings.Compare(x.name, y.name) })
	heads := make([]string, len(docs))
	width := 0
	for i, d := range docs {
		heads[i] = d.head()
		width = max(width, len(heads[i]))
	}
	fmt.Fprintf(b, "\n%s flags:\n\n", s.title)
	for i, d := range docs {
		fmt.Fprintf(b, "%-*s   %s%s\n", width, heads[i], d.help, d.defaultNote())
	}
}

// head is the left column, e.g. "  -h, --help" or "      --secure-port int".
func (d flagDoc) head() string {
	h := "      --" + d.name
	if d.short != "" {
		h = "  -" + d.short + ", --" + d.name
	}
	if d.typ != "" {
		h += " " + d.typ
	}
	return h
}

func (d flagDoc) defaultNote() string {
	switch {
	case d.def == "":
		return ""
	case d.typ == "string":
		return " (default " + strconv.Quote(d.def) + ")"
	default:
		return " (default " + d.def + ")"
	}
}
