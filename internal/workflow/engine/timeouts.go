package engine

import (
	"context"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
)

const workflowTimeoutID = "workflowExecTimeout"

// workflowDeadline returns when the workflowExecTimeout expires, or zero.
func (in *Instance) workflowDeadline() time.Time {
	t := in.def.W.Timeouts
	if t == nil || t.WorkflowExecTimeout == nil || t.WorkflowExecTimeout.Duration == "" || in.expired {
		return time.Time{}
	}
	d, err := workflow.ParseDuration(t.WorkflowExecTimeout.Duration)
	if err != nil {
		return time.Time{}
	}
	return in.startedAt.Add(d)
}

func (in *Instance) workflowDeadlinePassed() bool {
	at := in.workflowDeadline()
	return !at.IsZero() && !in.def.eng.now().Before(at)
}

// armWorkflowTimeout records the workflowExecTimeout timer once.
func (in *Instance) armWorkflowTimeout(ctx context.Context) error {
	at := in.workflowDeadline()
	if at.IsZero() || in.status != StatusActive {
		return nil
	}
	if _, ok := in.global[workflowTimeoutID]; ok {
		return nil
	}
	w := &Wait{ID: workflowTimeoutID, Kind: WaitTimer, At: at, Reason: "workflowExecTimeout"}
	return in.append(ctx, Entry{Kind: EntryWaitStarted, Key: w.ID, Wait: w})
}

// fireWorkflowTimeout handles the workflowExecTimeout timer. SonataFlow
// interrupts the running state whatever interrupt says (a waiting state
// could otherwise keep the instance forever); with runBefore, that state
// runs first and the instance completes after it, otherwise it is aborted.
func (in *Instance) fireWorkflowTimeout(ctx context.Context, w *Wait) (*Outcome, error) {
	in.out = &Outcome{}
	if err := in.expire(ctx); err != nil {
		return nil, err
	}
	return in.Run(ctx)
}

func (in *Instance) expire(ctx context.Context) error {
	in.def.eng.logger().Debug("workflowExecTimeout expired", "instance", in.ID())
	exp := Entry{Kind: EntryExpired, Key: workflowTimeoutID}
	rb := in.def.W.Timeouts.WorkflowExecTimeout.RunBefore
	if rb == "" || in.def.W.State(rb) == nil {
		return in.append(ctx, exp, Entry{Kind: EntryAborted, NodeType: "EndNode", Data: in.Data()})
	}
	data := in.Data()
	var compensable []string
	if in.cur != nil {
		compensable = in.cur.Compensable
	}
	if err := in.append(ctx, exp); err != nil {
		return err
	}
	return in.enter(ctx, nil, &Cursor{State: rb, Data: data, Finishing: true, Compensable: compensable})
}

// finishExpired ends an instance whose workflowExecTimeout expired, once
// its runBefore state has run.
func (in *Instance) finishExpired(ctx context.Context, pre []Entry, data any, cur *Cursor) error {
	if cur.Finishing {
		return in.append(ctx, append(pre, Entry{Kind: EntryCompleted, NodeType: "EndNode", Data: data})...)
	}
	return in.append(ctx, append(pre, Entry{Kind: EntryAborted, NodeType: "EndNode", Data: data})...)
}

// timeoutOf returns a state's timeout, falling back to the workflow's.
func (in *Instance) timeoutOf(st *workflow.State, pick func(*workflow.Timeouts) string) time.Duration {
	for _, t := range []*workflow.Timeouts{st.Timeouts, in.def.W.Timeouts} {
		if t == nil {
			continue
		}
		if s := pick(t); s != "" {
			if d, err := workflow.ParseDuration(s); err == nil {
				return d
			}
		}
	}
	return 0
}

func stateExecTimeout(t *workflow.Timeouts) string {
	if t.StateExecTimeout == nil {
		return ""
	}
	if t.StateExecTimeout.Total != "" {
		return t.StateExecTimeout.Total
	}
	return t.StateExecTimeout.Single
}

func actionExecTimeout(t *workflow.Timeouts) string { return t.ActionExecTimeout }
func eventTimeout(t *workflow.Timeouts) string      { return t.EventTimeout }
func branchExecTimeout(t *workflow.Timeouts) string { return t.BranchExecTimeout }
