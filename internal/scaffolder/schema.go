package scaffolder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// FieldError is one value that failed a JSON Schema, in the shape of the
// jsonschema npm package's ValidationError that Backstage returns.
type FieldError struct {
	// Path is where the value is, as keys and indexes.
	Path []any `json:"path"`
	// Property is the path in the form "instance.name".
	Property string `json:"property"`
	Message  string `json:"message"`
	Instance any    `json:"instance,omitempty"`
	// Name is the failed keyword ("required", "type", ...).
	Name     string `json:"name"`
	Argument any    `json:"argument,omitempty"`
	// Stack is Property followed by Message.
	Stack string `json:"stack"`
}

// ValidationError is a set of field errors; the HTTP API answers it with
// 400 and {errors: [...]}.
type ValidationError struct {
	What   string
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		msgs = append(msgs, fe.Stack)
	}
	return fmt.Sprintf("%s: %s", e.What, strings.Join(msgs, "; "))
}

var printer = message.NewPrinter(language.English)

// noLoader refuses every external $ref: schemas come from templates, which
// must not make the server read files or URLs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not allowed (%s); inline the schema", url)
}

// compileSchema compiles a JSON Schema given as decoded JSON.
func compileSchema(name string, doc any) (*jsonschema.Schema, error) {
	v, err := toSchemaValue(doc)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(noLoader{})
	url := "mem:///" + name + ".json"
	if err := c.AddResource(url, v); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid JSON Schema: %w", name, err)
	}
	return s, nil
}

// toSchemaValue converts a Go JSON value to the validator's own number
// representation.
func toSchemaValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// validateValue validates v against s and returns the failed fields, or nil.
func validateValue(s *jsonschema.Schema, v any) ([]FieldError, error) {
	doc, err := toSchemaValue(v)
	if err != nil {
		return nil, err
	}
	verr := s.Validate(doc)
	if verr == nil {
		return nil, nil
	}
	ve, ok := verr.(*jsonschema.ValidationError)
	if !ok {
		return nil, verr
	}
	var out []FieldError
	flatten(&out, ve, doc)
	slices.SortStableFunc(out, func(a, b FieldError) int { return strings.Compare(a.Property, b.Property) })
	return out, nil
}

func flatten(out *[]FieldError, ve *jsonschema.ValidationError, doc any) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			flatten(out, c, doc)
		}
		return
	}
	loc := ve.InstanceLocation
	add := func(loc []string, name, msg string, arg any) {
		path := make([]any, len(loc))
		prop := "instance"
		for i, p := range loc {
			path[i] = p
			prop += "." + p
		}
		*out = append(*out, FieldError{
			Path: path, Property: prop, Message: msg, Instance: valueAt(doc, loc),
			Name: name, Argument: arg, Stack: prop + " " + msg,
		})
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		// One error per missing field, named by the field, as the form
		// shows it beside the field.
		for _, m := range k.Missing {
			add(append(slices.Clone(loc), m), "required", fmt.Sprintf("requires property %q", m), m)
		}
	case *kind.Type:
		add(loc, "type", "is not of a type(s) "+strings.Join(k.Want, ","), k.Want)
	case *kind.Enum:
		add(loc, "enum", "is not one of enum values: "+enumList(k.Want), k.Want)
	default:
		name := ""
		if kp := ve.ErrorKind.KeywordPath(); len(kp) > 0 {
			name = kp[len(kp)-1]
		}
		add(loc, name, ve.ErrorKind.LocalizedString(printer), nil)
	}
}

func enumList(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}

func valueAt(doc any, loc []string) any {
	cur := doc
	for _, p := range loc {
		switch t := cur.(type) {
		case map[string]any:
			cur = t[p]
		case []any:
			var i int
			if _, err := fmt.Sscanf(p, "%d", &i); err != nil || i < 0 || i >= len(t) {
				return nil
			}
			cur = t[i]
		default:
			return nil
		}
	}
	if n, ok := cur.(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			return f
		}
	}
	return cur
}
