package orchestrator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/portico-dev/portico/internal/jsonorder"
	"github.com/portico-dev/portico/internal/workflow"
)

// maxRefDepth bounds nested references while inlining a schema.
const maxRefDepth = 32

// resolvedSchema returns a data schema with its references to other files
// inlined, as SonataFlow reports inputSchema and outputSchema: callers
// such as the RHDH plugin render forms from it and cannot fetch the files
// beside the workflow. References inside the document itself ("#/...") are
// kept; references to URLs are kept as written.
//
// Objects are *jsonorder.Object in the order the author wrote them (parts
// inlined from another file in that file's order): forms show properties
// in the order of the schema's keys.
func resolvedSchema(fsys fs.FS, w *workflow.Workflow, s *workflow.DataSchema) (any, error) {
	if s == nil || len(s.Document) == 0 {
		return nil, nil
	}
	doc, err := jsonorder.Unmarshal(s.Document)
	if err != nil {
		return nil, err
	}
	file := w.File
	if s.Ref != "" && !strings.Contains(s.Ref, "://") {
		ref := strings.TrimPrefix(strings.TrimPrefix(s.Ref, "classpath:"), "file:")
		file = path.Clean(path.Join(path.Dir(w.File), strings.TrimLeft(ref, "/")))
	}
	// The parser converts a schema written in YAML (a schema file, or one
	// inline in the workflow file, JSON or YAML) through Go maps, which
	// sorts its keys; the order comes back from the YAML itself.
	if n := schemaYAML(fsys, w, s, file); n != nil {
		jsonorder.OrderLikeYAML(doc, n)
	}
	r := &refResolver{fsys: fsys}
	return r.resolve(doc, file, doc, false, 0)
}

// schemaYAML finds the YAML node s was converted from, or nil when its
// document is the JSON file as written (or cannot be found again).
func schemaYAML(fsys fs.FS, w *workflow.Workflow, s *workflow.DataSchema, file string) *yaml.Node {
	if s.Ref != "" {
		b, err := fs.ReadFile(fsys, file)
		if err != nil || json.Valid(b) {
			return nil
		}
		return parseYAMLNode(b)
	}
	b, err := fs.ReadFile(fsys, w.File)
	if err != nil {
		return nil
	}
	root := parseYAMLNode(b)
	var holder *yaml.Node // what holds the schema: a file name or {schema, failOnValidationErrors}
	switch s {
	case w.DataInputSchema:
		holder = mappingValue(root, "dataInputSchema")
	case w.OutputSchema:
		ext := mappingValue(root, "extensions")
		if ext == nil || ext.Kind != yaml.SequenceNode {
			return nil
		}
		for _, e := range ext.Content {
			if id := mappingValue(e, "extensionid"); id != nil && id.Value == workflow.ExtensionOutputSchema {
				holder = mappingValue(e, "outputSchema")
			}
		}
	}
	return mappingValue(holder, "schema")
}

// parseYAMLNode parses YAML (or JSON) as the workflow parser does, or
// returns nil.
func parseYAMLNode(b []byte) *yaml.Node {
	// In valid JSON a raw tab can only be white space between tokens, and
	// YAML refuses tabs in some of those places.
	if bytes.IndexByte(b, '\t') >= 0 && json.Valid(b) {
		b = bytes.ReplaceAll(b, []byte{'\t'}, []byte{' '})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// mappingValue is the value of key in the mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

type refResolver struct{ fsys fs.FS }

// resolve walks v, a part of the document root loaded from file. inlined
// is set inside a document pulled in from another file, whose own "#..."
// references must be inlined too, since they point into that file.
func (r *refResolver) resolve(v any, file string, root any, inlined bool, depth int) (any, error) {
	if depth > maxRefDepth {
		return nil, fmt.Errorf("%s: schema references nest deeper than %d", file, maxRefDepth)
	}
	switch t := v.(type) {
	case *jsonorder.Object:
		refv, _ := t.Get("$ref")
		if ref, ok := refv.(string); ok {
			target, tfile, troot, ok, err := r.load(ref, file, root, inlined)
			if err != nil {
				return nil, err
			}
			if ok {
				res, err := r.resolve(target, tfile, troot, true, depth+1)
				if err != nil {
					return nil, err
				}
				if m, isObj := res.(*jsonorder.Object); isObj && t.Len() > 1 {
					// The referenced schema's keys in its order; the
					// keywords beside $ref win, and new ones follow.
					merged := jsonorder.NewObject(m.Len() + t.Len())
					for k, val := range m.All() {
						merged.Set(k, val)
					}
					for k, val := range t.All() {
						if k != "$ref" {
							merged.Set(k, val)
						}
					}
					return merged, nil
				}
				return res, nil
			}
		}
		out := jsonorder.NewObject(t.Len())
		for k, val := range t.All() {
			res, err := r.resolve(val, file, root, inlined, depth)
			if err != nil {
				return nil, err
			}
			out.Set(k, res)
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i := range t {
			res, err := r.resolve(t[i], file, root, inlined, depth)
			if err != nil {
				return nil, err
			}
			out[i] = res
		}
		return out, nil
	}
	return v, nil
}

// load finds what ref points at; ok is false for references kept as
// written.
func (r *refResolver) load(ref, file string, root any, inlined bool) (target any, tfile string, troot any, ok bool, err error) {
	filePart, pointer, _ := strings.Cut(ref, "#")
	if strings.Contains(filePart, "://") {
		return nil, "", nil, false, nil
	}
	if filePart == "" {
		if !inlined {
			return nil, "", nil, false, nil
		}
		t, err := jsonPointer(root, pointer)
		if err != nil {
			return nil, "", nil, false, fmt.Errorf("%s: $ref %q: %w", file, ref, err)
		}
		return t, file, root, true, nil
	}
	p := path.Clean(path.Join(path.Dir(file), filePart))
	if strings.HasPrefix(p, "../") || p == ".." {
		return nil, "", nil, false, fmt.Errorf("%s: $ref %q leaves the workflow's directory", file, ref)
	}
	b, err := fs.ReadFile(r.fsys, p)
	if err != nil {
		return nil, "", nil, false, fmt.Errorf("%s: $ref %q: %w", file, ref, err)
	}
	doc, err := jsonorder.Unmarshal(b)
	if err != nil {
		return nil, "", nil, false, fmt.Errorf("%s: $ref %q: %w", file, ref, err)
	}
	t, err := jsonPointer(doc, pointer)
	if err != nil {
		return nil, "", nil, false, fmt.Errorf("%s: $ref %q: %w", file, ref, err)
	}
	return t, p, doc, true, nil
}

// jsonPointer follows an RFC 6901 pointer ("/definitions/x").
func jsonPointer(doc any, pointer string) (any, error) {
	if pointer == "" || pointer == "/" {
		return doc, nil
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t := cur.(type) {
		case *jsonorder.Object:
			v, ok := t.Get(tok)
			if !ok {
				return nil, fmt.Errorf("no %q in %s", tok, pointer)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, fmt.Errorf("no index %q in %s", tok, pointer)
			}
			cur = t[i]
		default:
			return nil, fmt.Errorf("%s does not point into an object or array", pointer)
		}
	}
	return cur, nil
}
