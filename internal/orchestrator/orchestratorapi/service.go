// Package orchestratorapi serves what the RHDH orchestrator plugin's
// backend serves its UI: the v2 REST API below /api/orchestrator
// (workflow overviews, input schemas, execution, instances, abort and
// retrigger), the workflow types (infrastructure and assessment, with an
// assessment's suggested workflows resolved), and the deployed workflows
// as catalog entities (EntityProvider).
//
// Everything is read from the runtime's own tables, so an instance is
// listed the moment its start returns; the plugin's permissions
// (orchestrator.workflow[.<id>], orchestrator.workflow.use[.<id>],
// orchestrator.instanceAdminView, orchestrator.workflowAdminView) are asked
// through Portico's permission hook, and callers without
// orchestrator.instanceAdminView see only the instances they started.
package orchestratorapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/jsonorder"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// The plugin's permissions.
const (
	resourceType = "orchestrator-workflow"

	PermWorkflow          = "orchestrator.workflow"
	PermWorkflowUse       = "orchestrator.workflow.use"
	PermInstanceAdminView = "orchestrator.instanceAdminView"
	PermWorkflowAdminView = "orchestrator.workflowAdminView"
)

var (
	permWorkflow          = auth.Permission{Name: PermWorkflow, Action: "read", ResourceType: resourceType}
	permWorkflowUse       = auth.Permission{Name: PermWorkflowUse, Action: "update", ResourceType: resourceType}
	permInstanceAdminView = auth.Permission{Name: PermInstanceAdminView, Action: "read"}
	permWorkflowAdminView = auth.Permission{Name: PermWorkflowAdminView, Action: "read"}
)

func permWorkflowID(id string) auth.Permission {
	return auth.Permission{Name: PermWorkflow + "." + id, Action: "read"}
}

func permWorkflowUseID(id string) auth.Permission {
	return auth.Permission{Name: PermWorkflowUse + "." + id, Action: "update"}
}

// Service is the v2 API's logic over a runtime.
type Service struct {
	Runtime     *orchestrator.Runtime
	Permissions *auth.Permissions
	Logger      *slog.Logger

	schemas outputSchemas
}

// allowed reports whether the caller may do any of perms (for resourceRef).
func (s *Service) allowed(ctx context.Context, resourceRef string, perms ...auth.Permission) (bool, error) {
	p := auth.PrincipalFrom(ctx)
	for _, perm := range perms {
		ref := ""
		if perm.ResourceType != "" {
			ref = resourceRef
		}
		d, err := s.Permissions.Decide(ctx, p, auth.Request{Permission: perm, ResourceRef: ref})
		if err != nil {
			return false, err
		}
		if d == auth.Allow {
			return true, nil
		}
	}
	return false, nil
}

// authorize fails with NotAllowed unless the caller may do any of perms.
func (s *Service) authorize(ctx context.Context, workflowID string, perms ...auth.Permission) error {
	ok, err := s.allowed(ctx, workflowID, perms...)
	if err != nil {
		return err
	}
	if !ok {
		return errs.NotAllowedf("permission %s denied for workflow %s", perms[0].Name, workflowID)
	}
	return nil
}

// mayRead and mayUse are the two checks every workflow route makes: the
// generic permission or the workflow's own one.
func (s *Service) mayRead(ctx context.Context, id string) error {
	return s.authorize(ctx, id, permWorkflow, permWorkflowID(id))
}

func (s *Service) mayUse(ctx context.Context, id string) error {
	return s.authorize(ctx, id, permWorkflowUse, permWorkflowUseID(id))
}

