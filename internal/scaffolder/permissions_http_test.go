package scaffolder_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/scaffolder"
)

// conditionalPolicy answers each permission named in it with a condition
// and allows the rest.
type conditionalPolicy struct {
	mu         sync.Mutex
	conditions map[string]*auth.Condition
}

func (p *conditionalPolicy) set(name string, c *auth.Condition) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conditions[name] = c
}

func (p *conditionalPolicy) Decide(ctx context.Context, pr auth.Principal, req auth.Request) (auth.Decision, error) {
	d, _, err := p.DecideConditional(ctx, pr, req)
	return d, err
}

func (p *conditionalPolicy) DecideConditional(_ context.Context, _ auth.Principal, req auth.Request) (auth.Decision, *auth.Condition, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conditions[req.Permission.Name]; ok {
		return auth.Conditional, c, nil
	}
	return auth.Allow, nil, nil
}

// TestConditionalPermissions runs tasks under conditional decisions: tagged
// form steps and template steps by HAS_TAG, actions by their id and
// input, tasks by their owner.
func TestConditionalPermissions(t *testing.T) {
	inst := startServerWith(t, `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: tagged}
spec:
  type: service
  parameters:
    - title: Open
      properties: {msg: {type: string}}
    - title: Ops
      backstage:permissions: {tags: [ops]}
      properties: {b: {type: string}}
    - title: Admin
      backstage:permissions: {tags: [admin]}
      properties: {c: {type: string}}
  steps:
    - {id: open, action: debug:log, input: {message: '${{ parameters.msg }}'}}
    - {id: ops, action: debug:log, backstage:permissions: {tags: [ops]}, input: {message: ops}}
    - {id: admin, action: debug:log, backstage:permissions: {tags: [admin]}, input: {message: admin}}
`, []string{"tagged"}, "")
	api := inst.URL + "/api/scaffolder"
	ops := &auth.Condition{Rule: "HAS_TAG", ResourceType: scaffolder.ResourceTypeTemplate, Params: map[string]any{"tag": "ops"}}
	policy := &conditionalPolicy{conditions: map[string]*auth.Condition{
		scaffolder.PermParameterRead.Name: ops,
		scaffolder.PermStepRead.Name:      ops,
		scaffolder.PermActionExecute.Name: {Not: &auth.Condition{Rule: "HAS_STRING_PROPERTY", Params: map[string]any{"key": "message", "value": "forbidden"}}},
		scaffolder.PermTaskRead.Name:      {Rule: "IS_TASK_OWNER", Params: map[string]any{"createdBy": []any{"user:default/someone-else"}}},
	}}
	inst.App.Env().Permissions.SetPolicy(policy)

	var ps struct{ Steps []struct{ Title string } }
	call(t, "GET", api+"/v2/templates/default/template/tagged/parameter-schema", "").decode(t, &ps)
	if len(ps.Steps) != 2 || ps.Steps[0].Title != "Open" || ps.Steps[1].Title != "Ops" {
		t.Errorf("form steps = %+v, want Open and Ops", ps.Steps)
	}

	// The guest's tasks are someone else's as far as reading goes, until
	// the condition names the guest.
	var allowed, refused struct{ ID string }
	call(t, "POST", api+"/v2/tasks", `{"templateRef":"tagged","values":{"msg":"fine"}}`).decode(t, &allowed)
	call(t, "POST", api+"/v2/tasks", `{"templateRef":"tagged","values":{"msg":"forbidden"}}`).decode(t, &refused)
	if r := call(t, "GET", api+"/v2/tasks/"+allowed.ID, ""); r.status != http.StatusForbidden {
		t.Errorf("reading another's task: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", api+"/v2/tasks", ""); r.status != 200 || !strings.Contains(string(r.body), `"totalTasks":0`) {
		t.Errorf("listing others' tasks: %d %s", r.status, r.body)
	}
	policy.set(scaffolder.PermTaskRead.Name, &auth.Condition{Rule: "IS_TASK_OWNER", Params: map[string]any{"createdBy": []any{"user:development/guest"}}})
	if r := call(t, "GET", api+"/v2/tasks", ""); !strings.Contains(string(r.body), `"totalTasks":2`) {
		t.Errorf("listing one's own tasks: %d %s", r.status, r.body)
	}

	status := func(id string) (string, []string) {
		var task struct {
			Status string
			Spec   struct{ Steps []struct{ ID string } }
		}
		waitFor(t, "task "+id+" to end", func() bool {
			call(t, "GET", api+"/v2/tasks/"+id, "").decode(t, &task)
			return task.Status == "failed" || task.Status == "completed"
		})
		var steps []string
		for _, s := range task.Spec.Steps {
			steps = append(steps, s.ID)
		}
		return task.Status, steps
	}
	if st, steps := status(allowed.ID); st != "completed" || strings.Join(steps, " ") != "open ops" {
		t.Errorf("allowed task: %s with steps %v, want completed with open and ops", st, steps)
	}
	if st, _ := status(refused.ID); st != "failed" {
		t.Errorf("a task whose action input the condition refuses ended %s", st)
	}
}
