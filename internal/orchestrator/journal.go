package orchestrator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// ErrLeaseLost is returned when a replica tries to record a step of an
// instance whose lease it no longer holds: another replica has taken the
// instance over, so this one must stop driving it.
var ErrLeaseLost = errors.New("the instance's lease is held by another replica")

// newRow is what the first journal batch of an instance inserts.
type newRow struct {
	processID, processName, version, hash string
	parentID, rootID, rootProcessID       string
}

// dbJournal stores an instance's journal entries, and keeps its instance
// row in step with them, one transaction per batch. Every batch checks
// that this replica still holds the lease, which fences off a replica that
// lost it (a long pause, a partition) from writing over another's work.
type dbJournal struct {
	rt     *Runtime
	w      *workflow.Workflow
	id     string
	pos    int64
	create *newRow
	vars   map[string]any // process variables, workflowdata included
	step   int            // current state visit, for error node ids
	failed bool           // the instance is in error
	// processID and bk label produced events.
	processID, bk string
	seq           int64 // the engine's last sequence number
	// hadWaits is false while the instance is known to have no wait rows,
	// so that finishing it need not delete any.
	hadWaits bool
	parent   bool // the instance is a sub-flow

	buf      []engine.Entry // appended, not yet written
	effect   batchEffect    // what buf changes on the instance row
	auditRow *auditRow      // written with the first batch
}

// auditRow is an audit entry written with an instance's first batch.
type auditRow struct {
	id, actor, action, processID, detail string
}

// batchEffect is what a batch of entries changes on the instance row.
type batchEffect struct {
	state   string
	ended   bool
	errInfo *engine.ErrorInfo
	errStep int
}

// observe follows entries to keep the process variables and the current
// step up to date; Restore's entries pass through it too.
func (j *dbJournal) observe(entries []engine.Entry) batchEffect {
	eff := batchEffect{state: string(engine.StatusActive)}
	if j.failed {
		// An operator's change to an instance in error (new data, say)
		// leaves it in error.
		eff.state = string(engine.StatusError)
	}
	for i := range entries {
		e := &entries[i]
		j.seq = e.Seq
		switch e.Kind {
		case engine.EntryStarted:
			j.bk = e.Start.BusinessKey
			j.vars = map[string]any{}
			for k, v := range e.Start.Variables {
				j.vars[k] = v
			}
			j.vars["workflowdata"] = e.Start.Input
		case engine.EntryStateEntered:
			j.step = e.Step
			j.failed = false
			eff.state = string(engine.StatusActive)
			if e.Cursor != nil {
				j.vars["workflowdata"] = e.Cursor.Data
			}
		case engine.EntryStateExited, engine.EntryKeptActive:
			if e.Data != nil {
				j.vars["workflowdata"] = e.Data
			}
		case engine.EntryCompleted:
			eff.state, eff.ended = string(engine.StatusCompleted), true
			j.vars["workflowdata"] = e.Data
		case engine.EntryAborted:
			eff.state, eff.ended = string(engine.StatusAborted), true
			if e.Data != nil {
				j.vars["workflowdata"] = e.Data
			}
		case engine.EntryDataUpdated:
			j.vars["workflowdata"] = e.Data
		case engine.EntryFailed:
			j.failed = true
			eff.state, eff.errInfo, eff.errStep = string(engine.StatusError), e.Error, e.Step
			if eff.errStep == 0 {
				eff.errStep = j.step
			}
		}
	}
	return eff
}

// Append takes a batch of entries. Entries are buffered and written, with
// the instance row, in one transaction before an action with effects (a
// call to another service, a sub-flow) starts, when its result arrives (so
// that a completed call is never made again), and when the run ends
// (finish writes the rest together with the instance's waits). Steps in
// between have no effect outside the instance (state changes, data
// filters, sysout, expression functions; produced events reach the outbox
// only with their batch): after a crash they are replayed from the last
// written entry, and nothing outside saw the lost ones. A greeting thus
// costs one transaction instead of one per step.
func (j *dbJournal) Append(ctx context.Context, entries ...engine.Entry) error {
	eff := j.observe(entries)
	if eff.state != string(engine.StatusActive) || j.effect.state == "" {
		j.effect.state = eff.state
	}
	if eff.ended {
		j.effect.ended = true
	}
	if eff.errInfo != nil {
		j.effect.errInfo, j.effect.errStep = eff.errInfo, eff.errStep
	}
	j.buf = append(j.buf, entries...)
	for _, e := range entries {
		switch e.Kind {
		case engine.EntryActionCompleted, engine.EntryActionFailed:
			if !pureAction(j.w, e.State, e.Name) {
				return j.flush(ctx)
			}
		case engine.EntryActionStarted:
			// Before a call with effects starts, what led to it is written:
			// the instance (and its progress) is visible while the call
			// runs, and an async call is never fired twice.
			if !pureAction(j.w, e.State, e.Name) {
				return j.flush(ctx)
			}
		}
	}
	return nil
}

