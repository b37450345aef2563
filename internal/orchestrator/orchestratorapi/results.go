package orchestratorapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/portico-dev/portico/internal/orchestrator"
)

// Workflow categories, from the workflow-type annotations.
const (
	CategoryInfrastructure = "infrastructure"
	CategoryAssessment     = "assessment"

	annotationAssessment     = "workflow-type/assessment"
	annotationInfrastructure = "workflow-type/infrastructure"
)

// Category returns a workflow's category: assessment when it carries the
// workflow-type/assessment annotation, infrastructure otherwise (the
// default the orchestrator plugin applies to unannotated workflows).
func Category(annotations []string) string {
	if slices.Contains(annotations, annotationAssessment) {
		return CategoryAssessment
	}
	return CategoryInfrastructure
}

// workflowOptionLists are the lists of the older assessment output, in the
// order their suggestions are listed.
var workflowOptionLists = []string{"currentVersion", "upgradeOptions", "migrationOptions", "newOptions", "continuationOptions", "otherOptions"}

var outputFormats = []string{"text", "number", "link", "markdown"}

// workflowLookup tells whether a workflow is deployed (and runnable by the
// caller) and its category.
type workflowLookup func(id string) (available bool, category string, known bool)

// parseResult reads an instance's result under the WorkflowResult
// convention (workflowdata.result) and an assessment's older
// workflowOptions object, checks their shape and resolves the suggested
// workflows. It returns nil when the data has neither.
func parseResult(data any, instanceID string, lookup workflowLookup) *WorkflowResult {
	wd, _ := data.(map[string]any)
	if wd == nil {
		return nil
	}
	raw, hasResult := wd["result"]
	options, hasOptions := wd["workflowOptions"]
	if !hasResult && !hasOptions {
		return nil
	}
	r := &WorkflowResult{}
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	suggest := func(item any, source, where string) {
		m, ok := item.(map[string]any)
		if !ok {
			problem("%s: must be an object with id and name", where)
			return
		}
		id, _ := m["id"].(string)
		name, _ := m["name"].(string)
		if id == "" {
			problem("%s.id: missing; name the workflow to run next", where)
			return
		}
		if name == "" {
			problem("%s.name: missing; give a human-readable title", where)
			name = id
		}
		for _, n := range r.NextWorkflows {
			if n.ID == id {
				return // listed already, under a higher priority
			}
		}
		nw := NextWorkflow{ID: id, Name: name, Source: source}
		available, category, known := lookup(id)
		if !known {
			r.UnknownWorkflowIDs = append(r.UnknownWorkflowIDs, id)
		}
		nw.Available, nw.Category = available, category
		if available {
			q := url.Values{"businessKey": {instanceID}}
			nw.ExecutePath = "/api/orchestrator/v2/workflows/" + url.PathEscape(id) + "/execute?" + q.Encode()
			nw.InputSchemaPath = "/api/orchestrator/v2/workflows/" + url.PathEscape(id) + "/inputSchema?" + url.Values{"instanceId": {instanceID}}.Encode()
		}
		r.NextWorkflows = append(r.NextWorkflows, nw)
	}
	if hasResult {
		res, ok := raw.(map[string]any)
		if !ok {
			problem("result: must be an object (message, outputs, nextWorkflows)")
		} else {
			if v, ok := res["completedWith"]; ok {
				s, _ := v.(string)
				if s != "success" && s != "error" {
					problem("result.completedWith: must be success or error, got %v", v)
				}
				r.CompletedWith = s
			}
			if v, ok := res["message"]; ok {
				s, isStr := v.(string)
				if !isStr {
					problem("result.message: must be a string")
				}
				r.Message = s
			}
			if v, ok := res["outputs"]; ok {
				list, isList := v.([]any)
				if !isList {
					problem("result.outputs: must be a list of {key, value, format}")
				}
				for i, item := range list {
					where := fmt.Sprintf("result.outputs[%d]", i)
					m, ok := item.(map[string]any)
					if !ok {
						problem("%s: must be an object with key and value", where)
						continue
					}
					o := Output{Value: m["value"]}
					o.Key, _ = m["key"].(string)
					if o.Key == "" {
						problem("%s.key: missing", where)
					}
					switch o.Value.(type) {
					case string, float64:
					case nil:
						problem("%s.value: missing", where)
					default:
						problem("%s.value: must be a string or a number", where)
					}
					if f, ok := m["format"]; ok {
						o.Format, _ = f.(string)
						if !slices.Contains(outputFormats, o.Format) {
							problem("%s.format: must be one of %s, got %v", where, strings.Join(outputFormats, ", "), f)
						}
					}
					r.Outputs = append(r.Outputs, o)
				}
			}
			if v, ok := res["nextWorkflows"]; ok {
				list, isList := v.([]any)
				if !isList {
					problem("result.nextWorkflows: must be a list of {id, name}")
				}
				for i, item := range list {
					suggest(item, "nextWorkflows", fmt.Sprintf("result.nextWorkflows[%d]", i))
				}
			}
		}
	}
	if hasOptions {
		opts, ok := options.(map[string]any)
		if !ok {
			problem("workflowOptions: must be an object with %s", strings.Join(workflowOptionLists, ", "))
		}
		for _, name := range workflowOptionLists {
			if opts == nil {
				break
			}
			v, ok := opts[name]
			if !ok {
				problem("workflowOptions.%s: missing (an empty list will do)", name)
				continue
			}
			if name == "currentVersion" {
				if v != nil {
					suggest(v, "workflowOptions."+name, "workflowOptions."+name)
				}
				continue
			}
			list, isList := v.([]any)
			if !isList {
				problem("workflowOptions.%s: must be a list of {id, name}", name)
				continue
			}
			for i, item := range list {
				suggest(item, "workflowOptions."+name, fmt.Sprintf("workflowOptions.%s[%d]", name, i))
			}
		}
	}
	return r
}

var englishPrinter = message.NewPrinter(language.English)

// outputSchemas compiles workflows' output schemas once per version.
type outputSchemas struct {
	mu    sync.Mutex
	byVer map[string]*compiledSchema
}

type compiledSchema struct {
	schema *jsonschema.Schema
	err    error
}

// validate checks an instance's workflowdata against its workflow's output
// schema (the workflow-output-schema extension) and returns where it
// departs from it; nil when it conforms or there is no schema.
func (s *outputSchemas) validate(ctx context.Context, wf *orchestrator.Workflow, data any) []string {
	if wf == nil || wf.Definition.W.OutputSchema == nil {
		return nil
	}
	s.mu.Lock()
	if s.byVer == nil {
		s.byVer = map[string]*compiledSchema{}
	}
	c, ok := s.byVer[wf.Hash]
	if !ok {
		c = &compiledSchema{}
		c.schema, c.err = wf.Definition.W.CompileSchema(ctx, wf.Definition.W.OutputSchema)
		s.byVer[wf.Hash] = c
	}
	s.mu.Unlock()
	if c.err != nil {
		return []string{"the output schema does not compile: " + c.err.Error()}
	}
	if data == nil {
		data = map[string]any{}
	}
	// The validator wants JSON values as encoding/json decodes them into
	// interfaces; instance data is already that, except for numbers read
	// through json.Number elsewhere, so round-trip to be sure.
	b, err := json.Marshal(data)
	if err != nil {
		return []string{"workflowdata: " + err.Error()}
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		return []string{"workflowdata: " + err.Error()}
	}
	err = c.schema.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []string{err.Error()}
	}
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			out = append(out, loc+": "+e.ErrorKind.LocalizedString(englishPrinter))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}
