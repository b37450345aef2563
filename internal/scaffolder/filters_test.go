package scaffolder_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

func TestTemplateFilters(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{Filters: scaffolder.TemplateFilters()})
	data := map[string]any{"parameters": map[string]any{
		"repoUrl":   "github.com?owner=acme&repo=svc",
		"gitlabUrl": "gitlab.com?project=42&repo=svc",
		"bbUrl":     "bitbucket.org?workspace=ws&project=PRJ&repo=svc",
		"owner":     "group:platform/team-a",
		"bare":      "team-a",
		"entity":    map[string]any{"metadata": map[string]any{"name": "svc", "tags": []any{"x", "y"}}},
	}}
	tests := []struct{ name, src, want string }{
		{"parseRepoUrl", "${{ parameters.repoUrl | parseRepoUrl | dump }}", `{"host":"github.com","owner":"acme","repo":"svc"}`},
		{"parseRepoUrl member", "${{ (parameters.repoUrl | parseRepoUrl).owner }}", "acme"},
		{"parseRepoUrl gitlab project", "${{ parameters.gitlabUrl | parseRepoUrl | dump }}", `{"host":"gitlab.com","repo":"svc","project":"42"}`},
		{"parseRepoUrl bitbucket", "${{ parameters.bbUrl | parseRepoUrl | dump }}", `{"host":"bitbucket.org","repo":"svc","workspace":"ws","project":"PRJ"}`},
		{"projectSlug", "${{ parameters.repoUrl | projectSlug }}", "acme/svc"},
		{"parseEntityRef", "${{ parameters.owner | parseEntityRef | dump }}", `{"kind":"group","namespace":"platform","name":"team-a"}`},
		{"parseEntityRef defaults", "${{ parameters.bare | parseEntityRef({defaultKind: 'group', defaultNamespace: 'ns'}) | dump }}", `{"kind":"group","namespace":"ns","name":"team-a"}`},
		{"parseEntityRef default namespace", "${{ 'user:jdoe' | parseEntityRef | pick('namespace') }}", "default"},
		{"pick", "${{ parameters.owner | parseEntityRef | pick('name') }}", "team-a"},
		{"pick path", "${{ parameters.entity | pick('metadata.tags[1]') }}", "y"},
		{"pick missing", "[${{ parameters.entity | pick('spec.owner') }}]", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := env.RenderString(context.Background(), tt.src, data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTemplateFilterErrors(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{Filters: scaffolder.TemplateFilters()})
	tests := []struct{ name, src, contains string }{
		{"repoUrl missing owner", "${{ 'github.com?repo=svc' | parseRepoUrl }}", "missing owner"},
		{"repoUrl not a string", "${{ 5 | projectSlug }}", "must be a string"},
		{"bitbucket needs workspace", "${{ 'bitbucket.org?project=P&repo=r' | parseRepoUrl }}", "missing workspace"},
		{"entity ref without kind", "${{ 'team-a' | parseEntityRef }}", "missing or empty kind"},
		{"malformed entity ref", "${{ 'group:' | parseEntityRef }}", "was not on the form"},
		{"empty entity ref", "${{ '' | parseEntityRef }}", "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.RenderString(context.Background(), tt.src, nil)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("got %v, want an error containing %q", err, tt.contains)
			}
		})
	}
}

func TestTemplateFiltersForIntegrations(t *testing.T) {
	hosts := func(host string) (string, bool) {
		if host == "git.example.com" {
			return "gitea", true
		}
		return "", false
	}
	env := nunjucks.New(nunjucks.Options{Filters: scaffolder.TemplateFiltersFor(hosts)})
	got, err := env.RenderString(context.Background(), "${{ 'git.example.com?repo=svc' | parseRepoUrl | dump }}", nil)
	if err != nil || got != `{"host":"git.example.com","repo":"svc"}` {
		t.Errorf("got %s, %v", got, err)
	}
	_, err = env.RenderString(context.Background(), "${{ 'github.com?owner=a&repo=b' | parseRepoUrl }}", nil)
	if err == nil || !strings.Contains(err.Error(), "no integration") {
		t.Errorf("got %v, want a missing-integration error", err)
	}
}

func TestTemplatingExtensions(t *testing.T) {
	raw, err := json.Marshal(scaffolder.TemplatingExtensions())
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Filters map[string]struct {
			Description string           `json:"description"`
			Schema      map[string]any   `json:"schema"`
			Examples    []map[string]any `json:"examples"`
		} `json:"filters"`
		Globals struct {
			Functions map[string]any `json:"functions"`
			Values    map[string]any `json:"values"`
		} `json:"globals"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	for name := range scaffolder.TemplateFilters() {
		f, ok := body.Filters[name]
		if !ok {
			t.Errorf("filter %s is not listed", name)
			continue
		}
		if f.Description == "" || f.Schema["input"] == nil || f.Schema["output"] == nil || len(f.Examples) == 0 {
			t.Errorf("filter %s lacks description, schema or examples: %+v", name, f)
		}
		for _, ex := range f.Examples {
			if !strings.Contains(ex["example"].(string), name) {
				t.Errorf("filter %s example does not use it: %v", name, ex["example"])
			}
		}
	}
	if body.Globals.Functions == nil || body.Globals.Values == nil {
		t.Errorf("globals missing: %s", raw)
	}
}