// flush writes the buffered entries in a transaction of their own.
func (j *dbJournal) flush(ctx context.Context) error {
	if len(j.buf) == 0 {
		return nil
	}
	w, err := j.prepare(nil)
	if err != nil {
		return err
	}
	if err := j.rt.writeTx(ctx, func(tx *sql.Tx) error { return w.exec(ctx, j.rt.db, tx) }); err != nil {
		return err
	}
	j.written()
	return nil
}

// written records that the buffer is stored.
func (j *dbJournal) written() {
	if j.rt.changed != nil && len(j.buf) > 0 {
		initiator, _ := j.vars["initiatorEntity"].(string)
		j.rt.changed(Change{InstanceID: j.id, ProcessID: j.processID, State: j.effect.state, Initiator: initiator})
	}
	j.pos += int64(len(j.buf))
	j.buf = j.buf[:0]
	j.create = nil
	j.auditRow = nil
	j.effect = batchEffect{}
}

// batchWrite is a batch of journal entries turned into statements and
// their arguments before its transaction starts: on SQLite all writes
// share one writer, so encoding JSON and building rows there would hold
// every other instance up. exec changes nothing in it, so a retried
// transaction runs it again.
type batchWrite struct {
	id string
	// insert holds the arguments of sqlInsertInstance for an instance's
	// first batch; otherwise update and updateArgs change its row.
	insert     []any
	update     string
	updateArgs []any
	journal    multiRow
	outbox     [][]any
	nodes      nodeWrite
	audit      []any
}

// multiRow is one execution of a multi-row insert.
type multiRow struct {
	query string
	args  []any
}

// prepare turns the buffered entries into a batchWrite that stores them
// and updates the instance row, after checking that this replica still
// holds the lease. With release set (the end of a run) it also gives the
// lease up and records the current state, in the same statement.
func (j *dbJournal) prepare(release *string) (*batchWrite, error) {
	entries := j.buf
	now := store.Now()
	state, errInfo, errStep := j.effect.state, j.effect.errInfo, j.effect.errStep
	if state == "" {
		state = string(engine.StatusActive)
	}
	var ended *time.Time
	if j.effect.ended {
		ended = &now
	}
	vars, err := json.Marshal(j.vars)
	if err != nil {
		return nil, fmt.Errorf("encode variables: %w", err)
	}
	rt := j.rt
	var owner, expiry any = rt.owner, now.Add(rt.lease)
	current := ""
	if release != nil {
		owner, expiry, current = nil, nil, *release
	}
	w := &batchWrite{id: j.id}
	if c := j.create; c != nil {
		var edef, enode, emsg any
		if errInfo != nil {
			edef, enode, emsg = errInfo.State, strconv.Itoa(errStep), errInfo.Message
		}
		w.insert = []any{j.id, c.processID, c.processName, c.version, c.hash, state, businessKey(entries), nullable(c.parentID),
			nullable(c.rootID), nullable(c.rootProcessID), string(vars), now, owner, expiry, ended, edef, enode, emsg, current}
	} else {
		q := `UPDATE orchestrator_instances SET state = $1, variables = $2, last_update = $3, lease_expiry = $4`
		args := []any{state, string(vars), now, expiry}
		if release != nil {
			q += `, lease_owner = NULL, current_state = $5`
			args = append(args, current)
		}
		if ended != nil {
			q += fmt.Sprintf(`, ended_at = $%d`, len(args)+1)
			args = append(args, *ended)
		}
		if errInfo != nil {
			n := len(args)
			q += fmt.Sprintf(`, error_node_definition_id = $%d, error_node_instance_id = $%d, error_message = $%d`, n+1, n+2, n+3)
			args = append(args, errInfo.State, strconv.Itoa(errStep), errInfo.Message)
		}
		n := len(args)
		q += fmt.Sprintf(` WHERE id = $%d AND lease_owner = $%d`, n+1, n+2)
		w.update, w.updateArgs = q, append(args, j.id, rt.owner)
	}
	if w.journal, err = journalRow(rt.codec, j.id, j.pos, entries); err != nil {
		return nil, err
	}
	// Produced events go to the outbox in the same transaction as the
	// entry that records them: replay never produces them again, so this
	// is the only chance to keep them.
	if rt.sinkConfigured {
		for i := range entries {
			if entries[i].Kind != engine.EntryEventProduced || entries[i].Event == nil {
				continue
			}
			data, err := json.Marshal(outgoing(entries[i].Event, j.id, j.processID, j.bk))
			if err != nil {
				return nil, fmt.Errorf("encode produced event: %w", err)
			}
			w.outbox = append(w.outbox, []any{uuid.NewString(), j.id, string(data), now})
		}
	}
	w.nodes = nodeStatements(j.id, entries, j.create != nil)
	if a := j.auditRow; a != nil {
		w.audit = []any{a.id, now, a.actor, a.action, a.processID, j.id, a.detail}
	}
	return w, nil
}

