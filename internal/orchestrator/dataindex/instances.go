package dataindex

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// instanceSelect reads the instance columns; %s is the variables column
// or NULL when the query does not select variables (they can be large).
const instanceSelect = `SELECT i.id, i.process_id, i.process_name, i.version, i.state, i.business_key, i.parent_id, i.root_id,
	i.root_process_id, %s, i.started_at, i.ended_at, i.last_update, i.error_node_definition_id, i.error_node_instance_id,
	i.error_message, i.definition_hash FROM orchestrator_instances i`

func (s *Service) scanInstances(rows *sql.Rows) ([]*ProcessInstance, error) {
	defer rows.Close()
	out := []*ProcessInstance{}
	serviceURL := s.rt.ServiceURL()
	for rows.Next() {
		var p ProcessInstance
		var name, version, state, bk string
		var parent, root, rootP, vars, edef, enode, emsg sql.NullString
		var start, last time.Time
		var end sql.NullTime
		if err := rows.Scan(&p.ID, &p.ProcessID, &name, &version, &state, &bk, &parent, &root, &rootP, &vars,
			&start, &end, &last, &edef, &enode, &emsg, &p.hash); err != nil {
			return nil, err
		}
		p.ProcessName, p.Version, p.BusinessKey = optional(name), optional(version), optional(bk)
		p.ParentProcessInstanceID, p.RootProcessInstanceID, p.RootProcessID = nullable(parent), nullable(root), nullable(rootP)
		st := ProcessInstanceState(state)
		p.State = &st
		p.Endpoint = s.rt.Endpoint(p.ProcessID)
		p.ServiceURL = &serviceURL
		if vars.Valid {
			p.Variables = RawJSON(vars.String)
		}
		start = start.UTC()
		p.Start = &start
		if end.Valid {
			e := end.Time.UTC()
			p.End = &e
		}
		p.LastUpdate = last.UTC()
		if emsg.Valid || edef.Valid {
			p.Error = &ProcessInstanceError{NodeDefinitionID: edef.String, NodeInstanceID: nullable(enode), Message: nullable(emsg)}
		}
		out = append(out, &p)
	}
	return out, rows.Err()
}

func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// orderKey is one orderBy field, in the order the query gave them.
type orderKey struct {
	field string
	desc  bool
}

// orderKeys reads an orderBy argument in the order its fields were
// written (a Go struct would lose it). Nested objects (error:
// {message: ASC}) give dotted fields.
func orderKeys(ctx context.Context) []orderKey {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return nil
	}
	arg := fc.Field.Arguments.ForName("orderBy")
	if arg == nil || arg.Value == nil {
		return nil
	}
	var vars map[string]any
	if oc := graphql.GetOperationContext(ctx); oc != nil {
		vars = oc.Variables
	}
	var out []orderKey
	var walk func(prefix string, v any)
	var walkAST func(prefix string, v *ast.Value)
	walkAST = func(prefix string, v *ast.Value) {
		if v.Kind != ast.ObjectValue {
			val, _ := v.Value(vars)
			walk(prefix, val)
			return
		}
		for _, c := range v.Children {
			walkAST(prefix+c.Name+".", c.Value)
		}
	}
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case string:
			out = append(out, orderKey{field: strings.TrimSuffix(prefix, "."), desc: t == "DESC"})
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys) // a variable's object has no order left
			for _, k := range keys {
				walk(prefix+k+".", t[k])
			}
		}
	}
	walkAST("", arg.Value)
	return out
}

// instanceOrder maps orderBy fields to columns; nullable ones sort their
// NULLs as PostgreSQL does by default on both databases.
var instanceOrder = map[string]column{
	"processId": colProcessID, "processName": colProcessName, "rootProcessId": colRootProcess, "state": colState,
	"start": colStart, "end": colEnd, "error.nodeDefinitionId": colErrorNode, "error.message": colErrorMsg,
	"lastUpdate": colLastUpdate, "businessKey": colBusinessKey,
}

