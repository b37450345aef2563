package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/sosodev/duration"
)

// ParseDuration reads a duration the ways Backstage config accepts one: an
// object of units ({hours: 1, minutes: 30}), an ISO-8601 string ("PT90M"), or
// a short form ("90m", "1h30m", "2 days", "500ms").
func ParseDuration(v Value) (time.Duration, error) {
	switch val := v.n.value.(type) {
	case map[string]*node:
		units := map[string]time.Duration{
			"years": 365 * 24 * time.Hour, "months": 30 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
			"days": 24 * time.Hour, "hours": time.Hour, "minutes": time.Minute,
			"seconds": time.Second, "milliseconds": time.Millisecond,
		}
		var total time.Duration
		for _, k := range v.n.keys {
			unit, ok := units[k]
			if !ok {
				return 0, v.Field(k).Errorf("unknown duration unit; use years, months, weeks, days, hours, minutes, seconds or milliseconds")
			}
			var n float64
			if err := v.Field(k).Decode(&n); err != nil {
				return 0, err
			}
			total += time.Duration(n * float64(unit))
		}
		return total, nil
	case string:
		d, ok := parseDurationString(val)
		if !ok {
			return 0, v.Errorf("expected a duration such as \"30s\", \"PT30S\" or {seconds: 30}, got %q", val)
		}
		return d, nil
	default:
		return 0, v.Errorf("expected a duration such as \"30s\", \"PT30S\" or {seconds: 30}, got %s", v.describe())
	}
}

func parseDurationString(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if s[0] == 'P' || s[0] == 'p' {
		d, err := duration.Parse(strings.ToUpper(s))
		if err != nil {
			return 0, false
		}
		return d.ToTimeDuration(), true
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	// "2 days", "1d", "3 weeks": a number and a unit.
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, false
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	if unit != "ms" {
		unit = strings.TrimSuffix(unit, "s")
	}
	var u time.Duration
	switch unit {
	case "ms", "millisecond", "msec":
		u = time.Millisecond
	case "", "second", "sec":
		u = time.Second
	case "m", "minute", "min":
		u = time.Minute
	case "h", "hour", "hr":
		u = time.Hour
	case "d", "day":
		u = 24 * time.Hour
	case "w", "week":
		u = 7 * 24 * time.Hour
	case "y", "year", "yr":
		u = 365 * 24 * time.Hour
	default:
		return 0, false
	}
	return time.Duration(n * float64(u)), true
}