// exec runs the batch's statements in tx.
func (w *batchWrite) exec(ctx context.Context, db *store.DB, tx *sql.Tx) error {
	if w.insert != nil {
		if _, err := db.TxExec(ctx, tx, sqlInsertInstance, w.insert...); err != nil {
			if store.IsUniqueViolation(err) {
				return errDuplicate
			}
			return fmt.Errorf("insert instance: %w", err)
		}
	} else {
		res, err := tx.ExecContext(ctx, w.update, w.updateArgs...)
		if err != nil {
			return fmt.Errorf("update instance: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLeaseLost
		}
	}
	if _, err := db.TxExec(ctx, tx, w.journal.query, w.journal.args...); err != nil {
		return fmt.Errorf("append journal: %w", err)
	}
	for _, args := range w.outbox {
		if _, err := tx.ExecContext(ctx, `INSERT INTO orchestrator_outbox (id, instance_id, event, next_attempt_at) VALUES ($1, $2, $3, $4)`, args...); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if err := w.nodes.exec(ctx, db, tx); err != nil {
		return err
	}
	if w.audit != nil {
		if _, err := db.TxExec(ctx, tx, sqlInsertAudit, w.audit...); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

var errDuplicate = errors.New("an instance with this id exists")

// Statements of the hot write path, prepared once (store.DB.Prepare) so
// that SQLite does not parse them in every transaction.
const (
	sqlInsertInstance = `INSERT INTO orchestrator_instances
		(id, process_id, process_name, version, definition_hash, state, business_key, parent_id, root_id, root_process_id,
		 variables, started_at, last_update, lease_owner, lease_expiry, ended_at,
		 error_node_definition_id, error_node_instance_id, error_message, current_state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, $17, $18, $19)`
	sqlInsertJournal = `INSERT INTO orchestrator_journal (instance_id, pos, seq, kind, entry) VALUES ($1, $2, $3, $4, $5)`
	sqlInsertAudit   = `INSERT INTO orchestrator_audit (id, at, actor, action, process_id, instance_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlInsertNode    = `INSERT INTO orchestrator_node_instances (instance_id, id, definition_id, name, type, enter, exit, error_message) VALUES `
	sqlUpsertNode    = ` ON CONFLICT (instance_id, id) DO UPDATE SET enter = excluded.enter, exit = excluded.exit, error_message = excluded.error_message`
	sqlCloseNode     = `UPDATE orchestrator_node_instances SET exit = COALESCE($1, exit), error_message = COALESCE($2, error_message) WHERE instance_id = $3 AND id = $4`
	sqlCloseNodes    = `UPDATE orchestrator_node_instances SET exit = $1 WHERE instance_id = $2 AND exit IS NULL`
	sqlReleaseLease  = `UPDATE orchestrator_instances SET lease_owner = NULL, lease_expiry = NULL, current_state = $1 WHERE id = $2 AND lease_owner = $3`
)

// maxRowsPerInsert bounds the rows of one multi-row insert; a run's batch
// rarely has more, larger ones take several statements.
const maxRowsPerInsert = 16

// nodeInserts[n] inserts n rows ($1 is the instance).
var nodeInserts = multiRowInserts(sqlInsertNode, 7, sqlUpsertNode)

// multiRowInserts builds, for 1 to maxRowsPerInsert rows, an insert whose
// rows share $1 and take cols parameters each.
func multiRowInserts(head string, cols int, tail string) []string {
	out := make([]string, maxRowsPerInsert+1)
	for n := 1; n <= maxRowsPerInsert; n++ {
		var b strings.Builder
		b.WriteString(head)
		p := 2
		for r := range n {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteString("($1")
			for range cols {
				fmt.Fprintf(&b, ", $%d", p)
				p++
			}
			b.WriteString(")")
		}
		b.WriteString(tail)
		out[n] = b.String()
	}
	return out
}

// hotStatements are prepared when the runtime starts.
var hotStatements = append([]string{sqlInsertInstance, sqlInsertJournal, sqlInsertAudit, sqlCloseNode, sqlCloseNodes, sqlReleaseLease},
	nodeInserts[1:]...)

// journalRow stores a batch of entries after position pos as one row,
// through a statement prepared at start. The row's pos is that of its
// last entry, so positions keep counting entries; kind is "batch" (rows
// of one entry from before batching carry the entry's kind).
func journalRow(c *journalCodec, id string, pos int64, entries []engine.Entry) (multiRow, error) {
	data, err := c.encode(entries)
	if err != nil {
		return multiRow{}, err
	}
	return multiRow{query: sqlInsertJournal, args: []any{id, pos + int64(len(entries)), entries[len(entries)-1].Seq, "batch", data}}, nil
}

func businessKey(entries []engine.Entry) string {
	for _, e := range entries {
		if e.Kind == engine.EntryStarted && e.Start != nil {
			return e.Start.BusinessKey
		}
	}
	return ""
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// outgoing is a produced event as it leaves for the sink, with the
// kogito* extension attributes SonataFlow adds.
func outgoing(ev *engine.Event, instanceID, processID, bk string) map[string]any {
	m := map[string]any{
		"specversion": "1.0", "id": ev.ID, "source": ev.Source, "type": ev.Type,
		"kogitoprocinstanceid": instanceID, "kogitoprocid": processID, "kogitoprocist": "1",
	}
	if m["id"] == "" {
		m["id"] = uuid.NewString()
	}
	if ev.Subject != "" {
		m["subject"] = ev.Subject
	}
	if !ev.Time.IsZero() {
		m["time"] = ev.Time.UTC().Format(time.RFC3339Nano)
	} else {
		m["time"] = store.Now().Format(time.RFC3339Nano)
	}
	if bk != "" {
		m["kogitobusinesskey"] = bk
	}
	ct := ev.DataContentType
	if ct == "" {
		ct = "application/json"
	}
	m["datacontenttype"] = ct
	for k, v := range ev.Extensions {
		m[k] = v
	}
	if ev.Data != nil {
		m["data"] = ev.Data
	}
	return m
}

// loadJournal reads an instance's entries (leaving out those a retrigger
// set aside) and the position of its last one.
func loadJournal(ctx context.Context, q store.Querier, c *journalCodec, id string) ([]engine.Entry, int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT pos, void, entry FROM orchestrator_journal WHERE instance_id = $1 ORDER BY pos`, id)
	if err != nil {
		return nil, 0, fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	var entries []engine.Entry
	var last int64
	for rows.Next() {
		var pos, void int64
		var data []byte
		if err := rows.Scan(&pos, &void, &data); err != nil {
			return nil, 0, err
		}
		last = pos
		if void != 0 { // set aside before entries carried their own mark
			continue
		}
		stored, err := c.decode(data)
		if err != nil {
			return nil, 0, fmt.Errorf("decode journal row %d of %s: %w", pos, id, err)
		}
		for _, se := range stored {
			if se.Void {
				continue
			}
			e, err := c.open(se)
			if err != nil {
				return nil, 0, fmt.Errorf("journal entry %d of %s: %w", se.Seq, id, err)
			}
			entries = append(entries, e)
		}
	}
	return entries, last, rows.Err()
}

// pureAction reports whether the actions of a state with this name have
// no effect a replay could repeat (expression functions, sysout), so that
// their entries need not be written before the run goes on.
func pureAction(w *workflow.Workflow, state, name string) bool {
	st := w.State(state)
	if st == nil {
		return false
	}
	var actions []*workflow.Action
	actions = append(actions, st.Actions...)
	for _, on := range st.OnEvents {
		actions = append(actions, on.Actions...)
	}
	for _, b := range st.Branches {
		actions = append(actions, b.Actions...)
	}
	pure, found := true, false
	for _, a := range actions {
		if a.DisplayName() != name {
			continue
		}
		found = true
		if a.FunctionRef == nil {
			pure = false
			continue
		}
		fn := w.Function(a.FunctionRef.RefName)
		if fn == nil || !(fn.Type == workflow.FunctionExpression ||
			fn.Type == workflow.FunctionCustom && (fn.Operation == "sysout" || strings.HasPrefix(fn.Operation, "sysout:"))) {
			pure = false
		}
	}
	return found && pure
}
