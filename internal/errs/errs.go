// Package errs defines the error kinds that Portico's APIs report, named as
// Backstage names them (InputError, NotFoundError, ...), so that the HTTP layer
// can map any error a domain package returns to the right status code and
// Backstage's error body without the domain depending on net/http.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error for API callers. Its string form is the error name
// Backstage clients expect in the "error.name" field of a response body.
type Kind string

// The error kinds Portico reports. Their HTTP status codes are given by Status.
const (
	Input              Kind = "InputError"              // 400
	Authentication     Kind = "AuthenticationError"     // 401
	NotAllowed         Kind = "NotAllowedError"         // 403
	NotFound           Kind = "NotFoundError"           // 404
	Conflict           Kind = "ConflictError"           // 409
	PayloadTooLarge    Kind = "PayloadTooLargeError"    // 413
	NotModified        Kind = "NotModifiedError"        // 304
	NotImplemented     Kind = "NotImplementedError"     // 501
	ServiceUnavailable Kind = "ServiceUnavailableError" // 503
	Internal           Kind = "Error"                   // 500
)

// Status returns the HTTP status code that belongs to the kind.
func (k Kind) Status() int {
	switch k {
	case Input:
		return 400
	case Authentication:
		return 401
	case NotAllowed:
		return 403
	case NotFound:
		return 404
	case Conflict:
		return 409
	case PayloadTooLarge:
		return 413
	case NotModified:
		return 304
	case NotImplemented:
		return 501
	case ServiceUnavailable:
		return 503
	default:
		return 500
	}
}

// Error is an error with a kind. Message is shown to API callers as is, so it
// must say what was wrong and how to fix it; Cause, if any, is kept for
// errors.Is/As and logs.
type Error struct {
	Kind    Kind
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil && e.Message == "" {
		return e.Cause.Error()
	}
	return e.Message
}

// Unwrap returns the cause so errors.Is and errors.As see through the kind.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error of the given kind with a formatted message. A %w verb
// in format records the wrapped error as the cause.
func New(kind Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Cause: errors.Unwrap(err)}
}

// Wrap gives err a kind, keeping its message. It returns nil for a nil err.
func Wrap(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Message: err.Error(), Cause: err}
}

// KindOf reports the kind of the first *Error in err's chain, or Internal
// when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err has the given kind.
func Is(err error, kind Kind) bool {
	return err != nil && KindOf(err) == kind
}

// Convenience constructors for the kinds domain code returns most.

// InputErrorf returns an Input error: the caller sent something invalid.
func InputErrorf(format string, args ...any) error { return New(Input, format, args...) }

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) error { return New(NotFound, format, args...) }

// Conflictf returns a Conflict error.
func Conflictf(format string, args ...any) error { return New(Conflict, format, args...) }

// NotAllowedf returns a NotAllowed error: the caller is known but may not do this.
func NotAllowedf(format string, args ...any) error { return New(NotAllowed, format, args...) }

// Unauthenticatedf returns an Authentication error: the caller's credentials are missing or invalid.
func Unauthenticatedf(format string, args ...any) error { return New(Authentication, format, args...) }
