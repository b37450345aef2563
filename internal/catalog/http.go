package catalog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// The catalog's permissions, as Backstage names them.
var (
	permEntityRead      = auth.Permission{Name: "catalog.entity.read", Action: "read", ResourceType: "catalog-entity"}
	permEntityDelete    = auth.Permission{Name: "catalog.entity.delete", Action: "delete", ResourceType: "catalog-entity"}
	permEntityRefresh   = auth.Permission{Name: "catalog.entity.refresh", Action: "update", ResourceType: "catalog-entity"}
	permEntityValidate  = auth.Permission{Name: "catalog.entity.validate"}
	permLocationRead    = auth.Permission{Name: "catalog.location.read", Action: "read"}
	permLocationCreate  = auth.Permission{Name: "catalog.location.create", Action: "create"}
	permLocationDelete  = auth.Permission{Name: "catalog.location.delete", Action: "delete"}
	permLocationAnalyze = auth.Permission{Name: "catalog.location.analyze"}
)

// HTTP serves the catalog API below /api/catalog, as Backstage's catalog
// backend does.
type HTTP struct {
	Service     *Service
	Permissions *auth.Permissions
}

// Routes registers the catalog's routes.
func (h *HTTP) Routes(r *httpapi.Router) {
	r.HandleFunc("POST /refresh", h.refresh)
	r.HandleFunc("GET /entities", h.entities)
	r.HandleFunc("GET /entities/by-uid/{uid}", h.entityByUID)
	r.HandleFunc("DELETE /entities/by-uid/{uid}", h.deleteEntity)
	r.HandleFunc("GET /entities/by-name/{kind}/{namespace}/{name}", h.entityByName)
	r.HandleFunc("GET /entities/by-name/{kind}/{namespace}/{name}/ancestry", h.ancestry)
	r.HandleFunc("POST /entities/by-refs", h.byRefs)
	r.HandleFunc("GET /entities/by-query", h.queryGet)
	r.HandleFunc("POST /entities/by-query", h.queryPost)
	r.HandleFunc("GET /entity-facets", h.facetsGet)
	r.HandleFunc("POST /entity-facets", h.facetsPost)
	r.HandleFunc("POST /locations", h.addLocation)
	r.HandleFunc("GET /locations", h.locations)
	r.HandleFunc("POST /locations/by-query", h.queryLocations)
	r.HandleFunc("GET /locations/{id}", h.location)
	r.HandleFunc("PUT /locations/{id}", h.updateLocation)
	r.HandleFunc("DELETE /locations/{id}", h.deleteLocation)
	r.HandleFunc("GET /locations/by-entity/{kind}/{namespace}/{name}", h.locationByEntity)
	r.HandleFunc("POST /analyze-location", h.analyzeLocation)
	r.HandleFunc("POST /validate-entity", h.validateEntity)
}

func (h *HTTP) authorize(w http.ResponseWriter, r *http.Request, p auth.Permission, ref string) bool {
	if err := h.Permissions.Authorize(r.Context(), p, ref); err != nil {
		httpapi.WriteError(w, r, err)
		return false
	}
	return true
}

// readable decides which entities the caller may read. Lists, queries
// and facets answer a caller who may read none with nothing rather than an
// error, as Backstage does; a conditional decision becomes the filter of
// the entities the caller may read (nil: all of them). ok is false when
// the check itself failed and its error was written.
func (h *HTTP) readable(w http.ResponseWriter, r *http.Request) (filter *Filter, some, ok bool) {
	d, c, err := h.Permissions.DecideConditional(r.Context(), auth.PrincipalFrom(r.Context()), auth.Request{Permission: permEntityRead})
	if err == nil && d == auth.Conditional {
		var f Filter
		if f, err = ConditionFilter(c); err == nil {
			var small *Filter
			if small, err = h.Service.smallSet(r.Context(), &f); err == nil {
				return small, true, true
			}
		}
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return nil, false, false
	}
	return nil, d == auth.Allow, true
}

// canRead reports whether the caller may read the entity (unauthorized
// entities are left out of answers silently, as in Backstage).
func (h *HTTP) canRead(r *http.Request, ref string) bool {
	return h.Permissions.Authorize(r.Context(), permEntityRead, ref) == nil
}

func (h *HTTP) notReadonly(w http.ResponseWriter, r *http.Request) bool {
	if h.Service.Readonly() {
		httpapi.WriteError(w, r, errs.NotAllowedf("this operation is not allowed in readonly mode"))
		return false
	}
	return true
}

