package orchestrator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/store"
)

// The queries below serve the orchestrator's v2 API (package
// orchestratorapi): searching instances with the Data Index's filter
// operators, the last run of each workflow and the workflows run for a
// catalog entity.

// Instance fields a query can filter and order by, named as the Data Index
// names them.
var instanceFieldColumns = map[string]string{
	"id":                      "id",
	"processId":               "process_id",
	"processName":             "process_name",
	"version":                 "version",
	"state":                   "state",
	"businessKey":             "business_key",
	"start":                   "started_at",
	"end":                     "ended_at",
	"lastUpdate":              "last_update",
	"parentProcessInstanceId": "parent_id",
	"rootProcessInstanceId":   "root_id",
	"rootProcessId":           "root_process_id",
}

// timeFields are the instance fields holding times.
var timeFields = map[string]bool{"start": true, "end": true, "lastUpdate": true}

// InstanceFields returns the instance fields a Cond can name besides
// variables, for error messages.
func InstanceFields() []string {
	return []string{"id", "processId", "processName", "version", "state", "businessKey", "start", "end", "lastUpdate",
		"parentProcessInstanceId", "rootProcessInstanceId", "rootProcessId", "variables.<key>"}
}

// IsInstanceField reports whether name is an instance field a Cond can name.
func IsInstanceField(name string) bool { _, ok := instanceFieldColumns[name]; return ok }

// IsTimeField reports whether an instance field holds a time.
func IsTimeField(name string) bool { return timeFields[name] }

// Operators of a Cond, as the orchestrator API's filters name them.
const (
	OpEq      = "EQ"
	OpIn      = "IN"
	OpLike    = "LIKE"
	OpIsNull  = "IS_NULL"
	OpGt      = "GT"
	OpGte     = "GTE"
	OpLt      = "LT"
	OpLte     = "LTE"
	OpBetween = "BETWEEN"
)

// Cond is a condition on instances: a logical combination (And, Or, Not)
// or a comparison of a field (Field) or a process variable (Variable, a
// path of keys below variables) with Values. Values hold strings, numbers,
// booleans or times (for time fields); IS_NULL takes one boolean, BETWEEN
// two values, IN any number.
type Cond struct {
	And []Cond
	Or  []Cond
	Not *Cond

	Field    string
	Variable []string
	Op       string
	Values   []any
}

// InstanceQuery is a page of instances.
type InstanceQuery struct {
	Where *Cond
	// OrderBy is an instance field (default start); ties are broken by id.
	OrderBy string
	Desc    bool
	Limit   int
	Offset  int
}

// variableKey is what a variable path may consist of: the keys are written
// into the SQL text (so that an expression index can match), never
// anything else.
var variableKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

// ValidVariableKey reports whether a key may appear in a variable path.
func ValidVariableKey(k string) bool { return variableKey.MatchString(k) }

