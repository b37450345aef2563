package scaffolder_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
	"github.com/portico-dev/portico/internal/store"
)

const pipelineTemplate = `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: pipeline
  title: A pipeline
spec:
  type: service
  parameters:
    - title: Name
      required: [name]
      properties:
        name: {type: string, minLength: 2, "ui:autofocus": true}
        flag: {type: boolean}
    - title: More
      properties:
        items: {type: array, items: {type: string}}
  steps:
    - id: greet
      name: Greet
      action: test:echo
      input:
        message: "hello ${{ parameters.name }}"
    - id: write
      action: test:write
      input:
        path: out.txt
        content: "${{ steps.greet.output.message }} from ${{ context.task.id | length }}"
    - id: skipped
      action: test:echo
      if: ${{ parameters.flag }}
      input:
        message: never
    - id: loop
      action: test:echo
      each: ${{ parameters.items }}
      input:
        message: "item ${{ each.key }}=${{ each.value }}"
    - id: read
      action: test:read
      input:
        path: out.txt
  output:
    links:
      - title: Repo
        url: "https://example.com/${{ parameters.name }}"
      - title: Hidden
        if: ${{ parameters.flag }}
        url: https://example.com/hidden
    text:
      - title: Content
        content: ${{ steps.read.output.content }}
    items: ${{ steps.loop.output.message }}
`

func TestTaskRunsStepsInOrder(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, pipelineTemplate)
		svc, _ := e.service(t, scaffolder.Settings{WorkspaceProvider: scaffolder.WorkspaceDatabase})
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{
			TemplateRef: "pipeline",
			Values:      map[string]any{"name": "svc", "flag": false, "items": []any{"a", "b"}},
			UserRef:     "user:default/jane",
		})
		if err != nil {
			t.Fatal(err)
		}
		task := waitDone(t, svc, id)
		lines, bodies := logLines(t, svc, id)
		if task.Status != scaffolder.StatusCompleted {
			t.Fatalf("status %s, log:\n%s", task.Status, strings.Join(lines, "\n"))
		}
		want := []string{
			"log: Starting up task with 5 steps",
			"log processing greet: Beginning step Greet",
			"log greet: hello svc",
			"log completed greet: Finished step Greet",
			"log processing write: Beginning step test:write",
			"log completed write: Finished step test:write",
			"log skipped skipped: Skipping step skipped because its if condition was false",
			"log processing loop: Beginning step test:echo",
			"log loop: item 0=a",
			"log loop: item 1=b",
			"log completed loop: Finished step test:echo",
			"log processing read: Beginning step test:read",
			"log completed read: Finished step test:read",
			"completion: Run completed with status: completed",
		}
		if !slices.Equal(lines, want) {
			t.Errorf("log:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		out := bodies[len(bodies)-1].Output
		links, _ := out["links"].([]any)
		if len(links) != 1 || links[0].(map[string]any)["url"] != "https://example.com/svc" {
			t.Errorf("links = %v, want only the Repo link", out["links"])
		}
		text, _ := out["text"].([]any)
		if len(text) != 1 || text[0].(map[string]any)["content"] != "hello svc from 36" {
			t.Errorf("text = %v", out["text"])
		}
		if items, _ := out["items"].([]any); !slices.Equal(items, []any{"item 0=a", "item 1=b"}) {
			t.Errorf("items = %v, want each outputs as a list", out["items"])
		}
		if task.CreatedBy != "user:default/jane" || task.Spec.User.Ref != "user:default/jane" {
			t.Errorf("createdBy %q, user %q", task.CreatedBy, task.Spec.User.Ref)
		}
		if task.Spec.Steps[1].ID != "write" || task.Spec.Steps[1].Name != "test:write" {
			t.Errorf("step defaults: %+v", task.Spec.Steps[1])
		}
	})
}

