package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sosodev/duration"

	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// workflowPoll is how often a waiting orchestrator:workflow:run looks at
// its instance; instances that finish while starting need no poll.
const workflowPoll = 250 * time.Millisecond

// defaultWorkflowTimeout bounds a wait when the input gives none.
const defaultWorkflowTimeout = time.Hour

func orchestratorRun(orch Orchestrator) scaffolder.Action {
	return scaffolder.Action{
		ID:          "orchestrator:workflow:run",
		Description: "Starts a Portico workflow with inputs and, unless wait is false, waits for it to end and returns its data.",
		Examples: []scaffolder.ActionExample{{
			Description: "Run the greeting workflow and wait for its result",
			Example: lines("steps:", "  - id: greet", "    action: orchestrator:workflow:run", "    input:", "      workflowId: greeting",
				"      inputs:", "        language: ${{ parameters.language }}", "        name: ${{ parameters.name }}", "      timeout: 5m"),
		}},
		Schema: scaffolder.ActionSchema{
			Input: schema("", []string{"workflowId"}, map[string]any{
				"workflowId": prop("string", "The id of the workflow to start."),
				"inputs":     map[string]any{"title": "Inputs", "type": "object", "description": "The workflow's input data (checked against its dataInputSchema)."},
				"parameters": map[string]any{"title": "Parameters", "type": "object", "description": "Another name for inputs."},
				"wait":       prop("boolean", "Wait for the instance to end (default true)."),
				"timeout": map[string]any{"title": "Timeout", "description": "How long to wait: seconds, or a duration such as 10m or PT10M (default 1h).",
					"oneOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "string"}}},
			}),
			Output: schema("", []string{"instanceId", "status"}, map[string]any{
				"instanceId":   prop("string", "The id of the started instance."),
				"status":       prop("string", "The instance's state: COMPLETED, or ACTIVE when not waited for."),
				"workflowdata": map[string]any{"title": "The instance's data when it ended"},
				"result":       map[string]any{"title": "workflowdata.result when the workflow sets one, else workflowdata"},
			}),
		},
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				WorkflowID string         `json:"workflowId"`
				Inputs     map[string]any `json:"inputs"`
				Parameters map[string]any `json:"parameters"`
				Wait       *bool          `json:"wait"`
				Timeout    any            `json:"timeout"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.WorkflowID == "" {
				return errors.New("input.workflowId: required; name the workflow to start")
			}
			if in.Inputs != nil && in.Parameters != nil {
				return errors.New("input: give inputs or parameters, not both")
			}
			data := in.Inputs
			if data == nil {
				data = in.Parameters
			}
			if data == nil {
				data = map[string]any{}
			}
			timeout, err := parseTimeout(in.Timeout)
			if err != nil {
				return err
			}
			// The start is checkpointed: a recovered task waits for the
			// instance it started rather than starting another.
			raw, err := ac.Checkpoint(ctx, "orchestrator.workflow.run."+in.WorkflowID, func(ctx context.Context) (json.RawMessage, error) {
				res, err := orch.Start(ctx, orchestrator.StartRequest{WorkflowID: in.WorkflowID, Data: data, BusinessKey: ac.TaskID, Actor: ac.User.Ref})
				switch {
				case errors.Is(err, orchestrator.ErrNotFound):
					return nil, fmt.Errorf("input.workflowId: there is no workflow %q", in.WorkflowID)
				case errors.Is(err, engine.ErrInvalidInput):
					return nil, fmt.Errorf("input.inputs: workflow %s refused them: %w", in.WorkflowID, err)
				case err != nil:
					return nil, fmt.Errorf("start workflow %s: %w", in.WorkflowID, err)
				}
				ac.Logger.Info(fmt.Sprintf("Started workflow %s: instance %s", in.WorkflowID, res.ID))
				return json.Marshal(map[string]string{"instanceId": res.ID})
			})
			if err != nil {
				return err
			}
			var started struct {
				InstanceID string `json:"instanceId"`
			}
			if err := json.Unmarshal(raw, &started); err != nil || started.InstanceID == "" {
				return fmt.Errorf("orchestrator:workflow:run checkpoint %s: %v", raw, err)
			}
			ac.Output("instanceId", started.InstanceID)
			inst, err := orch.Instance(ctx, started.InstanceID)
			if err != nil {
				return fmt.Errorf("read instance %s: %w", started.InstanceID, err)
			}
			if in.Wait != nil && !*in.Wait {
				ac.Output("status", inst.State)
				return nil
			}
			waitCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			tick := time.NewTicker(workflowPoll)
			defer tick.Stop()
			for !ended(inst.State) {
				select {
				case <-waitCtx.Done():
					if ctx.Err() != nil {
						return fmt.Errorf("waiting for workflow instance %s: %w", started.InstanceID, ctx.Err())
					}
					return fmt.Errorf("workflow instance %s (%s) did not end within %s; it is %s and keeps running", started.InstanceID, in.WorkflowID, timeout, inst.State)
				case <-tick.C:
				}
				if inst, err = orch.Instance(ctx, started.InstanceID); err != nil {
					return fmt.Errorf("read instance %s: %w", started.InstanceID, err)
				}
			}
			ac.Output("status", inst.State)
			wd := inst.WorkflowData()
			switch inst.State {
			case string(engine.StatusCompleted):
			case string(engine.StatusError):
				msg := "unknown error"
				if inst.Error != nil {
					msg = inst.Error.Message
					if inst.Error.NodeDefinitionID != "" {
						msg = inst.Error.NodeDefinitionID + ": " + msg
					}
				}
				return fmt.Errorf("workflow instance %s (%s) failed: %s", started.InstanceID, in.WorkflowID, msg)
			default:
				return fmt.Errorf("workflow instance %s (%s) ended %s", started.InstanceID, in.WorkflowID, strings.ToLower(inst.State))
			}
			ac.Output("workflowdata", jsonValue(wd))
			result := wd
			if m, ok := wd.(map[string]any); ok && m["result"] != nil {
				result = m["result"]
			}
			ac.Output("result", jsonValue(result))
			ac.Logger.Info(fmt.Sprintf("Workflow instance %s completed", started.InstanceID))
			return nil
		},
	}
}

func ended(state string) bool {
	switch state {
	case string(engine.StatusCompleted), string(engine.StatusError), string(engine.StatusAborted):
		return true
	}
	return false
}

// parseTimeout reads a timeout: seconds, a Go duration (10m) or an
// ISO 8601 one (PT10M).
func parseTimeout(v any) (time.Duration, error) {
	switch t := v.(type) {
	case nil:
		return defaultWorkflowTimeout, nil
	case json.Number:
		f, err := t.Float64()
		if err == nil && f > 0 {
			return time.Duration(f * float64(time.Second)), nil
		}
	case string:
		if d, err := time.ParseDuration(t); err == nil && d > 0 {
			return d, nil
		}
		if d, err := duration.Parse(t); err == nil && d.ToTimeDuration() > 0 {
			return d.ToTimeDuration(), nil
		}
	}
	return 0, fmt.Errorf("input.timeout: expected seconds or a duration such as 10m or PT10M, got %v", v)
}
