package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/portico-dev/portico/internal/errs"
)

// Document is one YAML document of a catalog file.
type Document struct {
	// Line is the 1-based line where the document's content starts.
	Line int
	// Value is the document in the generic JSON representation; it is nil
	// when Err is set.
	Value any
	// Err reports a document that cannot be an entity (e.g. a list at the
	// root); the other documents of the file are still usable.
	Err error

	root *yaml.Node
}

// FieldLine returns the line of a field of the document, given in the
// dotted form of Problem.Field, or the closest enclosing field that exists;
// it returns the document's line when nothing matches.
func (d *Document) FieldLine(field string) int {
	n, line := d.root, d.Line
	for field != "" && n != nil {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		rest := ""
		switch n.Kind {
		case yaml.MappingNode:
			// Keys may contain dots (label keys such as a.b/c): take the
			// longest key that the path starts with.
			best := -1
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if (field == k || strings.HasPrefix(field, k+".")) && len(k) > best {
					best, next, line = len(k), n.Content[i+1], n.Content[i].Line
					rest = strings.TrimPrefix(strings.TrimPrefix(field, k), ".")
				}
			}
		case yaml.SequenceNode:
			idx, after, _ := strings.Cut(field, ".")
			if i, err := strconv.Atoi(idx); err == nil && i >= 0 && i < len(n.Content) {
				next, rest, line = n.Content[i], after, n.Content[i].Line
			}
		}
		if next == nil {
			break
		}
		n, field = next, rest
	}
	return line
}

// Entity decodes the document into an entity (see DecodeEntity), keeping
// the order in which the author wrote its fields.
func (d *Document) Entity() (*Entity, error) {
	if d.Err != nil {
		return nil, d.Err
	}
	e, err := DecodeEntity(d.Value)
	if err != nil {
		return nil, err
	}
	if d.root != nil {
		e.order = orderFromYAML(d.root)
	}
	return e, nil
}

// SyntaxError is a YAML file that cannot be read, with the line at fault
// (0 when unknown).
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func syntaxErrorf(line int, format string, args ...any) error {
	return errs.Wrap(errs.Input, &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// yamlLine finds the line number in a go-yaml error message.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// maxYAMLNodes bounds the nodes one document may expand to through aliases,
// so a small file cannot make us build a huge value ("billion laughs").
const maxYAMLNodes = 1_000_000

// ParseYAML splits a catalog file into its documents and converts each one to
// the generic JSON representation, the way Backstage's default parser reads
// catalog-info.yaml files: empty documents are skipped, merge keys ("<<") are
// plain keys, and a document that is not a mapping is an error of its own.
// An error for the whole file (invalid UTF-8, malformed YAML) is returned as
// an Input error naming the line.
func ParseYAML(data []byte) ([]Document, error) {
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		return nil, syntaxErrorf(lineAt(data, off), "file is not valid UTF-8 (invalid byte at offset %d); catalog files must be UTF-8", off)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			msg, line := err.Error(), 0
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = msg[len(m[0]):]
			} else {
				msg = strings.TrimPrefix(msg, "yaml: ")
			}
			return nil, syntaxErrorf(line, "malformed YAML: %s", msg)
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		doc := Document{Line: root.Line, root: root}
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue
		}
		if root.Kind != yaml.MappingNode && !(root.Kind == yaml.AliasNode && root.Alias != nil && root.Alias.Kind == yaml.MappingNode) {
			doc.Err = syntaxErrorf(root.Line, "expected an entity (a mapping) at the document root, got %s", yamlKindName(root))
			docs = append(docs, doc)
			continue
		}
		c := yamlConverter{}
		v, err := c.value(root, 0)
		if err != nil {
			doc.Err = err
		} else {
			doc.Value = v
		}
		docs = append(docs, doc)
	}
}

type yamlConverter struct {
	nodes int
}

func (c *yamlConverter) value(n *yaml.Node, depth int) (any, error) {
	c.nodes++
	if c.nodes > maxYAMLNodes {
		return nil, syntaxErrorf(n.Line, "document expands to more than %d values through aliases", maxYAMLNodes)
	}
	if depth > 1000 {
		return nil, syntaxErrorf(n.Line, "document is nested too deeply")
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, syntaxErrorf(n.Line, "unknown alias")
		}
		return c.value(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		lines := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			for kn.Kind == yaml.AliasNode && kn.Alias != nil {
				kn = kn.Alias
			}
			if kn.Kind != yaml.ScalarNode {
				return nil, syntaxErrorf(kn.Line, "mapping keys must be strings, got %s", yamlKindName(kn))
			}
			if first, dup := lines[kn.Value]; dup {
				return nil, syntaxErrorf(kn.Line, "duplicate key %q (first at line %d)", kn.Value, first)
			}
			lines[kn.Value] = kn.Line
			v, err := c.value(vn, depth+1)
			if err != nil {
				return nil, err
			}
			m[kn.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		arr := make([]any, len(n.Content))
		for i, x := range n.Content {
			v, err := c.value(x, depth+1)
			if err != nil {
				return nil, err
			}
			arr[i] = v
		}
		return arr, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	default:
		return nil, syntaxErrorf(n.Line, "unexpected YAML node")
	}
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, syntaxErrorf(n.Line, "%v", err)
		}
		return b, nil
	case "!!int", "!!float":
		var x any
		if err := n.Decode(&x); err != nil {
			return nil, syntaxErrorf(n.Line, "%v", err)
		}
		switch x := x.(type) {
		case int:
			return json.Number(strconv.Itoa(x)), nil
		case int64:
			return json.Number(strconv.FormatInt(x, 10)), nil
		case uint64:
			return json.Number(strconv.FormatUint(x, 10)), nil
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return nil, syntaxErrorf(n.Line, "%s cannot be represented in JSON; quote it to make it a string", n.Value)
			}
			return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
		default:
			return n.Value, nil
		}
	default:
		// Strings, timestamps (kept as written, as YAML 1.2 parsers do),
		// binary and custom tags all become the scalar's text.
		return n.Value, nil
	}
}

func yamlKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return fmt.Sprintf("a scalar (%s)", n.ShortTag())
	}
	return "an unknown node"
}

func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

func lineAt(data []byte, off int) int {
	return bytes.Count(data[:off], []byte("\n")) + 1
}