// readableWorkflows returns which of ids the caller may read; all of them
// when the generic permission allows.
func (s *Service) readableWorkflows(ctx context.Context, ids []string) ([]string, bool, error) {
	all, err := s.allowed(ctx, "", permWorkflow)
	if err != nil || all {
		return ids, all, err
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		ok, err := s.allowed(ctx, id, permWorkflowID(id))
		if err != nil {
			return nil, false, err
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, false, nil
}

// caller returns the entity ref that instances record as their initiator.
func caller(ctx context.Context) string {
	return auth.PrincipalFrom(ctx).Subject
}

// isInstanceAdmin reports whether the caller sees every instance.
func (s *Service) isInstanceAdmin(ctx context.Context) (bool, error) {
	return s.allowed(ctx, "", permInstanceAdminView)
}

func (s *Service) workflow(id string) (*orchestrator.Workflow, error) {
	wf, ok := s.Runtime.Registry().Get(id)
	if !ok {
		return nil, errs.NotFoundf("workflow %q is not deployed", id)
	}
	return wf, nil
}

// format says how a workflow file is written, as the plugin reports it.
func format(wf *orchestrator.Workflow) string {
	if json.Valid(wf.Text) {
		return "json"
	}
	return "yaml"
}

func overviewOf(wf *orchestrator.Workflow) WorkflowOverview {
	d := wf.Definition.W
	return WorkflowOverview{
		WorkflowID: wf.ID, Name: d.Name, Format: format(wf), Category: Category(d.Annotations),
		Description: d.Description, IsAvailable: true,
	}
}

func withLastRun(o *WorkflowOverview, r orchestrator.LastRun, ok bool) {
	if !ok {
		return
	}
	o.LastRunID, o.LastRunStatus, o.LastTriggeredMs = r.ID, r.State, r.Start.UnixMilli()
}

// Overviews answers POST /v2/workflows/overview: the workflows the caller
// may read, filtered, ordered and paged, each with its last run.
func (s *Service) Overviews(ctx context.Context, req SearchRequest) (*WorkflowOverviewList, error) {
	return s.overviews(ctx, req, nil, "")
}

// OverviewsForEntity answers POST /v2/workflows/overview/entity: the
// workflows an entity lists in its orchestrator.io/workflows annotation
// plus those run for it before, with their last run for that entity.
// Listed ids that are not deployed are left out.
func (s *Service) OverviewsForEntity(ctx context.Context, req EntityOverviewRequest) (*WorkflowOverviewList, error) {
	ids := slices.Clone(req.AnnotationWorkflowIDs)
	if req.TargetEntity != "" {
		if _, err := catalog.ParseRef(req.TargetEntity, catalog.RefDefaults{}); err != nil {
			return nil, errs.InputErrorf("targetEntity: %q is not an entity ref (kind:namespace/name): %v", req.TargetEntity, err)
		}
		run, err := s.Runtime.ProcessIDsForTarget(ctx, req.TargetEntity)
		if err != nil {
			return nil, err
		}
		for _, id := range run {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return &WorkflowOverviewList{Overviews: []WorkflowOverview{}}, nil
	}
	return s.overviews(ctx, SearchRequest{PaginationInfo: &PaginationInfo{PageSize: ptr(FlexInt(maxPageSize))}}, ids, req.TargetEntity)
}

func ptr[T any](v T) *T { return &v }

func (s *Service) overviews(ctx context.Context, req SearchRequest, only []string, targetEntity string) (*WorkflowOverviewList, error) {
	pg, err := parsePage(req.PaginationInfo)
	if err != nil {
		return nil, err
	}
	if pg.orderBy == "" {
		pg.orderBy = "name"
	}
	if !slices.Contains(overviewFields, pg.orderBy) {
		return nil, errs.InputErrorf("paginationInfo.orderBy: cannot order workflows by %q; use one of %s", pg.orderBy, strings.Join(overviewFields, ", "))
	}
	var cond *wfCond
	if req.Filters != nil {
		if cond, err = overviewCond(req.Filters, "filters"); err != nil {
			return nil, err
		}
	}
	var wfs []*orchestrator.Workflow
	for _, wf := range s.Runtime.Registry().List() {
		if only == nil || slices.Contains(only, wf.ID) {
			wfs = append(wfs, wf)
		}
	}
	ids := make([]string, len(wfs))
	for i, wf := range wfs {
		ids[i] = wf.ID
	}
	readable, _, err := s.readableWorkflows(ctx, ids)
	if err != nil {
		return nil, err
	}
	items := make([]WorkflowOverview, 0, len(readable))
	versions := map[string]string{}
	for _, wf := range wfs {
		if slices.Contains(readable, wf.ID) {
			items = append(items, overviewOf(wf))
			versions[wf.ID] = wf.Definition.W.Version
		}
	}
	// The last runs cost a query per workflow: read them for every
	// workflow only when the filter or the order needs them, else only
	// for the page.
	needRuns := strings.HasPrefix(pg.orderBy, "lastRun") || pg.orderBy == "lastTriggeredMs" || cond.usesRuns()
	addRuns := func(list []WorkflowOverview) error {
		ids := make([]string, len(list))
		for i := range list {
			ids[i] = list[i].WorkflowID
		}
		runs, err := s.Runtime.LastRuns(ctx, ids, targetEntity)
		if err != nil {
			return err
		}
		for i := range list {
			r, ok := runs[list[i].WorkflowID]
			withLastRun(&list[i], r, ok)
		}
		return nil
	}
	if needRuns {
		if err := addRuns(items); err != nil {
			return nil, err
		}
	}
	if cond != nil {
		kept := items[:0]
		for i := range items {
			if cond.match(&items[i], versions[items[i].WorkflowID]) {
				kept = append(kept, items[i])
			}
		}
		items = kept
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].fieldValue(pg.orderBy), items[j].fieldValue(pg.orderBy)
		if pg.orderBy == "version" {
			a, b = versions[items[i].WorkflowID], versions[items[j].WorkflowID]
		}
		c := compare(a, b)
		if c == 0 {
			c = strings.Compare(items[i].WorkflowID, items[j].WorkflowID)
		}
		if pg.desc {
			return c > 0
		}
		return c < 0
	})
	lo := min(pg.offset, len(items))
	hi := min(lo+pg.size, len(items))
	items = items[lo:hi]
	if !needRuns {
		if err := addRuns(items); err != nil {
			return nil, err
		}
	}
	return &WorkflowOverviewList{Overviews: items, PaginationInfo: pg.info()}, nil
}

// usesRuns reports whether the condition reads a last-run field.
func (c *wfCond) usesRuns() bool {
	if c == nil {
		return false
	}
	if strings.HasPrefix(c.field, "lastRun") || c.field == "lastTriggeredMs" {
		return true
	}
	for i := range c.list {
		if c.list[i].usesRuns() {
			return true
		}
	}
	return false
}

// Overview answers GET /v2/workflows/{id}/overview.
func (s *Service) Overview(ctx context.Context, id string) (*WorkflowOverview, error) {
	wf, err := s.workflow(id)
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(ctx, id); err != nil {
		return nil, err
	}
	o := overviewOf(wf)
	runs, err := s.Runtime.LastRuns(ctx, []string{id}, "")
	if err != nil {
		return nil, err
	}
	r, ok := runs[id]
	withLastRun(&o, r, ok)
	return &o, nil
}

// Source answers GET /v2/workflows/{id}/source: the file as written.
func (s *Service) Source(ctx context.Context, id string) ([]byte, error) {
	wf, err := s.workflow(id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, id, permWorkflow, permWorkflowID(id), permWorkflowAdminView); err != nil {
		return nil, err
	}
	return wf.Text, nil
}

// Ping answers GET /v2/workflows/{id}/pingWorkflowService: the runtime is
// this process, so a deployed workflow is always reachable.
func (s *Service) Ping(ctx context.Context, id string) (bool, error) {
	if _, err := s.workflow(id); err != nil {
		return false, err
	}
	if err := s.mayRead(ctx, id); err != nil {
		return false, err
	}
	return true, nil
}

// InputSchema answers GET /v2/workflows/{id}/inputSchema: the workflow's
// resolved input schema and, for a re-run (instanceID set), the values of
// that instance's workflowdata for the schema's top-level properties.
func (s *Service) InputSchema(ctx context.Context, id, instanceID string) (*InputSchemaResponse, error) {
	wf, err := s.workflow(id)
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(ctx, id); err != nil {
		return nil, err
	}
	// The schema's objects are *jsonorder.Object: served as they are, in
	// the author's order, which is the order forms ask in.
	schema, _ := wf.InputSchema.(*jsonorder.Object)
	pv, _ := schema.Get("properties")
	props, _ := pv.(*jsonorder.Object)
	if props == nil {
		return &InputSchemaResponse{}, nil
	}
	out := &InputSchemaResponse{InputSchema: wf.InputSchema}
	if instanceID == "" {
		return out, nil
	}
	in, err := s.visibleInstance(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	data, _ := in.WorkflowData().(map[string]any)
	out.Data = map[string]any{}
	for _, k := range props.Keys() {
		if v, ok := data[k]; ok && v != nil {
			out.Data[k] = v
		}
	}
	return out, nil
}

// visibleInstance loads an instance the caller may see: one of a workflow
// they may read, and one they started unless they are instance admins.
func (s *Service) visibleInstance(ctx context.Context, id string) (*orchestrator.Instance, error) {
	in, err := s.Runtime.Instance(ctx, id)
	if errors.Is(err, orchestrator.ErrNotFound) {
		return nil, errs.NotFoundf("workflow instance %q not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(ctx, in.ProcessID); err != nil {
		return nil, err
	}
	admin, err := s.isInstanceAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if !admin && variable(in, "initiatorEntity") != caller(ctx) {
		return nil, errs.NotAllowedf("workflow instance %s was not started by %s, and viewing others' instances needs %s", id, caller(ctx), PermInstanceAdminView)
	}
	return in, nil
}

func variable(in *orchestrator.Instance, key string) string {
	s, _ := in.Variables[key].(string)
	return s
}

// Statuses answers GET /v2/workflows/instances/statuses.
func Statuses() []StatusDTO {
	out := make([]StatusDTO, len(stateValues))
	for i, v := range stateValues {
		out[i] = StatusDTO{Key: v[:1] + strings.ToLower(v[1:]), Value: v}
	}
	return out
}

// Instances answers POST /v2/workflows/instances (workflowID "") and POST
// /v2/workflows/{workflowId}/instances: a page of the instances the caller
// may see, filtered and ordered (by start, newest first, unless asked).
func (s *Service) Instances(ctx context.Context, workflowID string, req SearchRequest) (*ProcessInstanceList, error) {
	pg, err := parsePage(req.PaginationInfo)
	if err != nil {
		return nil, err
	}
	if pg.orderBy == "" {
		pg.orderBy = "start"
		if !pg.dirGiven {
			pg.desc = true
		}
	}
	if !orchestrator.IsInstanceField(pg.orderBy) {
		return nil, errs.InputErrorf("paginationInfo.orderBy: cannot order instances by %q; use one of %s", pg.orderBy,
			strings.Join(orchestrator.InstanceFields()[:len(orchestrator.InstanceFields())-1], ", "))
	}
	var conds []orchestrator.Cond
	if req.Filters != nil {
		c, err := instanceCond(req.Filters, "filters")
		if err != nil {
			return nil, err
		}
		conds = append(conds, *c)
	}
	if workflowID != "" {
		if _, err := s.workflow(workflowID); err != nil {
			return nil, err
		}
		if err := s.mayRead(ctx, workflowID); err != nil {
			return nil, err
		}
		conds = append(conds, orchestrator.Cond{Field: "processId", Op: orchestrator.OpEq, Values: []any{workflowID}})
	} else {
		var ids []string
		for _, wf := range s.Runtime.Registry().List() {
			ids = append(ids, wf.ID)
		}
		readable, all, err := s.readableWorkflows(ctx, ids)
		if err != nil {
			return nil, err
		}
		if !all {
			vals := make([]any, len(readable))
			for i, id := range readable {
				vals[i] = id
			}
			conds = append(conds, orchestrator.Cond{Field: "processId", Op: orchestrator.OpIn, Values: vals})
		}
	}
	admin, err := s.isInstanceAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if !admin {
		conds = append(conds, orchestrator.Cond{Variable: []string{"initiatorEntity"}, Op: orchestrator.OpEq, Values: []any{caller(ctx)}})
	}
	q := orchestrator.InstanceQuery{OrderBy: pg.orderBy, Desc: pg.desc, Limit: pg.size, Offset: pg.offset}
	if len(conds) == 1 {
		q.Where = &conds[0]
	} else if len(conds) > 1 {
		q.Where = &orchestrator.Cond{And: conds}
	}
	list, err := s.Runtime.SearchInstances(ctx, q)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, in := range list {
		ids[i] = in.ID
	}
	nodes, err := s.Runtime.NodeInstancesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := &ProcessInstanceList{Items: make([]*ProcessInstance, 0, len(list)), PaginationInfo: pg.info()}
	for _, in := range list {
		out.Items = append(out.Items, s.instanceDTO(in, nodes[in.ID]))
	}
	return out, nil
}

// Instance answers GET /v2/workflows/instances/{id}: the instance with its
// nodes, error, duration, result (checked against the WorkflowResult
// convention and the output schema, suggested workflows resolved) and the
// assessment that led to it.
func (s *Service) Instance(ctx context.Context, id string) (*ProcessInstance, *ProcessInstance, error) {
	in, err := s.visibleInstance(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	dto, err := s.fullInstance(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	var assessment *ProcessInstance
	if in.BusinessKey != "" && in.BusinessKey != in.ID {
		if a, err := s.visibleInstance(ctx, in.BusinessKey); err == nil {
			dto.AssessedBy = &InstanceRef{ID: a.ID, ProcessID: a.ProcessID, ProcessName: a.ProcessName, State: a.State, Start: rfc3339(a.Start)}
			if assessment, err = s.fullInstance(ctx, a); err != nil {
				return nil, nil, err
			}
		}
	}
	return dto, assessment, nil
}

func (s *Service) fullInstance(ctx context.Context, in *orchestrator.Instance) (*ProcessInstance, error) {
	nodes, err := s.Runtime.NodeInstances(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	dto := s.instanceDTO(in, nodes)
	wf, _ := s.Runtime.Registry().Version(in.ProcessID, in.DefinitionHash)
	dto.WorkflowResult = parseResult(in.WorkflowData(), in.ID, func(id string) (bool, string, bool) {
		w, ok := s.Runtime.Registry().Get(id)
		if !ok {
			return false, "", false
		}
		readable := s.mayRead(ctx, id) == nil
		return readable, Category(w.Definition.W.Annotations), true
	})
	if in.State == string(engine.StatusCompleted) {
		dto.OutputSchemaErrors = s.schemas.validate(ctx, wf, in.WorkflowData())
	}
	return dto, nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// instanceDTO maps an instance to ProcessInstanceDTO.
func (s *Service) instanceDTO(in *orchestrator.Instance, nodes []orchestrator.NodeInstance) *ProcessInstance {
	dto := &ProcessInstance{
		ID: in.ID, ProcessID: in.ProcessID, ProcessName: in.ProcessName, BusinessKey: in.BusinessKey,
		ServiceURL: s.Runtime.ServiceURL(), Endpoint: s.Runtime.Endpoint(in.ProcessID),
		Start: rfc3339(in.Start), State: in.State, WorkflowData: in.WorkflowData(),
		InitiatorEntity: variable(in, "initiatorEntity"), TargetEntity: variable(in, "targetEntity"),
		Nodes: make([]NodeInstance, 0, len(nodes)),
		// The same lines the Data Index's executionSummary gives, which
		// the plugin's UI shows as the run's story.
		ExecutionSummary: orchestrator.ExecutionSummary(in.Start, in.End, in.State, nodes),
	}
	if wf, ok := s.Runtime.Registry().Version(in.ProcessID, in.DefinitionHash); ok {
		dto.Description = wf.Definition.W.Description
		dto.Category = Category(wf.Definition.W.Annotations)
	}
	if in.End != nil {
		dto.End = rfc3339(*in.End)
		dto.Duration = humanize(in.End.Sub(in.Start))
	}
	if in.Error != nil {
		dto.Error = &InstanceError{TypeName: "ProcessInstanceError", NodeDefinitionID: in.Error.NodeDefinitionID,
			NodeInstanceID: in.Error.NodeInstanceID, Message: in.Error.Message}
	}
	for _, n := range nodes {
		nd := NodeInstance{TypeName: "NodeInstance", ID: n.ID, Name: n.Name, Type: n.Type, Enter: rfc3339(n.Enter),
			DefinitionID: n.DefinitionID, NodeID: n.DefinitionID, ErrorMessage: n.ErrorMessage}
		if n.Exit != nil {
			nd.Exit = rfc3339(*n.Exit)
		}
		dto.Nodes = append(dto.Nodes, nd)
	}
	return dto
}

// humanize says how long something took the way the plugin's UI does
// (moment's humanize: "a few seconds", "2 minutes", "an hour", ...).
func humanize(d time.Duration) string {
	s := math.Abs(d.Seconds())
	round := func(v float64) int { return int(math.Round(v)) }
	switch {
	case s < 45:
		return "a few seconds"
	case s < 90:
		return "a minute"
	case s < 45*60:
		return fmt.Sprintf("%d minutes", round(s/60))
	case s < 90*60:
		return "an hour"
	case s < 22*3600:
		return fmt.Sprintf("%d hours", round(s/3600))
	case s < 36*3600:
		return "a day"
	case s < 26*86400:
		return fmt.Sprintf("%d days", round(s/86400))
	case s < 45*86400:
		return "a month"
	case s < 320*86400:
		return fmt.Sprintf("%d months", round(s/(30.4*86400)))
	case s < 548*86400:
		return "a year"
	}
	return fmt.Sprintf("%d years", round(s/(365.25*86400)))
}

// Execute answers POST /v2/workflows/{id}/execute: it starts an instance
// with inputData as its workflowdata, the caller as initiatorEntity, the
// optional targetEntity, and authTokens (and the caller's own token) as
// X-Authorization-<Provider> headers. The instance is queryable when this
// returns. A run that fails at once still answers its id, as SonataFlow
// does, so that the caller can open it.
func (s *Service) Execute(ctx context.Context, id string, req ExecuteRequest) (*ExecuteResponse, error) {
	if _, err := s.workflow(id); err != nil {
		return nil, err
	}
	if err := s.mayUse(ctx, id); err != nil {
		return nil, err
	}
	var input any = map[string]any{}
	if len(req.InputData) > 0 && string(req.InputData) != "null" {
		if err := json.Unmarshal(req.InputData, &input); err != nil {
			return nil, errs.InputErrorf("inputData: %v", err)
		}
		if _, ok := input.(map[string]any); !ok {
			return nil, errs.InputErrorf("inputData: must be an object (the workflow's input), got %s", jsonorder.KindOf(input))
		}
	}
	headers, err := requestHeaders(ctx, req.AuthTokens)
	if err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	vars := map[string]any{}
	if p.Subject != "" {
		vars["initiatorEntity"] = p.Subject
	}
	if req.TargetEntity != "" {
		ref, err := catalog.ParseRef(req.TargetEntity, catalog.RefDefaults{})
		if err != nil {
			return nil, errs.InputErrorf("targetEntity: %q is not an entity ref (kind:namespace/name): %v", req.TargetEntity, err)
		}
		vars["targetEntity"] = ref.String()
	}
	res, err := s.Runtime.Start(ctx, orchestrator.StartRequest{
		WorkflowID: id, Data: input, Variables: vars, Headers: headers, BusinessKey: req.BusinessKey,
		Identity: p.Subject, Actor: actorOf(p),
	})
	if err != nil {
		var we *engine.Error
		if errors.Is(err, engine.ErrInvalidInput) || errors.As(err, &we) && we.Kind == engine.KindValidation {
			return nil, errs.InputErrorf("inputData: %v", err)
		}
		if errors.Is(err, orchestrator.ErrNotFound) {
			return nil, errs.NotFoundf("workflow %q is not deployed", id)
		}
		return nil, fmt.Errorf("start workflow %s: %w", id, err)
	}
	return &ExecuteResponse{ID: res.ID}, nil
}

func actorOf(p auth.Principal) string {
	if p.Subject != "" {
		return p.Subject
	}
	return string(p.Type)
}

// requestHeaders are the headers a run sees, as the plugin sends them to
// SonataFlow on execute and retrigger: authTokens as
// X-Authorization-<Provider> and the caller's own token as
// X-Authorization-Backstage.
func requestHeaders(ctx context.Context, tokens []AuthToken) (map[string]string, error) {
	headers, err := authHeaders(tokens, "authTokens")
	if err != nil {
		return nil, err
	}
	if p := auth.PrincipalFrom(ctx); p.Token != "" {
		headers["x-authorization-backstage"] = p.Token
	}
	return headers, nil
}

// authHeaders turns authTokens into the headers the instance sees
// (lower-case, as every header of $WORKFLOW.headers).
func authHeaders(tokens []AuthToken, field string) (map[string]string, error) {
	h := map[string]string{}
	for i, t := range tokens {
		if strings.TrimSpace(t.Provider) == "" {
			return nil, errs.InputErrorf("%s[%d].provider: missing; name the token's provider (github, gitlab, ...)", field, i)
		}
		if t.Token == "" {
			return nil, errs.InputErrorf("%s[%d].token: missing", field, i)
		}
		for _, r := range t.Provider {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return nil, errs.InputErrorf("%s[%d].provider: %q may hold letters, digits, - and _ only (it becomes a header name)", field, i, t.Provider)
			}
		}
		h["x-authorization-"+strings.ToLower(t.Provider)] = t.Token
	}
	return h, nil
}

// Retrigger answers POST /v2/workflows/{workflowId}/{instanceId}/retrigger:
// the failed state of an instance in error runs again. authTokens (and the
// caller's own token) are forwarded as Execute forwards them: they replace
// the same-named headers the instance started with, since a run often
// fails because its token expired.
func (s *Service) Retrigger(ctx context.Context, workflowID, instanceID string, req RetriggerRequest) (map[string]any, error) {
	headers, err := requestHeaders(ctx, req.AuthTokens)
	if err != nil {
		return nil, err
	}
	in, err := s.usableInstance(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	if in.ProcessID != workflowID {
		return nil, errs.NotFoundf("workflow instance %q is not an instance of %q", instanceID, workflowID)
	}
	if in.State != string(engine.StatusError) {
		return nil, errs.New(errs.Conflict, "workflow instance %s is %s; only an instance in ERROR can be retriggered", instanceID, in.State)
	}
	res, err := s.Runtime.RetriggerWithHeaders(ctx, workflowID, instanceID, actorOf(auth.PrincipalFrom(ctx)), headers)
	if err != nil {
		return nil, mapRuntimeError(err, instanceID)
	}
	return map[string]any{"id": res.ID, "state": string(res.Status)}, nil
}

// usableInstance loads an instance the caller may act on: they may use its
// workflow and see the instance.
func (s *Service) usableInstance(ctx context.Context, id string) (*orchestrator.Instance, error) {
	in, err := s.Runtime.Instance(ctx, id)
	if errors.Is(err, orchestrator.ErrNotFound) {
		return nil, errs.NotFoundf("workflow instance %q not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.mayUse(ctx, in.ProcessID); err != nil {
		return nil, err
	}
	admin, err := s.isInstanceAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if !admin && variable(in, "initiatorEntity") != caller(ctx) {
		return nil, errs.NotAllowedf("workflow instance %s was not started by %s, and acting on others' instances needs %s", id, caller(ctx), PermInstanceAdminView)
	}
	return in, nil
}

// Abort answers DELETE /v2/workflows/instances/{id}/abort.
func (s *Service) Abort(ctx context.Context, id string) (string, error) {
	in, err := s.usableInstance(ctx, id)
	if err != nil {
		return "", err
	}
	if in.End != nil {
		return "", errs.New(errs.Conflict, "workflow instance %s has already ended (%s)", id, in.State)
	}
	if _, err := s.Runtime.Abort(ctx, in.ProcessID, id, actorOf(auth.PrincipalFrom(ctx))); err != nil {
		return "", mapRuntimeError(err, id)
	}
	return fmt.Sprintf("Workflow instance %s successfully aborted", id), nil
}

func mapRuntimeError(err error, id string) error {
	switch {
	case errors.Is(err, orchestrator.ErrNotFound):
		return errs.New(errs.Conflict, "workflow instance %s has ended meanwhile: %v", id, err)
	case errors.Is(err, orchestrator.ErrInvalidState):
		return errs.New(errs.Conflict, "%v", err)
	}
	return err
}