func TestBadValuesAreRefusedPerField(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, pipelineTemplate)
		svc, _ := e.service(t, scaffolder.Settings{})
		tests := []struct {
			name   string
			values map[string]any
			want   []string
		}{
			{"missing", map[string]any{}, []string{`instance.name requires property "name"`}},
			{"wrong types", map[string]any{"name": 5, "items": "x"}, []string{
				"instance.items is not of a type(s) array", "instance.name is not of a type(s) string",
			}},
			{"too short", map[string]any{"name": "a"}, []string{"instance.name"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "template:default/pipeline", Values: tc.values})
				var ve *scaffolder.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a ValidationError", err)
				}
				if len(ve.Errors) != len(tc.want) {
					t.Fatalf("errors = %+v, want %d", ve.Errors, len(tc.want))
				}
				for i, w := range tc.want {
					if !strings.HasPrefix(ve.Errors[i].Stack, w) {
						t.Errorf("error %d = %q, want %q", i, ve.Errors[i].Stack, w)
					}
				}
			})
		}
		_, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "template:default/nope"})
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown template: %v, want NotFound", err)
		}
	})
}

func TestStepFailuresSkipLaterStepsUnlessAsked(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: failing}
spec:
  type: service
  steps:
    - {id: bad-expr, action: test:echo, input: {message: "${{ parameters.x | nosuchfilter }}"}}
    - {id: unknown, action: test:nope, if: "${{ always() }}"}
    - {id: bad-input, action: test:echo, if: "${{ always() }}", input: {message: 5}}
    - {id: later, action: test:echo, input: {message: later}}
    - {id: cleanup, action: test:echo, if: "${{ failure() }}", input: {message: "cleaning up"}}
`)
		svc, _ := e.service(t, scaffolder.Settings{})
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "failing", Values: map[string]any{"x": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		task := waitDone(t, svc, id)
		lines, bodies := logLines(t, svc, id)
		if task.Status != scaffolder.StatusFailed {
			t.Fatalf("status %s", task.Status)
		}
		joined := strings.Join(lines, "\n")
		for _, want := range []string{
			`log failed bad-expr: step bad-expr: input.message: cannot render "${{ parameters.x | nosuchfilter }}"`,
			"log failed unknown: Template action with ID 'test:nope' is not registered.",
			"log failed bad-input: Invalid input passed to action test:echo, instance.message is not of a type(s) string",
			"log skipped later: Skipping step later because a previous step failed",
			"log cleanup: cleaning up",
		} {
			if !strings.Contains(joined, want) {
				t.Errorf("log lacks %q:\n%s", want, joined)
			}
		}
		last := bodies[len(bodies)-1]
		if last.Message != "Run completed with status: failed" || last.Error == nil || !strings.Contains(last.Error.Message, "nosuchfilter") {
			t.Errorf("completion = %+v", last)
		}
	})
}

func TestSecretsAreRedactedAndSealed(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: secretive}
spec:
  type: service
  secrets:
    schema:
      required: [TOKEN]
      properties: {TOKEN: {type: string, minLength: 8}}
  steps:
    - {id: leak, action: test:echo, input: {message: "token is ${{ secrets.TOKEN }}"}}
    - {id: wait, action: test:block}
`)
		svc, _ := e.service(t, scaffolder.Settings{})
		_, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "secretive"})
		var ve *scaffolder.ValidationError
		if !errors.As(err, &ve) || ve.Errors[0].Property != "secrets.TOKEN" {
			t.Fatalf("missing secret: err = %v", err)
		}
		const token = "s3cr3t-v4lue"
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "secretive", Secrets: map[string]string{"TOKEN": token}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the blocking step", func() bool { return e.runs.get("wait") == 1 })
		var sealed string
		if err := db.QueryRowContext(context.Background(), `SELECT secrets FROM scaffolder_tasks WHERE id = $1`, id).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if sealed == "" || strings.Contains(sealed, token) {
			t.Errorf("stored secrets %q are not sealed", sealed)
		}
		close(e.release)
		waitDone(t, svc, id)
		lines, _ := logLines(t, svc, id)
		joined := strings.Join(lines, "\n")
		if strings.Contains(joined, token) || !strings.Contains(joined, "token is ***") {
			t.Errorf("log does not redact the secret:\n%s", joined)
		}
		var left *string
		if err := db.QueryRowContext(context.Background(), `SELECT secrets FROM scaffolder_tasks WHERE id = $1`, id).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != nil {
			t.Errorf("secrets kept after the end: %q", *left)
		}
	})
}

