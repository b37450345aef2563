// Package httpapi is what plugins use to serve HTTP: a router that mounts
// their routes under /api/<plugin> behind authentication and the default
// auth policy, and helpers that read JSON bodies and write JSON responses and
// Backstage-shaped errors.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// ErrorBody is Backstage's error response shape.
type ErrorBody struct {
	Error    ErrorInfo    `json:"error"`
	Request  RequestInfo  `json:"request"`
	Response ResponseInfo `json:"response"`
}

// ErrorInfo is the "error" member of ErrorBody.
type ErrorInfo struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// RequestInfo is the "request" member of ErrorBody.
type RequestInfo struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// ResponseInfo is the "response" member of ErrorBody.
type ResponseInfo struct {
	StatusCode int `json:"statusCode"`
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client is gone if this fails
}

// WriteError writes err in Backstage's error shape with the status its kind
// maps to. Internal errors are logged with the request id and reported
// without their details, which may reveal internals.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	kind := errs.KindOf(err)
	status := kind.Status()
	msg := err.Error()
	if kind == errs.Internal {
		id := RequestID(r.Context())
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		msg = "Internal server error; the server log has the details under request id " + id
	}
	WriteJSON(w, status, ErrorBody{
		Error:    ErrorInfo{Name: string(kind), Message: msg},
		Request:  RequestInfo{Method: r.Method, URL: r.URL.RequestURI()},
		Response: ResponseInfo{StatusCode: status},
	})
}

// DecodeJSON reads a JSON request body into dst. Malformed JSON, a body of
// the wrong shape, trailing data and an over-long body become Input or
// PayloadTooLarge errors that say what is wrong and where.
func DecodeJSON(r *http.Request, dst any) error {
	if r.Body == nil {
		return errs.InputErrorf("missing JSON request body")
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			if e := jsonError(err); errs.KindOf(e) == errs.PayloadTooLarge {
				return e
			}
		}
		return errs.InputErrorf("malformed JSON request body: unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return errs.New(errs.PayloadTooLarge, "request body is too large: the limit is %s", formatBytes(maxErr.Limit))
	case errors.Is(err, io.EOF):
		return errs.InputErrorf("missing JSON request body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.InputErrorf("malformed JSON request body: it ends too early")
	case errors.As(err, &syntaxErr):
		return errs.InputErrorf("malformed JSON request body: %s (at byte %d)", syntaxErr.Error(), syntaxErr.Offset)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the body"
		}
		return errs.InputErrorf("invalid JSON request body: %s must be %s, got %s", field, article(typeErr.Type.String()), typeErr.Value)
	default:
		return errs.InputErrorf("invalid JSON request body: %v", err)
	}
}

func article(t string) string {
	switch {
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct"):
		return "an object"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	}
	return "a " + t
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

type requestIDKey struct{}

// WithRequestID returns a context carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type shutdownKey struct{}

// WithShutdown returns a context carrying the server's shutdown signal.
func WithShutdown(ctx context.Context, ch <-chan struct{}) context.Context {
	return context.WithValue(ctx, shutdownKey{}, ch)
}

// ShuttingDown returns a channel closed when the server begins a graceful
// shutdown. Handlers that stream (SSE, WebSocket, long polls) must return
// when it closes; ordinary requests just finish. It is never closed for a
// context without the signal.
func ShuttingDown(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(shutdownKey{}).(<-chan struct{})
	return ch
}
