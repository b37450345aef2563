package scaffolder

import (
	"encoding/json"
	"time"
)

// Task statuses, as Backstage names them.
const (
	StatusOpen       = "open"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
	StatusSkipped    = "skipped"
)

// Event types.
const (
	EventLog        = "log"
	EventCompletion = "completion"
	EventCancelled  = "cancelled"
	EventRecovered  = "recovered"
)

// TaskSpec is what a task runs: the template's steps and output with the
// submitted values, the user and where the template came from.
type TaskSpec struct {
	APIVersion   string         `json:"apiVersion"`
	Steps        []TaskStep     `json:"steps"`
	Recovery     *Recovery      `json:"EXPERIMENTAL_recovery,omitempty"`
	Output       map[string]any `json:"output"`
	Parameters   map[string]any `json:"parameters"`
	User         TaskUser       `json:"user"`
	TemplateInfo TemplateInfo   `json:"templateInfo"`
}

// startOver reports whether the template asked to be run from the start
// when recovered.
func (s *TaskSpec) startOver() bool {
	return s.Recovery != nil && s.Recovery.Strategy == "startOver"
}

// TaskStep is one step of a template.
type TaskStep struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Action string         `json:"action"`
	Input  map[string]any `json:"input,omitempty"`
	// If skips the step when false or when it renders falsy.
	If any `json:"if,omitempty"`
	// Each runs the action once per item of an array or object.
	Each any `json:"each,omitempty"`
	// Permissions tags the step; a policy may hide tagged steps
	// (scaffolder.template.step.read), which then do not run.
	Permissions *struct {
		Tags []string `json:"tags,omitempty"`
	} `json:"backstage:permissions,omitempty"`
}

// Task is a stored task as the API serializes it (no secrets).
type Task struct {
	ID              string     `json:"id"`
	Spec            TaskSpec   `json:"spec"`
	Status          string     `json:"status"`
	CreatedAt       time.Time  `json:"createdAt"`
	LastHeartbeatAt *time.Time `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string     `json:"createdBy,omitempty"`
}

// TaskEvent is one entry of a task's event log.
type TaskEvent struct {
	ID        int64           `json:"id"`
	TaskID    string          `json:"taskId"`
	Body      json.RawMessage `json:"body"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"createdAt"`
	// IsTaskRecoverable keeps event streams of startOver tasks open past a
	// completion, since the task may run again.
	IsTaskRecoverable bool `json:"isTaskRecoverable,omitempty"`
}

// taskState is what a task keeps between runs, in Backstage's layout
// {"state": {"checkpoints": {...}, "steps": {...}}}.
type taskState struct {
	State struct {
		Checkpoints map[string]checkpoint `json:"checkpoints,omitempty"`
		Steps       map[string]stepState  `json:"steps,omitempty"`
	} `json:"state"`
}

type checkpoint struct {
	Status string          `json:"status"`
	Value  json.RawMessage `json:"value,omitempty"`
	Reason string          `json:"reason,omitempty"`
}

type stepState struct {
	Status string         `json:"status"`
	Output map[string]any `json:"output,omitempty"`
}
