package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

func TestNextStart(t *testing.T) {
	ref := time.Date(2026, 11, 21, 10, 7, 0, 0, time.UTC)
	for _, c := range []struct {
		s    workflow.Schedule
		want time.Time
		err  error
	}{
		{s: workflow.Schedule{Cron: &workflow.Cron{Expression: "*/5 * * * *"}}, want: time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)},
		{s: workflow.Schedule{Cron: &workflow.Cron{Expression: "0 0/15 * * * ?"}}, want: time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC)},
		{s: workflow.Schedule{Cron: &workflow.Cron{Expression: "0 12 * * *"}, Timezone: "Europe/Madrid"}, want: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)},
		{s: workflow.Schedule{Cron: &workflow.Cron{Expression: "0 12 * * *", ValidUntil: "2026-11-21T11:00:00Z"}}, err: engine.ErrScheduleOver},
		{s: workflow.Schedule{Interval: "R/PT2H"}, want: ref.Add(2 * time.Hour)},
		{s: workflow.Schedule{Interval: "R/2026-11-21T00:00:00Z/PT4H"}, want: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)},
		{s: workflow.Schedule{Interval: "R2/2026-11-21T00:00:00Z/PT4H"}, err: engine.ErrScheduleOver},
	} {
		got, err := engine.NextStart(&c.s, ref)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%+v: error %v, want %v", c.s, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%+v: %v %v, want %v", c.s, got, err, c.want)
		}
	}
	if _, err := engine.NextStart(&workflow.Schedule{Interval: "every hour"}, ref); err == nil {
		t.Error("a bad interval gave no error")
	}
}