func TestCancelStopsTheRunningStep(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: blocking}
spec:
  type: service
  steps:
    - {id: wait, action: test:block}
    - {id: after, action: test:echo, input: {message: after}}
`)
		svc, _ := e.service(t, scaffolder.Settings{})
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "blocking"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the blocking step", func() bool { return e.runs.get("wait") == 1 })
		if err := svc.Cancel(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		task := waitDone(t, svc, id)
		if task.Status != scaffolder.StatusCancelled {
			t.Errorf("status %s, want cancelled", task.Status)
		}
		lines, _ := logLines(t, svc, id)
		if !slices.Contains(lines, "cancelled cancelled wait: Step wait has been cancelled.") {
			t.Errorf("no cancelled event:\n%s", strings.Join(lines, "\n"))
		}
		if e.runs.get("after") != 0 {
			t.Error("a step after the cancel ran")
		}
		if err := svc.Cancel(context.Background(), id); errs.KindOf(err) != errs.Conflict {
			t.Errorf("second cancel: %v, want Conflict", err)
		}
	})
}

func TestRetryResumesAtTheFailedStep(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: flaky}
spec:
  type: service
  steps:
    - {id: first, action: test:write, input: {path: a.txt, content: from-first}}
    - {id: flaky, action: test:flaky}
    - {id: last, action: test:read, input: {path: a.txt}}
  output:
    content: ${{ steps.last.output.content }}
    checkpoint: ${{ steps.flaky.output.checkpoint }}
`)
		svc, _ := e.service(t, scaffolder.Settings{WorkspaceProvider: scaffolder.WorkspaceDatabase})
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "flaky"})
		if err != nil {
			t.Fatal(err)
		}
		if task := waitDone(t, svc, id); task.Status != scaffolder.StatusFailed {
			t.Fatalf("first run: %s", task.Status)
		}
		if err := svc.Retry(context.Background(), id, nil, ""); err != nil {
			t.Fatal(err)
		}
		task := waitDone(t, svc, id)
		lines, bodies := logLines(t, svc, id)
		if task.Status != scaffolder.StatusCompleted {
			t.Fatalf("retry: %s\n%s", task.Status, strings.Join(lines, "\n"))
		}
		if got := e.runs.get("first"); got != 1 {
			t.Errorf("the completed first step ran %d times, want 1", got)
		}
		if got := e.runs.get("flaky.checkpoint"); got != 1 {
			t.Errorf("the checkpoint ran %d times, want 1", got)
		}
		out := bodies[len(bodies)-1].Output
		if out["content"] != "from-first" {
			t.Errorf("the workspace of the first run is gone: output %v", out)
		}
		if !slices.Contains(lines, "log completed first: Skipping step first because it was already completed in a previous run") {
			t.Errorf("log:\n%s", strings.Join(lines, "\n"))
		}
		if err := svc.Retry(context.Background(), id, nil, ""); err != nil {
			t.Errorf("retry of a completed task: %v", err)
		}
		waitDone(t, svc, id)
	})
}

func TestStoppingReplicaHandsTasksOver(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: long}
spec:
  type: service
  steps:
    - {id: first, action: test:write, input: {path: a.txt, content: kept}}
    - {id: wait, action: test:block}
    - {id: last, action: test:read, input: {path: a.txt}}
  output:
    content: ${{ steps.last.output.content }}
