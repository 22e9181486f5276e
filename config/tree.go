package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	yaml "sigs.k8s.io/yaml/goyaml.v3" // go.yaml.in/yaml/v3, through sigs.k8s.io/yaml, which client-go brings
)

// yamlTree is the document as a YAML node tree. It is used only to name what the JSON decoding
// cannot: keys repeated in a mapping, and the line of a field. The document's values come from
// sigs.k8s.io/yaml's conversion, as upstream's do.
type yamlTree struct {
	root *yaml.Node // nil when the text does not parse as a YAML node tree
}

func parseTree(data []byte) yamlTree {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return yamlTree{}
	}
	return yamlTree{root: doc.Content[0]}
}

// duplicates returns an error for every key repeated within one mapping, naming its path and
// line. Aliases are not followed: what they point to is checked where it is defined.
func (t yamlTree) duplicates() []error {
	var errs []error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			seen := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind != yaml.ScalarNode || k.Value == "<<" {
					continue
				}
				p := joinPath(path, k.Value)
				if seen[k.Value] {
					errs = append(errs, fmt.Errorf("%s: duplicate field (line %d)", showPath(p), k.Line))
					continue
				}
				seen[k.Value] = true
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	if t.root != nil {
		walk(t.root, "")
	}
	return errs
}

// line returns the line of the key at path (for example "profiles[0].plugins.score"), or 0 when
// the tree has no such key.
func (t yamlTree) line(path string) int {
	n, line := t.root, 0
	for _, part := range strings.Split(path, ".") {
		name, indices, ok := splitIndices(part)
		if !ok || n == nil {
			return 0
		}
		if name != "" {
			if n, line = mapValue(n, name); n == nil {
				return 0
			}
		}
		for _, i := range indices {
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return 0
			}
			n, line = n.Content[i], n.Content[i].Line
		}
	}
	return line
}

// mapValue returns the value of key in mapping n and the key's line.
func mapValue(n *yaml.Node, key string) (*yaml.Node, int) {
	if n.Kind != yaml.MappingNode {
		return nil, 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1], k.Line
		}
	}
	return nil, 0
}

// splitIndices splits "profiles[0][1]" into "profiles" and [0 1].
func splitIndices(part string) (string, []int, bool) {
	name, rest, _ := strings.Cut(part, "[")
	if rest == "" {
		return name, nil, true
	}
	var indices []int
	for _, s := range strings.Split(rest, "[") {
		i, err := strconv.Atoi(strings.TrimSuffix(s, "]"))
		if err != nil || !strings.HasSuffix(s, "]") {
			return "", nil, false
		}
		indices = append(indices, i)
	}
	return name, indices, true
}

func joinPath(base, field string) string {
	switch {
	case base == "":
		return field
	case field == "":
		return base
	case strings.HasPrefix(field, "["):
		return base + field
	}
	return base + "." + field
}

// withLine appends " (line N)" to msg when the tree knows path's line.
func (t yamlTree) withLine(path, msg string) string {
	if l := t.line(path); l > 0 {
		return fmt.Sprintf("%s (line %d)", msg, l)
	}
	return msg
}

// showPath returns path as it can be printed on one line: quoted when it holds a character that
// is not printable (a key may hold a newline).
func showPath(path string) string {
	if strings.IndexFunc(path, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(path)
	}
	return path
}
