package orchestrator

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// nodeRow is a node instance entered in the batch being written.
type nodeRow struct {
	id, definitionID, name, typ string
	enter                       time.Time
	exit                        *time.Time
	errMsg                      *string
}

// nodeUpdate closes (or marks failed) a node entered in an earlier batch.
type nodeUpdate struct {
	id     string
	exit   *time.Time
	errMsg *string
}

// writeNodes keeps orchestrator_node_instances in step with a batch of
// journal entries, with the same rules as engine.Nodes.
func writeNodes(ctx context.Context, db *store.DB, tx *sql.Tx, instanceID string, entries []engine.Entry) error {
	var rows []*nodeRow
	byID := map[string]*nodeRow{}
	var updates []nodeUpdate
	var closeAt *time.Time
	enter := func(r *nodeRow) {
		if old, ok := byID[r.id]; ok {
			*old = *r
			return
		}
		byID[r.id] = r
		rows = append(rows, r)
	}
	exit := func(id string, t time.Time, msg *string) {
		if r, ok := byID[id]; ok {
			r.exit = &t
			if msg != nil {
				r.errMsg = msg
			}
			return
		}
		updates = append(updates, nodeUpdate{id: id, exit: &t, errMsg: msg})
	}
	for i := range entries {
		e := &entries[i]
		t := e.Time.UTC().Truncate(time.Microsecond)
		switch e.Kind {
		case engine.EntryStarted:
			enter(&nodeRow{id: "start", definitionID: "start", name: "Start", typ: "StartNode", enter: t, exit: &t})
		case engine.EntryStateEntered:
			enter(&nodeRow{id: fmt.Sprint(e.Step), definitionID: e.State, name: e.State, typ: e.NodeType, enter: t})
		case engine.EntryStateExited:
			exit(fmt.Sprint(e.Step), t, nil)
		case engine.EntryActionStarted:
			name := e.Name
			if name == "" {
				name = e.Key
			}
			enter(&nodeRow{id: e.Key, definitionID: e.State + "/" + e.Key, name: name, typ: e.NodeType, enter: t})
		case engine.EntryActionCompleted, engine.EntryActionFailed:
			var msg *string
			if e.Error != nil {
				msg = &e.Error.Message
			}
			exit(e.Key, t, msg)
		case engine.EntryFailed:
			if e.Error != nil {
				id := fmt.Sprint(e.Step)
				if r, ok := byID[id]; ok {
					r.errMsg = &e.Error.Message
				} else {
					updates = append(updates, nodeUpdate{id: id, errMsg: &e.Error.Message})
				}
			}
		case engine.EntryCompleted, engine.EntryAborted:
			closeAt = &t
			for _, r := range rows {
				if r.exit == nil {
					r.exit = &t
				}
			}
			enter(&nodeRow{id: "end", definitionID: "end", name: "End", typ: "EndNode", enter: t, exit: &t})
		}
	}
	if err := insertNodes(ctx, db, tx, instanceID, rows); err != nil {
		return err
	}
	for _, u := range updates {
		if _, err := db.TxExec(ctx, tx, sqlCloseNode, u.exit, u.errMsg, instanceID, u.id); err != nil {
			return fmt.Errorf("close node instance: %w", err)
		}
	}
	if closeAt != nil {
		if _, err := db.TxExec(ctx, tx, sqlCloseNodes, *closeAt, instanceID); err != nil {
			return fmt.Errorf("close node instances: %w", err)
		}
	}
	return nil
}

// insertNodes writes entered node instances; a node entered again (an
// action retriggered or re-run after a crash) takes its new times. As for
// the journal, rows go in prepared multi-row statements.
func insertNodes(ctx context.Context, db *store.DB, tx *sql.Tx, instanceID string, rows []*nodeRow) error {
	if len(rows) == 0 {
		return nil
	}
	for start := 0; start < len(rows); start += maxRowsPerInsert {
		n := min(len(rows)-start, maxRowsPerInsert)
		args := make([]any, 0, 1+7*n)
		args = append(args, instanceID)
		for _, r := range rows[start : start+n] {
			args = append(args, r.id, r.definitionID, r.name, r.typ, r.enter, r.exit, r.errMsg)
		}
		if _, err := db.TxExec(ctx, tx, nodeInserts[n], args...); err != nil {
			return fmt.Errorf("write node instances: %w", err)
		}
	}
	return nil
}

// NodeInstance is a node instance as the Data Index shows it.
type NodeInstance struct {
	ID           string     `json:"id"`
	DefinitionID string     `json:"definitionId"`
	Name         string     `json:"name"`
	Type         string     `json:"type"`
	Enter        time.Time  `json:"enter"`
	Exit         *time.Time `json:"exit,omitempty"`
	ErrorMessage string     `json:"errorMessage,omitempty"`
}

// NodeInstances returns an instance's node instances in the order they
// were entered.
func (rt *Runtime) NodeInstances(ctx context.Context, id string) ([]NodeInstance, error) {
	rows, err := rt.db.QueryContext(ctx, `SELECT id, definition_id, name, type, enter, exit, error_message FROM orchestrator_node_instances
		WHERE instance_id = $1 ORDER BY enter, id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []NodeInstance{}
	for rows.Next() {
		var n NodeInstance
		var exit sql.NullTime
		var msg sql.NullString
		if err := rows.Scan(&n.ID, &n.DefinitionID, &n.Name, &n.Type, &n.Enter, &exit, &msg); err != nil {
			return nil, err
		}
		n.Enter = n.Enter.UTC()
		if exit.Valid {
			t := exit.Time.UTC()
			n.Exit = &t
		}
		n.ErrorMessage = msg.String
		out = append(out, n)
	}
	return out, rows.Err()
}
