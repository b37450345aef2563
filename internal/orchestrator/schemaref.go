package orchestrator

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/workflow"
)

// maxRefDepth bounds nested references while inlining a schema.
const maxRefDepth = 32

// resolvedSchema returns a data schema with its references to other files
// inlined, as SonataFlow reports inputSchema and outputSchema: callers
// such as the RHDH plugin render forms from it and cannot fetch the files
// beside the workflow. References inside the document itself ("#/...") are
// kept; references to URLs are kept as written.
func resolvedSchema(fsys fs.FS, w *workflow.Workflow, s *workflow.DataSchema) (any, error) {
	if s == nil || len(s.Document) == 0 {
		return nil, nil
	}
	var doc any
	if err := json.Unmarshal(s.Document, &doc); err != nil {
		return nil, err
	}
	file := w.File
	if s.Ref != "" && !strings.Contains(s.Ref, "://") {
		ref := strings.TrimPrefix(strings.TrimPrefix(s.Ref, "classpath:"), "file:")
		file = path.Clean(path.Join(path.Dir(w.File), strings.TrimLeft(ref, "/")))
	}
	r := &refResolver{fsys: fsys}
	return r.resolve(doc, file, doc, false, 0)
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
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			target, tfile, troot, ok, err := r.load(ref, file, root, inlined)
			if err != nil {
				return nil, err
			}
			if ok {
				res, err := r.resolve(target, tfile, troot, true, depth+1)
				if err != nil {
					return nil, err
				}
				if m, isMap := res.(map[string]any); isMap && len(t) > 1 {
					merged := make(map[string]any, len(m)+len(t))
					for k, val := range m {
						merged[k] = val
					}
					for k, val := range t {
						if k != "$ref" {
							merged[k] = val
						}
					}
					return merged, nil
				}
				return res, nil
			}
		}
		out := make(map[string]any, len(t))
		for k, val := range t {
			res, err := r.resolve(val, file, root, inlined, depth)
			if err != nil {
				return nil, err
			}
			out[k] = res
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
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
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
		case map[string]any:
			v, ok := t[tok]
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
