package scaffolder

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-dev/portico/internal/errs"
)

// FormDecorator runs on the server when a task is created from a template
// that lists it (spec.formDecorators or EXPERIMENTAL_formDecorators), before
// the values are validated. It may change the form values and add secrets,
// as Backstage's browser-side decorators do (an SCM token, say).
type FormDecorator struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// InputSchema is the JSON Schema of the decorator's input in the
	// template; input that fails it is refused with 400.
	InputSchema map[string]any                                        `json:"schema,omitempty"`
	Decorate    func(ctx context.Context, dc *DecoratorContext) error `json:"-"`
}

// DecoratorContext is what a decorator works on.
type DecoratorContext struct {
	Input map[string]any
	// Values are the form values; the decorator may change them.
	Values map[string]any
	// Secrets are the task's secrets; the decorator may add to them.
	Secrets map[string]string
	// User is the user creating the task ("" for services).
	User string
}

// AddFormDecorator registers a server-side form decorator.
func (s *Service) AddFormDecorator(d FormDecorator) error {
	if d.ID == "" || d.Decorate == nil {
		return fmt.Errorf("scaffolder: form decorator %q needs an ID and a Decorate function", d.ID)
	}
	if d.InputSchema != nil {
		if _, err := compileSchema("form decorator "+d.ID+" input", d.InputSchema); err != nil {
			return fmt.Errorf("scaffolder: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.decorators[d.ID]; dup {
		return fmt.Errorf("scaffolder: form decorator %s is registered twice", d.ID)
	}
	s.decorators[d.ID] = d
	return nil
}

// FormDecorators lists the server-side decorators sorted by ID.
func (s *Service) FormDecorators() []FormDecorator {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FormDecorator, 0, len(s.decorators))
	for _, d := range s.decorators {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b FormDecorator) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// decorate runs the template's decorators in the order listed.
func (s *Service) decorate(ctx context.Context, uses []DecoratorUse, dc *DecoratorContext) error {
	for i, use := range uses {
		s.mu.Lock()
		d, ok := s.decorators[use.ID]
		s.mu.Unlock()
		if !ok {
			return errs.InputErrorf("spec.formDecorators[%d]: Failed to find form decorator %s; the registered ones are listed by GET /api/scaffolder/v2/form-decorators", i, use.ID)
		}
		input := use.Input
		if input == nil {
			input = map[string]any{}
		}
		if d.InputSchema != nil {
			var schema *jsonschema.Schema
			schema, err := compileSchema("form decorator "+d.ID+" input", d.InputSchema)
			if err != nil {
				return err
			}
			fes, err := validateValue(schema, input)
			if err != nil {
				return err
			}
			if len(fes) > 0 {
				for j := range fes {
					fes[j].Property = strings.Replace(fes[j].Property, "instance", fmt.Sprintf("formDecorators[%d].input", i), 1)
					fes[j].Stack = fes[j].Property + " " + fes[j].Message
				}
				return &ValidationError{What: "invalid input for form decorator " + d.ID, Errors: fes}
			}
		}
		dc.Input = input
		if err := d.Decorate(ctx, dc); err != nil {
			return errs.InputErrorf("form decorator %s failed: %v", d.ID, err)
		}
	}
	return nil
}
