package notifications

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// MaxSendBody bounds a send request's body. Backstage's router reads JSON
// with express's 100 kB default; Portico allows more room for long
// descriptions, but a notification is not a file transfer.
const MaxSendBody = 1 << 20

// HTTP serves Backstage's notifications REST API.
type HTTP struct {
	Service *Service
}

// Routes mounts the API below the notifications prefix, with Backstage's
// deprecated root aliases (NotificationService still sends to the root).
func (h *HTTP) Routes(r *httpapi.Router) {
	r.HandleFunc("GET /notifications", h.list)
	r.HandleFunc("GET /{$}", h.list)
	r.HandleFunc("GET /notifications/{id}", h.get)
	r.HandleFunc("GET /{id}", h.get)
	r.HandleFunc("GET /status", h.status)
	r.HandleFunc("GET /topics", h.topics)
	r.HandleFunc("GET /settings", h.settings)
	r.HandleFunc("POST /settings", h.saveSettings)
	r.HandleFunc("POST /notifications/update", h.update)
	r.HandleFunc("POST /update", h.update)
	r.HandleFunc("POST /notifications", h.send)
	r.HandleFunc("POST /{$}", h.send)
}

// user returns the calling user's ref; only users read notifications.
func user(r *http.Request) (string, error) {
	p := auth.PrincipalFrom(r.Context())
	if err := auth.Require(p, auth.TypeUser); err != nil {
		return "", err
	}
	return strings.ToLower(p.Subject), nil
}

func (h *HTTP) send(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	if err := auth.Require(p, auth.TypeService); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxSendBody)
	var req Request
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	req.Origin = p.Subject
	sent, err := h.Service.Send(r.Context(), req)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sent)
}

func (h *HTTP) list(w http.ResponseWriter, r *http.Request) {
	u, err := user(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	o, err := listOptions(r, u, true)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	res, err := h.Service.List(r.Context(), o)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}

// listOptions reads the query parameters of a list (paging and topic
// only when paged) or of the topics route.
func listOptions(r *http.Request, user string, paged bool) (ListOptions, error) {
	q := r.URL.Query()
	o := ListOptions{User: user, Search: q.Get("search")}
	var err error
	if paged {
		if o.Offset, err = intParam(q.Get("offset"), "offset"); err != nil {
			return o, err
		}
		if o.Limit, err = intParam(q.Get("limit"), "limit"); err != nil {
			return o, err
		}
		o.Topic = q.Get("topic")
		for _, f := range q["orderField"] {
			field, dir, _ := strings.Cut(f, ",")
			dir = strings.ToLower(strings.TrimSpace(dir))
			if dir != "" && dir != "asc" && dir != "desc" {
				return o, errs.InputErrorf("Invalid order field order, must be asc or desc")
			}
			o.Order = append(o.Order, OrderField{Field: strings.TrimSpace(field), Desc: dir == "desc"})
		}
	}
	if o.Read, err = boolParam(q.Get("read")); err != nil {
		return o, err
	}
	if o.Saved, err = boolParam(q.Get("saved")); err != nil {
		return o, err
	}
	if v := q.Get("createdAfter"); v != "" {
		t, err := parseDate(v)
		if err != nil {
			return o, err
		}
		o.CreatedAfter = &t
	}
	if v := q.Get("minimumSeverity"); v != "" {
		o.MinimumSeverity = ParseSeverity(v)
	}
	return o, nil
}

func intParam(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errs.InputErrorf("%s must be a non-negative integer, got '%s'", name, v)
	}
	return n, nil
}

// boolParam reads "true" or "false"; anything else does not filter, as in
// Backstage.
func boolParam(v string) (*bool, error) {
	switch v {
	case "true":
		b := true
		return &b, nil
	case "false":
		b := false
		return &b, nil
	}
	return nil, nil
}

func parseDate(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, errs.InputErrorf("Unexpected date format")
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request) {
	u, err := user(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	n, err := h.Service.Get(r.Context(), u, r.PathValue("id"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, n)
}

func (h *HTTP) status(w http.ResponseWriter, r *http.Request) {
	u, err := user(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	st, err := h.Service.Status(r.Context(), u)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
}

func (h *HTTP) topics(w http.ResponseWriter, r *http.Request) {
	u, err := user(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	o, err := listOptions(r, u, false)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	topics, err := h.Service.Topics(r.Context(), o)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string][]string{"topics": topics})
}

func (h *HTTP) update(w http.ResponseWriter, r *http.Request) {
	u, err := user(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	var body struct {
		IDs   *[]string `json:"ids"`
		Read  *bool     `json:"read"`
		Saved *bool     `json:"saved"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if body.IDs == nil {
		httpapi.WriteError(w, r, errs.InputErrorf("ids must be an array of notification ids"))
		return
	}
	ns, err := h.Service.Update(r.Context(), u, *body.IDs, body.Read, body.Saved)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, ns)
}

func (h *HTTP) settings(w http.ResponseWriter, r *http.Request) {
	u, err := user(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	st, err := h.Service.Settings(r.Context(), u)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
}

func (h *HTTP) saveSettings(w http.ResponseWriter, r *http.Request) {
	u, err := user(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	var st Settings
	if err := httpapi.DecodeJSON(r, &st); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	out, err := h.Service.SaveSettings(r.Context(), u, st)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}
