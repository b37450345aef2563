package scaffolder

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/jsonorder"
)

// TemplateAPIVersion is the only template apiVersion tasks run.
const TemplateAPIVersion = "scaffolder.backstage.io/v1beta3"

// Template is a v1beta3 Template entity as the scaffolder reads it.
type Template struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       TemplateSpec   `json:"spec"`
	// Raw is the whole entity as decoded JSON.
	Raw map[string]any `json:"-"`
}

// TemplateSpec is a template's spec.
type TemplateSpec struct {
	Type string `json:"type"`
	// Parameters are the form steps: one JSON Schema object each. A
	// template with a single schema object has one step.
	Parameters    []map[string]any `json:"-"`
	RawParameters json.RawMessage  `json:"parameters,omitempty"`
	// orderedParameters are the same steps with their keys in the order
	// the template wrote them (Parameters are plain maps, for validation).
	orderedParameters []*jsonorder.Object
	Secrets           *struct {
		Schema map[string]any `json:"schema,omitempty"`
	} `json:"secrets,omitempty"`
	Steps                []TaskStep     `json:"steps"`
	Output               map[string]any `json:"output,omitempty"`
	Presentation         map[string]any `json:"presentation,omitempty"`
	Recovery             *Recovery      `json:"EXPERIMENTAL_recovery,omitempty"`
	FormDecorators       []DecoratorUse `json:"formDecorators,omitempty"`
	LegacyFormDecorators []DecoratorUse `json:"EXPERIMENTAL_formDecorators,omitempty"`
	Extra                map[string]any `json:"-"`
}

// Recovery is a template's EXPERIMENTAL_recovery block.
type Recovery struct {
	// Strategy is "none" (Portico resumes after the last completed step)
	// or "startOver" (the task runs again from its first step).
	Strategy string `json:"EXPERIMENTAL_strategy,omitempty"`
}

// DecoratorUse is one form decorator a template asks for.
type DecoratorUse struct {
	ID    string         `json:"id"`
	Input map[string]any `json:"input,omitempty"`
}

// Decorators returns the template's form decorators under either name.
func (s TemplateSpec) Decorators() []DecoratorUse {
	if s.FormDecorators != nil {
		return s.FormDecorators
	}
	return s.LegacyFormDecorators
}

// Name is the template's metadata.name.
func (t *Template) Name() string { s, _ := t.Metadata["name"].(string); return s }

// Namespace is the template's namespace ("default" when unset).
func (t *Template) Namespace() string {
	if s, _ := t.Metadata["namespace"].(string); s != "" {
		return s
	}
	return "default"
}

// Ref is the template's entity ref, lower-cased.
func (t *Template) Ref() string {
	return strings.ToLower("template:" + t.Namespace() + "/" + t.Name())
}

// ParseTemplate reads a template entity (JSON). Errors are Input errors
// that name the field.
func ParseTemplate(entity []byte) (*Template, error) {
	var t Template
	if err := json.Unmarshal(entity, &t); err != nil {
		return nil, errs.InputErrorf("template is not a valid entity: %v", err)
	}
	if err := json.Unmarshal(entity, &t.Raw); err != nil {
		return nil, errs.InputErrorf("template is not a valid entity: %v", err)
	}
	if t.APIVersion != TemplateAPIVersion {
		return nil, errs.InputErrorf("Unsupported apiVersion field in schema entity, %s; only %s templates run", t.APIVersion, TemplateAPIVersion)
	}
	if !strings.EqualFold(t.Kind, "template") {
		return nil, errs.InputErrorf("Invalid kind, only 'Template' kind is supported")
	}
	if len(t.Spec.Steps) == 0 {
		return nil, errs.InputErrorf("spec.steps: a template needs at least one step")
	}
	for i, st := range t.Spec.Steps {
		if st.Action == "" {
			return nil, errs.InputErrorf("spec.steps[%d].action is required", i)
		}
	}
	if err := t.Spec.parseParameters(); err != nil {
		return nil, err
	}
	if s := t.Spec.Recovery; s != nil && s.Strategy != "" && s.Strategy != "none" && s.Strategy != "startOver" {
		return nil, errs.InputErrorf("spec.EXPERIMENTAL_recovery.EXPERIMENTAL_strategy: %q is not a strategy; use none or startOver", s.Strategy)
	}
	return &t, nil
}

