package actions_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/scaffolder/actions"
)

func TestDebugLog(t *testing.T) {
	r := newRun(t)
	r.write("a.txt", "alpha")
	r.write("dir/b.txt", "beta")
	if err := r.call(t.Context(), actions.Deps{}, "debug:log", map[string]any{"message": "hello", "listWorkspace": "with-contents"}); err != nil {
		t.Fatal(err)
	}
	got := r.log.text()
	for _, want := range []string{"hello", "a.txt:\n\nalpha", "dir/b.txt:\n\nbeta"} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q lacks %q", got, want)
		}
	}
	wantErr(t, r.call(t.Context(), actions.Deps{}, "debug:log", map[string]any{"listWorkspace": "everything"}), "input.listWorkspace")
}

func TestDebugWait(t *testing.T) {
	r := newRun(t)
	if err := r.call(t.Context(), actions.Deps{}, "debug:wait", map[string]any{"milliseconds": 5}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, r.call(t.Context(), actions.Deps{}, "debug:wait", map[string]any{"minutes": 11}), "longer than the maximum")
	wantErr(t, r.call(t.Context(), actions.Deps{}, "debug:wait", map[string]any{"seconds": "soon"}), "input.seconds")

	// A cancelled task ends the wait at once.
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	err := r.call(ctx, actions.Deps{}, "debug:wait", map[string]any{"minutes": 9})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the cancellation", err)
	}
}
