package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

func newWorkflowRunCommand() *cobra.Command {
	var input, propsFile string
	var events []string
	var fast, verbose bool
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a workflow in process and print its output",
		Long: `Run a workflow file in process, with an in-memory journal and timers.

State transitions are printed to stderr as they happen and the final workflow
data to stdout as JSON. --input is JSON or @file. Properties (service URLs,
secrets) come from --properties, or from application.properties next to the
workflow. Each --event is a CloudEvent as JSON ({"type": ..., "data": ...})
delivered when the workflow waits for an event of its type. Sub-flows are
looked up among the workflow files of the same directory.

Exit codes: 0 completed, 1 failed (or waits for an event that was not given),
2 invalid definition.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorkflow(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), runOptions{
				file: args[0], input: input, properties: propsFile, events: events, fast: fast, verbose: verbose,
			})
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "workflow data as JSON, or @file")
	cmd.Flags().StringVar(&propsFile, "properties", "", "properties file (application.properties format)")
	cmd.Flags().StringArrayVar(&events, "event", nil, "CloudEvent JSON to deliver when the workflow waits for its type (repeatable; @file allowed)")
	cmd.Flags().BoolVar(&fast, "fast-timers", false, "fire timers at once instead of waiting")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also log actions and waits")
	return cmd
}

type runOptions struct {
	file, input, properties string
	events                  []string
	fast, verbose           bool
}

func runWorkflow(ctx context.Context, stdout, stderr io.Writer, o runOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	dir, name := filepath.Split(o.file)
	if dir == "" {
		dir = "."
	}
	loader := workflow.DirLoader{Dir: dir}
	w, err := workflow.ParseFile(ctx, loader, name)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if findings := workflow.Validate(ctx, w); workflow.HasErrors(findings) {
		for _, f := range findings {
			fmt.Fprintln(stderr, f)
		}
		return &exitError{code: 2, err: fmt.Errorf("%s: invalid workflow definition", o.file)}
	}
	props, err := loadProperties(dir, o.properties)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	data, err := readJSONArg(o.input)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("--input: %w", err)}
	}
	var events []*engine.Event
	for _, e := range o.events {
		ev, err := parseEvent(e)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("--event: %w", err)}
		}
		events = append(events, ev)
	}
	var mu sync.Mutex // sysout and transition lines share stderr
	logLevel := slog.LevelInfo
	if o.verbose {
		logLevel = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, stderr}, &slog.HandlerOptions{Level: logLevel}))
	eng := engine.NewEngine(&function.Invoker{Logger: logger})
	def, err := eng.Prepare(ctx, w, props)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defs := map[string]*engine.Definition{w.ID: def}
	host := &engine.LocalHost{
		Events:     events,
		FastTimers: o.fast,
		SubFlow: func(ctx context.Context, id, _ string) (*engine.Definition, error) {
			if d, ok := defs[id]; ok {
				return d, nil
			}
			d, err := findSubFlow(ctx, eng, loader, dir, id, props)
			if err != nil {
				return nil, err
			}
			defs[id] = d
			return d, nil
		},
		OnEntries: func(id string, entries []engine.Entry) {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range entries {
				printEntry(stderr, id, e, o.verbose)
			}
		},
	}
	start := engine.StartOptions{Input: data}
	if m, ok := data.(map[string]any); ok {
		if wd, ok := m["workflowdata"]; ok {
			// SonataFlow's request shape: workflowdata plus process variables.
			vars := map[string]any{}
			for k, v := range m {
				if k != "workflowdata" {
					vars[k] = v
				}
			}
			start = engine.StartOptions{Input: wd, Variables: vars}
		}
	}
	if len(def.StartEvents()) > 0 && len(events) > 0 {
		for i, ev := range events {
			for _, m := range def.StartEvents() {
				if m.Matches(ev) && start.Event == nil {
					start.Event = ev
					host.Events = append(events[:i:i], events[i+1:]...)
				}
			}
		}
	}
	_, out, err := host.Run(ctx, def, start)
	if err != nil {
		var we *engine.Error
		if errors.As(err, &we) && errors.Is(err, engine.ErrInvalidInput) {
			return &exitError{code: 1, err: err}
		}
		return &exitError{code: 1, err: err}
	}
	if b, err := json.MarshalIndent(out.Data, "", "  "); err == nil {
		fmt.Fprintln(stdout, string(b))
	}
	switch out.Status {
	case engine.StatusCompleted:
		return nil
	case engine.StatusActive:
		fmt.Fprintln(stderr, "instance still active (keepActive)")
		return nil
	case engine.StatusError:
		return &exitError{code: 1, err: out.Error}
	}
	return &exitError{code: 1, err: fmt.Errorf("instance %s", strings.ToLower(string(out.Status)))}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func printEntry(w io.Writer, id string, e engine.Entry, verbose bool) {
	ts := e.Time.Format("15:04:05.000")
	switch e.Kind {
	case engine.EntryStateEntered:
		fmt.Fprintf(w, "%s %s state %q entered (%s)\n", ts, short(id), e.State, e.NodeType)
	case engine.EntryStateExited:
		fmt.Fprintf(w, "%s %s state %q exited\n", ts, short(id), e.State)
	case engine.EntryCompleted:
		fmt.Fprintf(w, "%s %s completed\n", ts, short(id))
	case engine.EntryFailed:
		fmt.Fprintf(w, "%s %s failed: %s\n", ts, short(id), e.Error.Err())
	case engine.EntryAborted:
		fmt.Fprintf(w, "%s %s aborted\n", ts, short(id))
	case engine.EntryEventProduced:
		b, _ := json.Marshal(e.Event.Data)
		fmt.Fprintf(w, "%s %s produced event %s %s\n", ts, short(id), e.Event.Type, b)
	case engine.EntryWaitStarted:
		if verbose || e.Wait.Kind == engine.WaitEvent {
			fmt.Fprintf(w, "%s %s waiting: %s %s %s\n", ts, short(id), e.Wait.Kind, e.Wait.Reason, waitWhat(e.Wait))
		}
	case engine.EntryActionCompleted, engine.EntryActionFailed:
		if verbose {
			fmt.Fprintf(w, "%s %s action %q %s\n", ts, short(id), e.Name, e.Kind)
		}
	}
}

func waitWhat(w *engine.Wait) string {
	switch w.Kind {
	case engine.WaitTimer:
		return "until " + w.At.Format("15:04:05.000")
	case engine.WaitEvent:
		var s []string
		for _, m := range w.Events {
			s = append(s, m.Type)
		}
		return strings.Join(s, " or ")
	case engine.WaitSubFlow:
		return w.SubFlow.WorkflowID
	}
	return ""
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func readJSONArg(s string) (any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	b := []byte(s)
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if b, err = os.ReadFile(rest); err != nil {
			return nil, err
		}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func parseEvent(s string) (*engine.Event, error) {
	v, err := readJSONArg(s)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("an event must be a JSON object")
	}
	ev := &engine.Event{Extensions: map[string]any{}}
	for k, x := range m {
		switch k {
		case "id":
			ev.ID = fmt.Sprint(x)
		case "type":
			ev.Type = fmt.Sprint(x)
		case "source":
			ev.Source = fmt.Sprint(x)
		case "subject":
			ev.Subject = fmt.Sprint(x)
		case "datacontenttype":
			ev.DataContentType = fmt.Sprint(x)
		case "data":
			ev.Data = x
		case "specversion", "time":
		default:
			ev.Extensions[k] = x
		}
	}
	if ev.Type == "" {
		return nil, errors.New(`an event needs a "type"`)
	}
	if ev.ID == "" {
		ev.ID = fmt.Sprintf("cli-%p", ev)
	}
	return ev, nil
}

// loadProperties reads a Java-style properties file: the one given, or
// application.properties beside the workflow when there is one.
func loadProperties(dir, file string) (map[string]string, error) {
	props := map[string]string{}
	if file == "" {
		file = filepath.Join(dir, "application.properties")
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return props, nil
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return workflow.ParseProperties(data, os.LookupEnv), nil
}

// findSubFlow parses the workflow files of dir until one has the id.
func findSubFlow(ctx context.Context, eng *engine.Engine, loader workflow.Loader, dir, id string, props map[string]string) (*engine.Definition, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".sw.yaml") || strings.HasSuffix(n, ".sw.yml") || strings.HasSuffix(n, ".sw.json")) {
			continue
		}
		w, err := workflow.ParseFile(ctx, loader, n)
		if err != nil || w.ID != id {
			continue
		}
		return eng.Prepare(ctx, w, props)
	}
	return nil, fmt.Errorf("sub-flow %q: no workflow with that id in %s", id, dir)
}
