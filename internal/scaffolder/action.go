// Package scaffolder runs Backstage software templates: templates from the
// catalog, the actions their steps call, and tasks that survive crashes and
// redeploys (heartbeats, recovery, checkpoints, workspace serialization).
package scaffolder

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
)

// Action is a step a template can call by its ID. Built-in actions live in
// scaffolder/actions; code adds its own by registering more.
type Action struct {
	ID          string
	Description string
	Examples    []ActionExample
	// Schema describes the action's input and output as JSON Schema
	// documents (decoded JSON); input is validated before Handler runs.
	Schema ActionSchema
	// SupportsDryRun lets the action run during POST /v2/dry-run; other
	// actions are skipped there and answer with example outputs.
	SupportsDryRun bool
	Handler        func(ctx context.Context, ac *ActionContext) error
}

// ActionSchema is an action's input and output JSON Schema.
type ActionSchema struct {
	Input  map[string]any `json:"input,omitempty"`
	Output map[string]any `json:"output,omitempty"`
}

// ActionExample is a usage example listed by GET /v2/actions.
type ActionExample struct {
	Description string `json:"description"`
	Example     string `json:"example"`
}

// ActionContext is what an action receives for one call.
type ActionContext struct {
	// Input is the step's rendered input (decoded JSON values).
	Input map[string]any
	// Secrets are the task's secrets (never logged).
	Secrets map[string]string
	Logger  *slog.Logger
	// Workspace is the task's working directory, opened as a root so that
	// nothing is written outside it; WorkspacePath is its path on disk.
	Workspace     *os.Root
	WorkspacePath string
	TaskID        string
	StepID        string
	StepName      string
	TemplateInfo  TemplateInfo
	User          TaskUser
	// Each is the current item of a step with each ({key, value}), or nil.
	Each     map[string]any
	IsDryRun bool

	// Output records a step output value (under steps.<id>.output.<name>).
	Output func(name string, value any)
	// Checkpoint runs fn once per task, step and key: when a previous run
	// of the task stored a successful result for key, that result is
	// returned and fn does not run. Results are persisted before
	// Checkpoint returns.
	Checkpoint func(ctx context.Context, key string, fn func(ctx context.Context) (json.RawMessage, error)) (json.RawMessage, error)
	// TempDir returns a directory removed when the step ends.
	TempDir func() (string, error)
}

// TemplateInfo says which template a task runs and where it came from.
type TemplateInfo struct {
	EntityRef string `json:"entityRef"`
	// BaseURL is the template's location (file:// or https://), against
	// which relative fetch:* URLs resolve.
	BaseURL string         `json:"baseUrl"`
	Entity  map[string]any `json:"entity,omitempty"`
}

// TaskUser is the user who created a task.
type TaskUser struct {
	Ref    string         `json:"ref,omitempty"`
	Entity map[string]any `json:"entity,omitempty"`
}
