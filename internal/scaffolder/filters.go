package scaffolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

// RepoHostType names the kind of SCM serving a host ("github", "gitlab",
// "bitbucketCloud", "bitbucketServer", "azure", "gitea", "gerrit"), and
// reports false for a host no integration is configured for.
type RepoHostType func(host string) (string, bool)

// DefaultRepoHostType knows the public SCM hosts and treats any other host
// as GitHub-like (owner and repo required), so templates work before
// integrations are configured.
func DefaultRepoHostType(host string) (string, bool) {
	switch strings.ToLower(host) {
	case "gitlab.com":
		return "gitlab", true
	case "bitbucket.org", "www.bitbucket.org":
		return "bitbucketCloud", true
	case "dev.azure.com":
		return "azure", true
	case "gitea.com":
		return "gitea", true
	}
	return "github", true
}

// TemplateFilters returns the scaffolder's own template filters
// (parseRepoUrl, parseEntityRef, pick, projectSlug), to add to the
// Nunjucks built-ins. Repository hosts are classified by well-known names;
// TemplateFiltersFor uses the configured integrations instead.
func TemplateFilters() map[string]nunjucks.Filter {
	return TemplateFiltersFor(DefaultRepoHostType)
}

// TemplateFiltersFor is TemplateFilters with repository hosts classified
// by hostType (from the integrations config): a repoUrl whose host has no
// integration is an error, as in Backstage.
func TemplateFiltersFor(hostType RepoHostType) map[string]nunjucks.Filter {
	return map[string]nunjucks.Filter{
		"parseRepoUrl": func(v any, _ ...any) (any, error) {
			spec, err := parseRepoURL(v, hostType)
			if err != nil {
				return nil, err
			}
			return spec.object(), nil
		},
		"projectSlug": func(v any, _ ...any) (any, error) {
			spec, err := parseRepoURL(v, hostType)
			if err != nil {
				return nil, err
			}
			// Like Backstage, a missing owner prints as "undefined".
			owner := "undefined"
			if spec.owner != nil {
				owner = *spec.owner
			}
			return owner + "/" + spec.repo, nil
		},
		"parseEntityRef": parseEntityRefFilter,
		"pick": func(v any, args ...any) (any, error) {
			if len(args) == 0 {
				return nunjucks.Undefined, nil
			}
			return pickPath(v, args[0]), nil
		},
	}
}

// repoSpec is a parsed RepoUrlPicker value.
type repoSpec struct {
	host, repo                              string
	owner, organization, workspace, project *string
}

func (s repoSpec) object() any {
	vals := map[string]any{"host": s.host, "repo": s.repo}
	for k, p := range map[string]*string{"owner": s.owner, "organization": s.organization, "workspace": s.workspace, "project": s.project} {
		if p != nil {
			vals[k] = *p
		}
	}
	return nunjucks.NewObject([]string{"host", "owner", "repo", "organization", "workspace", "project"}, vals)
}

// parseRepoURL parses `<host>?owner=<o>&repo=<r>[&organization=…]` as
// Backstage does (as the URL https://<repoUrl>), and checks the query
// parameters the host's SCM needs.
func parseRepoURL(v any, hostType RepoHostType) (repoSpec, error) {
	raw, ok := v.(string)
	if !ok {
		return repoSpec{}, fmt.Errorf("repo URL must be a string like github.com?owner=<owner>&repo=<repo>, got %s", jsonText(v))
	}
	u, err := url.Parse("https://" + raw)
	if err != nil || u.Host == "" {
		return repoSpec{}, fmt.Errorf("invalid repo URL %q: want <host>?owner=<owner>&repo=<repo>", raw)
	}
	q := u.Query()
	get := func(k string) *string {
		if !q.Has(k) {
			return nil
		}
		s := q.Get(k)
		return &s
	}
	spec := repoSpec{host: u.Host, repo: q.Get("repo"), owner: get("owner"), organization: get("organization"), workspace: get("workspace"), project: get("project")}
	typ, ok := hostType(u.Host)
	if !ok {
		return repoSpec{}, fmt.Errorf("no integration is configured for host %s: add it under integrations in the config", u.Host)
	}
	var required []string
	switch typ {
	case "bitbucketCloud", "bitbucket":
		if typ == "bitbucketCloud" || strings.EqualFold(u.Host, "bitbucket.org") || strings.EqualFold(u.Host, "www.bitbucket.org") {
			required = []string{"workspace", "project", "repo"}
		} else {
			required = []string{"project", "repo"}
		}
	case "bitbucketServer", "azure":
		required = []string{"project", "repo"}
	case "gitlab":
		if spec.project == nil {
			required = []string{"owner", "repo"}
		}
	case "gitea", "gerrit":
		required = []string{"repo"}
	default:
		required = []string{"repo", "owner"}
	}
	for _, k := range required {
		if q.Get(k) == "" {
			return repoSpec{}, fmt.Errorf("invalid repo URL %q: missing %s", raw, k)
		}
	}
	return spec, nil
}

