package orchestrator

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations are the orchestrator's tables.
var Migrations = store.EmbeddedMigrations("orchestrator", migrationFS, "migrations")

// Instance is an instance as the Data Index describes it.
type Instance struct {
	ID            string         `json:"id"`
	ProcessID     string         `json:"processId"`
	ProcessName   string         `json:"processName"`
	Version       string         `json:"version"`
	State         string         `json:"state"`
	BusinessKey   string         `json:"businessKey"`
	ParentID      string         `json:"parentProcessInstanceId,omitempty"`
	RootID        string         `json:"rootProcessInstanceId,omitempty"`
	RootProcessID string         `json:"rootProcessId,omitempty"`
	Variables     map[string]any `json:"variables"`
	Start         time.Time      `json:"start"`
	End           *time.Time     `json:"end,omitempty"`
	LastUpdate    time.Time      `json:"lastUpdate"`
	Error         *InstanceError `json:"error,omitempty"`
	// DefinitionHash is the version of the definition it runs.
	DefinitionHash string `json:"-"`
}

// InstanceError is where and why an instance failed.
type InstanceError struct {
	NodeDefinitionID string `json:"nodeDefinitionId"`
	NodeInstanceID   string `json:"nodeInstanceId"`
	Message          string `json:"message"`
}

// WorkflowData returns the instance's workflowdata variable.
func (i *Instance) WorkflowData() any { return i.Variables["workflowdata"] }

const instanceColumns = `id, process_id, process_name, version, state, business_key, parent_id, root_id, root_process_id,
	variables, started_at, ended_at, last_update, error_node_definition_id, error_node_instance_id, error_message, definition_hash`

func scanInstance(s interface{ Scan(...any) error }) (*Instance, error) {
	var in Instance
	var parent, root, rootP, edef, enode, emsg sql.NullString
	var vars string
	var end sql.NullTime
	err := s.Scan(&in.ID, &in.ProcessID, &in.ProcessName, &in.Version, &in.State, &in.BusinessKey, &parent, &root, &rootP,
		&vars, &in.Start, &end, &in.LastUpdate, &edef, &enode, &emsg, &in.DefinitionHash)
	if err != nil {
		return nil, err
	}
	in.ParentID, in.RootID, in.RootProcessID = parent.String, root.String, rootP.String
	if end.Valid {
		t := end.Time.UTC()
		in.End = &t
	}
	in.Start, in.LastUpdate = in.Start.UTC(), in.LastUpdate.UTC()
	if emsg.Valid {
		in.Error = &InstanceError{NodeDefinitionID: edef.String, NodeInstanceID: enode.String, Message: emsg.String}
	}
	if err := json.Unmarshal([]byte(vars), &in.Variables); err != nil {
		return nil, fmt.Errorf("decode variables of %s: %w", in.ID, err)
	}
	return &in, nil
}

// Instance returns one instance.
func (rt *Runtime) Instance(ctx context.Context, id string) (*Instance, error) {
	in, err := scanInstance(rt.db.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM orchestrator_instances WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	return in, err
}

// ActiveInstances returns a workflow's instances that have not ended
// (SonataFlow's GET /{workflowId}).
func (rt *Runtime) ActiveInstances(ctx context.Context, processID string, limit int) ([]*Instance, error) {
	rows, err := rt.db.QueryContext(ctx, `SELECT `+instanceColumns+` FROM orchestrator_instances
		WHERE process_id = $1 AND state IN ('PENDING', 'ACTIVE', 'SUSPENDED', 'ERROR') ORDER BY started_at LIMIT $2`, processID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Timer is an instance's pending timer.
type Timer struct {
	TimerID             string    `json:"timerId"`
	ProcessID           string    `json:"processId"`
	ProcessInstanceID   string    `json:"processInstanceId"`
	NodeInstanceID      string    `json:"nodeInstanceId"`
	Description         string    `json:"description"`
	ExpirationTime      time.Time `json:"expirationTime"`
	Reason              string    `json:"reason"`
	RootProcessID       string    `json:"rootProcessId,omitempty"`
	RootProcessInstance string    `json:"rootProcessInstanceId,omitempty"`
}

// Timers returns an instance's pending timers.
func (rt *Runtime) Timers(ctx context.Context, processID, id string) ([]Timer, error) {
	rows, err := rt.db.QueryContext(ctx, `SELECT w.wait_id, w.reason, w.due_at, w.wait, i.root_id, i.root_process_id
		FROM orchestrator_waits w JOIN orchestrator_instances i ON i.id = w.instance_id
		WHERE w.instance_id = $1 AND w.kind = 'timer' ORDER BY w.due_at`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Timer{}
	for rows.Next() {
		var t Timer
		var data string
		var root, rootP sql.NullString
		if err := rows.Scan(&t.TimerID, &t.Reason, &t.ExpirationTime, &data, &root, &rootP); err != nil {
			return nil, err
		}
		t.RootProcessInstance, t.RootProcessID = root.String, rootP.String
		var w engine.Wait
		_ = json.Unmarshal([]byte(data), &w)
		t.ExpirationTime = t.ExpirationTime.UTC()
		t.ProcessID, t.ProcessInstanceID = processID, id
		t.NodeInstanceID = fmt.Sprint(w.Step)
		t.Description = fmt.Sprintf("%s of state %s", w.Reason, w.State)
		out = append(out, t)
	}
	return out, rows.Err()
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	ProcessID  string    `json:"processId"`
	InstanceID string    `json:"instanceId"`
	Detail     string    `json:"detail,omitempty"`
}

// Audit returns the audit log of an instance, oldest first.
func (rt *Runtime) Audit(ctx context.Context, id string) ([]AuditEntry, error) {
	rows, err := rt.db.QueryContext(ctx, `SELECT at, actor, action, process_id, instance_id, detail FROM orchestrator_audit WHERE instance_id = $1 ORDER BY at`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var a AuditEntry
		if err := rows.Scan(&a.At, &a.Actor, &a.Action, &a.ProcessID, &a.InstanceID, &a.Detail); err != nil {
			return nil, err
		}
		a.At = a.At.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
