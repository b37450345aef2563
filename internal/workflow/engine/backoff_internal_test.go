package engine

import (
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		name   string
		p      workflow.Retry
		random float64
		want   []time.Duration // delays before retries 1, 2, 3, ...
	}{
		{"constant", workflow.Retry{Delay: "PT2S"}, 0, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"increment", workflow.Retry{Delay: "PT1S", Increment: "PT2S"}, 0, []time.Duration{time.Second, 3 * time.Second, 5 * time.Second}},
		{"multiplier", workflow.Retry{Delay: "PT1S", Multiplier: 2}, 0, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{"maxDelay", workflow.Retry{Delay: "PT1S", Multiplier: 3, MaxDelay: "PT5S"}, 0, []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"relative jitter", workflow.Retry{Delay: "PT10S", Jitter: workflow.Jitter{Fraction: 0.5}}, 0.5, []time.Duration{12500 * time.Millisecond}},
		{"absolute jitter", workflow.Retry{Delay: "PT10S", Jitter: workflow.Jitter{Duration: "PT4S"}}, 0.25, []time.Duration{11 * time.Second}},
		{"jitter capped", workflow.Retry{Delay: "PT10S", MaxDelay: "PT11S", Jitter: workflow.Jitter{Duration: "PT4S"}}, 1, []time.Duration{11 * time.Second}},
	} {
		for i, want := range c.want {
			if got := backoff(&c.p, i+1, c.random); got != want {
				t.Errorf("%s: retry %d after %v, want %v", c.name, i+1, got, want)
			}
		}
	}
}
