package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"time"

	"github.com/portico-dev/portico/internal/scaffolder"
)

func debugLog() scaffolder.Action {
	return scaffolder.Action{
		ID:          "debug:log",
		Description: "Writes a message into the task's log, optionally with the workspace's files.",
		Examples: []scaffolder.ActionExample{{
			Description: "Log a message",
			Example: lines(
				"steps:",
				"  - id: log",
				"    action: debug:log",
				"    input:",
				"      message: Hello, ${{ parameters.name }}!",
			),
		}},
		Schema: scaffolder.ActionSchema{Input: schema("", nil, map[string]any{
			"message": prop("string", "Message to output."),
			"listWorkspace": map[string]any{
				"title":       "List all files in the workspace, if true.",
				"description": "true or with-filenames lists the names, with-contents also their contents.",
				"oneOf": []any{
					map[string]any{"type": "boolean"},
					map[string]any{"type": "string", "enum": []any{"with-filenames", "with-contents"}},
				},
			},
		})},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Message       string `json:"message"`
				ListWorkspace any    `json:"listWorkspace"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.Message != "" {
				ac.Logger.Info(in.Message)
			}
			mode := ""
			switch v := in.ListWorkspace.(type) {
			case nil:
			case bool:
				if v {
					mode = "with-filenames"
				}
			case string:
				if v != "with-filenames" && v != "with-contents" {
					return fmt.Errorf("input.listWorkspace: expected true, false, with-filenames or with-contents, got %q", v)
				}
				mode = v
			default:
				return fmt.Errorf("input.listWorkspace: expected a boolean or a string, got %v", v)
			}
			if mode == "" {
				return nil
			}
			return fs.WalkDir(ac.Workspace.FS(), ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() || ctx.Err() != nil {
					return ctx.Err()
				}
				if mode == "with-contents" {
					data, err := fs.ReadFile(ac.Workspace.FS(), p)
					if err != nil {
						return err
					}
					ac.Logger.Info(fmt.Sprintf("%s:\n\n%s", p, data))
					return nil
				}
				ac.Logger.Info(p)
				return nil
			})
		},
	}
}

// maxWait is debug:wait's upper bound, as Backstage's.
const maxWait = 10 * time.Minute

func debugWait() scaffolder.Action {
	return scaffolder.Action{
		ID:          "debug:wait",
		Description: "Waits for a while (at most 10 minutes) before the next step.",
		Examples: []scaffolder.ActionExample{{
			Description: "Wait five seconds",
			Example: lines(
				"steps:",
				"  - id: wait",
				"    action: debug:wait",
				"    input:",
				"      seconds: 5",
			),
		}},
		Schema: scaffolder.ActionSchema{Input: schema("", nil, map[string]any{
			"minutes":      prop("number", "Waiting period in minutes."),
			"seconds":      prop("number", "Waiting period in seconds."),
			"milliseconds": prop("number", "Waiting period in milliseconds."),
		})},
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				Minutes      any `json:"minutes"`
				Seconds      any `json:"seconds"`
				Milliseconds any `json:"milliseconds"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			var total time.Duration
			for _, f := range []struct {
				name string
				v    any
				unit time.Duration
			}{{"minutes", in.Minutes, time.Minute}, {"seconds", in.Seconds, time.Second}, {"milliseconds", in.Milliseconds, time.Millisecond}} {
				if f.v == nil {
					continue
				}
				num, ok := f.v.(json.Number)
				n, err := num.Float64()
				if !ok || err != nil || n < 0 {
					return fmt.Errorf("input.%s: expected a number of at least 0, got %v", f.name, f.v)
				}
				total += time.Duration(n * float64(f.unit))
			}
			if total > maxWait {
				return fmt.Errorf("input: waiting %s is longer than the maximum of %s; wait in several steps or shorten it", total, maxWait)
			}
			ac.Logger.Info(fmt.Sprintf("Waiting for %s", total))
			t := time.NewTimer(total)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("debug:wait cancelled: %w", ctx.Err())
			}
		},
	}
}
