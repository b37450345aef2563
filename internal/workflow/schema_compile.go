package workflow

import (
	"bytes"
	"context"
	"errors"
	"path"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CompileSchema compiles a data schema of w (its dataInputSchema or
// output schema) for validating instance data. Files the schema refers to
// are read through the workflow's Loader with the same lookup rules as
// every other referenced file; nothing is fetched from the network.
func (w *Workflow) CompileSchema(ctx context.Context, s *DataSchema) (*jsonschema.Schema, error) {
	if s == nil {
		return nil, errors.New("no schema")
	}
	if s.LoadErr != nil {
		return nil, s.LoadErr
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.Document))
	if err != nil {
		return nil, err
	}
	name := path.Join(path.Dir(w.File), "inline-schema.json")
	if s.Ref != "" {
		if p, err := resolveRef(w.File, s.Ref); err == nil {
			name = p
		}
	}
	name = path.Clean("/" + name)[1:]
	url := schemaBase + name
	c := jsonschema.NewCompiler()
	c.UseLoader(schemaLoader{ctx: ctx, w: w})
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, flatten(err)
	}
	return sch, nil
}
