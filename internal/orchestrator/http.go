package orchestrator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/httpapi"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// HTTP serves SonataFlow's REST API over a Runtime, at the server root:
// the per-workflow resources (/{workflowId}), the process management
// resources (/management/processes), CloudEvents ingress (POST /), the
// OpenAPI document and health checks.
type HTTP struct {
	Runtime *Runtime
	// Public registers the routes without authentication, for callers
	// that send no Portico token (SonataFlow's clients).
	Public bool
	// Fallback, when set, serves GET and HEAD requests for paths that name
	// no loaded workflow: the per-workflow routes take every /{name} and
	// /{name}/... path that nothing more specific claims, which is where a
	// web UI served from the root would otherwise live.
	Fallback http.Handler
}

// Routes registers the API on r (a root router).
func (h *HTTP) Routes(r *httpapi.Router) {
	var opts []httpapi.RouteOption
	if h.Public {
		opts = append(opts, httpapi.Unauthenticated())
	}
	health := []httpapi.RouteOption{httpapi.Unauthenticated()}
	r.HandleFunc("GET /q/health", h.health, health...)
	r.HandleFunc("GET /q/health/live", h.health, health...)
	r.HandleFunc("GET /q/health/ready", h.health, health...)
	r.HandleFunc("GET /q/openapi.json", h.openAPI, opts...)
	r.HandleFunc("GET /q/openapi", h.openAPI, opts...)
	r.HandleFunc("POST /{$}", h.receiveEvent, opts...)
	r.HandleFunc("POST /{workflowId}", h.start, opts...)
	r.HandleFunc("GET /{workflowId}", h.list, opts...)
	// One pattern for every /{workflowId}/... path: per-method patterns
	// such as "GET /{workflowId}/{id}" would conflict with the server's
	// "/api/" catch-all (neither is more specific), which net/http refuses.
	r.HandleFunc("/{workflowId}/{rest...}", h.instanceResource, opts...)
	m := "/management/processes"
	r.HandleFunc("GET "+m, h.processes, opts...)
	r.HandleFunc("GET "+m+"/{processId}", h.processInfo, opts...)
	r.HandleFunc("GET "+m+"/{processId}/source", h.source, opts...)
	r.HandleFunc("GET "+m+"/{processId}/nodes", h.nodes, opts...)
	r.HandleFunc("GET "+m+"/{processId}/instances/{instanceId}/error", h.instanceError, opts...)
	r.HandleFunc("GET "+m+"/{processId}/instances/{instanceId}/nodeInstances", h.nodeInstances, opts...)
	r.HandleFunc("GET "+m+"/{processId}/instances/{instanceId}/timers", h.timers, opts...)
	r.HandleFunc("POST "+m+"/{processId}/instances/{instanceId}/retrigger", h.retrigger, opts...)
	r.HandleFunc("POST "+m+"/{processId}/instances/{instanceId}/skip", h.skip, opts...)
	r.HandleFunc("POST "+m+"/{processId}/instances/{instanceId}/nodes/{nodeId}", h.triggerNode, opts...)
	r.HandleFunc("POST "+m+"/{processId}/instances/{instanceId}/nodeInstances/{nodeInstanceId}", h.retriggerNode, opts...)
	r.HandleFunc("DELETE "+m+"/{processId}/instances/{instanceId}/nodeInstances/{nodeInstanceId}", h.cancelNode, opts...)
	r.HandleFunc("DELETE "+m+"/{processId}/instances/{instanceId}", h.abort, opts...)
}

