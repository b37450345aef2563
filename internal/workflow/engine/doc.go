// Package engine interprets Serverless Workflow 0.8 definitions (the
// SonataFlow dialect) as resumable state machines.
//
// An Instance runs until it completes, fails or has to wait. Waiting (a
// sleep, an event, a timer, a retry's backoff, a sub-flow) is never a
// blocked goroutine: Run returns an Outcome listing the open Waits, and the
// host calls Deliver when a timer fires, an event arrives or a sub-flow
// ends. Every step (state entered and exited, action started and completed
// with its result, wait started, signal received, event produced) is handed
// to a Journal before the next step starts. Restore rebuilds an instance
// from its journal entries: the current state is run again from the data it
// was entered with, and actions, waits and signals that the journal already
// records are answered from it, so no completed action runs twice.
//
// Only states run one after the other at the top level; concurrency lives
// inside a state (parallel branches, parallel actions, foreach iterations),
// and every action, wait and timer inside a state has a key made of the
// state's step number and its structural position (branch, iteration,
// action index, attempt), so replay finds the same entries whatever order
// concurrent work finished in. Results of concurrent work are merged into
// state data in definition order, never in completion order.
//
// # Host protocol
//
// A durable host (the orchestrator runtime) drives an instance like this:
//
//   - Definition.Start (or New then Run) creates it; Journal.Append stores
//     each batch of entries in one transaction, together with outbox rows
//     for EventProduced and SubFlowStarted entries.
//   - After every call, Outcome.Waits lists every open wait. The host
//     schedules the timers (Wait.At), subscribes the event waits
//     (Wait.Events, with correlation values), starts the sub-flows of
//     WaitSubFlow waits (SubFlowRequest.InstanceID is stable, so a second
//     start after a crash is detectable), and drops what is no longer
//     listed.
//   - When a timer fires or an event or a sub-flow's end arrives, the host
//     loads the instance (Restore, then Run to re-establish its waits) and
//     calls Deliver (or DeliverEvent). A signal for a wait that is no longer
//     open gives ErrNoSuchWait and changes nothing, so late timers and
//     duplicate events are harmless.
//   - Only one process may drive an instance at a time (a lease); the
//     instance itself is not safe for concurrent use.
//   - Abort ends an instance, compensating first where states ask for it.
//
// An action interrupted by a crash after it started and before its result
// was written runs again on recovery (at least once); an action whose
// result is in the journal never does. LocalHost is the in-memory host of
// the local runner and the tests.
//
// The package does not import net/http or database/sql: functions are
// executed by a FunctionInvoker (package function), and persistence, timers
// and event delivery belong to the host.
package engine