func (h *HTTP) refresh(w http.ResponseWriter, r *http.Request) {
	var body struct {
		EntityRef          string `json:"entityRef"`
		AuthorizationToken string `json:"authorizationToken"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if body.EntityRef == "" {
		httpapi.WriteError(w, r, errs.InputErrorf("entityRef is required"))
		return
	}
	if !h.authorize(w, r, permEntityRefresh, strings.ToLower(body.EntityRef)) {
		return
	}
	if err := h.Service.Refresh(r.Context(), body.EntityRef); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// parseFields reads the fields parameter(s): comma-separated dotted paths.
func parseFields(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if strings.Contains(f, "[") {
				return nil, errs.InputErrorf("invalid field %q: array type fields are not supported", f)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// project keeps only the given fields of a stored entity. A path part
// that is not a key is joined with the next one, so keys with dots
// (annotation names) can be selected.
func project(body []byte, fields []string) ([]byte, error) {
	if len(fields) == 0 {
		return body, nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var src map[string]any
	if err := d.Decode(&src); err != nil {
		return nil, err
	}
	dst := map[string]any{}
	for _, f := range fields {
		parts := strings.Split(f, ".")
		var cur any = src
		var keys []string
		ok := true
		for i := 0; i < len(parts) && ok; i++ {
			m, isMap := cur.(map[string]any)
			if !isMap {
				ok = false
				break
			}
			key := parts[i]
			v, found := m[key]
			for !found && i+1 < len(parts) {
				i++
				key += "." + parts[i]
				v, found = m[key]
			}
			if !found {
				ok = false
				break
			}
			keys = append(keys, key)
			cur = v
		}
		if !ok {
			continue
		}
		node := dst
		for _, k := range keys[:len(keys)-1] {
			next, isMap := node[k].(map[string]any)
			if !isMap {
				next = map[string]any{}
				node[k] = next
			}
			node = next
		}
		node[keys[len(keys)-1]] = cur
	}
	return json.Marshal(dst)
}

func intParam(q url.Values, name string, minValue int) (int, bool, error) {
	v := q.Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minValue {
		return 0, false, errs.InputErrorf("invalid %s query parameter %q: expected an integer of at least %d", name, v, minValue)
	}
	return n, true, nil
}

type afterCursor struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func (h *HTTP) entities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, err := ParseFilterParams(q["filter"])
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	fields, err := parseFields(q["fields"])
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	var order []OrderField
	for _, o := range q["order"] {
		dir, field, ok := strings.Cut(o, ":")
		if !ok || (dir != "asc" && dir != "desc") || field == "" {
			httpapi.WriteError(w, r, errs.InputErrorf("invalid order parameter %q: expected asc:<field> or desc:<field>", o))
			return
		}
		order = append(order, OrderField{Field: field, Order: dir})
	}
	limit, hasLimit, err := intParam(q, "limit", 1)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	offset, hasOffset, err := intParam(q, "offset", 0)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if after := q.Get("after"); after != "" {
		var c afterCursor
		data, err := base64.StdEncoding.DecodeString(after)
		if err == nil {
			err = json.Unmarshal(data, &c)
		}
		if err != nil || c.Limit < 1 || c.Offset < 0 {
			httpapi.WriteError(w, r, errs.InputErrorf("malformed after cursor"))
			return
		}
		limit, offset, hasLimit, hasOffset = c.Limit, c.Offset, true, true
	}
	readable, some, ok := h.readable(w, r)
	if !ok {
		return
	} else if !some {
		httpapi.WriteJSON(w, http.StatusOK, []any{})
		return
	}
	req := ListRequest{Filter: andFilter(filter, readable), Order: order, Offset: offset}
	if !hasLimit && !hasOffset {
		// No pagination: stream everything.
		h.streamEntities(w, r, req, fields)
		return
	}
	if hasLimit {
		req.Limit = limit + 1
	}
	var page [][]byte
	err = h.Service.ListEntities(r.Context(), req, func(body []byte) error {
		page = append(page, slices.Clone(body))
		return nil
	})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if hasLimit && len(page) > limit {
		page = page[:limit]
		next := url.Values{}
		for k, v := range q {
			if k != "after" && k != "offset" && k != "limit" {
				next[k] = v
			}
		}
		c, _ := json.Marshal(afterCursor{Limit: limit, Offset: offset + limit})
		next.Set("limit", strconv.Itoa(limit))
		next.Set("after", base64.StdEncoding.EncodeToString(c))
		w.Header().Set("Link", "</entities?"+next.Encode()+`>; rel="next"`)
	}
	writeArray(w, page, fields)
}

func (h *HTTP) streamEntities(w http.ResponseWriter, r *http.Request, req ListRequest, fields []string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	started := false
	err := h.Service.ListEntities(r.Context(), req, func(body []byte) error {
		out, err := project(body, fields)
		if err != nil {
			return err
		}
		if !started {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("["))
			started = true
		} else {
			w.Write([]byte(","))
		}
		_, err = w.Write(out)
		return err
	})
	if err != nil && !started {
		httpapi.WriteError(w, r, err)
		return
	}
	if !started {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("["))
	}
	// After a failure mid-stream the array is left unterminated, so the
	// client sees a broken body rather than a silently short list.
	if err == nil {
		w.Write([]byte("]"))
	}
}

func writeArray(w http.ResponseWriter, items [][]byte, fields []string) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		out, err := project(it, fields)
		if err != nil {
			out = it
		}
		buf.Write(out)
	}
	buf.WriteByte(']')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func (h *HTTP) entityByUID(w http.ResponseWriter, r *http.Request) {
	body, err := h.Service.EntityByUID(r.Context(), r.PathValue("uid"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !h.canRead(r, refOfBody(body)) {
		httpapi.WriteError(w, r, errs.NotFoundf("no entity with uid %s", r.PathValue("uid")))
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// refOfBody reads the reference of a stored entity.
func refOfBody(body []byte) string {
	var e struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(body, &e)
	return Ref{Kind: e.Kind, Namespace: cmpOr(e.Metadata.Namespace, DefaultNamespace), Name: e.Metadata.Name}.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (h *HTTP) deleteEntity(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	body, err := h.Service.EntityByUID(r.Context(), uid)
	ref := ""
	if err == nil {
		ref = refOfBody(body)
	}
	if !h.authorize(w, r, permEntityDelete, ref) {
		return
	}
	if err := h.Service.DeleteEntity(r.Context(), uid); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func pathRef(r *http.Request) Ref {
	return Ref{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
}

func (h *HTTP) entityByName(w http.ResponseWriter, r *http.Request) {
	ref := pathRef(r)
	body, err := h.Service.EntityJSON(r.Context(), ref)
	if err == nil && !h.canRead(r, ref.String()) {
		err = errs.NotFoundf("no entity named '%s' found, with kind '%s' in namespace '%s'", ref.Name, ref.Kind, ref.Namespace)
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

func (h *HTTP) ancestry(w http.ResponseWriter, r *http.Request) {
	ref := pathRef(r)
	if !h.authorize(w, r, permEntityRead, ref.String()) {
		return
	}
	items, err := h.Service.Ancestry(r.Context(), ref)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"rootEntityRef": ref.String(), "items": items})
}

func (h *HTTP) byRefs(w http.ResponseWriter, r *http.Request) {
	var body struct {
		EntityRefs []string        `json:"entityRefs"`
		Fields     []string        `json:"fields"`
		Query      json.RawMessage `json:"query"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if body.EntityRefs == nil {
		httpapi.WriteError(w, r, errs.InputErrorf("entityRefs is required: an array of entity references"))
		return
	}
	filter, err := ParsePredicate(body.Query)
	if err == nil && filter == nil {
		filter, err = ParseFilterParams(r.URL.Query()["filter"])
	}
	var fields []string
	if err == nil {
		fields, err = parseFields(body.Fields)
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	readable, some, ok := h.readable(w, r)
	if !ok {
		return
	}
	if !some {
		// Nothing is readable: every ref answers null.
		readable = &Filter{Op: opAny}
	}
	items, err := h.Service.EntitiesByRefs(r.Context(), body.EntityRefs, andFilter(filter, readable))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		if it == nil {
			out[i] = json.RawMessage("null")
			continue
		}
		p, err := project(it, fields)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		out[i] = p
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (h *HTTP) queryGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, err := ParseFilterParams(q["filter"])
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	req := QueryRequest{Filter: filter, Cursor: q.Get("cursor"), FullTextTerm: q.Get("fullTextFilterTerm")}
	if f := q.Get("fullTextFilterFields"); f != "" {
		for x := range strings.SplitSeq(f, ",") {
			if x = strings.TrimSpace(x); x != "" {
				req.FullTextFields = append(req.FullTextFields, x)
			}
		}
	}
	for _, o := range q["orderField"] {
		field, dir, _ := strings.Cut(o, ",")
		if dir == "" {
			dir = "asc"
		}
		if field == "" || (dir != "asc" && dir != "desc") {
			httpapi.WriteError(w, r, errs.InputErrorf("invalid orderField %q: expected <field>,asc or <field>,desc", o))
			return
		}
		req.OrderFields = append(req.OrderFields, OrderField{Field: field, Order: dir})
	}
	if req.Limit, _, err = intParam(q, "limit", 0); err == nil {
		req.Offset, _, err = intParam(q, "offset", 0)
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	req.CountOnly = q.Has("limit") && req.Limit == 0
	switch t := q.Get("totalItems"); t {
	case "", "include":
	case "exclude":
		req.ExcludeTotal = true
	default:
		httpapi.WriteError(w, r, errs.InputErrorf("invalid totalItems %q: expected include or exclude", t))
		return
	}
	fields, err := parseFields(q["fields"])
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.query(w, r, req, fields)
}

func (h *HTTP) queryPost(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Cursor         string       `json:"cursor"`
		Limit          *int         `json:"limit"`
		Offset         int          `json:"offset"`
		OrderBy        []OrderField `json:"orderBy"`
		FullTextFilter *struct {
			Term   string   `json:"term"`
			Fields []string `json:"fields"`
		} `json:"fullTextFilter"`
		Fields     []string        `json:"fields"`
		TotalItems any             `json:"totalItems"`
		Query      json.RawMessage `json:"query"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	filter, err := ParsePredicate(body.Query)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	req := QueryRequest{Filter: filter, Cursor: body.Cursor, OrderFields: body.OrderBy, Offset: body.Offset}
	if body.Limit != nil {
		req.Limit = *body.Limit
		req.CountOnly = req.Limit == 0
	}
	if body.FullTextFilter != nil {
		req.FullTextTerm, req.FullTextFields = body.FullTextFilter.Term, body.FullTextFilter.Fields
	}
	if body.TotalItems == "exclude" || body.TotalItems == false {
		req.ExcludeTotal = true
	}
	fields, err := parseFields(body.Fields)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.query(w, r, req, fields)
}

func (h *HTTP) query(w http.ResponseWriter, r *http.Request, req QueryRequest, fields []string) {
	readable, some, ok := h.readable(w, r)
	if !ok {
		return
	} else if !some {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": []any{}, "totalItems": 0, "pageInfo": map[string]any{}})
		return
	}
	req.Readable = readable
	res, err := h.Service.QueryEntities(r.Context(), req)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	items := make([]json.RawMessage, 0, len(res.Items))
	for _, it := range res.Items {
		p, err := project(it, fields)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		items = append(items, p)
	}
	pageInfo := map[string]string{}
	if res.NextCursor != "" {
		pageInfo["nextCursor"] = res.NextCursor
	}
	if res.PrevCursor != "" {
		pageInfo["prevCursor"] = res.PrevCursor
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "totalItems": res.TotalItems, "pageInfo": pageInfo})
}

func (h *HTTP) facetsGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, err := ParseFilterParams(q["filter"])
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.facets(w, r, q["facet"], filter)
}

func (h *HTTP) facetsPost(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Facets []string        `json:"facets"`
		Query  json.RawMessage `json:"query"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	filter, err := ParsePredicate(body.Query)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.facets(w, r, body.Facets, filter)
}

func (h *HTTP) facets(w http.ResponseWriter, r *http.Request, facets []string, filter *Filter) {
	if len(facets) == 0 {
		httpapi.WriteError(w, r, errs.InputErrorf("at least one facet is required"))
		return
	}
	readable, some, ok := h.readable(w, r)
	if !ok {
		return
	} else if !some {
		empty := make(map[string][]Facet, len(facets))
		for _, f := range facets {
			empty[f] = []Facet{}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"facets": empty})
		return
	}
	res, err := h.Service.Facets(r.Context(), facets, andFilter(filter, readable))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"facets": res})
}

