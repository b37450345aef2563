package scaffolder

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/httpapi"
)

// The scaffolder's permissions, as Backstage names them.
var (
	PermTaskCreate     = auth.Permission{Name: "scaffolder.task.create", Action: "create"}
	PermTaskRead       = auth.Permission{Name: "scaffolder.task.read", Action: "read", ResourceType: "scaffolder-task"}
	PermTaskCancel     = auth.Permission{Name: "scaffolder.task.cancel", ResourceType: "scaffolder-task"}
	PermTemplateDryRun = auth.Permission{Name: "scaffolder.template.dry-run"}
	PermParameterRead  = auth.Permission{Name: "scaffolder.template.parameter.read", Action: "read", ResourceType: "scaffolder-template"}
	PermStepRead       = auth.Permission{Name: "scaffolder.template.step.read", Action: "read", ResourceType: "scaffolder-template"}
	// PermActionExecute is asked before each step runs its action, with
	// the action's id as the resource and the task's creator as the
	// principal.
	PermActionExecute = auth.Permission{Name: "scaffolder.action.execute", ResourceType: "scaffolder-action"}
)

// maxBodyBytes is Backstage's JSON body limit for the scaffolder.
const maxBodyBytes = 10 << 20

// longPollWait is how long GET /events waits for a first event.
const longPollWait = 30 * time.Second

// HTTP serves Backstage's scaffolder API.
type HTTP struct {
	Service     *Service
	Permissions *auth.Permissions
	// TemplatingExtensions is the body of GET /v2/templating-extensions
	// (filters and globals the templating engine offers).
	TemplatingExtensions any
}

// Routes registers the API on r (mounted at /api/scaffolder).
func (h *HTTP) Routes(r *httpapi.Router) {
	r.HandleFunc("GET /v2/templates/{namespace}/{kind}/{name}/parameter-schema", h.parameterSchema)
	r.HandleFunc("GET /v2/actions", h.listActions)
	r.HandleFunc("POST /v2/tasks", h.createTask)
	r.HandleFunc("GET /v2/tasks", h.listTasks)
	r.HandleFunc("GET /v2/tasks/{taskId}", h.getTask)
	r.HandleFunc("POST /v2/tasks/{taskId}/cancel", h.cancelTask)
	r.HandleFunc("POST /v2/tasks/{taskId}/retry", h.retryTask)
	r.HandleFunc("GET /v2/tasks/{taskId}/eventstream", h.eventStream)
	r.HandleFunc("GET /v2/tasks/{taskId}/events", h.events)
	r.HandleFunc("POST /v2/dry-run", h.dryRun)
	r.HandleFunc("POST /v2/autocomplete/{provider}/{resource}", h.autocomplete)
	r.HandleFunc("GET /v2/templating-extensions", h.templatingExtensions)
	r.HandleFunc("GET /v2/form-decorators", h.formDecorators)
}

func (h *HTTP) authorize(r *http.Request, p auth.Permission, ref string) error {
	if h.Permissions == nil {
		return nil
	}
	return h.Permissions.Authorize(r.Context(), p, ref)
}

// writeError answers validation errors as Backstage does ({errors: [...]})
// plus the usual error body, so both kinds of client show a reason.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		httpapi.WriteJSON(w, http.StatusBadRequest, map[string]any{
			"errors":   ve.Errors,
			"error":    httpapi.ErrorInfo{Name: string(errs.Input), Message: ve.Error()},
			"request":  httpapi.RequestInfo{Method: r.Method, URL: r.URL.RequestURI()},
			"response": httpapi.ResponseInfo{StatusCode: http.StatusBadRequest},
		})
		return
	}
	httpapi.WriteError(w, r, err)
}

func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	return httpapi.DecodeJSON(r, dst)
}

