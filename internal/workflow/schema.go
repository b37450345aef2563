package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaBase is the URL scheme under which schema files are given to the
// JSON Schema compiler; references between schema files resolve against it
// and come back to our Loader, never to the network or the disk directly.
const schemaBase = "file:///"

// schemaLoader feeds the JSON Schema compiler through the workflow's
// Loader, with the same lookup rules as every other referenced file.
type schemaLoader struct {
	ctx context.Context
	w   *Workflow
}

// Load implements jsonschema.URLLoader.
func (l schemaLoader) Load(url string) (any, error) {
	var ref string
	switch {
	case strings.HasPrefix(url, schemaBase):
		// Back to a path relative to the workflow file, so that loadNear
		// can also look in parent directories.
		ref = "/" + strings.TrimPrefix(url, schemaBase)
		if dir := path.Dir(l.w.File); dir == "." {
			ref = ref[1:]
		} else if rel, ok := strings.CutPrefix(ref, "/"+dir+"/"); ok {
			ref = rel
		}
	case strings.HasPrefix(url, "classpath:"):
		ref = url
	default:
		return nil, ErrRemoteReference
	}
	_, src, err := loadNear(l.ctx, l.w.loader, l.w.File, ref)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(src))
}

// checkSchema compiles a data schema. It returns an error when the schema
// cannot be used at all, and a non-empty warning when only a file it refers
// to is missing (the schema itself is fine, but validating data against it
// will fail until the file is provided).
func checkSchema(ctx context.Context, w *Workflow, s *DataSchema) (warning string, err error) {
	if s.LoadErr != nil {
		return "", fmt.Errorf("cannot load schema %q: %w", s.Ref, s.LoadErr)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.Document))
	if err != nil {
		return "", fmt.Errorf("schema %q is not valid JSON: %w", s.Ref, err)
	}
	name := "inline-schema.json"
	if s.Ref != "" {
		if p, err := resolveRef(w.File, s.Ref); err == nil {
			name = p
		}
	}
	url := schemaBase + name
	c := jsonschema.NewCompiler()
	c.UseLoader(schemaLoader{ctx: ctx, w: w})
	if err := c.AddResource(url, doc); err != nil {
		return "", fmt.Errorf("schema %q: %w", s.Ref, err)
	}
	_, err = c.Compile(url)
	if err == nil {
		return "", nil
	}
	var le *jsonschema.LoadURLError
	if errors.As(err, &le) {
		return fmt.Sprintf("schema %q refers to %s, which cannot be loaded (%v); data cannot be validated against it until that file exists", s.Ref, le.URL, le.Err), nil
	}
	return "", fmt.Errorf("schema %q is not a valid JSON Schema: %w", s.Ref, flatten(err))
}

// flatten turns the compiler's multi-line errors into one line.
func flatten(err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	return errors.New(msg)
}
