package acme

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/store"
)

// ACME error types (RFC 8555 section 6.7, RFC 9773 alreadyReplaced).
const (
	errPrefix                  = "urn:ietf:params:acme:error:"
	errAccountDoesNotExist     = errPrefix + "accountDoesNotExist"
	errAlreadyReplaced         = errPrefix + "alreadyReplaced"
	errAlreadyRevoked          = errPrefix + "alreadyRevoked"
	errBadCSR                  = errPrefix + "badCSR"
	errBadNonce                = errPrefix + "badNonce"
	errBadPublicKey            = errPrefix + "badPublicKey"
	errBadRevocationReason     = errPrefix + "badRevocationReason"
	errBadSignatureAlgorithm   = errPrefix + "badSignatureAlgorithm"
	errConnection              = errPrefix + "connection"
	errDNS                     = errPrefix + "dns"
	errExternalAccountRequired = errPrefix + "externalAccountRequired"
	errIncorrectResponse       = errPrefix + "incorrectResponse"
	errInvalidContact          = errPrefix + "invalidContact"
	errMalformed               = errPrefix + "malformed"
	errOrderNotReady           = errPrefix + "orderNotReady"
	errRejectedIdentifier      = errPrefix + "rejectedIdentifier"
	errServerInternal          = errPrefix + "serverInternal"
	errTLS                     = errPrefix + "tls"
	errUnauthorized            = errPrefix + "unauthorized"
	errUnsupportedContact      = errPrefix + "unsupportedContact"
	errUnsupportedIdentifier   = errPrefix + "unsupportedIdentifier"
)

// acmeError is an RFC 7807 problem document as ACME defines it. It is also
// the error value handlers return; anything else is mapped by toACME.
type acmeError struct {
	Type        string       `json:"type"`
	Detail      string       `json:"detail,omitempty"`
	Status      int          `json:"status,omitempty"`
	Identifier  *identifier  `json:"identifier,omitempty"`
	Subproblems []*acmeError `json:"subproblems,omitempty"`
	Algorithms  []string     `json:"algorithms,omitempty"` // badSignatureAlgorithm: what is supported

	location   string        // Location header (the account a key-change collides with)
	retryAfter time.Duration // Retry-After header
	cause      error         // logged, never shown
}

func (e *acmeError) Error() string {
	msg := strings.TrimPrefix(e.Type, errPrefix) + ": " + e.Detail
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *acmeError) Unwrap() error { return e.cause }

func newError(typ string, status int, format string, args ...any) *acmeError {
	return &acmeError{Type: typ, Status: status, Detail: fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *acmeError {
	return newError(errMalformed, http.StatusBadRequest, format, args...)
}

func unauthorized(format string, args ...any) *acmeError {
	return newError(errUnauthorized, http.StatusForbidden, format, args...)
}

func badNonce(format string, args ...any) *acmeError {
	return newError(errBadNonce, http.StatusBadRequest, format, args...)
}

func internal(err error, what string) *acmeError {
	e := newError(errServerInternal, http.StatusInternalServerError, "%s failed; the error has been logged", what)
	e.cause = err
	return e
}

// toACME maps any error onto an ACME problem. invalidAs is the type input
// errors of the domain services get in this context (badCSR when
// finalizing, malformed elsewhere).
func toACME(err error, invalidAs string) *acmeError {
	var ae *acmeError
	if errors.As(err, &ae) {
		return ae
	}
	pe := problem.As(err)
	if pe == nil {
		if errors.Is(err, store.ErrUnavailable) {
			e := newError(errServerInternal, http.StatusServiceUnavailable, "the database is unreachable; nothing was changed, retry shortly")
			e.retryAfter = 5 * time.Second
			return e
		}
		return internal(err, "the request")
	}
	detail := pe.Message
	switch pe.Kind {
	case problem.KindInvalid:
		e := newError(invalidAs, http.StatusBadRequest, "%s (%s)", detail, pe.Code)
		for _, v := range pe.Violations {
			e.Subproblems = append(e.Subproblems, &acmeError{Type: subproblemType(invalidAs, v.Field), Detail: v.Message})
		}
		return e
	case problem.KindUnauthorized, problem.KindForbidden:
		return unauthorized("%s (%s)", detail, pe.Code)
	case problem.KindNotFound:
		return newError(errMalformed, http.StatusNotFound, "%s (%s)", detail, pe.Code)
	case problem.KindConflict:
		switch pe.Code {
		case "certificate_already_revoked":
			return newError(errAlreadyRevoked, http.StatusBadRequest, "%s", detail)
		case "profile_disabled", "enrollment_method_not_allowed", "ca_disabled", "ca_has_no_key":
			return unauthorized("%s (%s)", detail, pe.Code)
		}
		return newError(errMalformed, http.StatusConflict, "%s (%s)", detail, pe.Code)
	case problem.KindTooLarge:
		return newError(errMalformed, http.StatusRequestEntityTooLarge, "%s", detail)
	case problem.KindUnavailable:
		e := newError(errServerInternal, http.StatusServiceUnavailable, "%s", detail)
		e.retryAfter = 5 * time.Second
		return e
	default:
		return internal(err, "the request")
	}
}

// subproblemType names one template violation: a name the template refuses
// is a rejected identifier, anything else keeps the parent's type.
func subproblemType(parent, field string) string {
	if strings.HasPrefix(field, "sans.") {
		return errRejectedIdentifier
	}
	return parent
}

// writeProblem renders e; serverInternal causes are logged, not shown.
func (s *Service) writeProblem(w http.ResponseWriter, r *http.Request, e *acmeError) {
	if e.cause != nil {
		s.log.ErrorContext(r.Context(), "ACME request failed", "err", e.cause, "method", r.Method, "path", r.URL.Path)
	}
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	if e.location != "" {
		w.Header().Set("Location", e.location)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.retryAfter.Seconds())))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}
