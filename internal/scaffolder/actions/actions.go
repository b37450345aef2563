// Package actions holds the scaffolder's built-in actions: fetching and
// rendering skeletons, workspace file operations, catalog registration,
// publishing to git and GitHub, and starting orchestrator workflows.
//
// Every action writes through ActionContext.Workspace (an os.Root), so a
// name or target path with "../" or an escaping symlink is refused and
// nothing is written outside the task's workspace.
package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

// Catalog is what the catalog:* actions need from the catalog;
// *catalog.Service implements it.
type Catalog interface {
	AddLocation(ctx context.Context, spec catalog.LocationSpec, opts catalog.AddLocationOptions) (*catalog.AddLocationResult, error)
	EntityJSON(ctx context.Context, ref catalog.Ref) ([]byte, error)
}

// Orchestrator is what orchestrator:workflow:run needs from the workflow
// runtime; *orchestrator.Runtime implements it.
type Orchestrator interface {
	Start(ctx context.Context, req orchestrator.StartRequest) (*orchestrator.Result, error)
	Instance(ctx context.Context, id string) (*orchestrator.Instance, error)
}

// ReadAllow is an entry of backend.reading.allow, the same list the
// catalog reads URLs under: fetch:* actions may download from its hosts.
type ReadAllow = catalog.ReadAllow

// Deps is what the built-in actions use from the rest of Portico. A nil
// Catalog or Orchestrator leaves their actions out.
type Deps struct {
	Catalog      Catalog
	Orchestrator Orchestrator
	// Integrations read GitHub and GitLab URLs (fetch:*) and give
	// publish:github its API and token; nil means Backstage's defaults
	// (github.com and gitlab.com without tokens) over HTTPClient.
	Integrations *integrations.Set
	// ReadAllow lists the hosts fetch:* may download from; file:// URLs
	// are allowed only below the template's own directory.
	ReadAllow []ReadAllow
	// FileSystems are the named file systems template locations may live
	// in (location type to file system, such as Portico's embedded
	// examples); a template based at "embedded:templates/x/" fetches
	// ./skeleton from there.
	FileSystems map[string]fs.FS
	// TemplateFilters are the filters fetch:template offers besides
	// Nunjucks' own (parseRepoUrl, parseEntityRef, pick, projectSlug).
	TemplateFilters map[string]nunjucks.Filter
	// HTTPClient makes the GitHub API requests of publish:github (and the
	// fetches when Integrations is nil).
	HTTPClient *http.Client
	// DefaultAuthor and DefaultCommitMessage are scaffolder.defaultAuthor
	// and scaffolder.defaultCommitMessage.
	DefaultAuthor        GitAuthor
	DefaultCommitMessage string
	// LocalGitDir is where publish:git keeps local bare repositories
	// (repoUrl local?owner=…&repo=…) and the only place file:// remotes
	// may point into; empty allows neither.
	LocalGitDir string
	// MaxFetchSize bounds what fetch:* read in total per call; 0 means
	// DefaultMaxFetchSize.
	MaxFetchSize int64
}

// GitAuthor is the name and e-mail commits are made with.
type GitAuthor struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
}

// DefaultMaxFetchSize bounds a fetched skeleton: larger ones are refused
// before they fill the disk or memory.
const DefaultMaxFetchSize = 200 << 20

// Builtins returns the built-in actions.
func Builtins(deps Deps) []scaffolder.Action {
	if deps.HTTPClient == nil {
		deps.HTTPClient = http.DefaultClient
	}
	if deps.Integrations == nil {
		// An empty configuration is always valid.
		deps.Integrations, _ = integrations.New(integrations.Config{}, deps.HTTPClient)
	}
	if deps.MaxFetchSize <= 0 {
		deps.MaxFetchSize = DefaultMaxFetchSize
	}
	if deps.DefaultAuthor.Name == "" {
		deps.DefaultAuthor.Name = "Scaffolder"
	}
	if deps.DefaultAuthor.Email == "" {
		deps.DefaultAuthor.Email = "scaffolder@backstage.io"
	}
	if deps.TemplateFilters == nil {
		deps.TemplateFilters = scaffolder.TemplateFilters()
	}
	if deps.DefaultCommitMessage == "" {
		deps.DefaultCommitMessage = "Initial commit"
	}
	out := []scaffolder.Action{
		debugLog(),
		debugWait(),
	}
	f := &fetcher{deps: deps}
	out = append(out, fetchPlain(f), fetchPlainFile(f), fetchTemplate(f), fetchTemplateFile(f),
		fsDelete(), fsRename(), fsReaddir(), publishGit(deps), publishGitHub(deps), catalogWrite())
	if deps.Catalog != nil {
		out = append(out, catalogRegister(deps.Catalog), catalogFetch(deps.Catalog))
	}
	if deps.Orchestrator != nil {
		out = append(out, orchestratorRun(deps.Orchestrator))
	}
	return out
}

// decodeInput converts an action's input into in, naming the field whose
// value has the wrong type.
func decodeInput(input map[string]any, in any) error {
	data, err := json.Marshal(input)
	if err != nil {
		return fmt.Errorf("encode input: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("input.%s: expected %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("invalid input: %w", err)
	}
	return nil
}

// jsonValue turns v into plain JSON values (map[string]any, []any,
// float64, ...), the form step outputs take so templates can read them.
func jsonValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil
	}
	return out
}

// schema builds a JSON Schema object from properties and required names.
func schema(title string, required []string, props map[string]any) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if title != "" {
		s["title"] = title
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func prop(typ, title string) map[string]any {
	p := map[string]any{"title": title}
	if typ != "" {
		p["type"] = typ
	}
	return p
}

func stringList(title string) map[string]any {
	return map[string]any{"title": title, "type": "array", "items": map[string]any{"type": "string"}}
}

// lines indents a multi-line example block.
func lines(s ...string) string { return strings.Join(s, "\n") }
