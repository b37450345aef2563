package engine

import (
	"context"
	"slices"
	"sync"
	"time"
)

// EntryKind is the kind of a journal entry.
type EntryKind string

// Journal entry kinds.
const (
	EntryStarted         EntryKind = "started"
	EntryStateEntered    EntryKind = "stateEntered"
	EntryStateExited     EntryKind = "stateExited"
	EntryActionStarted   EntryKind = "actionStarted"
	EntryActionCompleted EntryKind = "actionCompleted"
	EntryActionFailed    EntryKind = "actionFailed"
	EntryWaitStarted     EntryKind = "waitStarted"
	EntrySignal          EntryKind = "signal"
	EntryEventProduced   EntryKind = "eventProduced"
	EntrySubFlowStarted  EntryKind = "subFlowStarted"
	EntryCompleted       EntryKind = "completed"
	EntryFailed          EntryKind = "failed"
	EntryAborted         EntryKind = "aborted"
	EntryExpired         EntryKind = "expired"
	// EntryKeptActive: the workflow reached an end but keepActive keeps
	// the instance active (with no state running) until it is aborted or
	// its workflowExecTimeout expires.
	EntryKeptActive EntryKind = "keptActive"
	// EntryDataUpdated: the workflow data was replaced from outside; Data
	// holds the new data.
	EntryDataUpdated EntryKind = "dataUpdated"
)

// Entry is one step of an instance, in the order it happened. Entries are
// plain data and marshal to JSON, so a host can store them as rows.
type Entry struct {
	// Seq numbers the instance's entries from 1 without gaps.
	Seq  int64     `json:"seq"`
	Kind EntryKind `json:"kind"`
	Time time.Time `json:"time"`
	// Step numbers the state visits (node instances) of the instance.
	Step int `json:"step,omitempty"`
	// State and NodeType name the state and the node type SonataFlow
	// reports for it (StateEntered, StateExited) or for the action.
	State    string `json:"state,omitempty"`
	NodeType string `json:"nodeType,omitempty"`
	// Key identifies an action attempt, a wait or a produced event within
	// the instance.
	Key string `json:"key,omitempty"`
	// Name is the action's name, when it has one.
	Name string `json:"name,omitempty"`

	Start  *StartInfo `json:"start,omitempty"`  // Started
	Cursor *Cursor    `json:"cursor,omitempty"` // StateEntered
	Data   any        `json:"data,omitempty"`   // StateExited, Completed: state or workflow data
	Result any        `json:"result,omitempty"` // ActionCompleted
	// Headers are the response headers of a function call (ActionCompleted).
	Headers map[string]string `json:"headers,omitempty"`
	Error   *ErrorInfo        `json:"error,omitempty"`   // ActionFailed, Failed
	Wait    *Wait             `json:"wait,omitempty"`    // WaitStarted
	Signal  *Signal           `json:"signal,omitempty"`  // Signal
	Event   *Event            `json:"event,omitempty"`   // EventProduced
	SubFlow *SubFlowRequest   `json:"subFlow,omitempty"` // SubFlowStarted (async sub-flows)
	// ContinueAs is set on Completed when the workflow continues as a new
	// execution.
	ContinueAs *SubFlowRequest `json:"continueAs,omitempty"`
}

// StartInfo is what an instance was started with.
type StartInfo struct {
	InstanceID  string            `json:"instanceId"`
	WorkflowID  string            `json:"workflowId"`
	Version     string            `json:"version,omitempty"`
	Input       any               `json:"input"`
	Variables   map[string]any    `json:"variables,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	BusinessKey string            `json:"businessKey,omitempty"`
	ParentID    string            `json:"parentId,omitempty"`
	// Identity is who started the instance ($WORKFLOW.identity).
	Identity any `json:"identity,omitempty"`
	// Event is the event that started the instance, for workflows whose
	// start state is an event state.
	Event *Event `json:"event,omitempty"`
}

// Journal records an instance's steps. Append must make the entries durable
// (or fail) before it returns: the engine starts the next step only after
// that. Entries given in one call belong together (a state's exit and the
// next state's entry) and should be stored atomically. A host that sends
// produced events or starts sub-flows should treat EventProduced and
// SubFlowStarted entries as its outbox.
type Journal interface {
	Append(ctx context.Context, entries ...Entry) error
}

// MemoryJournal keeps entries in memory; it serves the local runner and
// tests. It is safe for concurrent use.
type MemoryJournal struct {
	mu      sync.Mutex
	entries []Entry
	// OnAppend, when set, is called with each batch after it is stored;
	// the local runner prints transitions with it.
	OnAppend func([]Entry)
}

// Append stores entries.
func (j *MemoryJournal) Append(_ context.Context, entries ...Entry) error {
	j.mu.Lock()
	j.entries = append(j.entries, entries...)
	j.mu.Unlock()
	if j.OnAppend != nil {
		j.OnAppend(entries)
	}
	return nil
}

// Entries returns a copy of the stored entries.
func (j *MemoryJournal) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}
