package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// Problem is one finding about an entity: the field it concerns, in dotted
// form (metadata.labels.team, spec.dependsOn.0), and what is wrong with it.
// Field is empty for findings about the entity as a whole.
type Problem struct {
	Field   string
	Message string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// ValidationError reports every problem found in one entity. It is returned
// wrapped in an errs.Input error, so API callers get a 400.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects findings while a check runs.
type problems []Problem

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was found, else an Input error wrapping a
// *ValidationError.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &errs.Error{Kind: errs.Input, Message: (&ValidationError{Problems: ps}).Error(), Cause: &ValidationError{Problems: ps}}
}

// Problems returns the problems recorded in err's chain: those of a
// *ValidationError, or err's message as a single problem otherwise.
func Problems(err error) []Problem {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	return []Problem{{Message: err.Error()}}
}
