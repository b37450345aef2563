package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/adhocore/gronx"

	"github.com/portico-dev/portico/internal/workflow"
)

// ErrScheduleOver is returned by NextStart when a schedule will start no
// more instances (its cron's validUntil, or its interval's repetitions,
// are past).
var ErrScheduleOver = errors.New("the schedule starts no more instances")

// NextStart returns when a start.schedule next creates an instance after
// the time `after`. Creating instances on schedule is the host's job (a
// durable timer per scheduled workflow); this only does the arithmetic.
//
// Cron expressions have 5 to 7 fields (seconds and year optional; Quartz's
// "?" is read as "*") and run in the schedule's timezone, UTC by default.
// Intervals are ISO 8601 repeating intervals: "R/PT2H" repeats every two
// hours from after, "R5/2026-01-01T00:00:00Z/PT1H" five times from a start.
func NextStart(s *workflow.Schedule, after time.Time) (time.Time, error) {
	if s == nil {
		return time.Time{}, errors.New("no schedule")
	}
	loc := time.UTC
	if s.Timezone != "" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil {
			return time.Time{}, fmt.Errorf("schedule timezone %q: %w", s.Timezone, err)
		}
		loc = l
	}
	if s.Cron != nil {
		expr := strings.ReplaceAll(s.Cron.Expression, "?", "*")
		next, err := gronx.NextTickAfter(expr, after.In(loc), false)
		if err != nil {
			return time.Time{}, fmt.Errorf("cron %q: %w", s.Cron.Expression, err)
		}
		if s.Cron.ValidUntil != "" {
			until, err := time.Parse(time.RFC3339, s.Cron.ValidUntil)
			if err != nil {
				return time.Time{}, fmt.Errorf("cron validUntil %q: %w", s.Cron.ValidUntil, err)
			}
			if next.After(until) {
				return time.Time{}, ErrScheduleOver
			}
		}
		return next.UTC(), nil
	}
	return nextInterval(s.Interval, after)
}

func nextInterval(iv string, after time.Time) (time.Time, error) {
	parts := strings.Split(iv, "/")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "R") {
		return time.Time{}, fmt.Errorf("interval %q is not an ISO 8601 repeating interval such as R/PT1H", iv)
	}
	limit := -1
	if n := parts[0][1:]; n != "" {
		v, err := strconv.Atoi(n)
		if err != nil {
			return time.Time{}, fmt.Errorf("interval %q: bad repetition count", iv)
		}
		limit = v
	}
	var start time.Time
	var period time.Duration
	var err error
	switch len(parts) {
	case 2: // R/PT1H
		if period, err = workflow.ParseDuration(parts[1]); err != nil {
			return time.Time{}, err
		}
		if period <= 0 {
			return time.Time{}, fmt.Errorf("interval %q: empty period", iv)
		}
		return after.Add(period).UTC(), nil
	case 3: // R/start/PT1H
		if start, err = time.Parse(time.RFC3339, parts[1]); err != nil {
			return time.Time{}, fmt.Errorf("interval %q: start: %w", iv, err)
		}
		if period, err = workflow.ParseDuration(parts[2]); err != nil {
			return time.Time{}, err
		}
	default:
		return time.Time{}, fmt.Errorf("interval %q is not an ISO 8601 repeating interval", iv)
	}
	if period <= 0 {
		return time.Time{}, fmt.Errorf("interval %q: empty period", iv)
	}
	k := 0
	if after.After(start) || after.Equal(start) {
		k = int(after.Sub(start)/period) + 1
	}
	if limit >= 0 && k >= limit {
		return time.Time{}, ErrScheduleOver
	}
	return start.Add(time.Duration(k) * period).UTC(), nil
}
