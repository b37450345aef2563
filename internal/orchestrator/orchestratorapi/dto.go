package orchestratorapi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The request and response bodies of the v2 API, with the field names of
// the RHDH orchestrator plugin's OpenAPI document. Fields Portico adds
// (workflowResult, outputSchemaErrors, assessedBy, businessKey, category)
// are extra members that the plugin's clients ignore.

// SearchRequest is the body of the overview and instance searches.
type SearchRequest struct {
	Filters        *Filter         `json:"filters,omitempty"`
	PaginationInfo *PaginationInfo `json:"paginationInfo,omitempty"`
}

// PaginationInfo asks for a page and reports the page returned.
type PaginationInfo struct {
	PageSize       *FlexInt `json:"pageSize,omitempty"`
	Offset         *FlexInt `json:"offset,omitempty"`
	OrderBy        string   `json:"orderBy,omitempty"`
	OrderDirection string   `json:"orderDirection,omitempty"`
}

// FlexInt is a whole number sent as a JSON number or a numeric string, as
// the plugin's clients send either.
type FlexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return fmt.Errorf("paginationInfo.pageSize and offset must be whole numbers, got %s", b)
	}
	*n = FlexInt(f)
	return nil
}

// Filter is one node of a search filter: a logical filter (operator AND,
// OR or NOT over filters), a field filter (field, operator, value) or a
// nested filter (field "variables" with a nested filter on a key below it).
type Filter struct {
	Operator string   `json:"operator,omitempty"`
	Filters  []Filter `json:"filters,omitempty"`
	Field    string   `json:"field,omitempty"`
	// FieldName is accepted as another spelling of Field.
	FieldName string  `json:"fieldName,omitempty"`
	Value     any     `json:"value,omitempty"`
	Nested    *Filter `json:"nested,omitempty"`
}

// WorkflowOverviewList is WorkflowOverviewListResultDTO.
type WorkflowOverviewList struct {
	Overviews      []WorkflowOverview `json:"overviews"`
	PaginationInfo *PageInfo          `json:"paginationInfo,omitempty"`
}

// PageInfo is the paginationInfo of a response.
type PageInfo struct {
	PageSize       int    `json:"pageSize"`
	Offset         int    `json:"offset"`
	OrderBy        string `json:"orderBy,omitempty"`
	OrderDirection string `json:"orderDirection,omitempty"`
}

// WorkflowOverview is WorkflowOverviewDTO.
type WorkflowOverview struct {
	WorkflowID      string `json:"workflowId"`
	Name            string `json:"name,omitempty"`
	Format          string `json:"format"`
	LastRunID       string `json:"lastRunId,omitempty"`
	LastTriggeredMs int64  `json:"lastTriggeredMs"`
	LastRunStatus   string `json:"lastRunStatus,omitempty"`
	Category        string `json:"category"`
	Description     string `json:"description,omitempty"`
	IsAvailable     bool   `json:"isAvailable"`
}

// EntityOverviewRequest is the body of POST /v2/workflows/overview/entity.
type EntityOverviewRequest struct {
	TargetEntity          string   `json:"targetEntity"`
	AnnotationWorkflowIDs []string `json:"annotationWorkflowIds"`
}

// InputSchemaResponse is InputSchemaResponseDTO; both members are absent
// when the workflow has no input schema.
type InputSchemaResponse struct {
	InputSchema any            `json:"inputSchema,omitempty"`
	Data        map[string]any `json:"data,omitempty"`
}

// ProcessInstanceList is ProcessInstanceListResultDTO.
type ProcessInstanceList struct {
	Items          []*ProcessInstance `json:"items"`
	PaginationInfo *PageInfo          `json:"paginationInfo,omitempty"`
}

// ProcessInstance is ProcessInstanceDTO.
type ProcessInstance struct {
	ID               string          `json:"id"`
	ProcessID        string          `json:"processId"`
	ProcessName      string          `json:"processName,omitempty"`
	Description      string          `json:"description,omitempty"`
	ServiceURL       string          `json:"serviceUrl,omitempty"`
	Endpoint         string          `json:"endpoint,omitempty"`
	BusinessKey      string          `json:"businessKey,omitempty"`
	ExecutionSummary []string        `json:"executionSummary,omitempty"`
	Error            *InstanceError  `json:"error,omitempty"`
	Start            string          `json:"start,omitempty"`
	End              string          `json:"end,omitempty"`
	Duration         string          `json:"duration,omitempty"`
	WorkflowData     any             `json:"workflowdata,omitempty"`
	InitiatorEntity  string          `json:"initiatorEntity,omitempty"`
	TargetEntity     string          `json:"targetEntity,omitempty"`
	State            string          `json:"state,omitempty"`
	Category         string          `json:"category,omitempty"`
	Nodes            []NodeInstance  `json:"nodes"`
	WorkflowResult   *WorkflowResult `json:"workflowResult,omitempty"`
	// OutputSchemaErrors lists where workflowdata breaks the workflow's
	// output schema (the workflow-output-schema extension).
	OutputSchemaErrors []string `json:"outputSchemaErrors,omitempty"`
	// AssessedBy is the assessment instance that led to this one (named
	// by this instance's business key).
	AssessedBy *InstanceRef `json:"assessedBy,omitempty"`
}

