package dataindex

//go:generate go tool gqlgen generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// Resolver is the root of the schema's resolvers.
type Resolver struct{ s *Service }

// Query returns the query resolvers.
func (r *Resolver) Query() QueryResolver { return queryResolver{r.s} }

// Mutation returns the mutation resolvers.
func (r *Resolver) Mutation() MutationResolver { return mutationResolver{r.s} }

type queryResolver struct{ s *Service }

func (q queryResolver) ProcessDefinitions(ctx context.Context, where *ProcessDefinitionArgument, orderBy *ProcessDefinitionOrderBy, pagination *Pagination) ([]*ProcessDefinition, error) {
	// Definitions are few and in memory: without pagination, all of them
	// (the plugin lists them all every few seconds).
	limit, offset, err := q.s.page(pagination, -1)
	if err != nil {
		return nil, err
	}
	var out []*ProcessDefinition
	for _, d := range q.s.definitions() {
		ok, err := matchDefinition("where", d, where)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	sortDefinitions(out, orderKeys(ctx))
	out = out[min(offset, len(out)):]
	if limit >= 0 && limit < len(out) {
		out = out[:limit]
	}
	if out == nil {
		out = []*ProcessDefinition{}
	}
	return out, nil
}

func (q queryResolver) ProcessInstances(ctx context.Context, where *ProcessInstanceArgument, _ *ProcessInstanceOrderBy, pagination *Pagination) ([]*ProcessInstance, error) {
	// orderBy is read from the query itself, in the order it was written.
	return q.s.processInstances(ctx, where, pagination)
}

func (q queryResolver) UserTaskInstances(context.Context, *UserTaskInstanceArgument, *UserTaskInstanceOrderBy, *Pagination) ([]*UserTaskInstance, error) {
	return []*UserTaskInstance{}, nil
}

func (q queryResolver) Jobs(ctx context.Context, where *JobArgument, _ *JobOrderBy, pagination *Pagination) ([]*Job, error) {
	return q.s.jobs(ctx, where, pagination)
}

func (q queryResolver) CountProcessInstances(ctx context.Context, where *ProcessInstanceArgument) (*int, error) {
	n, err := q.s.countInstances(ctx, where)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func (q queryResolver) CountUserTaskInstances(context.Context, *UserTaskInstanceArgument) (*int, error) {
	return ptr(0), nil
}

func (q queryResolver) CountJobs(ctx context.Context, where *JobArgument) (*int, error) {
	n, err := q.s.countJobs(ctx, where)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func (q queryResolver) CountProcessDefinitions(ctx context.Context, where *ProcessDefinitionArgument) (*int, error) {
	n := 0
	for _, d := range q.s.definitions() {
		ok, err := matchDefinition("where", d, where)
		if err != nil {
			return nil, err
		}
		if ok {
			n++
		}
	}
	return &n, nil
}

// mutationResolver runs the Data Index's operations through the runtime.
type mutationResolver struct{ s *Service }

// actor names who asked, for the runtime's audit log.
func actor(ctx context.Context) string {
	p := auth.PrincipalFrom(ctx)
	if p.Subject != "" {
		return p.Subject
	}
	return "dataindex:" + string(p.Type)
}

// instance finds the instance an operation names.
func (m mutationResolver) instance(ctx context.Context, arg string, id *string) (*orchestrator.Instance, error) {
	if id == nil || *id == "" {
		return nil, userErrorf("%s is required: the process instance id", arg)
	}
	in, err := m.s.rt.Instance(ctx, *id)
	if err != nil {
		return nil, m.opError("finding the instance", err)
	}
	return in, nil
}

// opError turns a runtime error into what the caller reads.
func (m mutationResolver) opError(what string, err error) error {
	switch {
	case errors.Is(err, orchestrator.ErrNotFound), errors.Is(err, orchestrator.ErrInvalidState),
		errors.Is(err, orchestrator.ErrUnsupported), errors.Is(err, engine.ErrInvalidInput):
		return &userError{msg: err.Error()}
	}
	return m.s.internal(what, err)
}

func done(format string, args ...any) (*string, error) { return ptr(fmt.Sprintf(format, args...)), nil }

func (m mutationResolver) ProcessInstanceAbort(ctx context.Context, id *string) (*string, error) {
	in, err := m.instance(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	if _, err := m.s.rt.Abort(ctx, in.ProcessID, in.ID, actor(ctx)); err != nil {
		return nil, m.opError("aborting the instance", err)
	}
	return done("process instance %s aborted", in.ID)
}

func (m mutationResolver) ProcessInstanceRetry(ctx context.Context, id *string) (*string, error) {
	in, err := m.instance(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	res, err := m.s.rt.Retrigger(ctx, in.ProcessID, in.ID, actor(ctx))
	if err != nil {
		return nil, m.opError("retrying the instance", err)
	}
	return done("process instance %s retried: %s", in.ID, res.Status)
}

func (m mutationResolver) ProcessInstanceSkip(ctx context.Context, id *string) (*string, error) {
	in, err := m.instance(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	res, err := m.s.rt.Skip(ctx, in.ProcessID, in.ID, actor(ctx))
	if err != nil {
		return nil, m.opError("skipping the node", err)
	}
	return done("process instance %s skipped its current node: %s", in.ID, res.Status)
}

// ProcessInstanceUpdateVariables replaces the instance's workflow data:
// variables is JSON text, either the variables object (its workflowdata
// member is taken) or the workflow data itself.
func (m mutationResolver) ProcessInstanceUpdateVariables(ctx context.Context, id *string, variables *string) (*string, error) {
	in, err := m.instance(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	if variables == nil {
		return nil, userErrorf("variables is required: the new variables as JSON text, such as \"{\\\"workflowdata\\\": {…}}\"")
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(*variables), &v); err != nil {
		return nil, userErrorf("variables must be a JSON object as text: %v", err)
	}
	var data any = v
	if wd, ok := v["workflowdata"]; ok {
		data = wd
	}
	res, err := m.s.rt.UpdateData(ctx, in.ProcessID, in.ID, data, false, actor(ctx))
	if err != nil {
		return nil, m.opError("updating the variables", err)
	}
	out, _ := json.Marshal(map[string]any{"workflowdata": res.Data})
	return ptr(string(out)), nil
}

func (m mutationResolver) ProcessInstanceRescheduleSLATimer(context.Context, string, time.Time) (*string, error) {
	return nil, userErrorf("ProcessInstanceRescheduleSlaTimer is not supported: workflows have no SLA timers")
}

func (m mutationResolver) NodeInstanceRescheduleSLATimer(context.Context, string, string, time.Time) (*string, error) {
	return nil, userErrorf("NodeInstanceRescheduleSlaTimer is not supported: workflows have no SLA timers")
}

func (m mutationResolver) NodeInstanceTrigger(ctx context.Context, id *string, nodeID *string) (*string, error) {
	in, err := m.instance(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	if nodeID == nil || *nodeID == "" {
		return nil, userErrorf("nodeId is required: the name of the state to run")
	}
	res, err := m.s.rt.TriggerNode(ctx, in.ProcessID, in.ID, *nodeID, actor(ctx))
	if err != nil {
		return nil, m.opError("triggering the node", err)
	}
	return done("node %s of process instance %s triggered: %s", *nodeID, in.ID, res.Status)
}

func (m mutationResolver) NodeInstanceRetrigger(ctx context.Context, id *string, nodeInstanceID *string) (*string, error) {
	in, err := m.instance(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	if nodeInstanceID == nil || *nodeInstanceID == "" {
		return nil, userErrorf("nodeInstanceId is required: the id of the node instance to run again")
	}
	res, err := m.s.rt.RetriggerNode(ctx, in.ProcessID, in.ID, *nodeInstanceID, actor(ctx))
	if err != nil {
		return nil, m.opError("retriggering the node", err)
	}
	return done("node instance %s of process instance %s retriggered: %s", *nodeInstanceID, in.ID, res.Status)
}

func (m mutationResolver) NodeInstanceCancel(ctx context.Context, id *string, nodeInstanceID *string) (*string, error) {
	in, err := m.instance(ctx, "id", id)
	if err != nil {
		return nil, err
	}
	if nodeInstanceID == nil || *nodeInstanceID == "" {
		return nil, userErrorf("nodeInstanceId is required: the id of the node instance to cancel")
	}
	//lint:ignore SA4023 the runtime refuses every cancel today; the check stays for when it does not
	if _, err := m.s.rt.CancelNode(ctx, in.ProcessID, in.ID, *nodeInstanceID, actor(ctx)); err != nil {
		return nil, m.opError("cancelling the node", err)
	}
	return done("node instance %s of process instance %s cancelled", *nodeInstanceID, in.ID)
}

// job finds the instance and timer a job id names.
func (m mutationResolver) job(ctx context.Context, id *string) (*orchestrator.Instance, string, error) {
	if id == nil || *id == "" {
		return nil, "", userErrorf("id is required: the job id from Jobs")
	}
	iid, timer, ok := strings.Cut(*id, jobIDSeparator)
	if !ok {
		return nil, "", userErrorf("%q is not a job id: ids look like <instance id>%s<timer id>, as Jobs lists them", *id, jobIDSeparator)
	}
	in, err := m.instance(ctx, "id", &iid)
	if err != nil {
		return nil, "", err
	}
	return in, timer, nil
}

func (m mutationResolver) JobCancel(ctx context.Context, id *string) (*string, error) {
	in, timer, err := m.job(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := m.s.rt.CancelTimer(ctx, in.ProcessID, in.ID, timer, actor(ctx)); err != nil {
		return nil, m.opError("cancelling the job", err)
	}
	return done("job %s cancelled", *id)
}

// JobReschedule moves a timer; data is JSON text with expirationTime.
func (m mutationResolver) JobReschedule(ctx context.Context, id *string, data *string) (*string, error) {
	in, timer, err := m.job(ctx, id)
	if err != nil {
		return nil, err
	}
	var body struct {
		ExpirationTime string `json:"expirationTime"`
	}
	if data == nil || json.Unmarshal([]byte(*data), &body) != nil || body.ExpirationTime == "" {
		return nil, userErrorf("data must be JSON text with the new expirationTime, such as \"{\\\"expirationTime\\\": \\\"2030-01-01T10:00:00Z\\\"}\"")
	}
	at, err := UnmarshalDateTime(body.ExpirationTime)
	if err != nil {
		return nil, err
	}
	t, err := m.s.rt.RescheduleTimer(ctx, in.ProcessID, in.ID, timer, at, actor(ctx))
	if err != nil {
		return nil, m.opError("rescheduling the job", err)
	}
	return done("job %s rescheduled to %s", *id, formatTime(t.ExpirationTime))
}

func noUserTasks() (*string, error) {
	return nil, userErrorf("user task operations are not supported: workflows have no user tasks")
}

func (m mutationResolver) UserTaskInstanceUpdate(context.Context, *string, *string, []*string, *string, *string, *string, []string, []string, []string, []string, []string, *string) (*string, error) {
	return noUserTasks()
}

func (m mutationResolver) UserTaskInstanceCommentCreate(context.Context, *string, *string, []*string, *string) (*string, error) {
	return noUserTasks()
}

func (m mutationResolver) UserTaskInstanceAttachmentCreate(context.Context, *string, *string, []*string, *string, *string) (*string, error) {
	return noUserTasks()
}

func (m mutationResolver) UserTaskInstanceCommentUpdate(context.Context, *string, []*string, *string, *string) (*string, error) {
	return noUserTasks()
}

func (m mutationResolver) UserTaskInstanceCommentDelete(context.Context, *string, []*string, *string) (*string, error) {
	return noUserTasks()
}

func (m mutationResolver) UserTaskInstanceAttachmentUpdate(context.Context, *string, []*string, *string, *string, *string) (*string, error) {
	return noUserTasks()
}

func (m mutationResolver) UserTaskInstanceAttachmentDelete(context.Context, *string, []*string, *string) (*string, error) {
	return noUserTasks()
}
