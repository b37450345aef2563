package dataindex

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/store"
)

// FilterError is a where, orderBy or pagination argument that cannot be
// applied. Its message names the argument's path and says what to send.
type FilterError struct {
	Path    string
	Message string
}

func (e *FilterError) Error() string { return e.Path + ": " + e.Message }

func filterErr(path, format string, args ...any) error {
	return &FilterError{Path: path, Message: fmt.Sprintf(format, args...)}
}

// sqlQuery collects the arguments of a statement being built; conditions
// refer to them as $1, $2, … which both databases accept. Only fixed
// column names and operators are written into the SQL text; every value
// the caller sent is an argument.
type sqlQuery struct {
	dialect store.Dialect
	args    []any
}

// arg adds a value and returns its placeholder.
func (q *sqlQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

const (
	sqlTrue  = "1=1"
	sqlFalse = "1=0"
)

func and(conds []string) string {
	switch len(conds) {
	case 0:
		return sqlTrue
	case 1:
		return conds[0]
	}
	return "(" + strings.Join(conds, " AND ") + ")"
}

func or(conds []string) string {
	switch len(conds) {
	case 0:
		return sqlFalse
	case 1:
		return conds[0]
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// column describes how a filterable field is stored.
type column struct {
	expr string
	// emptyIsNull: the column is NOT NULL and '' stands for "no value".
	emptyIsNull bool
	// nullable: NULL stands for "no value".
	nullable bool
	// absent: Portico never has a value for the field.
	absent bool
}

// isNull is the condition for a field having (or not having) a value.
func (q *sqlQuery) isNull(c column, want bool) string {
	var isNull string
	switch {
	case c.absent:
		isNull = sqlTrue
	case c.emptyIsNull:
		isNull = "(" + c.expr + " IS NULL OR " + c.expr + " = '')"
	case c.nullable:
		isNull = c.expr + " IS NULL"
	default:
		isNull = sqlFalse
	}
	if want {
		return isNull
	}
	switch isNull {
	case sqlTrue:
		return sqlFalse
	case sqlFalse:
		return sqlTrue
	}
	if c.emptyIsNull {
		return "(" + c.expr + " IS NOT NULL AND " + c.expr + " <> '')"
	}
	return c.expr + " IS NOT NULL"
}

func (q *sqlQuery) in(c column, values []string) string {
	if c.absent || len(values) == 0 {
		return sqlFalse
	}
	ph := make([]string, len(values))
	for i, v := range values {
		ph[i] = q.arg(v)
	}
	return c.expr + " IN (" + strings.Join(ph, ", ") + ")"
}

func (q *sqlQuery) equal(c column, v string) string {
	if c.absent {
		return sqlFalse
	}
	return c.expr + " = " + q.arg(v)
}

// like matches a Data Index pattern, where * is the only wildcard and case
// matters: GLOB on SQLite (its LIKE ignores case), LIKE on PostgreSQL.
func (q *sqlQuery) like(expr, pattern string) string {
	if q.dialect == store.SQLite {
		var b strings.Builder
		for _, r := range pattern {
			switch r {
			case '?':
				b.WriteString("[?]")
			case '[':
				b.WriteString("[[]")
			default:
				b.WriteRune(r)
			}
		}
		return expr + " GLOB " + q.arg(b.String())
	}
	var b strings.Builder
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteByte('%')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return expr + " LIKE " + q.arg(b.String())
}

func (q *sqlQuery) stringArg(c column, a *StringArgument) string {
	if a == nil {
		return sqlTrue
	}
	var conds []string
	if a.Equal != nil {
		conds = append(conds, q.equal(c, *a.Equal))
	}
	if a.In != nil {
		conds = append(conds, q.in(c, a.In))
	}
	if a.Like != nil {
		if c.absent {
			conds = append(conds, sqlFalse)
		} else {
			conds = append(conds, q.like(c.expr, *a.Like))
		}
	}
	if a.IsNull != nil {
		conds = append(conds, q.isNull(c, *a.IsNull))
	}
	return and(conds)
}

func (q *sqlQuery) idArg(c column, a *IDArgument) string {
	if a == nil {
		return sqlTrue
	}
	return q.stringArg(c, &StringArgument{In: a.In, Equal: a.Equal, IsNull: a.IsNull})
}

func (q *sqlQuery) dateArg(path string, c column, a *DateArgument) (string, error) {
	if a == nil {
		return sqlTrue, nil
	}
	var conds []string
	cmp := func(op string, t *time.Time) {
		if t == nil {
			return
		}
		if c.absent {
			conds = append(conds, sqlFalse)
			return
		}
		conds = append(conds, c.expr+" "+op+" "+q.arg(t.UTC()))
	}
	cmp("=", a.Equal)
	cmp(">", a.GreaterThan)
	cmp(">=", a.GreaterThanEqual)
	cmp("<", a.LessThan)
	cmp("<=", a.LessThanEqual)
	if a.Between != nil {
		if a.Between.To.Before(a.Between.From) {
			return "", filterErr(path+".between", "from (%s) is after to (%s); swap them", a.Between.From.Format(time.RFC3339), a.Between.To.Format(time.RFC3339))
		}
		cmp(">=", &a.Between.From)
		cmp("<=", &a.Between.To)
	}
	if a.IsNull != nil {
		conds = append(conds, q.isNull(c, *a.IsNull))
	}
	return and(conds), nil
}

// absentArray is the condition of a StringArrayArgument on a list Portico
// never fills (roles, addons): only isNull: true matches.
func absentArray(a *StringArrayArgument) string {
	if a == nil {
		return sqlTrue
	}
	var conds []string
	if a.Contains != nil || len(a.ContainsAny) > 0 || len(a.ContainsAll) > 0 {
		conds = append(conds, sqlFalse)
	}
	if a.IsNull != nil && !*a.IsNull {
		conds = append(conds, sqlFalse)
	}
	return and(conds)
}

// Instance columns (table alias i).
var (
	colID          = column{expr: "i.id"}
	colProcessID   = column{expr: "i.process_id"}
	colProcessName = column{expr: "i.process_name", emptyIsNull: true}
	colParentID    = column{expr: "i.parent_id", nullable: true}
	colRootID      = column{expr: "i.root_id", nullable: true}
	colRootProcess = column{expr: "i.root_process_id", nullable: true}
	colState       = column{expr: "i.state"}
	colErrorNode   = column{expr: "i.error_node_definition_id", nullable: true}
	colErrorMsg    = column{expr: "i.error_message", nullable: true}
	colStart       = column{expr: "i.started_at"}
	colEnd         = column{expr: "i.ended_at", nullable: true}
	colLastUpdate  = column{expr: "i.last_update"}
	colBusinessKey = column{expr: "i.business_key", emptyIsNull: true}
	colAbsent      = column{absent: true}
)

// instanceFilter compiles a ProcessInstanceArgument.
type instanceFilter struct {
	*sqlQuery
	// endpointPrefix is serviceUrl + "/": an instance's endpoint is the
	// prefix followed by its process id.
	endpointPrefix string
	// definitions answers a definition filter with the matching ids.
	definitions func(path string, a *ProcessDefinitionArgument) ([]string, error)
}

func (f *instanceFilter) where(path string, w *ProcessInstanceArgument) (string, error) {
	if w == nil {
		return sqlTrue, nil
	}
	conds, err := logical(path, w.And, w.Or, w.Not, f.where)
	if err != nil {
		return "", err
	}
	add := func(c string) {
		if c != sqlTrue {
			conds = append(conds, c)
		}
	}
	add(f.idArg(colID, w.ID))
	add(f.stringArg(colProcessID, w.ProcessID))
	add(f.stringArg(colProcessName, w.ProcessName))
	add(f.idArg(colParentID, w.ParentProcessInstanceID))
	add(f.idArg(colRootID, w.RootProcessInstanceID))
	add(f.stringArg(colRootProcess, w.RootProcessID))
	if s := w.State; s != nil {
		var sc []string
		if s.Equal != nil {
			sc = append(sc, f.equal(colState, string(*s.Equal)))
		}
		if s.In != nil {
			var vals []string
			for _, v := range s.In {
				if v != nil {
					vals = append(vals, string(*v))
				}
			}
			sc = append(sc, f.in(colState, vals))
		}
		add(and(sc))
	}
	if e := w.Error; e != nil {
		add(f.stringArg(colErrorNode, e.NodeDefinitionID))
		add(f.stringArg(colErrorMsg, e.Message))
	}
	if w.Nodes != nil {
		c, err := f.nodesArg(path+".nodes", w.Nodes)
		if err != nil {
			return "", err
		}
		add(c)
	}
	if w.Milestones != nil {
		add(milestones(w.Milestones))
	}
	if w.Endpoint != nil {
		endpoint := column{expr: "(CAST(" + f.arg(f.endpointPrefix) + " AS TEXT) || i.process_id)"}
		add(f.stringArg(endpoint, w.Endpoint))
	}
	add(absentArray(w.Roles))
	add(absentArray(w.Addons))
	for _, d := range []struct {
		name string
		col  column
		arg  *DateArgument
	}{{"start", colStart, w.Start}, {"end", colEnd, w.End}, {"lastUpdate", colLastUpdate, w.LastUpdate}, {"slaDueDate", colAbsent, w.SLADueDate}} {
		c, err := f.dateArg(path+"."+d.name, d.col, d.arg)
		if err != nil {
			return "", err
		}
		add(c)
	}
	add(f.stringArg(colBusinessKey, w.BusinessKey))
	add(f.stringArg(colAbsent, w.CreatedBy))
	add(f.stringArg(colAbsent, w.UpdatedBy))
	add(f.stringArg(colAbsent, w.CloudEventID))
	add(f.stringArg(colAbsent, w.CloudEventSource))
	if w.Definition != nil {
		ids, err := f.definitions(path+".definition", w.Definition)
		if err != nil {
			return "", err
		}
		add(f.in(colProcessID, ids))
	}
	if w.Variables != nil {
		c, err := f.jsonFilter(path+".variables", "i.variables", w.Variables)
		if err != nil {
			return "", err
		}
		add(c)
	}
	return and(conds), nil
}

// parens wraps a condition for NOT.
func parens(c string) string { return "(" + c + ")" }

// Node instance columns (table alias n).
var (
	colNodeID      = column{expr: "n.id"}
	colNodeName    = column{expr: "n.name"}
	colNodeDef     = column{expr: "n.definition_id"}
	colNodeType    = column{expr: "n.type"}
	colNodeEnter   = column{expr: "n.enter"}
	colNodeExit    = column{expr: "n.exit", nullable: true}
	colNodeErrMsg  = column{expr: "n.error_message", nullable: true}
	nodeInstanceOf = "n.instance_id = i.id"
)

// nodesArg matches instances by their node instances.
func (f *instanceFilter) nodesArg(path string, a *NodeInstanceArrayArgument) (string, error) {
	var conds []string
	exists := func(p string, n *NodeInstanceArgument) error {
		c, err := f.node(p, n)
		if err != nil {
			return err
		}
		conds = append(conds, "EXISTS (SELECT 1 FROM orchestrator_node_instances n WHERE "+nodeInstanceOf+" AND "+c+")")
		return nil
	}
	if a.Contains != nil {
		if err := exists(path+".contains", a.Contains); err != nil {
			return "", err
		}
	}
	for i, n := range a.ContainsAll {
		if err := exists(fmt.Sprintf("%s.containsAll[%d]", path, i), n); err != nil {
			return "", err
		}
	}
	if len(a.ContainsAny) > 0 {
		saved := conds
		conds = nil
		for i, n := range a.ContainsAny {
			if err := exists(fmt.Sprintf("%s.containsAny[%d]", path, i), n); err != nil {
				return "", err
			}
		}
		conds = append(saved, or(conds))
	}
	if a.IsNull != nil {
		some := "EXISTS (SELECT 1 FROM orchestrator_node_instances n WHERE " + nodeInstanceOf + ")"
		if *a.IsNull {
			conds = append(conds, "NOT "+some)
		} else {
			conds = append(conds, some)
		}
	}
	for i, s := range a.And {
		c, err := f.nodesArg(fmt.Sprintf("%s.and[%d]", path, i), s)
		if err != nil {
			return "", err
		}
		conds = append(conds, c)
	}
	if len(a.Or) > 0 {
		var ors []string
		for i, s := range a.Or {
			c, err := f.nodesArg(fmt.Sprintf("%s.or[%d]", path, i), s)
			if err != nil {
				return "", err
			}
			ors = append(ors, c)
		}
		conds = append(conds, or(ors))
	}
	if a.Not != nil {
		c, err := f.nodesArg(path+".not", a.Not)
		if err != nil {
			return "", err
		}
		conds = append(conds, "NOT "+parens(c))
	}
	// The node fields given directly mean "contains a node like this".
	direct := &NodeInstanceArgument{ID: a.ID, Name: a.Name, DefinitionID: a.DefinitionID, NodeID: a.NodeID, Type: a.Type,
		Enter: a.Enter, Exit: a.Exit, ErrorMessage: a.ErrorMessage, Retrigger: a.Retrigger, SLADueDate: a.SLADueDate}
	if a.ID != nil || a.Name != nil || a.DefinitionID != nil || a.NodeID != nil || a.Type != nil || a.Enter != nil ||
		a.Exit != nil || a.ErrorMessage != nil || a.Retrigger != nil || a.SLADueDate != nil {
		if err := exists(path, direct); err != nil {
			return "", err
		}
	}
	return and(conds), nil
}

// node compiles the condition on one node instance (alias n).
func (f *instanceFilter) node(path string, a *NodeInstanceArgument) (string, error) {
	conds, err := logical(path, a.And, a.Or, a.Not, f.node)
	if err != nil {
		return "", err
	}
	add := func(c string) {
		if c != sqlTrue {
			conds = append(conds, c)
		}
	}
	add(f.idArg(colNodeID, a.ID))
	add(f.stringArg(colNodeName, a.Name))
	add(f.stringArg(colNodeDef, a.DefinitionID))
	add(f.stringArg(colNodeDef, a.NodeID))
	add(f.stringArg(colNodeType, a.Type))
	add(f.stringArg(colNodeErrMsg, a.ErrorMessage))
	for _, d := range []struct {
		name string
		col  column
		arg  *DateArgument
	}{{"enter", colNodeEnter, a.Enter}, {"exit", colNodeExit, a.Exit}, {"slaDueDate", colAbsent, a.SLADueDate}} {
		c, err := f.dateArg(path+"."+d.name, d.col, d.arg)
		if err != nil {
			return "", err
		}
		add(c)
	}
	if r := a.Retrigger; r != nil {
		if r.Equal != nil || (r.IsNull != nil && !*r.IsNull) {
			add(sqlFalse)
		}
	}
	if a.InputArgs != nil || a.OutputArgs != nil {
		return "", filterErr(path, "inputArgs and outputArgs cannot be filtered on: Portico keeps no node arguments; remove them")
	}
	return and(conds), nil
}

// milestones: workflows have none, so only "no milestones" matches.
func milestones(a *MilestoneArrayArgument) string {
	var conds []string
	if a.Contains != nil || len(a.ContainsAny) > 0 || len(a.ContainsAll) > 0 || a.ID != nil || a.Name != nil || a.Status != nil {
		conds = append(conds, sqlFalse)
	}
	if a.IsNull != nil && !*a.IsNull {
		conds = append(conds, sqlFalse)
	}
	for _, s := range a.And {
		conds = append(conds, milestones(s))
	}
	if len(a.Or) > 0 {
		var ors []string
		for _, s := range a.Or {
			ors = append(ors, milestones(s))
		}
		conds = append(conds, or(ors))
	}
	if a.Not != nil {
		conds = append(conds, "NOT "+parens(milestones(a.Not)))
	}
	return and(conds)
}

// jsonOperators are the operator names of a JSON filter: a key that is
// one of them ends the path.
var jsonOperators = map[string]bool{
	"equal": true, "greaterThan": true, "greaterThanEqual": true, "lessThan": true, "lessThanEqual": true,
	"between": true, "in": true, "isNull": true, "notNull": true, "contains": true, "like": true,
	"containsAll": true, "containsAny": true,
}

func operatorList() string {
	ops := make([]string, 0, len(jsonOperators))
	for op := range jsonOperators {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return strings.Join(ops, ", ")
}

// jsonCondition is one operator applied at a path of a JSON document.
type jsonCondition struct {
	path  []string
	where string // the filter's path in the query, for errors
	op    string
	value any
}

// jsonConditions flattens a JSON filter: nested keys form the path until
// an operator name; several keys at one level all apply.
func jsonConditions(where string, v any) ([]jsonCondition, error) {
	var out []jsonCondition
	var walk func(where string, path []string, v any) error
	walk = func(where string, path []string, v any) error {
		m, ok := v.(map[string]any)
		if !ok {
			return filterErr(where, "expected an object of variable names ending in an operator (%s), such as {workflowdata: {language: {equal: \"English\"}}}; got %s", operatorList(), describe(v))
		}
		if len(m) == 0 {
			return filterErr(where, "empty object: name a variable and an operator, such as {initiatorEntity: {equal: \"user:default/ana\"}}")
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if jsonOperators[k] && len(path) > 0 {
				out = append(out, jsonCondition{path: append([]string(nil), path...), where: where + "." + k, op: k, value: m[k]})
				continue
			}
			if jsonOperators[k] {
				return filterErr(where, "%s needs a variable name before it, such as {workflowdata: {%s: …}}", k, k)
			}
			if err := validJSONKey(where, k); err != nil {
				return err
			}
			if err := walk(where+"."+k, append(path, k), m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(where, nil, v); err != nil {
		return nil, err
	}
	return out, nil
}

func validJSONKey(where, k string) error {
	if k == "" {
		return filterErr(where, "an empty key cannot name a variable")
	}
	for _, r := range k {
		if r < 0x20 || r == '"' || r == '\\' {
			return filterErr(where+"."+k, "a key with quotes, backslashes or control characters cannot name a variable")
		}
	}
	return nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if _, ok := number(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// number reads a JSON number however it arrived (literal or variable).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// jsonFilter compiles a JSON filter on a TEXT column holding JSON.
func (q *sqlQuery) jsonFilter(where, col string, v any) (string, error) {
	conds, err := jsonConditions(where, v)
	if err != nil {
		return "", err
	}
	var out []string
	for _, c := range conds {
		s, err := q.jsonCond(col, c)
		if err != nil {
			return "", err
		}
		out = append(out, s)
	}
	return and(out), nil
}

// jsonPath is the extraction at a path: on SQLite json_extract and
// json_type with a bound JSON path, on PostgreSQL #> with a bound text
// array over the column cast to jsonb.
type jsonPath struct {
	q        *sqlQuery
	col, ph  string
	sqlite   bool
	jsonbVal string
}

func (q *sqlQuery) path(col string, path []string) jsonPath {
	if q.dialect == store.SQLite {
		var b strings.Builder
		b.WriteString("$")
		for _, k := range path {
			b.WriteString(`."` + k + `"`)
		}
		return jsonPath{q: q, col: col, ph: q.arg(b.String()), sqlite: true}
	}
	quoted := make([]string, len(path))
	for i, k := range path {
		quoted[i] = `"` + k + `"`
	}
	ph := q.arg("{" + strings.Join(quoted, ",") + "}")
	return jsonPath{q: q, col: col, ph: ph, jsonbVal: "(CAST(" + col + " AS jsonb) #> CAST(" + ph + " AS text[]))"}
}

// typ is the condition that the value at the path has the JSON type of v.
func (p jsonPath) typ(v any) string {
	if p.sqlite {
		t := "json_type(" + p.col + ", " + p.ph + ")"
		switch v.(type) {
		case string:
			return t + " = 'text'"
		case bool:
			return t + " IN ('true', 'false')"
		}
		return t + " IN ('integer', 'real')"
	}
	t := "jsonb_typeof(" + p.jsonbVal + ")"
	switch v.(type) {
	case string:
		return t + " = 'string'"
	case bool:
		return t + " = 'boolean'"
	}
	return t + " = 'number'"
}

// compare is value-at-path op v, for v a string, number or boolean.
func (p jsonPath) compare(op string, v any) string {
	if p.sqlite {
		if b, ok := v.(bool); ok {
			if op != "=" {
				return sqlFalse
			}
			want := "false"
			if b {
				want = "true"
			}
			return "json_type(" + p.col + ", " + p.ph + ") = '" + want + "'"
		}
		if f, ok := number(v); ok {
			v = f
		}
		return "(" + p.typ(v) + " AND json_extract(" + p.col + ", " + p.ph + ") " + op + " " + p.q.arg(v) + ")"
	}
	if s, ok := v.(string); ok && op != "=" {
		// Strings order bytewise, as on SQLite.
		return "(" + p.typ(v) + " AND (CAST(" + p.col + " AS jsonb) #>> CAST(" + p.ph + " AS text[])) COLLATE \"C\" " + op + " " + p.q.arg(s) + ")"
	}
	if f, ok := number(v); ok {
		v = f
	}
	enc, _ := json.Marshal(v)
	return "(" + p.typ(v) + " AND " + p.jsonbVal + " " + op + " CAST(" + p.q.arg(string(enc)) + " AS jsonb))"
}

func (p jsonPath) isNull(want bool) string {
	var c string
	if p.sqlite {
		t := "json_type(" + p.col + ", " + p.ph + ")"
		c = "(" + t + " IS NULL OR " + t + " = 'null')"
	} else {
		c = "(" + p.jsonbVal + " IS NULL OR jsonb_typeof(" + p.jsonbVal + ") = 'null')"
	}
	if want {
		return c
	}
	return "NOT " + c
}

func (p jsonPath) like(pattern string) string {
	if p.sqlite {
		return "(" + p.typ("") + " AND " + p.q.like("json_extract("+p.col+", "+p.ph+")", pattern) + ")"
	}
	return "(" + p.typ("") + " AND " + p.q.like("(CAST("+p.col+" AS jsonb) #>> CAST("+p.ph+" AS text[]))", pattern) + ")"
}

// contains is the condition that the array at the path holds v.
func (p jsonPath) contains(v any) string {
	if p.sqlite {
		var elem string
		switch t := v.(type) {
		case string:
			elem = "je.type = 'text' AND je.value = " + p.q.arg(t)
		case bool:
			want := "false"
			if t {
				want = "true"
			}
			elem = "je.type = '" + want + "'"
		default:
			f, _ := number(v)
			elem = "je.type IN ('integer', 'real') AND je.value = " + p.q.arg(f)
		}
		return "(json_type(" + p.col + ", " + p.ph + ") = 'array' AND EXISTS (SELECT 1 FROM json_each(" + p.col + ", " + p.ph + ") je WHERE " + elem + "))"
	}
	if f, ok := number(v); ok {
		v = f
	}
	enc, _ := json.Marshal([]any{v})
	return "(jsonb_typeof(" + p.jsonbVal + ") = 'array' AND " + p.jsonbVal + " @> CAST(" + p.q.arg(string(enc)) + " AS jsonb))"
}

// scalar checks that a JSON filter's operand is a string, number or
// boolean.
func scalar(c jsonCondition, v any, where string) error {
	switch v.(type) {
	case string, bool:
		return nil
	}
	if _, ok := number(v); ok {
		return nil
	}
	return filterErr(where, "%s compares with a string, number or boolean, got %s", c.op, describe(v))
}

func (q *sqlQuery) jsonCond(col string, c jsonCondition) (string, error) {
	p := q.path(col, c.path)
	switch c.op {
	case "equal", "greaterThan", "greaterThanEqual", "lessThan", "lessThanEqual":
		if c.value == nil && c.op == "equal" {
			return p.isNull(true), nil
		}
		if err := scalar(c, c.value, c.where); err != nil {
			return "", err
		}
		return p.compare(map[string]string{"equal": "=", "greaterThan": ">", "greaterThanEqual": ">=", "lessThan": "<", "lessThanEqual": "<="}[c.op], c.value), nil
	case "between":
		m, ok := c.value.(map[string]any)
		if !ok || m["from"] == nil || m["to"] == nil {
			return "", filterErr(c.where, "between takes {from: …, to: …}")
		}
		if err := scalar(c, m["from"], c.where+".from"); err != nil {
			return "", err
		}
		if err := scalar(c, m["to"], c.where+".to"); err != nil {
			return "", err
		}
		return "(" + p.compare(">=", m["from"]) + " AND " + p.compare("<=", m["to"]) + ")", nil
	case "in":
		list, ok := c.value.([]any)
		if !ok {
			list = []any{c.value} // a single value where a list is expected
		}
		var ors []string
		for i, v := range list {
			if err := scalar(c, v, fmt.Sprintf("%s[%d]", c.where, i)); err != nil {
				return "", err
			}
			ors = append(ors, p.compare("=", v))
		}
		return or(ors), nil
	case "isNull", "notNull":
		b, ok := c.value.(bool)
		if !ok {
			return "", filterErr(c.where, "%s takes true or false, got %s", c.op, describe(c.value))
		}
		if c.op == "notNull" {
			b = !b
		}
		return p.isNull(b), nil
	case "like":
		s, ok := c.value.(string)
		if !ok {
			return "", filterErr(c.where, "like takes a string pattern with * as the wildcard, got %s", describe(c.value))
		}
		return p.like(s), nil
	case "contains":
		if err := scalar(c, c.value, c.where); err != nil {
			return "", err
		}
		return p.contains(c.value), nil
	case "containsAll", "containsAny":
		list, ok := c.value.([]any)
		if !ok {
			list = []any{c.value}
		}
		var conds []string
		for i, v := range list {
			if err := scalar(c, v, fmt.Sprintf("%s[%d]", c.where, i)); err != nil {
				return "", err
			}
			conds = append(conds, p.contains(v))
		}
		if c.op == "containsAll" {
			return and(conds), nil
		}
		return or(conds), nil
	}
	return "", filterErr(c.where, "unknown operator; use one of %s", operatorList())
}

// logical compiles the and/or/not parts shared by every argument type
// with where, the compiler of that type; sqlTrue parts are left out.
func logical[T any](path string, and, or_ []*T, not *T, where func(string, *T) (string, error)) ([]string, error) {
	var conds []string
	add := func(c string) {
		if c != sqlTrue {
			conds = append(conds, c)
		}
	}
	for i, a := range and {
		c, err := where(fmt.Sprintf("%s.and[%d]", path, i), a)
		if err != nil {
			return nil, err
		}
		add(c)
	}
	if len(or_) > 0 {
		var ors []string
		for i, a := range or_ {
			c, err := where(fmt.Sprintf("%s.or[%d]", path, i), a)
			if err != nil {
				return nil, err
			}
			ors = append(ors, c)
		}
		add(or(ors))
	}
	if not != nil {
		c, err := where(path+".not", not)
		if err != nil {
			return nil, err
		}
		add("NOT " + parens(c))
	}
	return conds, nil
}