`)
		settings := scaffolder.Settings{WorkspaceProvider: scaffolder.WorkspaceDatabase, GracefulShutdownTimeout: 200 * time.Millisecond}
		svc, stop := e.service(t, settings)
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "long"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the blocking step", func() bool { return e.runs.get("wait") == 1 })
		stop()
		task, err := svc.Task(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status != scaffolder.StatusOpen {
			t.Fatalf("after stop: status %s, want open (handed over)", task.Status)
		}
		close(e.release)
		next, _ := e.service(t, settings)
		task = waitDone(t, next, id)
		lines, bodies := logLines(t, next, id)
		if task.Status != scaffolder.StatusCompleted {
			t.Fatalf("status %s\n%s", task.Status, strings.Join(lines, "\n"))
		}
		if e.runs.get("first") != 1 {
			t.Errorf("first step ran %d times, want 1", e.runs.get("first"))
		}
		if out := bodies[len(bodies)-1].Output; out["content"] != "kept" {
			t.Errorf("output %v: the workspace did not follow the task", out)
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "recovered: ") }) {
			t.Errorf("no recovered event:\n%s", strings.Join(lines, "\n"))
		}
	})
}

func TestFormDecoratorsSetValuesAndSecrets(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: decorated}
spec:
  type: service
  EXPERIMENTAL_formDecorators:
    - id: add-token
      input: {prefix: "tok-"}
  parameters:
    required: [owner]
    properties: {owner: {type: string}}
  steps:
    - {id: show, action: test:echo, input: {message: "${{ parameters.owner }} ${{ secrets.TOKEN | length }}"}}
`)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: bad-decorator}
spec:
  type: service
  formDecorators: [{id: add-token, input: {prefix: 5}}]
  steps: [{action: test:echo, input: {message: x}}]
`)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: unknown-decorator}
spec:
  type: service
  formDecorators: [{id: nope}]
  steps: [{action: test:echo, input: {message: x}}]
`)
		dec := scaffolder.FormDecorator{
			ID:          "add-token",
			InputSchema: map[string]any{"type": "object", "properties": map[string]any{"prefix": map[string]any{"type": "string"}}},
			Decorate: func(ctx context.Context, dc *scaffolder.DecoratorContext) error {
				dc.Values["owner"] = "group:default/team"
				dc.Secrets["TOKEN"] = dc.Input["prefix"].(string) + "123"
				return nil
			},
		}
		svc, _ := e.service(t, scaffolder.Settings{}, dec)
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "decorated"})
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, svc, id)
		lines, _ := logLines(t, svc, id)
		if !slices.Contains(lines, "log show: group:default/team 7") {
			t.Errorf("decorator values not used:\n%s", strings.Join(lines, "\n"))
		}
		_, err = svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "bad-decorator"})
		var ve *scaffolder.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Errors[0].Stack, "formDecorators[0].input.prefix") {
			t.Errorf("bad decorator input: %v", err)
		}
		_, err = svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "unknown-decorator"})
		if errs.KindOf(err) != errs.Input || !strings.Contains(err.Error(), "Failed to find form decorator nope") {
			t.Errorf("unknown decorator: %v", err)
		}
		ps, err := svc.ParameterSchema(context.Background(), "template:default/decorated")
		if err != nil {
			t.Fatal(err)
		}
		if len(ps.FormDecorators) != 1 || ps.FormDecorators[0].ID != "add-token" || len(ps.LegacyFormDecorators) != 1 {
			t.Errorf("parameter schema decorators: %+v", ps)
		}
	})
}

