package orchestrator

import (
	"fmt"
	"sort"
	"time"
)

// ExecutionSummary tells an instance's story in a few lines, as Data
// Index's executionSummary does: its start, each failure, where it waits
// (while ACTIVE) and its end (once COMPLETED). Both the Data Index GraphQL
// and the v2 REST API answer it, so it lives here, next to the instance
// and node types they both read. nodes may come in any order.
func ExecutionSummary(start time.Time, end *time.Time, state string, nodes []NodeInstance) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !start.IsZero() {
		add("Workflow started at %s", summaryTime(start))
	}
	sorted := make([]*NodeInstance, len(nodes))
	for i := range nodes {
		sorted[i] = &nodes[i]
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Enter.Before(sorted[j].Enter) })
	for _, n := range sorted {
		if n.ErrorMessage != "" {
			add("Workflow failed with error %s at %s", n.ErrorMessage, summaryTime(n.Enter))
		}
	}
	switch {
	case state == "ACTIVE":
		// The node it waits at is the open one entered last (the start
		// node and the first state share their enter time).
		var waiting *NodeInstance
		for _, n := range sorted {
			if n.Exit == nil && (waiting == nil || !n.Enter.Before(waiting.Enter)) {
				waiting = n
			}
		}
		if waiting != nil {
			add("Workflow waiting at node %s since %s", waiting.Name, summaryTime(waiting.Enter))
		}
	case state == "COMPLETED" && end != nil:
		add("Workflow completed at %s", summaryTime(*end))
	}
	return out
}

// summaryTime formats a time as Data Index prints it: UTC, milliseconds.
func summaryTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
