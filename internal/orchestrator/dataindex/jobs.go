package dataindex

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/internal/workflow/engine"
)

// jobIDSeparator joins an instance id and a timer id into a job id: timer
// ids are only unique within their instance.
const jobIDSeparator = ":"

// Job columns (timers w joined with their instance i).
var (
	colJobID         = column{expr: "(w.instance_id || '" + jobIDSeparator + "' || w.wait_id)"}
	colJobInstance   = column{expr: "w.instance_id"}
	colJobExpiration = column{expr: "w.due_at", nullable: true}
)

var jobOrder = map[string]column{
	"processId": colProcessID, "rootProcessId": colRootProcess, "expirationTime": colJobExpiration,
}

// jobWhere compiles a JobArgument. Every stored timer is SCHEDULED (a
// timer that fired is gone), and Portico keeps no priority, retries or
// exception for timers. nodeInstanceId is reported but not filterable
// (it lives inside the timer's JSON).
func (q *sqlQuery) jobWhere(path string, a *JobArgument) (string, error) {
	if a == nil {
		return sqlTrue, nil
	}
	conds, err := logical(path, a.And, a.Or, a.Not, q.jobWhere)
	if err != nil {
		return "", err
	}
	add := func(c string) {
		if c != sqlTrue {
			conds = append(conds, c)
		}
	}
	add(q.idArg(colJobID, a.ID))
	add(q.stringArg(colProcessID, a.ProcessID))
	add(q.idArg(colJobInstance, a.ProcessInstanceID))
	add(q.idArg(colAbsent, a.NodeInstanceID))
	add(q.idArg(colRootID, a.RootProcessInstanceID))
	add(q.stringArg(colRootProcess, a.RootProcessID))
	if s := a.Status; s != nil {
		scheduled := func(st *JobStatus) bool { return st != nil && *st == JobStatusScheduled }
		if s.Equal != nil && !scheduled(s.Equal) {
			add(sqlFalse)
		}
		if s.In != nil {
			found := false
			for _, st := range s.In {
				found = found || scheduled(st)
			}
			if !found {
				add(sqlFalse)
			}
		}
	}
	for _, d := range []struct {
		name string
		col  column
		arg  *DateArgument
	}{{"expirationTime", colJobExpiration, a.ExpirationTime}, {"lastUpdate", colAbsent, a.LastUpdate}} {
		c, err := q.dateArg(path+"."+d.name, d.col, d.arg)
		if err != nil {
			return "", err
		}
		add(c)
	}
	if p := a.Priority; p != nil {
		if p.Equal != nil || p.In != nil || p.GreaterThan != nil || p.GreaterThanEqual != nil || p.LessThan != nil ||
			p.LessThanEqual != nil || p.Between != nil || (p.IsNull != nil && !*p.IsNull) {
			add(sqlFalse)
		}
	}
	add(q.idArg(colAbsent, a.ScheduledID))
	add(q.stringArg(colAbsent, a.ExceptionMessage))
	return and(conds), nil
}

const jobFrom = ` FROM orchestrator_waits w JOIN orchestrator_instances i ON i.id = w.instance_id WHERE w.kind = 'timer' AND `

// jobs answers Jobs.
func (s *Service) jobs(ctx context.Context, where *JobArgument, pagination *Pagination) ([]*Job, error) {
	limit, offset, err := s.page(pagination, s.opts.DefaultPageSize)
	if err != nil {
		return nil, err
	}
	q := &sqlQuery{dialect: s.db.Dialect()}
	cond, err := q.jobWhere("where", where)
	if err != nil {
		return nil, err
	}
	order := orderBySQL(orderKeys(ctx), jobOrder, colJobID.expr, []orderKey{{field: "expirationTime"}})
	rows, err := s.db.QueryContext(ctx, `SELECT w.instance_id, w.wait_id, w.due_at, w.wait, i.process_id, i.root_id, i.root_process_id`+
		jobFrom+cond+" ORDER BY "+order+" LIMIT "+q.arg(limit)+" OFFSET "+q.arg(offset), q.args...)
	if err != nil {
		return nil, s.internal("listing jobs", err)
	}
	defer rows.Close()
	out := []*Job{}
	for rows.Next() {
		var inst, wait, data, process string
		var due sql.NullTime
		var root, rootP sql.NullString
		if err := rows.Scan(&inst, &wait, &due, &data, &process, &root, &rootP); err != nil {
			return nil, s.internal("reading jobs", err)
		}
		// The node instance is the state visit the timer belongs to.
		var w engine.Wait
		_ = json.Unmarshal([]byte(data), &w)
		j := &Job{
			ID: inst + jobIDSeparator + wait, ProcessID: &process, ProcessInstanceID: &inst,
			NodeInstanceID: ptr(fmt.Sprint(w.Step)), RootProcessInstanceID: nullable(root), RootProcessID: nullable(rootP), Status: JobStatusScheduled,
			Retries: ptr(0), ExecutionCounter: ptr(0), Endpoint: ptr(s.rt.Endpoint(process)),
		}
		if due.Valid {
			t := due.Time.UTC()
			j.ExpirationTime = &t
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, s.internal("reading jobs", err)
	}
	return out, nil
}

// countJobs answers CountJobs.
func (s *Service) countJobs(ctx context.Context, where *JobArgument) (int, error) {
	q := &sqlQuery{dialect: s.db.Dialect()}
	cond, err := q.jobWhere("where", where)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*)"+jobFrom+cond, q.args...).Scan(&n); err != nil {
		return 0, s.internal("counting jobs", err)
	}
	return n, nil
}