func TestDryRunReturnsWorkspaceAndSkipsOtherActions(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		svc, _ := e.service(t, scaffolder.Settings{})
		tpl := templateYAML(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: dry}
spec:
  type: service
  steps:
    - {id: hello, action: test:echo, input: {message: "hi ${{ parameters.who }} ${{ secrets.S }}"}}
    - {id: write, action: test:write, input: {path: b.txt, content: x}}
`)
		res, err := svc.DryRun(context.Background(), scaffolder.DryRunRequest{
			Template: tpl, Values: map[string]any{"who": "bob"}, Secrets: map[string]string{"S": "hidden-value"},
			DirectoryContents: []scaffolder.DryRunFile{{Path: "dir/a.txt", Base64Content: "aGVsbG8="}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, l := range res.Log {
			msgs = append(msgs, l.Body["message"].(string))
		}
		joined := strings.Join(msgs, "\n")
		if !strings.Contains(joined, "hi bob ***") || !strings.Contains(joined, "Skipping because test:write does not support dry-run") {
			t.Errorf("log:\n%s", joined)
		}
		if len(res.DirectoryContents) != 1 || res.DirectoryContents[0].Path != "dir/a.txt" {
			t.Errorf("contents = %+v", res.DirectoryContents)
		}
		_, err = svc.DryRun(context.Background(), scaffolder.DryRunRequest{
			Template: tpl, DirectoryContents: []scaffolder.DryRunFile{{Path: "../escape.txt", Base64Content: ""}},
		})
		if errs.KindOf(err) != errs.Input {
			t.Errorf("path traversal: %v, want InputError", err)
		}
		if _, err := os.Stat(filepath.Join(os.TempDir(), "escape.txt")); err == nil {
			t.Error("a dry run wrote outside its workspace")
		}
	})
}

func TestTaskTimeoutFailsAHungStep(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: hung}
spec:
  type: service
  steps:
    - {id: wait, action: test:block}
`)
		svc, _ := e.service(t, scaffolder.Settings{TaskTimeout: 300 * time.Millisecond})
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "hung"})
		if err != nil {
			t.Fatal(err)
		}
		task := waitDone(t, svc, id)
		lines, _ := logLines(t, svc, id)
		if task.Status != scaffolder.StatusFailed || !slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "log failed wait: This task was marked as stale as it exceeded its timeout")
		}) {
			t.Errorf("status %s, log:\n%s", task.Status, strings.Join(lines, "\n"))
		}
	})
}

func TestTaskSealedWithAnotherKeyFailsAlone(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: plain}
spec:
  type: service
  steps: [{id: hi, action: test:echo, input: {message: hi}}]
`)
		// A replica configured with another secretsKey stores the task.
		other, err := scaffolder.New(context.Background(), scaffolder.Options{
			DB: db, Bus: e.bus, Catalog: e.catalog, Templater: nunjucks.New(nunjucks.Options{}),
			Settings: scaffolder.Settings{SecretsKey: "key-one"}, Logger: quietLog(),
		})
		if err != nil {
			t.Fatal(err)
		}
		stuck, err := other.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "plain", Secrets: map[string]string{"T": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		svc, _ := e.service(t, scaffolder.Settings{SecretsKey: "key-two"})
		task := waitDone(t, svc, stuck)
		_, bodies := logLines(t, svc, stuck)
		last := bodies[len(bodies)-1]
		if task.Status != scaffolder.StatusFailed || last.Error == nil || !strings.Contains(last.Error.Message, "scaffolder.secretsKey") {
			t.Errorf("status %s, completion %+v", task.Status, last)
		}
		next, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "plain"})
		if err != nil {
			t.Fatal(err)
		}
		if task := waitDone(t, svc, next); task.Status != scaffolder.StatusCompleted {
			t.Errorf("the next task: %s", task.Status)
		}
	})
}

func TestDefaultEnvironment(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.addTemplate(t, `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: env}
spec:
  type: service
  steps:
    - {id: show, action: test:echo, input: {message: "${{ environment.parameters.region }} ${{ environment.secrets.KEY }}"}}
`)
		svc, _ := e.service(t, scaffolder.Settings{
			EnvironmentParameters: map[string]any{"region": "eu-1"},
			EnvironmentSecrets:    map[string]string{"KEY": "env-secret-value"},
		})
		id, err := svc.CreateTask(context.Background(), scaffolder.CreateRequest{TemplateRef: "env"})
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, svc, id)
		lines, _ := logLines(t, svc, id)
		if !slices.Contains(lines, "log show: eu-1 ***") {
			t.Errorf("log:\n%s", strings.Join(lines, "\n"))
		}
	})
}