func orderBySQL(keys []orderKey, cols map[string]column, tieBreak string, defaultKeys []orderKey) string {
	var parts []string
	last := false
	for _, k := range keys {
		c, ok := cols[k.field]
		if !ok {
			continue // fields Portico never fills (createdBy, ...) order nothing
		}
		dir := " ASC"
		if k.desc {
			dir = " DESC"
		}
		part := c.expr + dir
		if c.nullable {
			if k.desc {
				part += " NULLS FIRST"
			} else {
				part += " NULLS LAST"
			}
		}
		parts = append(parts, part)
		last = k.desc
	}
	if len(parts) == 0 {
		return orderBySQL(defaultKeys, cols, tieBreak, nil)
	}
	// The tie-breaker runs the same way as the last key, so that an index
	// ending in it serves the whole ordering.
	if last {
		return strings.Join(parts, ", ") + ", " + tieBreak + " DESC"
	}
	return strings.Join(parts, ", ") + ", " + tieBreak + " ASC"
}

// page checks pagination and applies the defaults.
func (s *Service) page(p *Pagination, defaultLimit int) (limit, offset int, err error) {
	limit = defaultLimit
	if p == nil {
		return limit, 0, nil
	}
	if p.Limit != nil {
		if *p.Limit < 0 || *p.Limit > s.opts.MaxPageSize {
			return 0, 0, filterErr("pagination.limit", "must be between 0 and %d, got %d; fetch more pages with pagination.offset", s.opts.MaxPageSize, *p.Limit)
		}
		limit = *p.Limit
	}
	if p.Offset != nil {
		if *p.Offset < 0 {
			return 0, 0, filterErr("pagination.offset", "must not be negative, got %d", *p.Offset)
		}
		offset = *p.Offset
	}
	return limit, offset, nil
}

func (s *Service) instanceFilter() *instanceFilter {
	return &instanceFilter{
		sqlQuery:       &sqlQuery{dialect: s.db.Dialect()},
		endpointPrefix: s.rt.ServiceURL() + "/",
		definitions:    s.definitionIDs,
	}
}

// definitionIDs returns the ids of the definitions a filter matches.
func (s *Service) definitionIDs(path string, a *ProcessDefinitionArgument) ([]string, error) {
	ids := []string{}
	for _, d := range s.definitions() {
		ok, err := matchDefinition(path, d, a)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, d.ID)
		}
	}
	return ids, nil
}

// processInstances answers ProcessInstances.
func (s *Service) processInstances(ctx context.Context, where *ProcessInstanceArgument, pagination *Pagination) ([]*ProcessInstance, error) {
	limit, offset, err := s.page(pagination, s.opts.DefaultPageSize)
	if err != nil {
		return nil, err
	}
	f := s.instanceFilter()
	cond, err := f.where("where", where)
	if err != nil {
		return nil, err
	}
	fields := graphql.CollectFieldsCtx(ctx, nil)
	order := orderBySQL(orderKeys(ctx), instanceOrder, "i.id", []orderKey{{field: "start"}})
	// The page's ids come first, from the filter and ordering alone, so
	// that an index covering them serves the sort (sorting thousands of
	// ids is cheap, sorting thousands of whole rows with their variables
	// is not); then the page's rows are read by id.
	q := fmt.Sprintf(instanceSelect, varsColumn(fields)) + " WHERE i.id IN (SELECT i.id FROM orchestrator_instances i WHERE " +
		cond + " ORDER BY " + order + " LIMIT " + f.arg(limit) + " OFFSET " + f.arg(offset) + ") ORDER BY " + order
	rows, err := s.db.QueryContext(ctx, q, f.args...)
	if err != nil {
		return nil, s.internal("listing instances", err)
	}
	list, err := s.scanInstances(rows)
	if err != nil {
		return nil, s.internal("reading instances", err)
	}
	if err := s.load(ctx, list, fields); err != nil {
		return nil, err
	}
	return list, nil
}

// varsColumn reads variables only when the selection asks for them.
func varsColumn(fields []graphql.CollectedField) string {
	for _, f := range fields {
		if f.Name == "variables" {
			return "i.variables"
		}
	}
	return "NULL"
}

// countInstances answers CountProcessInstances.
func (s *Service) countInstances(ctx context.Context, where *ProcessInstanceArgument) (int, error) {
	f := s.instanceFilter()
	cond, err := f.where("where", where)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orchestrator_instances i WHERE "+cond, f.args...).Scan(&n); err != nil {
		return 0, s.internal("counting instances", err)
	}
	return n, nil
}