// yesNo reads a yn-style boolean query parameter.
func yesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "false", "0", "no", "n", "off":
		return false, nil
	case "true", "1", "yes", "y", "on":
		return true, nil
	}
	return false, errs.InputErrorf("invalid boolean %q", v)
}

// decodeLocationBody reads {type, target, presence?} and rejects other keys.
func decodeLocationBody(r *http.Request) (LocationSpec, error) {
	var raw map[string]json.RawMessage
	if err := httpapi.DecodeJSON(r, &raw); err != nil {
		return LocationSpec{}, err
	}
	var spec LocationSpec
	for k, v := range raw {
		var dst *string
		switch k {
		case "type":
			dst = &spec.Type
		case "target":
			dst = &spec.Target
		case "presence":
			dst = &spec.Presence
		default:
			return spec, errs.InputErrorf("invalid location: unknown key %q; a location has type, target and presence", k)
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return spec, errs.InputErrorf("invalid location: %s must be a string", k)
		}
	}
	if spec.Type == "" || spec.Target == "" {
		return spec, errs.InputErrorf("invalid location: type and target are required")
	}
	return spec, nil
}

func (h *HTTP) addLocation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dryRun, err := yesNo(q.Get("dryRun"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	onConflict := q.Get("onConflict")
	if onConflict != "" && onConflict != "refresh" && onConflict != "reject" {
		httpapi.WriteError(w, r, errs.InputErrorf("invalid onConflict %q: expected refresh or reject", onConflict))
		return
	}
	if !dryRun && !h.notReadonly(w, r) {
		return
	}
	spec, err := decodeLocationBody(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !h.authorize(w, r, permLocationCreate, "") {
		return
	}
	res, err := h.Service.AddLocation(r.Context(), spec, AddLocationOptions{DryRun: dryRun, OnConflict: onConflict})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !dryRun {
		res.Exists = nil
	}
	httpapi.WriteJSON(w, http.StatusCreated, res)
}

func (h *HTTP) locations(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r, permLocationRead, "") {
		return
	}
	locs, err := h.Service.Locations(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	out := make([]map[string]Location, len(locs))
	for i, l := range locs {
		out[i] = map[string]Location{"data": l}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *HTTP) queryLocations(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Cursor string          `json:"cursor"`
		Limit  int             `json:"limit"`
		Query  json.RawMessage `json:"query"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	filter, err := ParsePredicate(body.Query)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !h.authorize(w, r, permLocationRead, "") {
		return
	}
	items, total, next, err := h.Service.QueryLocations(r.Context(), filter, body.Limit, body.Cursor)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	pageInfo := map[string]string{}
	if next != "" {
		pageInfo["nextCursor"] = next
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "totalItems": total, "pageInfo": pageInfo})
}

func (h *HTTP) location(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r, permLocationRead, "") {
		return
	}
	l, err := h.Service.LocationByID(r.Context(), r.PathValue("id"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
}

func (h *HTTP) updateLocation(w http.ResponseWriter, r *http.Request) {
	if !h.notReadonly(w, r) {
		return
	}
	spec, err := decodeLocationBody(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !h.authorize(w, r, permLocationCreate, "") {
		return
	}
	l, err := h.Service.UpdateLocation(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
}

func (h *HTTP) deleteLocation(w http.ResponseWriter, r *http.Request) {
	if !h.notReadonly(w, r) || !h.authorize(w, r, permLocationDelete, "") {
		return
	}
	if err := h.Service.DeleteLocation(r.Context(), r.PathValue("id")); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *HTTP) locationByEntity(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(w, r, permLocationRead, "") {
		return
	}
	l, err := h.Service.LocationByEntity(r.Context(), pathRef(r))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
}

func (h *HTTP) validateEntity(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Entity   json.RawMessage `json:"entity"`
		Location string          `json:"location"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !h.authorize(w, r, permEntityValidate, "") {
		return
	}
	problems := h.Service.ValidateEntity(r.Context(), body.Entity, body.Location)
	if len(problems) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	list := make([]map[string]string, len(problems))
	for i, p := range problems {
		list[i] = map[string]string{"name": errorName(p), "message": p.Error()}
	}
	httpapi.WriteJSON(w, http.StatusBadRequest, map[string]any{"errors": list})
}

func (h *HTTP) analyzeLocation(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Location struct {
			Type   string `json:"type"`
			Target string `json:"target"`
		} `json:"location"`
		CatalogFilename string `json:"catalogFilename"`
		CatalogFileName string `json:"catalogFileName"`
	}
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !h.authorize(w, r, permLocationAnalyze, "") {
		return
	}
	name := cmpOr(body.CatalogFilename, body.CatalogFileName)
	res, err := h.Service.AnalyzeLocation(r.Context(), LocationSpec{Type: cmpOr(body.Location.Type, "url"), Target: body.Location.Target}, name)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}
