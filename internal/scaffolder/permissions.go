package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/auth"
)

// The resource types of the scaffolder's permissions, which conditional
// decisions name.
const (
	ResourceTypeTemplate = "scaffolder-template"
	ResourceTypeAction   = "scaffolder-action"
	ResourceTypeTask     = "scaffolder-task"
)

// RegisterPermissionRules declares the scaffolder's conditional rules, as
// Backstage's scaffolder names them: HAS_TAG on template parameters and
// steps (their backstage:permissions tags), HAS_ACTION_ID and the
// HAS_*_PROPERTY rules on the action a step runs and its input, and
// IS_TASK_OWNER on tasks.
func RegisterPermissionRules(ps *auth.Permissions, svc *Service) {
	ps.RegisterConditions(ResourceTypeTemplate, auth.ConditionRules{
		PluginID: "scaffolder",
		Rules:    map[string][]string{"HAS_TAG": {"tag"}},
	})
	ps.RegisterConditions(ResourceTypeAction, auth.ConditionRules{
		PluginID: "scaffolder",
		Rules: map[string][]string{
			"HAS_ACTION_ID": {"actionId"}, "HAS_BOOLEAN_PROPERTY": {"key"},
			"HAS_NUMBER_PROPERTY": {"key"}, "HAS_STRING_PROPERTY": {"key"},
		},
		// A ref names the action only; property rules need its input.
		Apply: func(_ context.Context, actionID string, c *auth.Condition) (bool, error) {
			return actionMeets(c, actionID, nil)
		},
	})
	ps.RegisterConditions(ResourceTypeTask, auth.ConditionRules{
		PluginID: "scaffolder",
		Rules:    map[string][]string{"IS_TASK_OWNER": {"createdBy"}},
		Apply: func(ctx context.Context, id string, c *auth.Condition) (bool, error) {
			t, err := svc.Task(ctx, id)
			if err != nil {
				return false, err
			}
			return taskMeets(c, t.CreatedBy)
		},
		Check: func(c *auth.Condition) error {
			_, err := taskOwners(c)
			return err
		},
	})
}

// tagsMeet reports whether a template parameter or step with tags meets a
// HAS_TAG condition.
func tagsMeet(c *auth.Condition, tags []string) (bool, error) {
	return c.Eval(func(rule string, params map[string]any) (bool, error) {
		if rule != "HAS_TAG" {
			return false, fmt.Errorf("%s is not a rule of %s", rule, ResourceTypeTemplate)
		}
		tag, _ := params["tag"].(string)
		return slices.Contains(tags, tag), nil
	})
}

// actionMeets reports whether running action with input meets a
// condition on scaffolder-action. Property keys are dotted paths into the
// input.
func actionMeets(c *auth.Condition, action string, input map[string]any) (bool, error) {
	return c.Eval(func(rule string, params map[string]any) (bool, error) {
		if rule == "HAS_ACTION_ID" {
			id, _ := params["actionId"].(string)
			return id == action, nil
		}
		key, _ := params["key"].(string)
		var v any = input
		for part := range strings.SplitSeq(key, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return false, nil
			}
			v = m[part]
		}
		want, hasWant := params["value"]
		switch rule {
		case "HAS_BOOLEAN_PROPERTY":
			b, ok := v.(bool)
			return ok && (!hasWant || want == b), nil
		case "HAS_STRING_PROPERTY":
			s, ok := v.(string)
			return ok && (!hasWant || want == s), nil
		case "HAS_NUMBER_PROPERTY":
			n, ok := number(v)
			w, wok := number(want)
			return ok && (!hasWant || wok && w == n), nil
		}
		return false, fmt.Errorf("%s is not a rule of %s", rule, ResourceTypeAction)
	})
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// taskMeets reports whether a task created by createdBy meets an
// IS_TASK_OWNER condition.
func taskMeets(c *auth.Condition, createdBy string) (bool, error) {
	return c.Eval(func(rule string, params map[string]any) (bool, error) {
		owners, err := createdByParam(rule, params)
		return slices.Contains(owners, createdBy), err
	})
}

func createdByParam(rule string, params map[string]any) ([]string, error) {
	if rule != "IS_TASK_OWNER" {
		return nil, fmt.Errorf("%s is not a rule of %s", rule, ResourceTypeTask)
	}
	list, ok := params["createdBy"].([]any)
	if !ok {
		return nil, errors.New("IS_TASK_OWNER: params.createdBy must be a list of user refs")
	}
	out := make([]string, 0, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("IS_TASK_OWNER: params.createdBy[%d] must be a string", i)
		}
		out = append(out, s)
	}
	return out, nil
}

// taskOwners turns a condition on tasks into the creators whose tasks
// meet it, so a task list can ask for exactly those: an IS_TASK_OWNER
// rule, or anyOf such rules (not and allOf cannot narrow a list that way).
func taskOwners(c *auth.Condition) ([]string, error) {
	switch {
	case c.Rule != "":
		return createdByParam(c.Rule, c.Params)
	case c.AnyOf != nil:
		var out []string
		for i := range c.AnyOf {
			owners, err := taskOwners(&c.AnyOf[i])
			if err != nil {
				return nil, err
			}
			out = append(out, owners...)
		}
		return out, nil
	}
	return nil, errors.New("conditions on scaffolder-task can be IS_TASK_OWNER rules or anyOf them")
}

// readableCreators narrows a task list's createdBy filter to the creators
// a condition on tasks allows; none means the list is empty.
func readableCreators(c *auth.Condition, asked []string) ([]string, error) {
	owners, err := taskOwners(c)
	if err != nil || len(asked) == 0 {
		return owners, err
	}
	var out []string
	for _, a := range asked {
		if slices.Contains(owners, a) {
			out = append(out, a)
		}
	}
	return out, nil
}