// load fills the nested fields a selection asks for, for a whole list of
// instances at once: one query per field, whatever the list's length.
func (s *Service) load(ctx context.Context, list []*ProcessInstance, fields []graphql.CollectedField) error {
	if len(list) == 0 {
		return nil
	}
	oc := graphql.GetOperationContext(ctx)
	for _, f := range fields {
		switch f.Name {
		case "nodes":
			if err := s.loadNodes(ctx, list); err != nil {
				return err
			}
		case "executionSummary":
			if err := s.loadNodes(ctx, list); err != nil {
				return err
			}
			for _, p := range list {
				p.ExecutionSummary = executionSummary(p)
			}
		case "timers":
			if err := s.loadTimers(ctx, list); err != nil {
				return err
			}
		case "parentProcessInstance":
			if err := s.loadParents(ctx, list, graphql.CollectFields(oc, f.Selections, []string{"ProcessInstance"})); err != nil {
				return err
			}
		case "childProcessInstances":
			if err := s.loadChildren(ctx, list, graphql.CollectFields(oc, f.Selections, []string{"ProcessInstance"})); err != nil {
				return err
			}
		case "definition", "nodeDefinitions", "source":
			for _, p := range list {
				// The version the instance started with while the registry
				// knows it, else the newest.
				if wf, ok := s.rt.Registry().Version(p.ProcessID, p.hash); ok {
					p.Definition = s.definition(wf)
					p.NodeDefinitions, p.Source = p.Definition.Nodes, p.Definition.Source
				}
			}
		}
	}
	return nil
}

// idsArgs returns placeholders and arguments for a list of instance ids.
func idsArgs(q *sqlQuery, list []*ProcessInstance, pick func(*ProcessInstance) *string) string {
	seen := map[string]bool{}
	var ph []string
	for _, p := range list {
		id := pick(p)
		if id == nil || seen[*id] {
			continue
		}
		seen[*id] = true
		ph = append(ph, q.arg(*id))
	}
	return strings.Join(ph, ", ")
}

func idOf(p *ProcessInstance) *string { return &p.ID }

