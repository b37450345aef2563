package workflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaBase is the URL scheme under which schema files are given to the
// JSON Schema compiler; references between schema files resolve against it
// and come back to our Loader, never to the network or the disk directly.
const schemaBase = "file:///"

// schemaLoader feeds the JSON Schema compiler through a workflow Loader.
type schemaLoader struct {
	ctx    context.Context
	loader Loader
	from   string // the workflow file, against which classpath: resolves
}

func (l schemaLoader) Load(url string) (any, error) {
	var p string
	var err error
	switch {
	case strings.HasPrefix(url, schemaBase):
		p, err = cleanRooted(strings.TrimPrefix(url, schemaBase))
	case strings.HasPrefix(url, "classpath:"):
		p, err = resolveRef(l.from, url)
	default:
		return nil, errRemote
	}
	if err != nil {
		return nil, err
	}
	if l.loader == nil {
		return nil, errors.New("no loader was given to read it")
	}
	src, err := l.loader.Load(l.ctx, p)
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
	c.UseLoader(schemaLoader{ctx: ctx, loader: w.loader, from: w.File})
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
