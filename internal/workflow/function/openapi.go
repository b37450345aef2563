package function

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// openAPISpec is a loaded OpenAPI document.
type openAPISpec struct {
	file string // loader path of the document
	doc  *openapi3.T
	err  error
}

type specKey struct {
	w    *workflow.Workflow
	file string
}

func (inv *Invoker) spec(ctx context.Context, w *workflow.Workflow, fn *workflow.Function) (*openAPISpec, error) {
	doc, _, _ := fn.OpenAPIOperation()
	key := specKey{w, doc}
	if v, ok := inv.specs.Load(key); ok {
		s := v.(*openAPISpec)
		return s, s.err
	}
	file, data, err := w.OpenAPIDocument(ctx, fn)
	s := &openAPISpec{file: file}
	if err != nil {
		s.err = fmt.Errorf("function %q: %w", fn.Name, err)
	} else {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		loader.Context = ctx
		if s.doc, err = loader.LoadFromData(data); err != nil {
			s.err = fmt.Errorf("function %q: OpenAPI document %s: %w", fn.Name, file, err)
		}
	}
	inv.specs.Store(key, s)
	return s, s.err
}

// openAPI calls the operation "<document>#<operationId>" of a rest
// function.
func (inv *Invoker) openAPI(ctx context.Context, call *engine.Call) (any, error) {
	fn := call.Function
	_, opID, ok := fn.OpenAPIOperation()
	if !ok {
		return nil, fmt.Errorf("function %q: operation %q is not <document>#<operationId>", fn.Name, fn.Operation)
	}
	s, err := inv.spec(ctx, call.Workflow, fn)
	if err != nil {
		return nil, err
	}
	method, p, op := findOperation(s.doc, opID)
	if op == nil {
		return nil, fmt.Errorf("function %q: operation %q not found in %s", fn.Name, opID, s.file)
	}
	base, err := baseURL(call, s)
	if err != nil {
		return nil, err
	}
	r := &request{method: method, headers: http.Header{}}
	args, isMap := call.Arguments.(map[string]any)
	rest := map[string]any{}
	for k, v := range args {
		rest[k] = v
	}
	q := url.Values{}
	params := append(openapi3.Parameters{}, s.doc.Paths.Find(p).Parameters...)
	params = append(params, op.Parameters...)
	for _, pr := range params {
		if pr.Value == nil {
			continue
		}
		v, ok := rest[pr.Value.Name]
		if !ok {
			if pr.Value.In == openapi3.ParameterInPath {
				return nil, fmt.Errorf("function %q: path parameter %q has no argument", fn.Name, pr.Value.Name)
			}
			continue
		}
		delete(rest, pr.Value.Name)
		switch pr.Value.In {
		case openapi3.ParameterInPath:
			p = strings.ReplaceAll(p, "{"+pr.Value.Name+"}", url.PathEscape(expr.Text(v)))
		case openapi3.ParameterInQuery:
			if list, ok := v.([]any); ok {
				for _, x := range list {
					q.Add(pr.Value.Name, expr.Text(x))
				}
			} else {
				q.Set(pr.Value.Name, expr.Text(v))
			}
		case openapi3.ParameterInHeader:
			r.headers.Set(pr.Value.Name, expr.Text(v))
		case openapi3.ParameterInCookie:
			r.headers.Add("Cookie", (&http.Cookie{Name: pr.Value.Name, Value: expr.Text(v)}).String())
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		ct, mt := bodyMediaType(op.RequestBody.Value)
		r.headers.Set("Content-Type", ct)
		r.hasBody = true
		switch {
		case !isMap:
			r.body = call.Arguments
		case mt != nil && mt.Schema != nil && mt.Schema.Value != nil && !mt.Schema.Value.Type.Is("object") && len(rest) == 1:
			for _, v := range rest {
				r.body = v
			}
		default:
			r.body = rest
		}
		if s, ok := r.body.(string); ok && !isJSON(ct) {
			r.body = s
		} else if !isJSON(ct) {
			r.body = expr.Text(r.body)
		}
	}
	if err := inv.authorize(ctx, call, r); err != nil {
		return nil, err
	}
	applySecurity(call, s, op, r, q)
	u := strings.TrimRight(base, "/") + "/" + strings.TrimLeft(p, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	r.url = u
	return inv.do(ctx, r)
}

func findOperation(doc *openapi3.T, id string) (method, path string, op *openapi3.Operation) {
	if doc.Paths == nil {
		return "", "", nil
	}
	for p, item := range doc.Paths.Map() {
		for m, o := range item.Operations() {
			if o.OperationID == id {
				return m, p, o
			}
		}
	}
	return "", "", nil
}

func bodyMediaType(rb *openapi3.RequestBody) (string, *openapi3.MediaType) {
	if mt := rb.Content.Get("application/json"); mt != nil {
		return "application/json", mt
	}
	for ct, mt := range rb.Content {
		if isJSON(ct) {
			return ct, mt
		}
	}
	for ct, mt := range rb.Content {
		return ct, mt
	}
	return "application/json", nil
}

var nonAlnum = regexp.MustCompile(`[^A-Za-z0-9]`)

// baseURL finds where a rest function's service is: Portico's
// orchestrator.functions.<name>.url, else SonataFlow's
// quarkus.rest-client.<key>.url with the key chosen by
// kogito.sw.operationIdStrategy (FILE_NAME by default, FUNCTION_NAME,
// SPEC_TITLE) or the function's configKey metadata, else an absolute
// server URL of the document.
func baseURL(call *engine.Call, s *openAPISpec) (string, error) {
	props := call.Properties
	fn := call.Function
	if u := props["orchestrator.functions."+fn.Name+".url"]; u != "" {
		return u, nil
	}
	fileKey := nonAlnum.ReplaceAllString(path.Base(s.file), "_")
	funcKey := call.Workflow.ID + "_" + fn.Name
	titleKey := ""
	if s.doc.Info != nil {
		titleKey = nonAlnum.ReplaceAllString(s.doc.Info.Title, "_")
	}
	var keys []string
	if ck, ok := fn.Metadata["configKey"].(string); ok && ck != "" {
		keys = append(keys, ck)
	}
	switch strings.ToUpper(props["kogito.sw.operationIdStrategy"]) {
	case "FUNCTION_NAME":
		keys = append(keys, funcKey, fileKey, titleKey)
	case "SPEC_TITLE":
		keys = append(keys, titleKey, fileKey, funcKey)
	default:
		keys = append(keys, fileKey, funcKey, titleKey)
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		for _, name := range []string{"quarkus.rest-client." + k + ".url", `quarkus.rest-client."` + k + `".url`} {
			if u := props[name]; u != "" {
				return u, nil
			}
		}
	}
	for _, srv := range s.doc.Servers {
		if srv != nil && strings.Contains(srv.URL, "://") {
			return srv.URL, nil
		}
	}
	return "", fmt.Errorf("function %q: no URL for the service of %s: set quarkus.rest-client.%s.url or orchestrator.functions.%s.url", fn.Name, s.file, keys[0], fn.Name)
}