// parseEntityRefFilter parses `[<kind>:][<namespace>/]<name>` (or an object
// with kind/namespace/name) with optional {defaultKind, defaultNamespace}.
func parseEntityRefFilter(v any, args ...any) (any, error) {
	var defaultKind, defaultNamespace string
	if len(args) > 0 {
		if ctx, ok := nunjucks.ToGo(args[0]).(map[string]any); ok {
			defaultKind, _ = ctx["defaultKind"].(string)
			defaultNamespace, _ = ctx["defaultNamespace"].(string)
		}
	}
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	var kind, namespace, name string
	var hasKind, hasNamespace bool
	switch ref := nunjucks.ToGo(v).(type) {
	case string:
		if ref == "" {
			return nil, errors.New("entity reference must not be empty")
		}
		colon := strings.Index(ref, ":")
		slash := strings.Index(ref, "/")
		if slash != -1 && slash < colon {
			colon = -1
		}
		if colon != -1 {
			kind, hasKind = ref[:colon], true
		}
		if slash != -1 {
			namespace, hasNamespace = ref[colon+1:slash], true
		}
		name = ref[max(colon+1, slash+1):]
		if (hasKind && kind == "") || (hasNamespace && namespace == "") || name == "" {
			return nil, fmt.Errorf("entity reference %q was not on the form [<kind>:][<namespace>/]<name>", ref)
		}
	case map[string]any:
		kind, hasKind = ref["kind"].(string)
		namespace, hasNamespace = ref["namespace"].(string)
		name, _ = ref["name"].(string)
	case nil:
		return nil, errors.New("entity reference must not be empty")
	default:
		return nil, fmt.Errorf("entity reference must be a string or an object, got %s", jsonText(v))
	}
	if !hasKind {
		kind = defaultKind
	}
	if !hasNamespace {
		namespace = defaultNamespace
	}
	switch {
	case kind == "":
		return nil, fmt.Errorf(`entity reference %s had missing or empty kind (e.g. did not start with "component:" or similar)`, jsonText(v))
	case namespace == "":
		return nil, fmt.Errorf("entity reference %s had missing or empty namespace", jsonText(v))
	case name == "":
		return nil, fmt.Errorf("entity reference %s had missing or empty name", jsonText(v))
	}
	return nunjucks.NewObject([]string{"kind", "namespace", "name"}, map[string]any{"kind": kind, "namespace": namespace, "name": name}), nil
}