// parseParameters reads spec.parameters, one schema or a list of them,
// keeping each schema's key order: forms ask in that order.
func (s *TemplateSpec) parseParameters() error {
	params := strings.TrimSpace(string(s.RawParameters))
	if params == "" || params == "null" {
		return nil
	}
	if !strings.HasPrefix(params, "[") && !strings.HasPrefix(params, "{") {
		return errs.InputErrorf("spec.parameters: must be a JSON Schema object or a list of them")
	}
	v, err := jsonorder.Unmarshal(s.RawParameters)
	if err != nil {
		return errs.InputErrorf("spec.parameters: %v", err)
	}
	steps, isList := v.([]any)
	if !isList {
		steps = []any{v}
	}
	for i, step := range steps {
		switch o := step.(type) {
		case *jsonorder.Object:
			s.Parameters = append(s.Parameters, jsonorder.Plain(o).(map[string]any))
			s.orderedParameters = append(s.orderedParameters, o)
		case nil:
			// As json.Unmarshal into a list of maps reads it.
			s.Parameters = append(s.Parameters, nil)
			s.orderedParameters = append(s.orderedParameters, nil)
		default:
			return errs.InputErrorf("spec.parameters[%d]: must be a JSON Schema object", i)
		}
	}
	return nil
}

// TaskSteps returns the steps with Backstage's defaults: id "step-<n>",
// name = action.
func (t *Template) TaskSteps() []TaskStep {
	out := make([]TaskStep, len(t.Spec.Steps))
	for i, st := range t.Spec.Steps {
		if st.ID == "" {
			st.ID = fmt.Sprintf("step-%d", i+1)
		}
		if st.Name == "" {
			st.Name = st.Action
		}
		out[i] = st
	}
	return out
}

// ValidateValues validates form values against every parameter step and
// secrets against spec.secrets.schema.
func (t *Template) ValidateValues(values map[string]any, secrets map[string]string) error {
	var all []FieldError
	for i, step := range t.Spec.Parameters {
		s, err := compileSchema(fmt.Sprintf("spec.parameters[%d]", i), step)
		if err != nil {
			return errs.InputErrorf("template %s: %v", t.Ref(), err)
		}
		fes, err := validateValue(s, values)
		if err != nil {
			return err
		}
		all = appendUnique(all, fes)
	}
	if len(all) > 0 {
		slices.SortStableFunc(all, func(a, b FieldError) int { return strings.Compare(a.Property, b.Property) })
		return &ValidationError{What: "invalid values", Errors: all}
	}
	if t.Spec.Secrets != nil && t.Spec.Secrets.Schema != nil {
		s, err := compileSchema("spec.secrets.schema", t.Spec.Secrets.Schema)
		if err != nil {
			return errs.InputErrorf("template %s: %v", t.Ref(), err)
		}
		plain := map[string]any{}
		for k, v := range secrets {
			plain[k] = v
		}
		fes, err := validateValue(s, plain)
		if err != nil {
			return err
		}
		for i := range fes {
			// Never echo a secret back.
			fes[i].Instance = nil
			fes[i].Property = strings.Replace(fes[i].Property, "instance", "secrets", 1)
			fes[i].Stack = fes[i].Property + " " + fes[i].Message
		}
		if len(fes) > 0 {
			return &ValidationError{What: "invalid secrets", Errors: fes}
		}
	}
	return nil
}

func appendUnique(all, more []FieldError) []FieldError {
	for _, fe := range more {
		dup := false
		for _, have := range all {
			if have.Stack == fe.Stack {
				dup = true
				break
			}
		}
		if !dup {
			all = append(all, fe)
		}
	}
	return all
}

// baseURL is where the template came from, against which relative fetch
// URLs resolve: the backstage.io/source-location annotation, else the
// directory of backstage.io/managed-by-location.
func (t *Template) baseURL() string {
	md, _ := t.Metadata["annotations"].(map[string]any)
	if src, _ := md["backstage.io/source-location"].(string); src != "" {
		if u := locationURL(src, false); u != "" {
			return u
		}
	}
	if loc, _ := md["backstage.io/managed-by-location"].(string); loc != "" {
		return locationURL(loc, true)
	}
	return ""
}

// locationURL turns a location "type:target" into a URL; file targets
// become file:// URLs. A file target names a file, whose directory is the
// base, unless it is already a directory (ends with "/").
func locationURL(loc string, isFile bool) string {
	typ, target, ok := strings.Cut(loc, ":")
	if !ok {
		return ""
	}
	switch typ {
	case "url":
		if !isFile {
			return target
		}
		u, err := url.Parse(target)
		if err != nil {
			return ""
		}
		u.Path = path.Dir(u.Path) + "/"
		return u.String()
	case "file":
		dir := target
		if isFile || !strings.HasSuffix(target, "/") {
			if !strings.HasSuffix(target, "/") {
				dir = path.Dir(target) + "/"
			}
		}
		return (&url.URL{Scheme: "file", Path: dir}).String()
	default:
		// Other location types (Portico's embedded examples) keep their
		// "type:dir/" form; the fetch actions know them.
		if !strings.HasSuffix(target, "/") {
			target = path.Dir(target) + "/"
		}
		return typ + ":" + target
	}
}
