package orchestrator

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
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

// nodeWrite is what a batch of journal entries changes in
// orchestrator_node_instances.
type nodeWrite struct {
	id      string
	inserts []multiRow
	updates []nodeUpdate
	closeAt *time.Time
}

// nodeStatements works out how a batch of journal entries changes
// orchestrator_node_instances, with the same rules as engine.Nodes. first
// says the batch is the instance's first, so no earlier rows exist to
// close.
func nodeStatements(instanceID string, entries []engine.Entry, first bool) nodeWrite {
	var rows []*nodeRow
	byID := map[string]*nodeRow{}
	w := nodeWrite{id: instanceID}
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
		w.updates = append(w.updates, nodeUpdate{id: id, exit: &t, errMsg: msg})
	}
	for i := range entries {
		e := &entries[i]
		t := e.Time.UTC().Truncate(time.Microsecond)
		switch e.Kind {
		case engine.EntryStarted:
			enter(&nodeRow{id: "start", definitionID: "start", name: "Start", typ: "StartNode", enter: t, exit: &t})
		case engine.EntryStateEntered:
			enter(&nodeRow{id: strconv.Itoa(e.Step), definitionID: e.State, name: e.State, typ: e.NodeType, enter: t})
		case engine.EntryStateExited:
			exit(strconv.Itoa(e.Step), t, nil)
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
				id := strconv.Itoa(e.Step)
				if r, ok := byID[id]; ok {
					r.errMsg = &e.Error.Message
				} else {
					w.updates = append(w.updates, nodeUpdate{id: id, errMsg: &e.Error.Message})
				}
			}
		case engine.EntryCompleted, engine.EntryAborted:
			w.closeAt = &t
			for _, r := range rows {
				if r.exit == nil {
					r.exit = &t
				}
			}
			enter(&nodeRow{id: "end", definitionID: "end", name: "End", typ: "EndNode", enter: t, exit: &t})
		}
	}
	if first {
		// Every node of the instance is in rows, closed above if it ended.
		w.updates, w.closeAt = nil, nil
	}
	// A node entered again (an action retriggered or re-run after a crash)
	// takes its new times through the insert's upsert.
	for start := 0; start < len(rows); start += maxRowsPerInsert {
		n := min(len(rows)-start, maxRowsPerInsert)
		args := make([]any, 0, 1+7*n)
		args = append(args, instanceID)
		for _, r := range rows[start : start+n] {
			args = append(args, r.id, r.definitionID, r.name, r.typ, r.enter, r.exit, r.errMsg)
		}
		w.inserts = append(w.inserts, multiRow{query: nodeInserts[n], args: args})
	}
	return w
}

// exec applies w in tx.
func (w *nodeWrite) exec(ctx context.Context, db *store.DB, tx *sql.Tx) error {
	for _, r := range w.inserts {
		if _, err := db.TxExec(ctx, tx, r.query, r.args...); err != nil {
			return fmt.Errorf("write node instances: %w", err)
		}
	}
	for _, u := range w.updates {
		if _, err := db.TxExec(ctx, tx, sqlCloseNode, u.exit, u.errMsg, w.id, u.id); err != nil {
			return fmt.Errorf("close node instance: %w", err)
		}
	}
	if w.closeAt != nil {
		if _, err := db.TxExec(ctx, tx, sqlCloseNodes, *w.closeAt, w.id); err != nil {
			return fmt.Errorf("close node instances: %w", err)
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
