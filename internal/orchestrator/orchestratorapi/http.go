package orchestratorapi

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// HTTP serves the v2 API of a Service.
type HTTP struct {
	Service *Service
}

// Routes registers the API on the orchestrator plugin's router (below
// /api/orchestrator).
func (h *HTTP) Routes(r *httpapi.Router) {
	r.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.HandleFunc("POST /v2/workflows/overview", h.overviews)
	r.HandleFunc("POST /v2/workflows/overview/entity", h.overviewsForEntity)
	r.HandleFunc("POST /v2/workflows/instances", h.instances)
	r.HandleFunc("POST /v2/workflows/{workflowId}/instances", h.instances)
	r.HandleFunc("POST /v2/workflows/{workflowId}/execute", h.execute)
	r.HandleFunc("POST /v2/workflows/{workflowId}/{instanceId}/retrigger", h.retrigger)
	r.HandleFunc("DELETE /v2/workflows/instances/{instanceId}/abort", h.abort)
	r.HandleFunc("GET /v2/workflows/instances/{instanceId}/logs", h.logs)
	// One pattern for the GET routes with two segments: per-route patterns
	// such as "/instances/{instanceId}" and "/{workflowId}/overview"
	// overlap, which net/http refuses.
	r.HandleFunc("GET /v2/workflows/{first}/{second}", h.get)
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request) {
	first, second := r.PathValue("first"), r.PathValue("second")
	ctx := r.Context()
	if first == "instances" {
		if second == "statuses" {
			httpapi.WriteJSON(w, http.StatusOK, Statuses())
			return
		}
		in, assessment, err := h.Service.Instance(ctx, second)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if ok, _ := strconv.ParseBool(r.URL.Query().Get("includeAssessment")); ok {
			httpapi.WriteJSON(w, http.StatusOK, AssessedInstance{Instance: in, AssessedBy: assessment})
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, in)
		return
	}
	switch second {
	case "overview":
		o, err := h.Service.Overview(ctx, first)
		respond(w, r, o, err)
	case "source":
		src, err := h.Service.Source(ctx, first)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(src)
	case "inputSchema":
		s, err := h.Service.InputSchema(ctx, first, r.URL.Query().Get("instanceId"))
		respond(w, r, s, err)
	case "pingWorkflowService":
		ok, err := h.Service.Ping(ctx, first)
		respond(w, r, ok, err)
	default:
		httpapi.WriteError(w, r, errs.NotFoundf("no route GET %s", r.URL.Path))
	}
}

func respond(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// decodeOptional reads a JSON body that may be absent.
func decodeOptional(r *http.Request, dst any) error {
	if r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
		return httpapi.DecodeJSON(r, dst)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return httpapi.DecodeJSON(r, dst)
}

// errReader replays a read error (a body over the size limit) to the JSON
// decoder, which reports it.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (h *HTTP) overviews(w http.ResponseWriter, r *http.Request) {
	var req SearchRequest
	if err := decodeOptional(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	res, err := h.Service.Overviews(r.Context(), req)
	respond(w, r, res, err)
}

func (h *HTTP) overviewsForEntity(w http.ResponseWriter, r *http.Request) {
	var req EntityOverviewRequest
	if err := decodeOptional(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	res, err := h.Service.OverviewsForEntity(r.Context(), req)
	respond(w, r, res, err)
}

func (h *HTTP) instances(w http.ResponseWriter, r *http.Request) {
	var req SearchRequest
	if err := decodeOptional(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	res, err := h.Service.Instances(r.Context(), r.PathValue("workflowId"), req)
	respond(w, r, res, err)
}

func (h *HTTP) execute(w http.ResponseWriter, r *http.Request) {
	var req ExecuteRequest
	if err := decodeOptional(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if bk := r.URL.Query().Get("businessKey"); bk != "" && req.BusinessKey == "" {
		req.BusinessKey = bk
	}
	res, err := h.Service.Execute(r.Context(), r.PathValue("workflowId"), req)
	respond(w, r, res, err)
}

func (h *HTTP) retrigger(w http.ResponseWriter, r *http.Request) {
	var req RetriggerRequest
	if err := decodeOptional(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	res, err := h.Service.Retrigger(r.Context(), r.PathValue("workflowId"), r.PathValue("instanceId"), req)
	respond(w, r, res, err)
}

func (h *HTTP) abort(w http.ResponseWriter, r *http.Request) {
	msg, err := h.Service.Abort(r.Context(), r.PathValue("instanceId"))
	respond(w, r, msg, err)
}

// logs answers the log route: instance logs come from an external log
// provider (Loki) in the plugin, which Portico does not have; the
// instance's nodes and audit trail are in the instance and at
// /api/orchestrator/runtime/instances/{id}/audit.
func (h *HTTP) logs(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.Service.Instance(r.Context(), r.PathValue("instanceId")); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteError(w, r, errs.New(errs.NotImplemented,
		"instance logs need a log provider, which Portico does not have; read the instance's nodes or GET /api/orchestrator/runtime/instances/%s/audit", r.PathValue("instanceId")))
}