func (s *Service) loadNodes(ctx context.Context, list []*ProcessInstance) error {
	todo := make([]*ProcessInstance, 0, len(list))
	for _, p := range list {
		if !p.nodesLoaded {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	q := &sqlQuery{dialect: s.db.Dialect()}
	in := idsArgs(q, todo, idOf)
	rows, err := s.db.QueryContext(ctx, `SELECT instance_id, id, definition_id, name, type, enter, exit, error_message
		FROM orchestrator_node_instances WHERE instance_id IN (`+in+`) ORDER BY instance_id, enter, id`, q.args...)
	if err != nil {
		return s.internal("listing node instances", err)
	}
	defer rows.Close()
	byID := map[string][]*NodeInstance{}
	for rows.Next() {
		var n NodeInstance
		var inst string
		var exit sql.NullTime
		var msg sql.NullString
		if err := rows.Scan(&inst, &n.ID, &n.DefinitionID, &n.Name, &n.Type, &n.Enter, &exit, &msg); err != nil {
			return s.internal("reading node instances", err)
		}
		n.NodeID = n.DefinitionID
		n.Enter = n.Enter.UTC()
		if exit.Valid {
			t := exit.Time.UTC()
			n.Exit = &t
		}
		n.ErrorMessage = nullable(msg)
		byID[inst] = append(byID[inst], &n)
	}
	if err := rows.Err(); err != nil {
		return s.internal("reading node instances", err)
	}
	for _, p := range todo {
		p.Nodes = byID[p.ID]
		if p.Nodes == nil {
			p.Nodes = []*NodeInstance{}
		}
		p.nodesLoaded = true
	}
	return nil
}

// loadTimers reads the pending timers of the ACTIVE instances (the Data
// Index reports none for instances in any other state).
func (s *Service) loadTimers(ctx context.Context, list []*ProcessInstance) error {
	var active []*ProcessInstance
	for _, p := range list {
		if p.timersLoaded {
			continue
		}
		p.Timers, p.timersLoaded = []*TimerInstance{}, true
		if p.State != nil && *p.State == ProcessInstanceStateActive {
			active = append(active, p)
		}
	}
	if len(active) == 0 {
		return nil
	}
	q := &sqlQuery{dialect: s.db.Dialect()}
	in := idsArgs(q, active, idOf)
	rows, err := s.db.QueryContext(ctx, `SELECT instance_id, wait_id, reason, wait FROM orchestrator_waits
		WHERE kind = 'timer' AND instance_id IN (`+in+`) ORDER BY instance_id, due_at, wait_id`, q.args...)
	if err != nil {
		return s.internal("listing timers", err)
	}
	defer rows.Close()
	byID := map[string]*ProcessInstance{}
	for _, p := range active {
		byID[p.ID] = p
	}
	for rows.Next() {
		var inst, waitID, reason, data string
		if err := rows.Scan(&inst, &waitID, &reason, &data); err != nil {
			return s.internal("reading timers", err)
		}
		p := byID[inst]
		var w engine.Wait
		_ = json.Unmarshal([]byte(data), &w)
		node := fmt.Sprint(w.Step)
		desc := fmt.Sprintf("%s of state %s", reason, w.State)
		p.Timers = append(p.Timers, &TimerInstance{TimerID: waitID, ProcessID: p.ProcessID, ProcessInstanceID: p.ID, NodeInstanceID: &node, Description: &desc})
	}
	if err := rows.Err(); err != nil {
		return s.internal("reading timers", err)
	}
	return nil
}

func (s *Service) loadParents(ctx context.Context, list []*ProcessInstance, fields []graphql.CollectedField) error {
	var todo []*ProcessInstance
	for _, p := range list {
		if p.parentLoaded {
			continue
		}
		p.parentLoaded = true
		if p.ParentProcessInstanceID != nil {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	q := &sqlQuery{dialect: s.db.Dialect()}
	in := idsArgs(q, todo, func(p *ProcessInstance) *string { return p.ParentProcessInstanceID })
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(instanceSelect, varsColumn(fields))+" WHERE i.id IN ("+in+")", q.args...)
	if err != nil {
		return s.internal("reading parent instances", err)
	}
	parents, err := s.scanInstances(rows)
	if err != nil {
		return s.internal("reading parent instances", err)
	}
	byID := map[string]*ProcessInstance{}
	for _, p := range parents {
		byID[p.ID] = p
	}
	for _, p := range todo {
		p.ParentProcessInstance = byID[*p.ParentProcessInstanceID]
	}
	return s.load(ctx, parents, fields)
}

func (s *Service) loadChildren(ctx context.Context, list []*ProcessInstance, fields []graphql.CollectedField) error {
	var todo []*ProcessInstance
	for _, p := range list {
		if !p.childrenLoaded {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	q := &sqlQuery{dialect: s.db.Dialect()}
	in := idsArgs(q, todo, idOf)
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(instanceSelect, varsColumn(fields))+" WHERE i.parent_id IN ("+in+") ORDER BY i.started_at, i.id", q.args...)
	if err != nil {
		return s.internal("listing child instances", err)
	}
	children, err := s.scanInstances(rows)
	if err != nil {
		return s.internal("reading child instances", err)
	}
	byParent := map[string][]*ProcessInstance{}
	for _, c := range children {
		byParent[*c.ParentProcessInstanceID] = append(byParent[*c.ParentProcessInstanceID], c)
	}
	for _, p := range todo {
		p.ChildProcessInstances = byParent[p.ID]
		if p.ChildProcessInstances == nil {
			p.ChildProcessInstances = []*ProcessInstance{}
		}
		p.childrenLoaded = true
	}
	return s.load(ctx, children, fields)
}

// executionSummary is orchestrator.ExecutionSummary over the GraphQL
// model, so that the Data Index and the v2 API tell the same story.
func executionSummary(p *ProcessInstance) []*string {
	var start time.Time
	if p.Start != nil {
		start = *p.Start
	}
	state := ""
	if p.State != nil {
		state = string(*p.State)
	}
	nodes := make([]orchestrator.NodeInstance, len(p.Nodes))
	for i, n := range p.Nodes {
		nodes[i] = orchestrator.NodeInstance{Name: n.Name, Enter: n.Enter, Exit: n.Exit}
		if n.ErrorMessage != nil {
			nodes[i].ErrorMessage = *n.ErrorMessage
		}
	}
	lines := orchestrator.ExecutionSummary(start, p.End, state, nodes)
	if len(lines) == 0 {
		return nil
	}
	out := make([]*string, len(lines))
	for i := range lines {
		out[i] = &lines[i]
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
