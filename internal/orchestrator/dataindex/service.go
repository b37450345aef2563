// Package dataindex serves the Data Index GraphQL API over the workflow
// runtime's own tables: the queries the RHDH orchestrator plugin and Data
// Index tooling send (ProcessDefinitions, ProcessInstances, Jobs, the
// Count* queries) with the Data Index's argument types, filters, ordering
// and pagination, and its mutations, which call the runtime.
//
// There is no ingestion: definitions come from the runtime's registry and
// instances, node instances and timers are read from the tables the
// runtime writes, so an instance is visible the moment it is stored.
// Filters compile to parameterised SQL for SQLite and PostgreSQL
// (filter.go); nested fields are loaded for a whole page at once
// (instances.go). The schema is schema.graphqls, compiled by gqlgen into
// generated.go and models_gen.go.
package dataindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/store"
)

// Options configure a Service.
type Options struct {
	Runtime *orchestrator.Runtime
	DB      *store.DB
	Logger  *slog.Logger
	// DefaultPageSize is the page size of an instance or job query
	// without pagination.limit (default 1000).
	DefaultPageSize int
	// MaxPageSize bounds pagination.limit (default 1000; the plugin asks
	// for pages of up to 1000).
	MaxPageSize int
	// MaxDepth bounds how deeply selections nest, not counting
	// introspection (default 12).
	MaxDepth int
	// MaxComplexity bounds a query's cost: a field costs 1, a list of
	// instances costs its page size times its fields (default 200000).
	MaxComplexity int
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
}

// Service answers Data Index queries.
type Service struct {
	rt   *orchestrator.Runtime
	db   *store.DB
	log  *slog.Logger
	opts Options

	mu   sync.Mutex
	defs map[string]*ProcessDefinition // definition hash -> converted

	srv *handler.Server
}

// New returns a Service.
func New(opts Options) *Service {
	if opts.DefaultPageSize <= 0 {
		opts.DefaultPageSize = 1000
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 1000
	}
	opts.DefaultPageSize = min(opts.DefaultPageSize, opts.MaxPageSize)
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = 12
	}
	if opts.MaxComplexity <= 0 {
		opts.MaxComplexity = 200000
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{rt: opts.Runtime, db: opts.DB, log: opts.Logger, opts: opts, defs: map[string]*ProcessDefinition{}}
	cfg := Config{Resolvers: &Resolver{s: s}}
	s.complexity(&cfg.Complexity)
	srv := handler.New(NewExecutableSchema(cfg))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(depthLimit{max: opts.MaxDepth})
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	srv.SetErrorPresenter(s.presentError)
	srv.SetRecoverFunc(func(ctx context.Context, err any) error {
		s.log.Error("data index query panicked", "panic", err)
		return errors.New("internal error; see the server log")
	})
	s.srv = srv
	return s
}

// ServeHTTP answers GraphQL over HTTP: POST with a JSON body and GET with
// query parameters. Invalid queries get HTTP 200 with an errors array, as
// GraphQL clients expect.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	}
	s.srv.ServeHTTP(&statusWriter{ResponseWriter: w}, r)
}

// statusWriter turns gqlgen's 400 and 422 answers (a body that is not a
// GraphQL request, a query that does not parse or validate) into 200: the
// body carries the errors either way, and Data Index clients read errors
// only from 200 responses.
type statusWriter struct {
	http.ResponseWriter
}

func (w *statusWriter) WriteHeader(code int) {
	if code == http.StatusBadRequest || code == http.StatusUnprocessableEntity {
		code = http.StatusOK
	}
	w.ResponseWriter.WriteHeader(code)
}

// presentError reports errors as they are: resolvers already replaced
// internal failures with a generic message (see internal), so what is
// left is for the caller to read.
func (s *Service) presentError(ctx context.Context, err error) *gqlerror.Error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = errors.New("the query was cancelled or timed out")
	}
	e := graphql.DefaultErrorPresenter(ctx, err)
	if len(e.Path) > 0 {
		// A field failed: the Data Index classifies this as
		// graphql-java does, and clients such as the orchestrator plugin
		// look at the classification.
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		e.Extensions["classification"] = "DataFetchingException"
	}
	return e
}

// internal logs a failure inside Portico (a database error, say) and
// returns what the caller sees instead, which reveals no internals.
func (s *Service) internal(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	s.log.Error("data index: "+what, "error", err)
	return fmt.Errorf("internal error while %s; see the server log", what)
}

// userError is a failure the caller can fix or must know about (unknown
// instance, operation not supported, instance in the wrong state).
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...)}
}

// depthLimit refuses queries whose selections nest more deeply than max
// (introspection fields, which nest by design, are not counted).
type depthLimit struct{ max int }

func (depthLimit) ExtensionName() string { return "DepthLimit" }

func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	depth := selectionDepth(oc.Operation.SelectionSet, oc.Doc, map[string]bool{})
	if depth > d.max {
		return gqlerror.Errorf("the query nests %d levels deep; at most %d are allowed: select fewer nested fields", depth, d.max)
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, doc *ast.QueryDocument, seen map[string]bool) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = 1 + selectionDepth(s.SelectionSet, doc, seen)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, doc, seen)
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue // a fragment cycle; validation reports it
			}
			if f := doc.Fragments.ForName(s.Name); f != nil {
				seen[s.Name] = true
				d = selectionDepth(f.SelectionSet, doc, seen)
				delete(seen, s.Name)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// complexity prices list fields by how many items they can return.
func (s *Service) complexity(c *ComplexityRoot) {
	page := func(p *Pagination) int {
		if p != nil && p.Limit != nil && *p.Limit > 0 {
			return min(*p.Limit, s.opts.MaxPageSize)
		}
		return s.opts.DefaultPageSize
	}
	c.Query.ProcessInstances = func(child int, _ *ProcessInstanceArgument, _ *ProcessInstanceOrderBy, p *Pagination) int {
		return 1 + page(p)*child
	}
	c.Query.Jobs = func(child int, _ *JobArgument, _ *JobOrderBy, p *Pagination) int {
		return 1 + page(p)*child
	}
	c.ProcessInstance.ChildProcessInstances = func(child int) int { return 1 + 10*child }
	c.ProcessInstance.Nodes = func(child int) int { return 1 + 10*child }
}
