package engine

import (
	"fmt"
	"time"
)

// NodeInstance is one visit of a node, as the Data Index shows it.
type NodeInstance struct {
	// ID is unique within the instance: "<step>" for states, the action's
	// key for actions, "start" and "end".
	ID string
	// DefinitionID identifies the node in the definition (the state name,
	// or "<state>/<action key>").
	DefinitionID string
	Name         string
	Type         string // SonataFlow's node class name (reference §8.12)
	Enter        time.Time
	Exit         time.Time // zero while the node is active
	// Error is set on the node where the instance failed.
	Error string
}

// Nodes derives the node instances of an instance from its journal:
// start and end nodes, one per state visit and one per action call.
func Nodes(entries []Entry) []NodeInstance {
	var out []NodeInstance
	open := map[string]int{} // node id -> index in out
	for _, e := range entries {
		switch e.Kind {
		case EntryStarted:
			out = append(out, NodeInstance{ID: "start", DefinitionID: "start", Name: "Start", Type: "StartNode", Enter: e.Time, Exit: e.Time})
		case EntryStateEntered:
			id := fmt.Sprint(e.Step)
			open[id] = len(out)
			out = append(out, NodeInstance{ID: id, DefinitionID: e.State, Name: e.State, Type: e.NodeType, Enter: e.Time})
		case EntryStateExited:
			if i, ok := open[fmt.Sprint(e.Step)]; ok {
				out[i].Exit = e.Time
			}
		case EntryActionStarted:
			open[e.Key] = len(out)
			name := e.Name
			if name == "" {
				name = e.Key
			}
			out = append(out, NodeInstance{ID: e.Key, DefinitionID: e.State + "/" + e.Key, Name: name, Type: e.NodeType, Enter: e.Time})
		case EntryActionCompleted, EntryActionFailed:
			if i, ok := open[e.Key]; ok {
				out[i].Exit = e.Time
				if e.Error != nil {
					out[i].Error = e.Error.Message
				}
			}
		case EntryFailed:
			if i, ok := open[fmt.Sprint(e.Step)]; ok && e.Error != nil {
				out[i].Error = e.Error.Message
			}
		case EntryCompleted, EntryAborted:
			for _, i := range open {
				if out[i].Exit.IsZero() {
					out[i].Exit = e.Time
				}
			}
			out = append(out, NodeInstance{ID: "end", DefinitionID: "end", Name: "End", Type: "EndNode", Enter: e.Time, Exit: e.Time})
		}
	}
	return out
}
