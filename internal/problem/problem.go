// Package problem defines the domain errors every Signet service returns.
//
// Services never know about HTTP; they return a *problem.Error carrying a Kind
// (what sort of failure) and a stable machine Code. Each transport maps Kind to
// its own status codes and envelope in exactly one place; Signet's own HTTP
// surfaces (the REST API and the web console) share HTTPStatus, so a page
// and the API it mirrors agree.
package problem

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies a failure; transports map it to a status code.
type Kind int

const (
	// KindInternal is the zero value: an unexpected failure that is not the caller's fault.
	KindInternal     Kind = iota
	KindInvalid           // the input is malformed or breaks a rule (400/422)
	KindNotFound          // the named object does not exist, or the caller may not see it
	KindConflict          // the object's state forbids the operation (already revoked, ...)
	KindUnauthorized      // no or bad credentials
	KindForbidden         // credentials are fine but the principal may not do this
	KindTooLarge          // body or field over its limit
	KindUnavailable       // a dependency is down or overloaded; retry later
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindTooLarge:
		return "too_large"
	case KindUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// HTTPStatus is the status Signet's REST API and web console answer a kind
// with. Device and vendor-compatible protocols whose wire formats say
// otherwise map kinds themselves.
func HTTPStatus(k Kind) int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Violation is one broken rule, named by the field it concerns.
type Violation struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the one domain error type. Code is stable and documented
// (e.g. "csr_signature_invalid", "key_too_small", "policy_violation").
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	Violations []Violation
	Err        error // optional cause, never shown to clients
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an error of the given kind.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is shorthand for a KindInvalid error.
func Invalid(code, format string, args ...any) *Error {
	return New(KindInvalid, code, format, args...)
}

// NotFound is shorthand for a KindNotFound error.
func NotFound(code, format string, args ...any) *Error {
	return New(KindNotFound, code, format, args...)
}

// Conflict is shorthand for a KindConflict error.
func Conflict(code, format string, args ...any) *Error {
	return New(KindConflict, code, format, args...)
}

// Forbidden is shorthand for a KindForbidden error.
func Forbidden(code, format string, args ...any) *Error {
	return New(KindForbidden, code, format, args...)
}

// Unauthorized is shorthand for a KindUnauthorized error.
func Unauthorized(code, format string, args ...any) *Error {
	return New(KindUnauthorized, code, format, args...)
}

// Violations returns a KindInvalid error listing every broken rule.
func Violations(code, message string, vs []Violation) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: message, Violations: vs}
}

// As extracts a *Error from err's chain, or nil.
func As(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// KindOf reports the Kind of err (KindInternal when err is not a *Error).
func KindOf(err error) Kind {
	if pe := As(err); pe != nil {
		return pe.Kind
	}
	return KindInternal
}

// Is reports whether err carries the given stable code.
func Is(err error, code string) bool {
	pe := As(err)
	return pe != nil && pe.Code == code
}
