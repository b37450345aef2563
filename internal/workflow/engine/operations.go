package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-dev/portico/internal/workflow"
)

// ErrNotRunning is returned by the operator actions below for an instance
// that has no current state (it has ended, or keepActive holds it with
// nothing running).
var ErrNotRunning = errors.New("the instance has no current state")

// UpdateData replaces the workflow data from outside (SonataFlow's PUT
// and PATCH of an instance, the Data Index's ProcessInstanceUpdateVariables).
// The current state continues with the new data: what it computes from
// here on sees it, results already journaled stay as they were.
func (in *Instance) UpdateData(ctx context.Context, data any) error {
	if in.status != StatusActive && in.status != StatusError {
		return fmt.Errorf("update data: instance is %s: %w", in.status, ErrNotRunning)
	}
	return in.append(ctx, Entry{Kind: EntryDataUpdated, Data: data})
}

// Skip leaves the current state as if it had completed with the data it
// was entered with, follows its plain transition or end (a switch takes
// its default condition) and runs on. An instance in error whose failure
// the host has set aside is continued this way past the failed state.
func (in *Instance) Skip(ctx context.Context) (*Outcome, error) {
	st, err := in.current()
	if err != nil {
		return nil, err
	}
	choice := stateChoice(st)
	if st.Type == workflow.StateSwitch {
		choice = Choice{From: st.Name, Ref: "default"}
	}
	if err := in.advance(ctx, st, in.cur.Data, choice); err != nil {
		return nil, err
	}
	return in.Run(ctx)
}

// Goto leaves the current state without completing it and enters the
// named state with the current data (the Data Index's NodeInstanceTrigger),
// then runs on.
func (in *Instance) Goto(ctx context.Context, state string) (*Outcome, error) {
	st, err := in.current()
	if err != nil {
		return nil, err
	}
	if in.def.W.State(state) == nil {
		return nil, fmt.Errorf("no state named %q in workflow %s", state, in.def.W.ID)
	}
	exit := Entry{Kind: EntryStateExited, Step: in.cur.Step, State: st.Name, NodeType: in.def.NodeType(st.Name), Data: in.cur.Data}
	if err := in.enter(ctx, []Entry{exit}, &Cursor{State: state, Data: in.cur.Data, Compensable: in.cur.Compensable}); err != nil {
		return nil, err
	}
	return in.Run(ctx)
}

// current returns the state the instance is in.
func (in *Instance) current() (*workflow.State, error) {
	if in.status != StatusActive || in.cur == nil {
		return nil, ErrNotRunning
	}
	st := in.def.W.State(in.cur.State)
	if st == nil {
		return nil, fmt.Errorf("state %q is not in the definition", in.cur.State)
	}
	return st, nil
}
