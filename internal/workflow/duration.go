package workflow

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sosodev/duration"
)

// ParseDuration parses an ISO 8601 duration such as "PT30S" or "P1DT2H".
// The model keeps durations as written; callers convert them when needed.
func ParseDuration(s string) (time.Duration, error) {
	d, err := duration.Parse(s)
	if err == nil && (strings.HasSuffix(s, "P") || strings.HasSuffix(s, "T")) {
		// The library reads a bare "P" as zero; ISO 8601 needs a component.
		err = errors.New("no value after P or T")
	}
	if err != nil {
		return 0, fmt.Errorf("invalid ISO 8601 duration %q (expected a form like PT30S, PT5M or P1DT2H): %w", s, err)
	}
	if d.Negative {
		return 0, fmt.Errorf("invalid ISO 8601 duration %q: durations must not be negative", s)
	}
	return d.ToTimeDuration(), nil
}
