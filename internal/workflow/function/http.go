package function

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
)

// request is an outbound call before it is sent.
type request struct {
	method  string
	url     string
	headers http.Header
	body    any // JSON-encoded unless a string with a non-JSON content type
	hasBody bool
}

// do sends r and decodes the response: JSON when it is JSON, text
// otherwise. Non-2xx responses are *HTTPError.
func (inv *Invoker) do(ctx context.Context, r *request) (*engine.Response, error) {
	var body io.Reader
	if r.hasBody {
		ct := r.headers.Get("Content-Type")
		if s, ok := r.body.(string); ok && ct != "" && !isJSON(ct) {
			body = strings.NewReader(s)
		} else {
			b, err := json.Marshal(r.body)
			if err != nil {
				return nil, fmt.Errorf("encode request body: %w", err)
			}
			body = bytes.NewReader(b)
			if ct == "" {
				r.headers.Set("Content-Type", "application/json")
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(r.method), r.url, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.headers {
		req.Header[k] = v
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json, */*")
	}
	resp, err := inv.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := inv.maxResponse()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", req.Method, r.url, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s %s: response larger than %d bytes", req.Method, r.url, limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &HTTPError{Method: req.Method, URL: r.url, Status: resp.StatusCode, Body: string(data)}
	}
	headers := make(map[string]string, len(resp.Header))
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ",")
	}
	return &engine.Response{Body: decodeBody(resp.Header.Get("Content-Type"), data), Headers: headers}, nil
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.Contains(ct, "json")
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// decodeBody returns JSON bodies as values and anything else as text; an
// empty body is null.
func decodeBody(ct string, data []byte) any {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	trimmed := bytes.TrimSpace(data)
	// Services often send JSON as text/plain (Go's default when no type is
	// set); a body that is an object or array is read as JSON then.
	looksJSON := trimmed[0] == '{' || trimmed[0] == '['
	if ct == "" || isJSON(ct) || looksJSON && strings.HasPrefix(ct, "text/plain") {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err == nil {
			if n, err := expr.Normalize(v); err == nil {
				return n
			}
		}
	}
	return string(data)
}