func jsonText(v any) string {
	b, err := json.Marshal(nunjucks.ToGo(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// pickPath reads a property path ("a.b", "items[0].name") from v, like
// lodash's get: a missing step yields undefined.
func pickPath(v any, path any) any {
	var parts []string
	switch p := path.(type) {
	case string:
		parts = splitPropertyPath(p)
	case []any:
		for _, x := range p {
			parts = append(parts, fmt.Sprint(nunjucks.ToGo(x)))
		}
	default:
		parts = []string{fmt.Sprint(nunjucks.ToGo(path))}
	}
	cur := nunjucks.ToGo(v)
	for _, part := range parts {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[part]
			if !ok {
				return nunjucks.Undefined
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				if part == "length" {
					cur = float64(len(c))
					continue
				}
				return nunjucks.Undefined
			}
			cur = c[i]
		default:
			return nunjucks.Undefined
		}
	}
	return cur
}

// splitPropertyPath splits "a.b[0]['c']" into a, b, 0, c.
func splitPropertyPath(p string) []string {
	var parts []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			parts = append(parts, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '.':
			flush()
		case '[':
			flush()
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				cur.WriteString(p[i:])
				i = len(p)
				continue
			}
			inner := strings.Trim(p[i+1:i+end], `"'`)
			parts = append(parts, inner)
			i += end
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return parts
}

const jsonSchemaDraft = "http://json-schema.org/draft-07/schema#"

func withDraft(s map[string]any) map[string]any {
	s["$schema"] = jsonSchemaDraft
	return s
}

// TemplatingExtensions is the body of GET /v2/templating-extensions: the
// scaffolder's filters with their description, JSON Schemas (input, extra
// arguments, output) and examples, and the (empty) global functions and
// values.
func TemplatingExtensions() map[string]any {
	repoURLInput := func() map[string]any {
		return withDraft(map[string]any{"type": "string", "description": "repository URL as the RepoUrlPicker field produces it"})
	}
	repoSpecOutput := withDraft(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"repo": map[string]any{"type": "string"}, "host": map[string]any{"type": "string"},
			"owner": map[string]any{"type": "string"}, "organization": map[string]any{"type": "string"},
			"workspace": map[string]any{"type": "string"}, "project": map[string]any{"type": "string"},
		},
		"required":             []any{"repo", "host"},
		"additionalProperties": false,
		"description":          "`RepoSpec`",
	})
	entityRefOutput := withDraft(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"kind": map[string]any{"type": "string"}, "namespace": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"},
		},
		"required":             []any{"kind", "namespace", "name"},
		"additionalProperties": false,
		"description":          "`CompoundEntityRef`",
	})
	return map[string]any{
		"filters": map[string]any{
			"parseRepoUrl": map[string]any{
				"description": "Splits a repository URL from the repository picker into host, owner, repo and the other parts the SCM uses.",
				"schema":      map[string]any{"input": repoURLInput(), "output": repoSpecOutput},
				"examples": []any{map[string]any{
					"example": "- id: log\n  name: Show the repository\n  action: debug:log\n  input:\n    message: ${{ parameters.repoUrl | parseRepoUrl }}\n",
					"notes":   "- **Input**: `github.com?repo=portico&owner=acme`\n- **Output**: `{\"host\":\"github.com\",\"owner\":\"acme\",\"repo\":\"portico\"}`\n",
				}},
			},
			"parseEntityRef": map[string]any{
				"description": "Splits an entity reference into kind, namespace and name, filling in defaults.",
				"schema": map[string]any{
					"input": withDraft(map[string]any{"anyOf": []any{
						map[string]any{"type": "string", "description": "entity reference such as group:default/team-a"},
						map[string]any{
							"type": "object",
							"properties": map[string]any{
								"kind": map[string]any{"type": "string"}, "namespace": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"},
							},
							"required": []any{"name"}, "additionalProperties": false, "description": "`CompoundEntityRef`",
						},
					}}),
					"arguments": []any{withDraft(map[string]any{
						"type": "object",
						"properties": map[string]any{
							"defaultKind":      map[string]any{"type": "string", "description": "kind to use when the reference has none"},
							"defaultNamespace": map[string]any{"type": "string", "description": "namespace to use when the reference has none"},
						},
						"additionalProperties": false,
					})},
					"output": entityRefOutput,
				},
				"examples": []any{
					map[string]any{
						"description": "A full reference",
						"example":     "- id: log\n  name: Show the owner\n  action: debug:log\n  input:\n    message: ${{ parameters.owner | parseEntityRef }}\n",
						"notes":       "- **Input**: `group:team-a`\n- **Output**: `{\"kind\":\"group\",\"namespace\":\"default\",\"name\":\"team-a\"}`\n",
					},
					map[string]any{
						"description": "A bare name with defaults",
						"example":     "- id: log\n  name: Show the owner\n  action: debug:log\n  input:\n    message: ${{ parameters.owner | parseEntityRef({ defaultKind: \"group\", defaultNamespace: \"platform\" }) }}\n",
						"notes":       "- **Input**: `team-a`\n- **Output**: `{\"kind\":\"group\",\"namespace\":\"platform\",\"name\":\"team-a\"}`\n",
					},
				},
			},
			"pick": map[string]any{
				"description": "Reads one property (a dotted path such as metadata.name) from an object.",
				"schema": map[string]any{
					"input":     withDraft(map[string]any{}),
					"arguments": []any{withDraft(map[string]any{"type": "string", "description": "property path"})},
					"output":    withDraft(map[string]any{"description": "the property's value"}),
				},
				"examples": []any{map[string]any{
					"example": "- id: log\n  name: Show the owner's name\n  action: debug:log\n  input:\n    message: ${{ parameters.owner | parseEntityRef | pick('name') }}\n",
					"notes":   "- **Input**: `group:default/team-a`\n- **Output**: `team-a`\n",
				}},
			},
			"projectSlug": map[string]any{
				"description": "Turns a repository URL from the repository picker into owner/repo.",
				"schema":      map[string]any{"input": repoURLInput(), "output": withDraft(map[string]any{"type": "string"})},
				"examples": []any{map[string]any{
					"example": "- id: log\n  name: Show the slug\n  action: debug:log\n  input:\n    message: ${{ parameters.repoUrl | projectSlug }}\n",
					"notes":   "- **Input**: `github.com?repo=portico&owner=acme`\n- **Output**: `acme/portico`\n",
				}},
			},
		},
		"globals": map[string]any{
			"functions": map[string]any{},
			"values":    map[string]any{},
		},
	}
}