// sqlBuilder collects a WHERE clause and its arguments.
type sqlBuilder struct {
	dialect store.Dialect
	args    []any
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// variableText is the SQL expression of a variable as text (NULL when
// absent); on SQLite json_extract gives the scalar itself.
func (b *sqlBuilder) variableText(path []string) string {
	if b.dialect == store.Postgres {
		return "(variables::jsonb #>> '{" + strings.Join(path, ",") + "}')"
	}
	return "json_extract(variables, '$." + strings.Join(path, ".") + "')"
}

func (b *sqlBuilder) cond(c *Cond) (string, error) {
	switch {
	case len(c.And) > 0 || len(c.Or) > 0:
		list, op := c.And, " AND "
		if len(c.Or) > 0 {
			list, op = c.Or, " OR "
		}
		parts := make([]string, 0, len(list))
		for i := range list {
			s, err := b.cond(&list[i])
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return "(" + strings.Join(parts, op) + ")", nil
	case c.Not != nil:
		s, err := b.cond(c.Not)
		if err != nil {
			return "", err
		}
		// NOT of a comparison with NULL is NULL: COALESCE makes "not
		// equal" match instances where the field is absent.
		return "NOT COALESCE(" + s + ", FALSE)", nil
	}
	var expr string
	isVar := len(c.Variable) > 0
	if isVar {
		for _, k := range c.Variable {
			if !ValidVariableKey(k) {
				return "", fmt.Errorf("variable key %q: use letters, digits, _ and -", k)
			}
		}
		expr = b.variableText(c.Variable)
	} else {
		col, ok := instanceFieldColumns[c.Field]
		if !ok {
			return "", fmt.Errorf("unknown instance field %q", c.Field)
		}
		expr = col
	}
	value := func(v any) string {
		if isVar {
			return b.arg(b.variableValue(v))
		}
		if t, ok := v.(time.Time); ok {
			return b.arg(t.UTC())
		}
		return b.arg(v)
	}
	cmp := func(op string) (string, error) {
		if len(c.Values) != 1 {
			return "", fmt.Errorf("%s takes one value", c.Op)
		}
		if _, num := c.Values[0].(float64); isVar && num {
			// Compare numbers as numbers; a variable of another type is
			// no match, on both databases.
			if b.dialect == store.Postgres {
				path := "'{" + strings.Join(c.Variable, ",") + "}'"
				return "(CASE WHEN jsonb_typeof(variables::jsonb #> " + path + ") = 'number' THEN (variables::jsonb #>> " + path + ")::numeric END " + op + " " + b.arg(c.Values[0]) + ")", nil
			}
			return "(json_type(variables, '$." + strings.Join(c.Variable, ".") + "') IN ('integer', 'real') AND " + expr + " " + op + " " + b.arg(c.Values[0]) + ")", nil
		}
		return expr + " " + op + " " + value(c.Values[0]), nil
	}
	switch c.Op {
	case OpEq:
		return cmp("=")
	case OpGt:
		return cmp(">")
	case OpGte:
		return cmp(">=")
	case OpLt:
		return cmp("<")
	case OpLte:
		return cmp("<=")
	case OpIn:
		if len(c.Values) == 0 {
			return "FALSE", nil
		}
		ps := make([]string, len(c.Values))
		for i, v := range c.Values {
			ps[i] = value(v)
		}
		return expr + " IN (" + strings.Join(ps, ", ") + ")", nil
	case OpLike:
		if len(c.Values) != 1 {
			return "", errors.New("LIKE takes one value")
		}
		s, ok := c.Values[0].(string)
		if !ok {
			return "", errors.New("LIKE takes a string")
		}
		like := "LIKE"
		if b.dialect == store.Postgres {
			like = "ILIKE" // SQLite's LIKE ignores ASCII case; match that
		}
		return expr + " " + like + " " + b.arg(LikePattern(s)) + ` ESCAPE '\'`, nil
	case OpIsNull:
		if len(c.Values) != 1 {
			return "", errors.New("IS_NULL takes one boolean")
		}
		isNull, ok := c.Values[0].(bool)
		if !ok {
			return "", errors.New("IS_NULL takes a boolean")
		}
		if isNull {
			return expr + " IS NULL", nil
		}
		return expr + " IS NOT NULL", nil
	case OpBetween:
		if len(c.Values) != 2 {
			return "", errors.New("BETWEEN takes two values")
		}
		lo, err := (&Cond{Field: c.Field, Variable: c.Variable, Op: OpGte, Values: c.Values[:1]}).sql(b)
		if err != nil {
			return "", err
		}
		hi, err := (&Cond{Field: c.Field, Variable: c.Variable, Op: OpLte, Values: c.Values[1:]}).sql(b)
		if err != nil {
			return "", err
		}
		return "(" + lo + " AND " + hi + ")", nil
	}
	return "", fmt.Errorf("unknown operator %q", c.Op)
}

func (c *Cond) sql(b *sqlBuilder) (string, error) { return b.cond(c) }

// variableValue converts a value to what the variable expression yields:
// text on PostgreSQL (#>>), the JSON scalar on SQLite (json_extract gives
// 1 and 0 for booleans).
func (b *sqlBuilder) variableValue(v any) any {
	if b.dialect == store.Postgres {
		switch t := v.(type) {
		case bool:
			return strconv.FormatBool(t)
		case float64:
			return strconv.FormatFloat(t, 'f', -1, 64)
		case time.Time:
			return t.UTC().Format(time.RFC3339Nano)
		}
		return v
	}
	switch t := v.(type) {
	case bool:
		if t {
			return 1
		}
		return 0
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// LikePattern turns a filter's LIKE value into an SQL pattern: "*" and "%"
// match any text, "_" and "\" are literal.
func LikePattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '%':
			b.WriteByte('%')
		case '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SearchInstances returns a page of instances matching q.
func (rt *Runtime) SearchInstances(ctx context.Context, q InstanceQuery) ([]*Instance, error) {
	b := &sqlBuilder{dialect: rt.db.Dialect()}
	where := ""
	if q.Where != nil {
		s, err := b.cond(q.Where)
		if err != nil {
			return nil, err
		}
		where = " WHERE " + s
	}
	orderBy := q.OrderBy
	if orderBy == "" {
		orderBy = "start"
	}
	col, ok := instanceFieldColumns[orderBy]
	if !ok {
		return nil, fmt.Errorf("cannot order by %q", orderBy)
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	order := " ORDER BY " + col + dir
	if col != "id" {
		order += ", id" + dir
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT ` + instanceColumns + ` FROM orchestrator_instances` + where + order +
		` LIMIT ` + b.arg(limit) + ` OFFSET ` + b.arg(max(q.Offset, 0))
	rows, err := rt.db.QueryContext(ctx, query, b.args...)
	if err != nil {
		return nil, fmt.Errorf("search instances: %w", err)
	}
	defer rows.Close()
	out := []*Instance{}
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// LastRun is the newest instance of a workflow.
type LastRun struct {
	ID    string
	State string
	Start time.Time
}

// LastRuns returns the newest top-level instance of each of the workflows
// (by start), optionally only among those started for targetEntity. A
// workflow never run has no entry.
func (rt *Runtime) LastRuns(ctx context.Context, processIDs []string, targetEntity string) (map[string]LastRun, error) {
	out := make(map[string]LastRun, len(processIDs))
	b := &sqlBuilder{dialect: rt.db.Dialect()}
	q := `SELECT id, state, started_at FROM orchestrator_instances WHERE process_id = $1`
	if targetEntity != "" {
		q += ` AND ` + b.variableText([]string{"targetEntity"}) + ` = $2`
	}
	// One indexed probe per workflow: cheaper than any grouping query
	// once a workflow has many instances.
	q += ` ORDER BY started_at DESC, id DESC LIMIT 1`
	for _, id := range processIDs {
		args := []any{id}
		if targetEntity != "" {
			args = append(args, targetEntity)
		}
		var r LastRun
		err := rt.db.QueryRowContext(ctx, q, args...).Scan(&r.ID, &r.State, &r.Start)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("last run of %s: %w", id, err)
		}
		r.Start = r.Start.UTC()
		out[id] = r
	}
	return out, nil
}

// ProcessIDsForTarget returns the workflows that have instances started for
// a catalog entity (their targetEntity variable).
func (rt *Runtime) ProcessIDsForTarget(ctx context.Context, targetEntity string) ([]string, error) {
	b := &sqlBuilder{dialect: rt.db.Dialect()}
	rows, err := rt.db.QueryContext(ctx, `SELECT DISTINCT process_id FROM orchestrator_instances WHERE `+
		b.variableText([]string{"targetEntity"})+` = $1 ORDER BY process_id`, targetEntity)
	if err != nil {
		return nil, fmt.Errorf("workflows run for %s: %w", targetEntity, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// NodeInstancesOf returns the node instances of several instances at once,
// by instance id, each in the order they were entered.
func (rt *Runtime) NodeInstancesOf(ctx context.Context, ids []string) (map[string][]NodeInstance, error) {
	out := make(map[string][]NodeInstance, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	b := &sqlBuilder{dialect: rt.db.Dialect()}
	ps := make([]string, len(ids))
	for i, id := range ids {
		ps[i] = b.arg(id)
	}
	rows, err := rt.db.QueryContext(ctx, `SELECT instance_id, id, definition_id, name, type, enter, exit, error_message
		FROM orchestrator_node_instances WHERE instance_id IN (`+strings.Join(ps, ", ")+`) ORDER BY instance_id, enter, id`, b.args...)
	if err != nil {
		return nil, fmt.Errorf("node instances: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var iid string
		var n NodeInstance
		var exit sql.NullTime
		var msg sql.NullString
		if err := rows.Scan(&iid, &n.ID, &n.DefinitionID, &n.Name, &n.Type, &n.Enter, &exit, &msg); err != nil {
			return nil, err
		}
		n.Enter = n.Enter.UTC()
		if exit.Valid {
			t := exit.Time.UTC()
			n.Exit = &t
		}
		n.ErrorMessage = msg.String
		out[iid] = append(out[iid], n)
	}
	return out, rows.Err()
}
