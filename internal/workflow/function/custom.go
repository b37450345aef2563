package function

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// customREST runs SonataFlow's "rest:<method>:<url-or-path>" function. A
// path gets its host from kogito.sw.functions.<fn>.host/.port (and
// .protocol); "{x}" in the path takes argument x; arguments named
// HEADER_<h> and QUERY_<q> become headers and query parameters; the other
// arguments are the JSON body (or, for GET and DELETE, query parameters).
func (inv *Invoker) customREST(ctx context.Context, call *engine.Call, op string) (any, error) {
	fn := call.Function
	method, target, ok := strings.Cut(op, ":")
	if !ok || method == "" || target == "" {
		return nil, fmt.Errorf("function %q: operation %q is not rest:<method>:<url-or-path>", fn.Name, fn.Operation)
	}
	args := map[string]any{}
	if m, ok := call.Arguments.(map[string]any); ok {
		for k, v := range m {
			args[k] = v
		}
	}
	target, err := fillPath(target, args)
	if err != nil {
		return nil, fmt.Errorf("function %q: %w", fn.Name, err)
	}
	if !strings.Contains(target, "://") {
		prefix := "kogito.sw.functions." + fn.Name + "."
		host := call.Properties[prefix+"host"]
		if host == "" {
			host = "localhost"
		}
		port := call.Properties[prefix+"port"]
		proto := call.Properties[prefix+"protocol"]
		if proto == "" {
			proto = "http"
			if port == "443" {
				proto = "https"
			}
		}
		if port != "" {
			host += ":" + port
		}
		target = proto + "://" + host + "/" + strings.TrimLeft(target, "/")
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("function %q: bad URL %q: %w", fn.Name, target, err)
	}
	q := u.Query()
	r := &request{method: method, headers: http.Header{}}
	body := map[string]any{}
	for k, v := range args {
		switch {
		case strings.HasPrefix(k, "HEADER_"):
			r.headers.Set(k[len("HEADER_"):], expr.Text(v))
		case strings.HasPrefix(k, "QUERY_"):
			q.Set(k[len("QUERY_"):], expr.Text(v))
		default:
			body[k] = v
		}
	}
	switch strings.ToUpper(method) {
	case http.MethodGet, http.MethodDelete, http.MethodHead:
		for k, v := range body {
			q.Set(k, expr.Text(v))
		}
	default:
		r.body, r.hasBody = body, true
	}
	u.RawQuery = q.Encode()
	r.url = u.String()
	return inv.do(ctx, r)
}

// fillPath replaces {name} in a path with the argument name, which is then
// not sent in the body.
func fillPath(p string, args map[string]any) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			return b.String(), nil
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			b.WriteString(p)
			return b.String(), nil
		}
		name := p[i+1 : i+j]
		v, ok := args[name]
		if !ok {
			return "", fmt.Errorf("path parameter {%s} has no argument", name)
		}
		delete(args, name)
		b.WriteString(p[:i])
		b.WriteString(url.PathEscape(expr.Text(v)))
		p = p[i+j+1:]
	}
}