// InstanceRef names another instance.
type InstanceRef struct {
	ID          string `json:"id"`
	ProcessID   string `json:"processId"`
	ProcessName string `json:"processName,omitempty"`
	State       string `json:"state"`
	Start       string `json:"start,omitempty"`
}

// AssessedInstance is the older AssessedProcessInstanceDTO, answered for
// GET /v2/workflows/instances/{id}?includeAssessment=true.
type AssessedInstance struct {
	Instance   *ProcessInstance `json:"instance"`
	AssessedBy *ProcessInstance `json:"assessedBy,omitempty"`
}

// InstanceError is ProcessInstanceErrorDTO.
type InstanceError struct {
	TypeName         string `json:"__typename"`
	NodeDefinitionID string `json:"nodeDefinitionId"`
	NodeInstanceID   string `json:"nodeInstanceId,omitempty"`
	Message          string `json:"message,omitempty"`
}

// NodeInstance is NodeInstanceDTO.
type NodeInstance struct {
	TypeName     string `json:"__typename"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	Enter        string `json:"enter"`
	Exit         string `json:"exit,omitempty"`
	DefinitionID string `json:"definitionId"`
	NodeID       string `json:"nodeId"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// StatusDTO is WorkflowRunStatusDTO.
type StatusDTO struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ExecuteRequest is ExecuteWorkflowRequestDTO.
type ExecuteRequest struct {
	InputData    json.RawMessage `json:"inputData,omitempty"`
	AuthTokens   []AuthToken     `json:"authTokens,omitempty"`
	TargetEntity string          `json:"targetEntity,omitempty"`
	// BusinessKey (also accepted as the businessKey query parameter, as
	// older clients send it) links a run to the assessment that led to it.
	BusinessKey string `json:"businessKey,omitempty"`
}

// AuthToken is a token of another provider, forwarded to the instance as
// the X-Authorization-<Provider> header.
type AuthToken struct {
	Provider string `json:"provider"`
	Token    string `json:"token"`
}

// ExecuteResponse is ExecuteWorkflowResponseDTO.
type ExecuteResponse struct {
	ID string `json:"id"`
}

// RetriggerRequest is RetriggerInstanceRequestDTO.
type RetriggerRequest struct {
	AuthTokens []AuthToken `json:"authTokens,omitempty"`
}

// WorkflowResult is an instance's result under the WorkflowResult
// convention (workflowdata.result), checked and with the workflows it
// suggests resolved.
type WorkflowResult struct {
	CompletedWith string   `json:"completedWith,omitempty"`
	Message       string   `json:"message,omitempty"`
	Outputs       []Output `json:"outputs,omitempty"`
	// NextWorkflows are the suggested workflows (result.nextWorkflows,
	// then the older workflowOptions lists), each saying whether it can
	// be run here.
	NextWorkflows []NextWorkflow `json:"nextWorkflows,omitempty"`
	// UnknownWorkflowIDs are suggested workflows that are not deployed.
	UnknownWorkflowIDs []string `json:"unknownWorkflowIds,omitempty"`
	// Problems are departures from the WorkflowResult schema.
	Problems []string `json:"problems,omitempty"`
}

// Output is one entry of result.outputs.
type Output struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Format string `json:"format,omitempty"`
}

// NextWorkflow is a suggested workflow.
type NextWorkflow struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Source says where the suggestion came from: "nextWorkflows" or
	// "workflowOptions.<list>".
	Source    string `json:"source"`
	Available bool   `json:"available"`
	Category  string `json:"category,omitempty"`
	// ExecutePath runs it (with the assessment as its business key) and
	// InputSchemaPath gives its form pre-filled from the assessment's data.
	ExecutePath     string `json:"executePath,omitempty"`
	InputSchemaPath string `json:"inputSchemaPath,omitempty"`
}
