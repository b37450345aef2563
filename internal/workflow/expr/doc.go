// Package expr compiles and evaluates the jq expressions of Serverless
// Workflow 0.8 files the way SonataFlow does, and implements the workflow
// data filters and the merging of action results and event data into state
// data.
//
// # Expression text
//
// An expression may be wrapped as "${ ... }" or written bare: "${ .a }"
// and ".a" are the same jq program (the legacy "{{ ... }}" wrapper is
// accepted too). Text that is not valid jq is retried as the body of a jq
// string, and kept as such when that string interpolates something:
// `Hello \(.name)!` means the jq string "Hello \(.name)!". Nothing else is
// rewritten: plain text, text with "${...}" in the middle and JSONPath-like
// "$.name" are not jq, and fail to compile (a Template keeps such strings as
// literal text). Evaluation uses gojq, which follows jq 1.7; SonataFlow
// used jackson-jq with jq 1.6 built-ins, so a few corner cases of built-in
// functions differ.
//
// A workflow whose expressionLang is "jsonpath" is compiled with
// WithLanguage(LangJSONPath): the part of Jayway's JSONPath that SonataFlow
// workflows use (paths, wildcards, indexes and slices, deep scan, filters
// with comparisons), read with Jayway's rules.
//
// The expression functions of a workflow (functions of type "expression")
// are given with WithFunctions. "fn:name" as the whole expression stands for
// that function's operation, as in SonataFlow; inside a larger program
// fn:name calls it as a jq function, so `map(fn:price)` works too.
//
// # Variables
//
// $CONST is the workflow's constants, $SECRET (SonataFlow's name) and
// $SECRETS (the spec's) the secrets, and $WORKFLOW an object with id, name,
// instanceId, headers, prevActionResult, identity and input. Any other $name
// is a process variable from Vars.Process, such as the RHDH orchestrator's
// $initiatorEntity or a foreach iteration parameter $item. Every variable an
// expression mentions is declared when it is compiled and is null when the
// run does not supply it, so one compiled expression serves every run.
//
// # Results
//
// Eval collects outputs as SonataFlow does: none is null, one is that value,
// several become an array. First takes the first output and fails on none.
// Condition reads the result with SonataFlow's truthiness (see Truthy), Text
// joins the outputs with spaces, and Template evaluates every string of an
// object or array that is an expression, keeping the other strings (and the
// strings whose evaluation fails, as SonataFlow does for function arguments).
//
// # Workflow data
//
// An Evaluator bundles a Cache with a workflow's options and implements the
// data filters on top: StateFilter (stateDataFilter input and output; a
// filter that selects nothing leaves the data as it is, as the spec says),
// ActionInput and MergeActionResult (actionDataFilter), MergeEventData and
// StartEventData (eventDataFilter), and Assign for toStateData-like paths.
// Results are merged with Merge, which follows SonataFlow's rules: objects
// merge deeply with the new value winning, a non-object merged into an
// object lands under "response", an array replaces an array (or, with
// Evaluator.ConcatArrays, gains the new elements as in the spec's example).
// All of these are pure functions: they never modify their arguments.
//
// # Safety
//
// Evaluation takes a context and is bounded by a timeout (DefaultTimeout
// unless set with WithTimeout). The limit is checked between the steps of
// the jq program, so one long built-in call (sorting a huge array, repeating
// a string a hundred million times) finishes before it applies, and memory
// use is not bounded beyond gojq's own size limits. Inputs and variable
// values are converted to JSON-shaped values first (see Normalize). Every
// failure is an *Error whose Kind tells compile errors from runtime and input
// errors; nothing panics. Compiled expressions are immutable and safe for
// concurrent use; a Cache shares them between runs.
package expr
