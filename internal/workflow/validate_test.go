package workflow

import (
	"context"
	"strings"
	"testing"
)

// one wraps states (YAML list items, indented by 2) in a minimal workflow
// whose start is "A", with a few definitions states can refer to.
func one(states string) string {
	return `id: t
start: A
functions:
  - {name: expr, type: expression, operation: .x}
  - {name: log, type: custom, operation: sysout}
events:
  - {name: in, type: in.t, source: s}
  - {name: out, type: out.t, kind: produced}
errors:
  - {name: boom, code: "500"}
retries:
  - {name: r, delay: PT1S, maxAttempts: 3}
states:
` + states
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		sev  Severity
		path string
		msg  string
	}{
		// References to states.
		{"transition to unknown state", one("  - {name: A, type: inject, data: {}, transition: Foo}\n"),
			SeverityError, "states[0].transition", `unknown state "Foo"; define a state named "Foo" or fix the transition`},
		{"transition object to unknown state", one("  - {name: A, type: inject, data: {}, transition: {nextState: Foo}}\n"),
			SeverityError, "states[0].transition", `unknown state "Foo"`},
		{"start unknown", strings.Replace(one("  - {name: B, type: inject, data: {}, end: true}\n"), "start: A", "start: {stateName: A}", 1),
			SeverityError, "start", `unknown state "A"`},
		{"start missing", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "start: A\n", "", 1),
			SeverityError, "", "the workflow has no start; add start: A"},
		{"no states", one("  []\n"), SeverityError, "states", "the workflow has no states"},
		{"no id", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "id: t\n", "", 1),
			SeverityError, "", "the workflow has no id"},
		{"switch condition to unknown state", one("  - {name: A, type: switch, dataConditions: [{condition: .ok, transition: Foo}], defaultCondition: {end: true}}\n"),
			SeverityError, "states[0].dataConditions[0].transition", `unknown state "Foo"`},
		{"switch default to unknown state", one("  - {name: A, type: switch, dataConditions: [{condition: .ok, end: true}], defaultCondition: {transition: Foo}}\n"),
			SeverityError, "states[0].defaultCondition.transition", `unknown state "Foo"`},
		{"onErrors to unknown state", one("  - {name: A, type: inject, data: {}, end: true, onErrors: [{errorRef: boom, transition: Foo}]}\n"),
			SeverityError, "states[0].onErrors[0].transition", `unknown state "Foo"`},
		{"runBefore unknown", one("  - {name: A, type: inject, data: {}, end: true}\ntimeouts: {workflowExecTimeout: {duration: PT1H, runBefore: Foo}}\n"),
			SeverityError, "timeouts.workflowExecTimeout.runBefore", `unknown state "Foo"`},
		{"neither transition nor end", one("  - {name: A, type: inject, data: {}}\n"),
			SeverityError, "states[0]", "neither transition nor end is set"},
		{"both transition and end", one("  - {name: A, type: inject, data: {}, transition: A, end: true}\n"),
			SeverityError, "states[0]", "both transition and end are set"},

		// References to definitions.
		{"unknown function", one("  - {name: A, type: operation, actions: [{functionRef: nope}], end: true}\n"),
			SeverityError, "states[0].actions[0].functionRef", `unknown function "nope"; define it under functions`},
		{"unknown fn: in expression", one("  - {name: A, type: switch, dataConditions: [{condition: 'fn:nope', end: true}], defaultCondition: {end: true}}\n"),
			SeverityError, "states[0].dataConditions[0].condition", `unknown function "nope"`},
		{"fn: on a non-expression function", one("  - {name: A, type: switch, dataConditions: [{condition: 'fn:log', end: true}], defaultCondition: {end: true}}\n"),
			SeverityError, "states[0].dataConditions[0].condition", "fn: works only with expression functions"},
		{"unknown event in onEvents", one("  - {name: A, type: event, onEvents: [{eventRefs: [nope]}], end: true}\n"),
			SeverityError, "states[0].onEvents[0].eventRefs[0]", `unknown event "nope"`},
		{"unknown event in eventConditions", one("  - {name: A, type: switch, eventConditions: [{eventRef: nope, end: true}], defaultCondition: {end: true}}\n"),
			SeverityError, "states[0].eventConditions[0].eventRef", `unknown event "nope"`},
		{"unknown callback event", one("  - {name: A, type: callback, action: {functionRef: log}, eventRef: nope, end: true}\n"),
			SeverityError, "states[0].eventRef", `unknown event "nope"`},
		{"unknown trigger event", one("  - {name: A, type: operation, actions: [{eventRef: {triggerEventRef: nope}}], end: true}\n"),
			SeverityError, "states[0].actions[0].eventRef.triggerEventRef", `unknown event "nope"`},
		{"unknown produced event", one("  - {name: A, type: inject, data: {}, end: {produceEvents: [{eventRef: nope}]}}\n"),
			SeverityError, "states[0].end.produceEvents[0].eventRef", `unknown event "nope"`},
		{"consumed event produced", one("  - {name: A, type: inject, data: {}, end: {produceEvents: [{eventRef: in}]}}\n"),
			SeverityWarning, "states[0].end.produceEvents[0].eventRef", "set its kind to produced"},
		{"unknown error", one("  - {name: A, type: inject, data: {}, end: true, onErrors: [{errorRefs: [boom, nope], end: true}]}\n"),
			SeverityError, "states[0].onErrors[0].errorRefs[1]", `unknown error "nope"`},
		{"onErrors without ref", one("  - {name: A, type: inject, data: {}, end: true, onErrors: [{end: true}]}\n"),
			SeverityError, "states[0].onErrors[0]", "without errorRef or errorRefs"},
		{"unknown retry", one("  - {name: A, type: operation, actions: [{functionRef: log, retryRef: nope}], end: true}\n"),
			SeverityError, "states[0].actions[0].retryRef", `unknown retry definition "nope"`},
		{"unknown retryable error", one("  - {name: A, type: operation, actions: [{functionRef: log, retryableErrors: [nope]}], end: true}\n"),
			SeverityError, "states[0].actions[0].retryableErrors[0]", `unknown error "nope"`},
		{"unknown authRef", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "operation: sysout}", "operation: sysout, authRef: nope}", 1),
			SeverityError, "functions[1].authRef", `unknown auth definition "nope"`},
		{"action with two refs", one("  - {name: A, type: operation, actions: [{functionRef: log, subFlowRef: x}], end: true}\n"),
			SeverityError, "states[0].actions[0]", "exactly one of functionRef, eventRef or subFlowRef (found 2)"},

		// Duplicates.
		{"duplicate state", one("  - {name: A, type: inject, data: {}, transition: A}\n  - {name: A, type: inject, data: {}, end: true}\n"),
			SeverityError, "states[1].name", `duplicate state name "A" (states[0] has it too)`},
		{"duplicate event", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "{name: out,", "{name: in,", 1),
			SeverityError, "events[1].name", `duplicate event name "in"`},
		{"duplicate error", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "errors:\n", "errors:\n  - {name: boom}\n", 1),
			SeverityError, "errors[1].name", `duplicate error name "boom"`},

		// Compensation.
		{"transition into compensation state", one("  - {name: A, type: inject, data: {}, transition: U}\n  - {name: U, type: inject, data: {}, usedForCompensation: true}\n"),
			SeverityError, "states[0].transition", `state "U" is used for compensation and cannot be entered by a transition`},
		{"compensatedBy without usedForCompensation", one("  - {name: A, type: inject, data: {}, compensatedBy: U, transition: U}\n  - {name: U, type: inject, data: {}, end: true}\n"),
			SeverityError, "states[0].compensatedBy", `does not set usedForCompensation: true`},
		{"recursive compensation", one("  - {name: A, type: inject, data: {}, compensatedBy: U, end: true}\n  - {name: U, type: inject, data: {}, usedForCompensation: true, compensatedBy: V}\n  - {name: V, type: inject, data: {}, usedForCompensation: true}\n"),
			SeverityError, "states[1].compensatedBy", "compensation is not recursive"},
		{"compensation leaves compensation", one("  - {name: A, type: inject, data: {}, compensatedBy: U, transition: B}\n  - {name: B, type: inject, data: {}, end: true}\n  - {name: U, type: inject, data: {}, usedForCompensation: true, transition: B}\n"),
			SeverityError, "states[2].transition", "may only transition to other compensation states"},
		{"event state compensates", one("  - {name: A, type: inject, data: {}, compensatedBy: U, end: true}\n  - {name: U, type: event, onEvents: [{eventRefs: [in]}], usedForCompensation: true}\n"),
			SeverityError, "states[0].compensatedBy", "is an event state"},
		{"unknown compensatedBy", one("  - {name: A, type: inject, data: {}, compensatedBy: Ghost, end: true}\n"),
			SeverityError, "states[0].compensatedBy", `unknown state "Ghost"`},

		// State shapes.
		{"unknown state type", one("  - {name: A, type: wait, end: true}\n"),
			SeverityError, "states[0].type", `unknown type "wait"`},
		{"missing state type", one("  - {name: A, end: true}\n"),
			SeverityError, "states[0]", "has no type"},
		{"switch without conditions", one("  - {name: A, type: switch, defaultCondition: {end: true}}\n"),
			SeverityError, "states[0]", "has no dataConditions or eventConditions"},
		{"switch with both kinds", one("  - {name: A, type: switch, dataConditions: [{condition: .a, end: true}], eventConditions: [{eventRef: in, end: true}], defaultCondition: {end: true}}\n"),
			SeverityError, "states[0]", "both dataConditions and eventConditions"},
		{"switch without default", one("  - {name: A, type: switch, dataConditions: [{condition: .a, end: true}]}\n"),
			SeverityWarning, "states[0]", "has no defaultCondition"},
		{"sleep without duration", one("  - {name: A, type: sleep, end: true}\n"),
			SeverityError, "states[0]", "has no duration"},
		{"bad duration", one("  - {name: A, type: sleep, duration: 10s, end: true}\n"),
			SeverityError, "states[0].duration", `invalid ISO 8601 duration "10s"`},
		{"bad timeout", one("  - {name: A, type: inject, data: {}, end: true, timeouts: {eventTimeout: soon}}\n"),
			SeverityError, "states[0].timeouts.eventTimeout", `invalid ISO 8601 duration "soon"`},
		{"parallel atLeast", one("  - {name: A, type: parallel, completionType: atLeast, numCompleted: 3, branches: [{name: b, actions: []}], end: true}\n"),
			SeverityError, "states[0].numCompleted", "between 1 and the number of branches (1)"},
		{"foreach without input", one("  - {name: A, type: foreach, actions: [], end: true}\n"),
			SeverityError, "states[0]", "has no inputCollection"},
		{"callback without action", one("  - {name: A, type: callback, eventRef: in, end: true}\n"),
			SeverityError, "states[0]", "has no action"},
		{"event state without onEvents", one("  - {name: A, type: event, end: true}\n"),
			SeverityError, "states[0]", "has no onEvents"},
		{"unknown field", one("  - {name: A, type: inject, data: {}, end: true, tranistion: B}\n"),
			SeverityWarning, "states[0].tranistion", `unknown field "tranistion" is ignored`},
		{"field of another state type", one("  - {name: A, type: inject, data: {}, actions: [{functionRef: log}], end: true}\n"),
			SeverityWarning, "states[0].actions", "actions does not apply to a inject state and is ignored"},
		{"nonRetryableErrors without autoRetries", one("  - {name: A, type: operation, actions: [{functionRef: log, nonRetryableErrors: [boom]}], end: true}\n"),
			SeverityWarning, "states[0].actions[0].nonRetryableErrors", "ignored unless autoRetries is true"},
		{"retryableErrors with autoRetries", strings.Replace(one("  - {name: A, type: operation, actions: [{functionRef: log, retryableErrors: [boom]}], end: true}\n"), "id: t\n", "id: t\nautoRetries: true\n", 1),
			SeverityWarning, "states[0].actions[0].retryableErrors", "ignored when autoRetries is true"},
		{"unreachable", one("  - {name: A, type: inject, data: {}, end: true}\n  - {name: B, type: inject, data: {}, end: true}\n"),
			SeverityWarning, "states[1]", `state "B" is never reached from the start state "A"`},

		// Expressions.
		{"bad condition", one("  - {name: A, type: switch, dataConditions: [{condition: '${ .a >= }', end: true}], defaultCondition: {end: true}}\n"),
			SeverityError, "states[0].dataConditions[0].condition", "compile error"},
		{"unknown jq function", one("  - {name: A, type: inject, data: {}, end: true, stateDataFilter: {output: '${ lenght }'}}\n"),
			SeverityError, "states[0].stateDataFilter.output", "compile error"},
		{"bad action filter", one("  - {name: A, type: operation, actions: [{functionRef: log, actionDataFilter: {results: '.a |'}}], end: true}\n"),
			SeverityError, "states[0].actions[0].actionDataFilter.results", "compile error"},
		{"bad wrapped argument", one("  - {name: A, type: operation, actions: [{functionRef: {refName: log, arguments: {message: '${ .a | }'}}}], end: true}\n"),
			SeverityError, "states[0].actions[0].functionRef.arguments.message", "compile error"},
		{"bad expression function", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "operation: .x}", "operation: '.x |'}", 1),
			SeverityError, "functions[0].operation", "compile error"},
		{"bad foreach input", one("  - {name: A, type: foreach, inputCollection: '.[', actions: [], end: true}\n"),
			SeverityError, "states[0].inputCollection", "compile error"},
		{"bad jsonpath", strings.Replace(one("  - {name: A, type: switch, dataConditions: [{condition: '$.a $.b', end: true}], defaultCondition: {end: true}}\n"), "id: t\n", "id: t\nexpressionLang: jsonpath\n", 1),
			SeverityError, "states[0].dataConditions[0].condition", "JSONPath syntax error"},
		{"unknown expression language", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "id: t\n", "id: t\nexpressionLang: xpath\n", 1),
			SeverityError, "expressionLang", `unknown expression language "xpath"`},

		// Functions Portico cannot run.
		{"graphql", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "type: custom, operation: sysout", "type: graphql, operation: 'https://x#query#a'", 1),
			SeverityError, "functions[1].type", `function "log" has type graphql, which Portico does not support yet`},
		{"asyncapi", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "type: custom, operation: sysout", "type: asyncapi, operation: 'a.yaml#op'", 1),
			SeverityError, "functions[1].type", "type asyncapi, which Portico does not support yet"},
		{"rpc", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "type: custom, operation: sysout", "type: rpc, operation: 'a.proto#S#m'", 1),
			SeverityError, "functions[1].type", "type rpc, which Portico does not support yet"},
		{"odata", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "type: custom, operation: sysout", "type: odata, operation: 'https://x#E'", 1),
			SeverityError, "functions[1].type", "type odata, which Portico does not support yet"},
		{"service:java", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "operation: sysout", "operation: 'service:java:a.B::m'", 1),
			SeverityError, "functions[1].operation", `function "log": custom operation "service" is not supported yet`},
		{"script:python", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "operation: sysout", "operation: 'script:python'", 1),
			SeverityError, "functions[1].operation", `custom operation "script" is not supported yet`},
		{"bad sysout level", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "operation: sysout", "operation: 'sysout:LOUD'", 1),
			SeverityError, "functions[1].operation", `unknown sysout level "LOUD"`},
		{"bad custom rest", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "operation: sysout", "operation: 'rest:fetch:/x'", 1),
			SeverityError, "functions[1].operation", "rest:<method>:<url or path>"},
		{"rest without operation id", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "type: custom, operation: sysout", "operation: specs/api.yaml", 1),
			SeverityError, "functions[1].operation", "specs/api.yaml#operationId"},

		// Schemas.
		{"missing input schema", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "id: t\n", "id: t\ndataInputSchema: schemas/none.json\n", 1),
			SeverityError, "dataInputSchema", `cannot load schema "schemas/none.json"`},
		{"invalid input schema", strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "id: t\n", "id: t\ndataInputSchema: {schema: {type: 12}}\n", 1),
			SeverityError, "dataInputSchema", "is not a valid JSON Schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse(context.Background(), "t.sw.yaml", []byte(tt.src), MapLoader{})
			if err != nil {
				t.Fatal(err)
			}
			findings := Validate(context.Background(), w)
			for _, f := range findings {
				if f.Severity == tt.sev && f.Path == tt.path && strings.Contains(f.Message, tt.msg) {
					if f.Line == 0 && tt.path != "" {
						t.Errorf("finding has no line: %s", f)
					}
					return
				}
			}
			t.Errorf("want %s at %q containing %q, got:\n%s", tt.sev, tt.path, tt.msg, joinFindings(findings))
		})
	}
}