func (h *HTTP) parameterSchema(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("kind") + ":" + r.PathValue("namespace") + "/" + r.PathValue("name")
	ps, err := h.Service.ParameterSchema(r.Context(), ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// Form steps tagged with backstage:permissions are shown only to those
	// the policy lets read them.
	readable, err := h.taggedReadable(r, PermParameterRead, ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	kept := ps.Steps[:0]
	for _, st := range ps.Steps {
		if _, tagged := st.Schema["backstage:permissions"]; !tagged || readable(tagsOf(st.Schema["backstage:permissions"])) {
			kept = append(kept, st)
		}
	}
	ps.Steps = kept
	httpapi.WriteJSON(w, http.StatusOK, ps)
}

// taggedReadable decides, once per request, which parts of a template
// tagged with backstage:permissions the caller may read: a conditional
// decision is applied to each part's tags (HAS_TAG).
func (h *HTTP) taggedReadable(r *http.Request, perm auth.Permission, templateRef string) (func(tags []string) bool, error) {
	if h.Permissions == nil {
		return func([]string) bool { return true }, nil
	}
	d, c, err := h.Permissions.DecideConditional(r.Context(), auth.PrincipalFrom(r.Context()), auth.Request{Permission: perm, ResourceRef: templateRef})
	if err != nil {
		return nil, err
	}
	return func(tags []string) bool {
		if d != auth.Conditional {
			return d == auth.Allow
		}
		met, err := tagsMeet(c, tags)
		return err == nil && met
	}, nil
}

// tagsOf reads the tags of a backstage:permissions value.
func tagsOf(v any) []string {
	m, _ := v.(map[string]any)
	list, _ := m["tags"].([]any)
	var out []string
	for _, t := range list {
		if s, ok := t.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// actionInfo is one entry of GET /v2/actions.
type actionInfo struct {
	ID          string          `json:"id"`
	Description string          `json:"description,omitempty"`
	Examples    []ActionExample `json:"examples,omitempty"`
	Schema      ActionSchema    `json:"schema"`
}

func (h *HTTP) listActions(w http.ResponseWriter, r *http.Request) {
	acts := h.Service.Actions()
	out := make([]actionInfo, len(acts))
	for i, a := range acts {
		out[i] = actionInfo{ID: a.ID, Description: a.Description, Examples: a.Examples, Schema: a.Schema}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *HTTP) createTask(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.authorize(r, PermTaskCreate, ""); err != nil {
		writeError(w, r, err)
		return
	}
	p := auth.PrincipalFrom(r.Context())
	if p.IsUser() {
		req.UserRef = p.Subject
	}
	req.Token = p.Token
	readable, err := h.taggedReadable(r, PermStepRead, req.TemplateRef)
	if err != nil {
		writeError(w, r, err)
		return
	}
	req.CanRunStep = func(st TaskStep) bool { return readable(st.Permissions.Tags) }
	id, err := h.Service.CreateTask(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (h *HTTP) listTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := ListOptions{CreatedBy: q["createdBy"], Status: q["status"], Order: q["order"]}
	for _, name := range []string{"limit", "offset"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, r, errs.InputErrorf("%s must be a whole number of 0 or more, got %q", name, v))
			return
		}
		if name == "limit" {
			o.Limit = n
		} else {
			o.Offset = n
		}
	}
	for _, st := range o.Status {
		switch st {
		case StatusOpen, StatusProcessing, StatusCompleted, StatusFailed, StatusCancelled, StatusSkipped:
		default:
			writeError(w, r, errs.InputErrorf("status %q is not a task status; use open, processing, completed, failed, cancelled or skipped", st))
			return
		}
	}
	if h.Permissions != nil {
		d, c, err := h.Permissions.DecideConditional(r.Context(), auth.PrincipalFrom(r.Context()), auth.Request{Permission: PermTaskRead})
		if err == nil && d == auth.Conditional {
			if o.CreatedBy, err = readableCreators(c, o.CreatedBy); err == nil && len(o.CreatedBy) == 0 {
				httpapi.WriteJSON(w, http.StatusOK, map[string]any{"tasks": []*Task{}, "totalTasks": 0})
				return
			}
		} else if err == nil && d != auth.Allow {
			err = errs.NotAllowedf("permission %s denied", PermTaskRead.Name)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
	}
	tasks, total, err := h.Service.ListTasks(r.Context(), o)
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"tasks": tasks, "totalTasks": total})
}

func (h *HTTP) readableTask(r *http.Request, id string) (*Task, error) {
	t, err := h.Service.Task(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if err := h.authorize(r, PermTaskRead, id); err != nil {
		return nil, err
	}
	return t, nil
}

func (h *HTTP) getTask(w http.ResponseWriter, r *http.Request) {
	t, err := h.readableTask(r, r.PathValue("taskId"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
}

func (h *HTTP) cancelTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("taskId")
	if _, err := h.readableTask(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.authorize(r, PermTaskCancel, id); err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.Service.Cancel(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": StatusCancelled})
}

func (h *HTTP) retryTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("taskId")
	var body struct {
		Secrets map[string]string `json:"secrets"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &body); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if _, err := h.readableTask(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.authorize(r, PermTaskCreate, ""); err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.Service.Retry(r.Context(), id, body.Secrets, auth.PrincipalFrom(r.Context()).Token); err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func afterParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.InputErrorf("after must be an event id (a whole number), got %q", v)
	}
	return n, nil
}

// eventStream serves a task's events as server-sent events, ending after
// the completion event unless the task may run again (startOver).
func (h *HTTP) eventStream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("taskId")
	after, err := afterParam(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := h.readableTask(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	sse, err := events.StartSSE(w)
	if err != nil {
		return
	}
	ctx := r.Context()
	stop := httpapi.ShuttingDown(ctx)
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	sentCompletion := map[int64]bool{}
	// The first read answers at once, also with a completion the client
	// has seen (so a reconnecting client learns that the task ended).
	evs, err := h.Service.Events(ctx, id, after)
	for {
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.Type == EventCompletion && sentCompletion[e.ID] {
				continue
			}
			if err := sse.Send(e.Type, "", e); err != nil {
				return
			}
			if e.ID > after {
				after = e.ID
			}
			if e.Type == EventCompletion {
				sentCompletion[e.ID] = true
				if !e.IsTaskRecoverable {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-keepAlive.C:
			if err := sse.KeepAlive(); err != nil {
				return
			}
		default:
		}
		evs, err = h.Service.WaitEvents(ctx, id, after, 10*time.Second, stop)
	}
}

// events is the long-poll alternative to the event stream.
func (h *HTTP) events(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("taskId")
	after, err := afterParam(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := h.readableTask(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	evs, err := h.Service.WaitEvents(r.Context(), id, after, longPollWait, httpapi.ShuttingDown(r.Context()))
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, evs)
}

func (h *HTTP) dryRun(w http.ResponseWriter, r *http.Request) {
	var req DryRunRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if len(req.Template) == 0 || string(req.Template) == "null" {
		writeError(w, r, errs.InputErrorf("template is required: the Template entity to run"))
		return
	}
	if err := h.authorize(r, PermTaskCreate, ""); err != nil {
		writeError(w, r, err)
		return
	}
	if err := h.authorize(r, PermTemplateDryRun, ""); err != nil {
		writeError(w, r, err)
		return
	}
	if p := auth.PrincipalFrom(r.Context()); p.IsUser() {
		req.UserRef = p.Subject
	}
	res, err := h.Service.DryRun(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}

func (h *HTTP) autocomplete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token   string            `json:"token"`
		Context map[string]string `json:"context"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	// No autocomplete providers are built in yet.
	writeError(w, r, errs.InputErrorf("Unsupported provider: %s", r.PathValue("provider")))
}

func (h *HTTP) templatingExtensions(w http.ResponseWriter, r *http.Request) {
	ext := h.TemplatingExtensions
	if ext == nil {
		ext = map[string]any{"filters": map[string]any{}, "globals": map[string]any{"functions": map[string]any{}, "values": map[string]any{}}}
	}
	httpapi.WriteJSON(w, http.StatusOK, ext)
}

// formDecorators lists Portico's server-side form decorators, for the web
// UI.
func (h *HTTP) formDecorators(w http.ResponseWriter, r *http.Request) {
	ds := h.Service.FormDecorators()
	if ds == nil {
		ds = []FormDecorator{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"decorators": ds})
}