// PluginRoutes registers Portico's own orchestrator routes (below
// /api/orchestrator): the registry's state, loading errors included.
func (h *HTTP) PluginRoutes(r *httpapi.Router) {
	r.HandleFunc("GET /runtime/workflows", func(w http.ResponseWriter, req *http.Request) {
		type wf struct {
			ID         string    `json:"id"`
			File       string    `json:"file"`
			Version    string    `json:"version"`
			Hash       string    `json:"hash"`
			Loaded     time.Time `json:"loaded"`
			ServiceURL string    `json:"serviceUrl"`
			Endpoint   string    `json:"endpoint"`
		}
		out := struct {
			Workflows []wf        `json:"workflows"`
			Errors    []LoadError `json:"errors"`
		}{Workflows: []wf{}, Errors: h.Runtime.reg.Errors()}
		for _, w := range h.Runtime.reg.List() {
			out.Workflows = append(out.Workflows, wf{w.ID, w.File, w.Definition.W.Version, w.Hash, w.Loaded, h.Runtime.ServiceURL(), h.Runtime.Endpoint(w.ID)})
		}
		if out.Errors == nil {
			out.Errors = []LoadError{}
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
	})
	r.HandleFunc("GET /runtime/instances/{instanceId}/audit", func(w http.ResponseWriter, req *http.Request) {
		a, err := h.Runtime.Audit(req.Context(), req.PathValue("instanceId"))
		if err != nil {
			httpapi.WriteError(w, req, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, a)
	})
}

// message writes SonataFlow's error body.
func message(w http.ResponseWriter, status int, msg string) {
	httpapi.WriteJSON(w, status, map[string]string{"message": msg})
}

// fail maps a runtime error to SonataFlow's codes.
func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		message(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrInvalidState), errors.Is(err, engine.ErrInvalidInput):
		message(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, errDuplicate):
		message(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrUnsupported):
		message(w, http.StatusNotImplemented, err.Error())
	default:
		message(w, http.StatusInternalServerError, err.Error())
	}
}

func actor(ctx context.Context) string {
	p := auth.PrincipalFrom(ctx)
	if p.Subject != "" {
		return p.Subject
	}
	return string(p.Type)
}

func (h *HTTP) health(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"status": "UP", "checks": []any{}})
}

// start is POST /{workflowId}.
func (h *HTTP) start(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("workflowId")
	if _, ok := h.Runtime.reg.Get(id); !ok {
		message(w, http.StatusNotFound, fmt.Sprintf("workflow %q not found", id))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		message(w, http.StatusBadRequest, "cannot read the request body: "+err.Error())
		return
	}
	var in any = map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			message(w, http.StatusBadRequest, "the request body is not valid JSON: "+err.Error())
			return
		}
	}
	obj, ok := in.(map[string]any)
	if !ok {
		message(w, http.StatusBadRequest, "the request body must be a JSON object")
		return
	}
	req := StartRequest{WorkflowID: id, Data: obj, BusinessKey: r.URL.Query().Get("businessKey"), Actor: actor(r.Context())}
	if wd, ok := obj["workflowdata"]; ok {
		// SonataFlow's model: workflowdata plus process variables
		// (initiatorEntity, targetEntity, ...).
		req.Data = wd
		req.Variables = map[string]any{}
		for k, v := range obj {
			if k != "workflowdata" {
				req.Variables[k] = v
			}
		}
	}
	req.Headers = make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		req.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if p := auth.PrincipalFrom(r.Context()); p.Type != auth.TypeNone {
		req.Identity = p.Subject
	}
	res, err := h.Runtime.Start(r.Context(), req)
	if err != nil {
		var we *engine.Error
		if errors.Is(err, engine.ErrInvalidInput) || errors.As(err, &we) && we.Kind == engine.KindValidation {
			message(w, http.StatusBadRequest, err.Error())
			return
		}
		fail(w, err)
		return
	}
	if res.Status == engine.StatusError {
		msg := "the workflow failed"
		failed := res.NodeID
		if res.Error != nil {
			msg = res.Error.Error()
		}
		httpapi.WriteJSON(w, http.StatusInternalServerError, map[string]any{"id": res.ID, "failedNodeId": failed, "message": msg})
		return
	}
	w.Header().Set("Location", absURL(r, "/"+id+"/"+res.ID))
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"id": res.ID, "workflowdata": dataOrEmpty(res.Data)})
}

func dataOrEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

func absURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host + path
}

// notFound answers a path that names no loaded workflow.
func (h *HTTP) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	if h.Fallback != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		h.Fallback.ServeHTTP(w, r)
		return
	}
	message(w, http.StatusNotFound, msg)
}

