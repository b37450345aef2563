package app

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/internal/scaffolder"
)

// initiatorDecoratorID names the form decorator that records who asked
// for new software. The web UI runs a decorator of the same id before it
// creates a task (to show the value on the review step and to hand over
// the person's token when asked); the server runs this one too, so that a
// task created through the API gets the same value and a client cannot
// put someone else's name there unless the template allows it.
const initiatorDecoratorID = "portico:initiator"

// initiatorDecorator fills input.field (default "requestedBy") with the
// entity ref of the user creating the task, unless a value is there and
// input.overwrite is false. input.tokenSecret is for the browser's half.
func initiatorDecorator() scaffolder.FormDecorator {
	return scaffolder.FormDecorator{
		ID:          initiatorDecoratorID,
		Description: "Fills a form field with the entity ref of the user creating the task; in the web UI it can also hand the user's token to the task as a secret.",
		InputSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"field":       map[string]any{"type": "string", "minLength": 1},
				"overwrite":   map[string]any{"type": "boolean"},
				"tokenSecret": map[string]any{"type": "string", "minLength": 1},
			},
			"additionalProperties": false,
		},
		Decorate: func(_ context.Context, dc *scaffolder.DecoratorContext) error {
			field, _ := dc.Input["field"].(string)
			if field == "" {
				field = "requestedBy"
			}
			if dc.User == "" {
				return nil
			}
			overwrite, _ := dc.Input["overwrite"].(bool)
			if v, ok := dc.Values[field].(string); ok && v != "" && !overwrite {
				return nil
			}
			dc.Values[field] = dc.User
			return nil
		},
	}
}

// addFormDecorators registers Portico's server-side form decorators.
func addFormDecorators(svc *scaffolder.Service) error {
	if err := svc.AddFormDecorator(initiatorDecorator()); err != nil {
		return fmt.Errorf("scaffolder form decorators: %w", err)
	}
	return nil
}
