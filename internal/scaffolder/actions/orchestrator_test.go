package actions_test

import (
	"testing"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

// orchestratorDeps starts the development setup, whose runtime runs the
// example workflows.
func orchestratorDeps(t *testing.T) (actions.Deps, *orchestrator.Runtime) {
	t.Helper()
	inst := apptest.Start(t, apptest.Options{Development: true})
	rt := inst.App.Env().Orchestrator
	if rt == nil {
		t.Fatal("the development setup has no orchestrator")
	}
	return actions.Deps{Orchestrator: rt}, rt
}

func TestOrchestratorWorkflowRun(t *testing.T) {
	deps, rt := orchestratorDeps(t)
	r := newRun(t)
	in := map[string]any{"workflowId": "greeting", "inputs": map[string]any{"language": "Spanish", "name": "Ana"}}
	if err := r.call(t.Context(), deps, "orchestrator:workflow:run", in); err != nil {
		t.Fatal(err)
	}
	if r.outputs["status"] != "COMPLETED" {
		t.Fatalf("outputs = %v", r.outputs)
	}
	result := r.outputs["result"].(map[string]any)
	if result["message"] != "Saludos desde JSON Workflow, Ana" || result["completedWith"] != "success" {
		t.Fatalf("result = %v", result)
	}
	if wd := r.outputs["workflowdata"].(map[string]any); wd["language"] != "Spanish" {
		t.Fatalf("workflowdata = %v", wd)
	}
	id := r.outputs["instanceId"].(string)
	inst, err := rt.Instance(t.Context(), id)
	if err != nil || inst.BusinessKey != r.taskID {
		t.Fatalf("instance = %+v, %v; want business key %s", inst, err, r.taskID)
	}

	// A recovered task re-runs the step: it reads the instance it started
	// instead of starting a second one.
	r.outputs = map[string]any{}
	if err := r.call(t.Context(), deps, "orchestrator:workflow:run", in); err != nil {
		t.Fatal(err)
	}
	if r.outputs["instanceId"] != id || r.outputs["status"] != "COMPLETED" {
		t.Fatalf("re-run outputs = %v, want instance %s", r.outputs, id)
	}
	active, err := rt.ActiveInstances(t.Context(), "greeting", 100)
	if err != nil || len(active) != 0 {
		t.Fatalf("active = %v, %v", active, err)
	}
}

// The reminder workflow sleeps on a durable timer: the action waits for
// it, or returns at once with wait: false.
func TestOrchestratorWorkflowRunWaits(t *testing.T) {
	deps, _ := orchestratorDeps(t)
	r := newRun(t)
	if err := r.call(t.Context(), deps, "orchestrator:workflow:run", map[string]any{"workflowId": "reminder", "parameters": map[string]any{"text": "hi"}, "timeout": "PT1M"}); err != nil {
		t.Fatal(err)
	}
	if r.outputs["status"] != "COMPLETED" {
		t.Fatalf("outputs = %v", r.outputs)
	}
	r2 := newRun(t)
	if err := r2.call(t.Context(), deps, "orchestrator:workflow:run", map[string]any{"workflowId": "reminder", "wait": false}); err != nil {
		t.Fatal(err)
	}
	if r2.outputs["status"] != "ACTIVE" || r2.outputs["instanceId"] == "" {
		t.Fatalf("outputs = %v", r2.outputs)
	}
	r3 := newRun(t)
	wantErr(t, r3.call(t.Context(), deps, "orchestrator:workflow:run", map[string]any{"workflowId": "reminder", "timeout": 0.05}), "did not end within 50ms", "keeps running")
}

func TestOrchestratorWorkflowRunErrors(t *testing.T) {
	deps, _ := orchestratorDeps(t)
	for _, tc := range []struct {
		name  string
		input map[string]any
		want  []string
	}{
		{"no id", map[string]any{}, []string{"input.workflowId", "required"}},
		{"unknown", map[string]any{"workflowId": "nope"}, []string{"input.workflowId", `no workflow "nope"`}},
		{"invalid input", map[string]any{"workflowId": "greeting", "inputs": map[string]any{"language": "Klingon"}}, []string{"input.inputs", "greeting"}},
		{"both", map[string]any{"workflowId": "greeting", "inputs": map[string]any{}, "parameters": map[string]any{}}, []string{"not both"}},
		{"bad timeout", map[string]any{"workflowId": "greeting", "timeout": "soon"}, []string{"input.timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t)
			wantErr(t, r.call(t.Context(), deps, "orchestrator:workflow:run", tc.input), tc.want...)
		})
	}
}