// list is GET /{workflowId}: the instances that have not ended.
func (h *HTTP) list(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("workflowId")
	if _, ok := h.Runtime.reg.Get(id); !ok {
		h.notFound(w, r, fmt.Sprintf("workflow %q not found", id))
		return
	}
	list, err := h.Runtime.ActiveInstances(r.Context(), id, 1000)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, in := range list {
		out = append(out, map[string]any{"id": in.ID, "workflowdata": dataOrEmpty(in.WorkflowData())})
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// instanceResource serves /{workflowId}/{id} (GET, DELETE) and
// /{workflowId}/schema.
func (h *HTTP) instanceResource(w http.ResponseWriter, r *http.Request) {
	wid, rest := r.PathValue("workflowId"), r.PathValue("rest")
	wf, ok := h.Runtime.reg.Get(wid)
	if !ok {
		h.notFound(w, r, fmt.Sprintf("no resource %s %s", r.Method, r.URL.Path))
		return
	}
	if rest == "" || strings.Contains(rest, "/") {
		message(w, http.StatusNotFound, fmt.Sprintf("no resource %s %s", r.Method, r.URL.Path))
		return
	}
	if rest == "schema" && r.Method == http.MethodGet {
		httpapi.WriteJSON(w, http.StatusOK, inputSchema(wf))
		return
	}
	switch r.Method {
	case http.MethodGet:
		in, err := h.Runtime.Instance(r.Context(), rest)
		if err == nil && (in.ProcessID != wid || in.End != nil) {
			// SonataFlow keeps only instances that have not ended.
			err = fmt.Errorf("instance %s: %w", rest, ErrNotFound)
		}
		if err != nil {
			fail(w, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": in.ID, "workflowdata": dataOrEmpty(in.WorkflowData())})
	case http.MethodDelete:
		res, err := h.Runtime.Abort(r.Context(), wid, rest, actor(r.Context()))
		if err != nil {
			fail(w, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": res.ID, "workflowdata": dataOrEmpty(res.Data)})
	case http.MethodPut, http.MethodPatch:
		h.updateData(w, r, wid, rest)
	default:
		w.Header().Set("Allow", "GET, PUT, PATCH, DELETE")
		message(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func inputSchema(wf *Workflow) any { return wf.InputSchema }

func outputSchema(wf *Workflow) any { return wf.OutputSchema }

func (h *HTTP) processes(w http.ResponseWriter, r *http.Request) {
	ids := []string{}
	for _, wf := range h.Runtime.reg.List() {
		ids = append(ids, wf.ID)
	}
	httpapi.WriteJSON(w, http.StatusOK, ids)
}

func (h *HTTP) workflow(w http.ResponseWriter, r *http.Request) (*Workflow, bool) {
	wf, ok := h.Runtime.reg.Get(r.PathValue("processId"))
	if !ok {
		message(w, http.StatusNotFound, fmt.Sprintf("process %q not found", r.PathValue("processId")))
	}
	return wf, ok
}

// processInfo is what the RHDH plugin reads for the input schema (and
// pings every few seconds).
func (h *HTTP) processInfo(w http.ResponseWriter, r *http.Request) {
	wf, ok := h.workflow(w, r)
	if !ok {
		return
	}
	d := wf.Definition.W
	out := map[string]any{"id": d.ID, "name": d.Name, "type": "SW", "version": d.Version}
	if d.Description != "" {
		out["description"] = d.Description
	}
	if len(d.Annotations) > 0 {
		out["annotations"] = d.Annotations
	}
	if s := inputSchema(wf); s != nil {
		out["inputSchema"] = s
	}
	if s := outputSchema(wf); s != nil {
		out["outputSchema"] = s
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *HTTP) source(w http.ResponseWriter, r *http.Request) {
	wf, ok := h.workflow(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(wf.Definition.W.Source)
}

func (h *HTTP) nodes(w http.ResponseWriter, r *http.Request) {
	wf, ok := h.workflow(w, r)
	if !ok {
		return
	}
	out := []map[string]any{}
	for i, s := range wf.Definition.W.States {
		out = append(out, map[string]any{
			"id": i + 1, "name": s.Name, "type": string(s.Type), "uniqueId": fmt.Sprint(i + 1), "nodeDefinitionId": s.Name,
		})
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// instance loads the instance a management URL names, checking that it
// belongs to the process.
func (h *HTTP) instance(w http.ResponseWriter, r *http.Request) (*Instance, bool) {
	in, err := h.Runtime.Instance(r.Context(), r.PathValue("instanceId"))
	if err == nil && in.ProcessID != r.PathValue("processId") {
		err = fmt.Errorf("instance %s of %s: %w", in.ID, r.PathValue("processId"), ErrNotFound)
	}
	if err != nil {
		fail(w, err)
		return nil, false
	}
	return in, true
}

func (h *HTTP) instanceError(w http.ResponseWriter, r *http.Request) {
	in, ok := h.instance(w, r)
	if !ok {
		return
	}
	if in.Error == nil || in.State != string(engine.StatusError) {
		message(w, http.StatusBadRequest, fmt.Sprintf("process instance %s is not in error", in.ID))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": in.ID, "failedNodeId": in.Error.NodeInstanceID, "message": in.Error.Message})
}

func (h *HTTP) nodeInstances(w http.ResponseWriter, r *http.Request) {
	in, ok := h.instance(w, r)
	if !ok {
		return
	}
	nodes, err := h.Runtime.NodeInstances(r.Context(), in.ID)
	if err != nil {
		fail(w, err)
		return
	}
	out := []map[string]any{}
	for _, n := range nodes {
		if n.Exit != nil {
			continue // SonataFlow lists the active node instances
		}
		out = append(out, map[string]any{
			"nodeInstanceId": n.ID, "nodeId": n.DefinitionID, "nodeDefinitionId": n.DefinitionID, "name": n.Name, "type": n.Type,
			"enter": n.Enter, "state": 0,
		})
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *HTTP) timers(w http.ResponseWriter, r *http.Request) {
	in, ok := h.instance(w, r)
	if !ok {
		return
	}
	t, err := h.Runtime.Timers(r.Context(), in.ProcessID, in.ID)
	if err != nil {
		fail(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
}

func (h *HTTP) retrigger(w http.ResponseWriter, r *http.Request) {
	res, err := h.Runtime.Retrigger(r.Context(), r.PathValue("processId"), r.PathValue("instanceId"), actor(r.Context()))
	writeOperation(w, res, err)
}

func (h *HTTP) skip(w http.ResponseWriter, r *http.Request) {
	res, err := h.Runtime.Skip(r.Context(), r.PathValue("processId"), r.PathValue("instanceId"), actor(r.Context()))
	writeOperation(w, res, err)
}

func (h *HTTP) triggerNode(w http.ResponseWriter, r *http.Request) {
	res, err := h.Runtime.TriggerNode(r.Context(), r.PathValue("processId"), r.PathValue("instanceId"), r.PathValue("nodeId"), actor(r.Context()))
	writeOperation(w, res, err)
}

func (h *HTTP) retriggerNode(w http.ResponseWriter, r *http.Request) {
	res, err := h.Runtime.RetriggerNode(r.Context(), r.PathValue("processId"), r.PathValue("instanceId"), r.PathValue("nodeInstanceId"), actor(r.Context()))
	writeOperation(w, res, err)
}

func (h *HTTP) cancelNode(w http.ResponseWriter, r *http.Request) {
	res, err := h.Runtime.CancelNode(r.Context(), r.PathValue("processId"), r.PathValue("instanceId"), r.PathValue("nodeInstanceId"), actor(r.Context()))
	writeOperation(w, res, err)
}

// updateData serves PUT (replace) and PATCH (merge) of an instance's data.
// The body is SonataFlow's model ({"workflowdata": {...}}) or the data.
func (h *HTTP) updateData(w http.ResponseWriter, r *http.Request, workflowID, id string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		message(w, http.StatusBadRequest, "cannot read the request body: "+err.Error())
		return
	}
	var data any
	if err := json.Unmarshal(body, &data); err != nil {
		message(w, http.StatusBadRequest, "the request body is not valid JSON: "+err.Error())
		return
	}
	obj, ok := data.(map[string]any)
	if !ok {
		message(w, http.StatusBadRequest, `the request body must be a JSON object: {"workflowdata": {...}}`)
		return
	}
	if wd, ok := obj["workflowdata"]; ok {
		data = wd
	}
	res, err := h.Runtime.UpdateData(r.Context(), workflowID, id, data, r.Method == http.MethodPatch, actor(r.Context()))
	writeOperation(w, res, err)
}

// writeOperation answers an operator action with the instance's data, or
// SonataFlow's error body when the instance failed on the way.
func writeOperation(w http.ResponseWriter, res *Result, err error) {
	if err != nil {
		fail(w, err)
		return
	}
	if res.Status == engine.StatusError {
		msg := "the workflow failed"
		if res.Error != nil {
			msg = res.Error.Error()
		}
		httpapi.WriteJSON(w, http.StatusInternalServerError, map[string]any{"id": res.ID, "failedNodeId": res.NodeID, "message": msg})
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": res.ID, "workflowdata": dataOrEmpty(res.Data)})
}

func (h *HTTP) abort(w http.ResponseWriter, r *http.Request) {
	res, err := h.Runtime.Abort(r.Context(), r.PathValue("processId"), r.PathValue("instanceId"), actor(r.Context()))
	if err != nil {
		fail(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": res.ID, "workflowdata": dataOrEmpty(res.Data)})
}

// openAPI describes each workflow's start endpoint with its input schema.
func (h *HTTP) openAPI(w http.ResponseWriter, r *http.Request) {
	paths := map[string]any{}
	schemas := map[string]any{}
	for _, wf := range h.Runtime.reg.List() {
		body := map[string]any{"type": "object"}
		if s := inputSchema(wf); s != nil {
			schemas[wf.ID+"_input"] = s
			body = map[string]any{
				"type": "object",
				"properties": map[string]any{
					"workflowdata":    map[string]any{"$ref": "#/components/schemas/" + wf.ID + "_input"},
					"initiatorEntity": map[string]any{"type": "string"},
					"targetEntity":    map[string]any{"type": "string"},
				},
			}
		}
		result := map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}, "workflowdata": map[string]any{"type": "object"}}}
		paths["/"+wf.ID] = map[string]any{
			"post": map[string]any{
				"operationId": "start_" + wf.ID,
				"summary":     wf.Definition.W.Name,
				"description": wf.Definition.W.Description,
				"parameters":  []any{map[string]any{"name": "businessKey", "in": "query", "schema": map[string]any{"type": "string"}}},
				"requestBody": map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": body}}},
				"responses": map[string]any{
					"201": map[string]any{"description": "the instance, after its synchronous part", "content": map[string]any{"application/json": map[string]any{"schema": result}}},
					"400": map[string]any{"description": "the input does not match the workflow's input schema"},
					"500": map[string]any{"description": "the instance failed"},
				},
			},
			"get": map[string]any{"operationId": "list_" + wf.ID, "responses": map[string]any{"200": map[string]any{"description": "active instances"}}},
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "Portico workflows", "version": "1.0"},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
		},
	})
}

// receiveEvent is POST /: a CloudEvent in binary or structured mode.
func (h *HTTP) receiveEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := ParseCloudEvent(r.Header, r.Body)
	if err != nil {
		message(w, http.StatusBadRequest, err.Error())
		return
	}
	rec, err := h.Runtime.ReceiveEvent(r.Context(), ev)
	if err != nil {
		fail(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, rec)
}

// ParseCloudEvent reads a CloudEvent (specification 1.0) from an HTTP
// request in structured mode (application/cloudevents+json) or binary
// mode (ce-* headers). The HTTP binding is small and fully specified, so
// it is parsed here rather than with sdk-go, whose HTTP protocol stack
// and its dependencies this one function does not need.
func ParseCloudEvent(header http.Header, body io.Reader) (*engine.Event, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("cannot read the event: %w", err)
	}
	ct := header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "application/cloudevents-batch+json" {
		return nil, errors.New("batched CloudEvents are not supported; send one event per request")
	}
	if mt == "application/cloudevents+json" || header.Get("Ce-Specversion") == "" && mt == "application/json" && looksStructured(b) {
		return parseStructured(b)
	}
	if header.Get("Ce-Specversion") == "" {
		return nil, errors.New("not a CloudEvent: no ce-specversion header (binary mode) and the content type is not application/cloudevents+json (structured mode)")
	}
	ev := &engine.Event{Extensions: map[string]any{}}
	spec := ""
	for k, v := range header {
		lk := strings.ToLower(k)
		name, ok := strings.CutPrefix(lk, "ce-")
		if !ok || len(v) == 0 {
			continue
		}
		val := v[0]
		switch name {
		case "specversion":
			spec = val
		case "id":
			ev.ID = val
		case "source":
			ev.Source = val
		case "type":
			ev.Type = val
		case "subject":
			ev.Subject = val
		case "time":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return nil, fmt.Errorf("ce-time: not an RFC 3339 timestamp: %q", val)
			}
			ev.Time = t.UTC()
		case "dataschema":
			ev.Extensions["dataschema"] = val
		default:
			ev.Extensions[name] = val
		}
	}
	ev.DataContentType = ct
	if len(b) > 0 {
		if mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") {
			var data any
			if err := json.Unmarshal(b, &data); err != nil {
				return nil, fmt.Errorf("the event data is not valid JSON: %v", err)
			}
			ev.Data = data
		} else {
			ev.Data = string(b)
		}
	}
	if err := checkEvent(spec, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

func looksStructured(b []byte) bool {
	var probe struct {
		SpecVersion string `json:"specversion"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.SpecVersion != ""
}

func parseStructured(b []byte) (*engine.Event, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the event is not valid JSON: %v", err)
	}
	ev := &engine.Event{Extensions: map[string]any{}}
	str := func(k string) (string, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("attribute %q must be a string", k)
		}
		return s, nil
	}
	var spec string
	var err error
	for _, f := range []struct {
		k   string
		dst *string
	}{{"specversion", &spec}, {"id", &ev.ID}, {"source", &ev.Source}, {"type", &ev.Type}, {"subject", &ev.Subject}, {"datacontenttype", &ev.DataContentType}} {
		if *f.dst, err = str(f.k); err != nil {
			return nil, err
		}
	}
	if ts, err := str("time"); err != nil {
		return nil, err
	} else if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fmt.Errorf("time: not an RFC 3339 timestamp: %q", ts)
		}
		ev.Time = t.UTC()
	}
	if d, ok := m["data_base64"]; ok {
		s, _ := d.(string)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("data_base64: %v", err)
		}
		ev.Data = string(raw)
	} else {
		ev.Data = m["data"]
	}
	for k, v := range m {
		switch k {
		case "specversion", "id", "source", "type", "subject", "datacontenttype", "time", "data", "data_base64":
		default:
			ev.Extensions[k] = v
		}
	}
	if err := checkEvent(spec, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// checkEvent enforces the required attributes of CloudEvents 1.0.
func checkEvent(spec string, ev *engine.Event) error {
	var missing []string
	if spec == "" {
		missing = append(missing, "specversion")
	}
	if ev.ID == "" {
		missing = append(missing, "id")
	}
	if ev.Source == "" {
		missing = append(missing, "source")
	}
	if ev.Type == "" {
		missing = append(missing, "type")
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("malformed CloudEvent: missing required attributes %s", strings.Join(missing, ", "))
	}
	if spec != "1.0" && spec != "0.3" {
		return fmt.Errorf("malformed CloudEvent: unsupported specversion %q", spec)
	}
	for k := range ev.Extensions {
		if !validAttrName(k) {
			return fmt.Errorf("malformed CloudEvent: attribute name %q must be lower-case letters and digits", k)
		}
	}
	return nil
}

func validAttrName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// HTTPSink sends produced events to a URL in structured mode.
type HTTPSink struct {
	URL    string
	Client *http.Client
}

// Send posts one event; any non-2xx response is an error, so the outbox
// tries again later.
func (s *HTTPSink) Send(ctx context.Context, event []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(event))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sink answered %s", resp.Status)
	}
	return nil
}