func TestValidateClean(t *testing.T) {
	// Things SonataFlow accepts that a stricter reading would refuse.
	tests := map[string]string{
		"interpolation fallback": one("  - {name: A, type: operation, actions: [{functionRef: {refName: log, arguments: {message: 'Hello \\(.name)'}}}], end: true}\n"),
		"jq string arguments":    one("  - {name: A, type: operation, actions: [{functionRef: {refName: log, arguments: '{message: .a}'}}], end: true}\n"),
		"literal argument text":  one("  - {name: A, type: operation, actions: [{functionRef: {refName: log, arguments: {message: 'not | jq |'}}}], end: true}\n"),
		"process variables":      one("  - {name: A, type: inject, data: {}, end: true, stateDataFilter: {output: '${ {e: $initiatorEntity, c: $CONST.x, s: $SECRET.y, w: $WORKFLOW.instanceId} }'}}\n"),
		"jsonpath":               strings.Replace(one("  - {name: A, type: switch, dataConditions: [{condition: '$.[?(@.a)]', end: true}], defaultCondition: {end: true}}\n"), "id: t\n", "id: t\nexpressionLang: jsonpath\n", 1),
		"fn: inside a program":   one("  - {name: A, type: inject, data: {}, end: true, stateDataFilter: {output: '${ [.[] | fn:expr] }'}}\n"),
		"fn: expression":         one("  - {name: A, type: switch, dataConditions: [{condition: 'fn:expr', end: true}], defaultCondition: {end: true}}\n"),
		"compensation":           one("  - {name: A, type: inject, data: {}, compensatedBy: U, transition: {nextState: B, compensate: true}}\n  - {name: B, type: inject, data: {}, end: {compensate: true}}\n  - {name: U, type: inject, data: {}, usedForCompensation: true, transition: V}\n  - {name: V, type: inject, data: {}, usedForCompensation: true}\n"),
		"onErrors loop":          one("  - {name: A, type: operation, actions: [{functionRef: log, retryRef: r, retryableErrors: [boom]}], transition: B, onErrors: [{errorRef: boom, transition: B}]}\n  - {name: B, type: sleep, duration: PT1S, end: true}\n"),
		"custom rest":            strings.Replace(one("  - {name: A, type: inject, data: {}, end: true}\n"), "operation: sysout", "operation: 'rest:post:https://x/{id}'", 1),
		"event switch":           one("  - {name: A, type: switch, eventConditions: [{eventRef: in, transition: B}], defaultCondition: {end: true}, timeouts: {eventTimeout: PT1M}}\n  - {name: B, type: inject, data: {}, end: {produceEvents: [{eventRef: out, data: '${ . }'}]}}\n"),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := Parse(context.Background(), "t.sw.yaml", []byte(src), MapLoader{})
			if err != nil {
				t.Fatal(err)
			}
			if f := Validate(context.Background(), w); len(f) > 0 {
				t.Errorf("want no findings, got:\n%s", joinFindings(f))
			}
		})
	}
}

func joinFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}
