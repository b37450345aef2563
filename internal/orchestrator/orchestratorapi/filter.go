package orchestratorapi

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/orchestrator"
)

// Page sizes: a search without pageSize gets defaultPageSize items, and no
// page is larger than maxPageSize (a larger pageSize is lowered to it, and
// the response's paginationInfo says so).
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

var operators = []string{orchestrator.OpEq, orchestrator.OpGt, orchestrator.OpGte, orchestrator.OpLt, orchestrator.OpLte,
	orchestrator.OpIn, orchestrator.OpIsNull, orchestrator.OpLike, orchestrator.OpBetween}

// page is a checked paginationInfo.
type page struct {
	size, offset int
	orderBy      string
	desc         bool
	dirGiven     bool
}

// parsePage checks paginationInfo; orderBy is checked by the caller, which
// knows the fields.
func parsePage(p *PaginationInfo) (page, error) {
	pg := page{size: defaultPageSize}
	if p == nil {
		return pg, nil
	}
	if p.PageSize != nil {
		switch n := int(*p.PageSize); {
		case n < 0:
			return pg, errs.InputErrorf("paginationInfo.pageSize: must be 0 or more, got %d", n)
		case n == 0:
		case n > maxPageSize:
			pg.size = maxPageSize
		default:
			pg.size = n
		}
	}
	if p.Offset != nil {
		if *p.Offset < 0 {
			return pg, errs.InputErrorf("paginationInfo.offset: must be 0 or more, got %d", *p.Offset)
		}
		pg.offset = int(*p.Offset)
	}
	pg.orderBy = p.OrderBy
	switch strings.ToUpper(p.OrderDirection) {
	case "":
	case "ASC":
		pg.dirGiven = true
	case "DESC":
		pg.desc, pg.dirGiven = true, true
	default:
		return pg, errs.InputErrorf("paginationInfo.orderDirection: must be ASC or DESC, got %q", p.OrderDirection)
	}
	return pg, nil
}

func (pg page) info() *PageInfo {
	dir := "ASC"
	if pg.desc {
		dir = "DESC"
	}
	return &PageInfo{PageSize: pg.size, Offset: pg.offset, OrderBy: pg.orderBy, OrderDirection: dir}
}

// instanceShorthands are filter fields that name a top-level process
// variable directly.
var instanceShorthands = map[string]bool{"initiatorEntity": true, "targetEntity": true}

// instanceCond turns a filter on instances into a runtime condition. at is
// the filter's path in the request, for error messages.
func instanceCond(f *Filter, at string) (*orchestrator.Cond, error) {
	if f.Field == "" {
		f.Field = f.FieldName
	}
	if f.Filters != nil || isLogical(f.Operator) {
		return logical(f, at, instanceCond, instanceLogic)
	}
	if f.Nested != nil {
		if f.Field != "variables" {
			return nil, errs.InputErrorf("%s.field: only \"variables\" takes a nested filter, got %q", at, f.Field)
		}
		var path []string
		n := f.Nested
		nat := at + ".nested"
		for {
			if n.Field == "" {
				n.Field = n.FieldName
			}
			for _, k := range strings.Split(n.Field, ".") {
				if !orchestrator.ValidVariableKey(k) {
					return nil, errs.InputErrorf("%s.field: %q is not a variable name (letters, digits, _ and -, dot-separated)", nat, n.Field)
				}
				path = append(path, k)
			}
			if n.Nested == nil {
				break
			}
			n, nat = n.Nested, nat+".nested"
		}
		return fieldCond(n, nat, "", path)
	}
	field := f.Field
	if field == "" {
		return nil, errs.InputErrorf("%s.field: missing; name an instance field (%s)", at, strings.Join(orchestrator.InstanceFields(), ", "))
	}
	if instanceShorthands[field] {
		return fieldCond(f, at, "", []string{field})
	}
	if v, ok := strings.CutPrefix(field, "variables."); ok {
		path := strings.Split(v, ".")
		for _, k := range path {
			if !orchestrator.ValidVariableKey(k) {
				return nil, errs.InputErrorf("%s.field: %q is not a variable path", at, field)
			}
		}
		return fieldCond(f, at, "", path)
	}
	if !orchestrator.IsInstanceField(field) {
		return nil, errs.InputErrorf("%s.field: unknown instance field %q; use one of %s", at, field, strings.Join(orchestrator.InstanceFields(), ", "))
	}
	return fieldCond(f, at, field, nil)
}

func isLogical(op string) bool { return op == "AND" || op == "OR" || op == "NOT" }

// logical checks a logical filter, converts its operands with conv and
// combines them with build.
func logical[T any](f *Filter, at string, conv func(*Filter, string) (*T, error), build func(op string, list []T) *T) (*T, error) {
	if !isLogical(f.Operator) {
		return nil, errs.InputErrorf("%s.operator: a filter with filters must be AND, OR or NOT, got %q", at, f.Operator)
	}
	if len(f.Filters) == 0 {
		return nil, errs.InputErrorf("%s.filters: %s needs at least one filter", at, f.Operator)
	}
	if f.Operator == "NOT" && len(f.Filters) != 1 {
		return nil, errs.InputErrorf("%s.filters: NOT takes exactly one filter, got %d", at, len(f.Filters))
	}
	out := make([]T, 0, len(f.Filters))
	for i := range f.Filters {
		c, err := conv(&f.Filters[i], fmt.Sprintf("%s.filters[%d]", at, i))
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return build(f.Operator, out), nil
}

// instanceLogic builds the runtime's logical condition.
func instanceLogic(op string, list []orchestrator.Cond) *orchestrator.Cond {
	switch op {
	case "AND":
		return &orchestrator.Cond{And: list}
	case "OR":
		return &orchestrator.Cond{Or: list}
	}
	return &orchestrator.Cond{Not: &list[0]}
}

// overviewLogic builds a logical condition on overviews.
func overviewLogic(op string, list []wfCond) *wfCond { return &wfCond{op: op, list: list} }

// fieldCond checks a field filter's operator and value.
func fieldCond(f *Filter, at, field string, path []string) (*orchestrator.Cond, error) {
	vals, err := filterValues(f, at, orchestrator.IsTimeField(field))
	if err != nil {
		return nil, err
	}
	if field != "" && !orchestrator.IsTimeField(field) {
		// Instance fields are text: compare a number or boolean by its
		// text, as the Data Index does with a quoted literal.
		for i, v := range vals {
			switch v.(type) {
			case float64, bool:
				if f.Operator != orchestrator.OpIsNull {
					vals[i] = fmt.Sprint(v)
				}
			}
		}
	}
	if field == "state" {
		if f.Operator != orchestrator.OpEq && f.Operator != orchestrator.OpIn {
			return nil, errs.InputErrorf("%s.operator: state takes EQ or IN, got %q", at, f.Operator)
		}
		for i, v := range vals {
			s, _ := v.(string)
			s = strings.ToUpper(s)
			if !slices.Contains(stateValues, s) {
				return nil, errs.InputErrorf("%s.value: %v is not a state; use one of %s", at, v, strings.Join(stateValues, ", "))
			}
			vals[i] = s
		}
	}
	return &orchestrator.Cond{Field: field, Variable: path, Op: f.Operator, Values: vals}, nil
}

// filterValues checks a field filter's operator and turns its value into
// the list of operands: one for comparisons, any number for IN, two for
// BETWEEN, a boolean for IS_NULL. Time fields take RFC 3339 times.
func filterValues(f *Filter, at string, isTime bool) ([]any, error) {
	if !slices.Contains(operators, f.Operator) {
		if f.Operator == "" {
			return nil, errs.InputErrorf("%s.operator: missing; use one of %s", at, strings.Join(operators, ", "))
		}
		return nil, errs.InputErrorf("%s.operator: unknown operator %q; use one of %s", at, f.Operator, strings.Join(operators, ", "))
	}
	scalar := func(v any, where string) (any, error) {
		switch t := v.(type) {
		case string:
			if isTime {
				tm, err := parseTime(t)
				if err != nil {
					return nil, errs.InputErrorf("%s: %q is not a time; use RFC 3339 (2024-01-31T12:00:00Z) or milliseconds since 1970", where, t)
				}
				return tm, nil
			}
			return t, nil
		case float64:
			if isTime {
				return time.UnixMilli(int64(t)).UTC(), nil
			}
			return t, nil
		case bool:
			return t, nil
		case nil:
			return nil, errs.InputErrorf("%s: missing value", where)
		}
		return nil, errs.InputErrorf("%s: must be a string, number or boolean", where)
	}
	list := func() ([]any, error) {
		arr, ok := f.Value.([]any)
		if !ok {
			arr = []any{f.Value}
		}
		out := make([]any, 0, len(arr))
		for i, v := range arr {
			s, err := scalar(v, fmt.Sprintf("%s.value[%d]", at, i))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	switch f.Operator {
	case orchestrator.OpIn:
		return list()
	case orchestrator.OpBetween:
		if m, ok := f.Value.(map[string]any); ok {
			f.Value = []any{m["from"], m["to"]}
		}
		vals, err := list()
		if err == nil && len(vals) != 2 {
			err = errs.InputErrorf("%s.value: BETWEEN takes two values [from, to] or {from, to}, got %d", at, len(vals))
		}
		return vals, err
	case orchestrator.OpIsNull:
		switch v := f.Value.(type) {
		case bool:
			return []any{v}, nil
		case string:
			if b, err := strconv.ParseBool(v); err == nil {
				return []any{b}, nil
			}
		case nil:
			return []any{true}, nil
		}
		return nil, errs.InputErrorf("%s.value: IS_NULL takes true or false", at)
	case orchestrator.OpLike:
		s, ok := f.Value.(string)
		if !ok {
			return nil, errs.InputErrorf("%s.value: LIKE takes a string (* matches any text)", at)
		}
		return []any{s}, nil
	}
	if _, isList := f.Value.([]any); isList {
		return nil, errs.InputErrorf("%s.value: %s takes one value, not a list (use IN for a list)", at, f.Operator)
	}
	v, err := scalar(f.Value, at+".value")
	if err != nil {
		return nil, err
	}
	return []any{v}, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

// stateValues are the instance states, in the order the statuses route
// lists them.
var stateValues = []string{"ACTIVE", "ERROR", "COMPLETED", "ABORTED", "SUSPENDED", "PENDING"}

// Overview fields a filter or orderBy may name.
var overviewFields = []string{"id", "workflowId", "name", "description", "version", "category", "format",
	"lastRunStatus", "lastTriggeredMs", "lastRunId", "isAvailable"}

// wfCond is a condition on workflow overviews, evaluated in memory (a
// deployment has tens of workflows, not thousands).
type wfCond struct {
	op    string // AND, OR, NOT, or a field operator
	list  []wfCond
	field string
	vals  []any
	like  *regexp.Regexp
}

// overviewCond checks a filter on workflow overviews.
func overviewCond(f *Filter, at string) (*wfCond, error) {
	if f.Field == "" {
		f.Field = f.FieldName
	}
	if f.Filters != nil || isLogical(f.Operator) {
		return logical(f, at, overviewCond, overviewLogic)
	}
	if f.Nested != nil {
		return nil, errs.InputErrorf("%s.nested: workflow filters take no nested filters", at)
	}
	if !slices.Contains(overviewFields, f.Field) {
		if f.Field == "" {
			return nil, errs.InputErrorf("%s.field: missing; use one of %s", at, strings.Join(overviewFields, ", "))
		}
		return nil, errs.InputErrorf("%s.field: unknown workflow field %q; use one of %s", at, f.Field, strings.Join(overviewFields, ", "))
	}
	vals, err := filterValues(f, at, false)
	if err != nil {
		return nil, err
	}
	c := &wfCond{op: f.Operator, field: f.Field, vals: vals}
	if f.Operator == orchestrator.OpLike {
		pat := regexp.QuoteMeta(vals[0].(string))
		pat = strings.NewReplacer(`\*`, ".*", "%", ".*").Replace(pat)
		c.like = regexp.MustCompile("(?is)^" + pat + "$")
	}
	return c, nil
}

// fieldValue returns an overview's field for filtering and ordering.
func (o *WorkflowOverview) fieldValue(field string) any {
	switch field {
	case "id", "workflowId":
		return o.WorkflowID
	case "name":
		return o.Name
	case "description":
		return o.Description
	case "category":
		return o.Category
	case "format":
		return o.Format
	case "lastRunStatus":
		return o.LastRunStatus
	case "lastRunId":
		return o.LastRunID
	case "lastTriggeredMs":
		return float64(o.LastTriggeredMs)
	case "isAvailable":
		return o.IsAvailable
	}
	return nil
}

// match evaluates the condition on an overview; version comes from the
// definition, so it is passed in.
func (c *wfCond) match(o *WorkflowOverview, version string) bool {
	switch c.op {
	case "AND":
		for i := range c.list {
			if !c.list[i].match(o, version) {
				return false
			}
		}
		return true
	case "OR":
		for i := range c.list {
			if c.list[i].match(o, version) {
				return true
			}
		}
		return false
	case "NOT":
		return !c.list[0].match(o, version)
	}
	var v any
	if c.field == "version" {
		v = version
	} else {
		v = o.fieldValue(c.field)
	}
	empty := v == nil || v == "" || (c.field == "lastTriggeredMs" && v == float64(0))
	switch c.op {
	case orchestrator.OpIsNull:
		return empty == c.vals[0].(bool)
	case orchestrator.OpLike:
		s, _ := v.(string)
		return c.like.MatchString(s)
	case orchestrator.OpEq, orchestrator.OpIn:
		for _, w := range c.vals {
			if compare(v, w) == 0 {
				return true
			}
		}
		return false
	case orchestrator.OpGt:
		return compare(v, c.vals[0]) > 0
	case orchestrator.OpGte:
		return compare(v, c.vals[0]) >= 0
	case orchestrator.OpLt:
		return compare(v, c.vals[0]) < 0
	case orchestrator.OpLte:
		return compare(v, c.vals[0]) <= 0
	case orchestrator.OpBetween:
		return compare(v, c.vals[0]) >= 0 && compare(v, c.vals[1]) <= 0
	}
	return false
}

// compare orders two filter operands: numbers as numbers, everything else
// as text.
func compare(a, b any) int {
	fa, aok := a.(float64)
	fb, bok := b.(float64)
	if aok && bok {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	if aok || bok {
		if s, ok := b.(string); ok && aok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return compare(fa, f)
			}
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}
